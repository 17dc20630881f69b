"""The fuse tree of a location: its grid connection, groups (the main fuse is the root) and the
connectors in them, with each connector's phase rotation."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

PHASES = 3
MIN_CHARGE_A = 6.0  # IEC 61851-1: below 6 A per phase a car does not charge (it is paused)
PHASE_VOLTAGE_V = 230.0
SQRT3 = math.sqrt(3.0)


class GridType(StrEnum):
    """How the building is connected to the grid."""

    SINGLE_230 = "1x230"  # one phase and neutral, 230 V
    THREE_400 = "3x400"  # three phases and neutral (TN/TT), 230 V phase to neutral
    THREE_230 = "3x230"  # three phases without neutral (IT, Norway/Belgium), 230 V line to line

    @property
    def phases(self) -> int:
        return 1 if self is GridType.SINGLE_230 else PHASES

    @property
    def volts_per_line_a(self) -> float:
        """Watts per ampere of line current on one grid line, for turning per-line meter
        currents into power (on a 3x230 grid a balanced load of P draws P / (sqrt(3) 230 V))."""
        return PHASE_VOLTAGE_V / SQRT3 if self is GridType.THREE_230 else PHASE_VOLTAGE_V


Rotation = tuple[int, int, int]  # the grid phase (0, 1, 2) of the charger's L1, L2, L3
STANDARD_ROTATION: Rotation = (0, 1, 2)
ROTATIONS: tuple[Rotation, ...] = ((0, 1, 2), (1, 2, 0), (2, 0, 1), (0, 2, 1), (1, 0, 2), (2, 1, 0))


@dataclass(frozen=True)
class PeakLimit:
    """Peak shaving: a further limit on a group, per phase in A and/or in total kW (the kW limit
    counts everything the group's meter measures), between ``start_min`` and ``end_min``
    (minutes after local midnight; a window may wrap midnight; None: all day)."""

    current_a: float | None = None
    power_kw: float | None = None
    start_min: int | None = None
    end_min: int | None = None

    def active(self, minute_of_day: int) -> bool:
        if self.start_min is None or self.end_min is None or self.start_min == self.end_min:
            return True
        if self.start_min < self.end_min:
            return self.start_min <= minute_of_day < self.end_min
        return minute_of_day >= self.start_min or minute_of_day < self.end_min


@dataclass(frozen=True)
class Group:
    """A fuse group: ``fuse_a`` per phase; the root (``parent_id`` None) is the main fuse.
    ``fallback_a``: what its connectors may draw in total per phase while its meter is silent
    (None: half the fuse)."""

    id: str
    parent_id: str | None
    fuse_a: float
    peak: PeakLimit | None = None
    fallback_a: float | None = None
    has_meter: bool = False

    @property
    def safe_a(self) -> float:
        return self.fuse_a / 2 if self.fallback_a is None else min(self.fallback_a, self.fuse_a)


@dataclass(frozen=True)
class Connector:
    """A charger's connector in a group: at most ``max_a`` per phase; ``rotation`` says on which
    grid phase each of the charger's L1, L2, L3 is."""

    id: str
    group_id: str
    max_a: float
    rotation: Rotation = STANDARD_ROTATION
    priority: int = 0  # higher first when not everyone can charge


class TreeError(ValueError):
    """The tree is not a tree: why, in words a person can act on."""


@dataclass(frozen=True)
class Tree:
    grid: GridType
    groups: tuple[Group, ...]
    connectors: tuple[Connector, ...] = ()
    _children: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)
    _ancestors: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)
    _by_id: dict[str, Connector] = field(init=False, repr=False, compare=False)
    # what algorithms derive from the tree once and keep with it (domain.power.allocate)
    memo: dict[str, object] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_id = {g.id: g for g in self.groups}
        if len(by_id) != len(self.groups):
            raise TreeError("two groups have the same id")
        roots = [g for g in self.groups if g.parent_id is None]
        if len(roots) != 1:
            raise TreeError("a location has exactly one main fuse (root group)")
        for g in self.groups:
            if not (math.isfinite(g.fuse_a) and g.fuse_a > 0):
                raise TreeError(f"group {g.id}: the fuse must be a positive current")
            if g.parent_id is not None and g.parent_id not in by_id:
                raise TreeError(f"group {g.id}: its parent {g.parent_id} does not exist")
        ancestors: dict[str, tuple[str, ...]] = {}
        for g in self.groups:
            chain: list[str] = []
            node: Group | None = g
            while node is not None:
                if node.id in chain:
                    raise TreeError(f"group {g.id} is its own ancestor")
                chain.append(node.id)
                node = by_id.get(node.parent_id) if node.parent_id is not None else None
            ancestors[g.id] = tuple(chain)  # itself first, the root last
        children: dict[str, list[str]] = {g.id: [] for g in self.groups}
        for g in self.groups:
            if g.parent_id is not None:
                children[g.parent_id].append(g.id)
        seen: set[str] = set()
        for c in self.connectors:
            if c.id in seen:
                raise TreeError(f"connector {c.id} is in the tree twice")
            seen.add(c.id)
            if c.group_id not in by_id:
                raise TreeError(f"connector {c.id}: its group {c.group_id} does not exist")
            if sorted(c.rotation) != [0, 1, 2]:
                raise TreeError(f"connector {c.id}: a phase rotation uses each phase once")
            if not (math.isfinite(c.max_a) and c.max_a >= 0):
                raise TreeError(f"connector {c.id}: the maximum current must be >= 0")
        object.__setattr__(self, "_ancestors", ancestors)
        object.__setattr__(self, "_children", {k: tuple(v) for k, v in children.items()})
        object.__setattr__(self, "_by_id", {c.id: c for c in self.connectors})

    @property
    def root(self) -> Group:
        return next(g for g in self.groups if g.parent_id is None)

    def group(self, group_id: str) -> Group:
        for g in self.groups:
            if g.id == group_id:
                return g
        raise KeyError(group_id)

    def connector(self, connector_id: str) -> Connector | None:
        return self._by_id.get(connector_id)

    @property
    def connector_index(self) -> dict[str, Connector]:
        """The connectors by id (do not change it)."""
        return self._by_id

    def ancestors(self, group_id: str) -> tuple[str, ...]:
        """The group and every group above it, up to the root."""
        return self._ancestors[group_id]

    def children(self, group_id: str) -> tuple[str, ...]:
        return self._children[group_id]

    def connectors_under(self, group_id: str) -> Iterable[Connector]:
        return (c for c in self.connectors if group_id in self._ancestors[c.group_id])


def footprint(grid: GridType, rotation: Rotation, car_phases: int) -> tuple[int, ...]:
    """The grid lines a connector's current flows on, per ampere it charges with.

    Single-phase grid: line 0 whatever the car. Three phases with neutral: a one-phase car on the
    line of the charger's L1, a three-phase car on all three. Three phases without neutral (IT):
    a one-phase car charges between two lines (the charger's L1 and L2), so its current flows on
    both."""
    if grid is GridType.SINGLE_230:
        return (0,)
    if car_phases >= PHASES:
        return (0, 1, 2)
    if grid is GridType.THREE_230:
        return tuple(sorted((rotation[0], rotation[1])))
    return (rotation[0],)


def watts_per_a(grid: GridType, car_phases: int) -> float:
    """A car's power per ampere of charging current per phase."""
    if grid is GridType.SINGLE_230 or car_phases < PHASES:
        return PHASE_VOLTAGE_V
    if grid is GridType.THREE_230:
        return SQRT3 * PHASE_VOLTAGE_V
    return PHASES * PHASE_VOLTAGE_V


def used_phases(grid: GridType, car_phases: int) -> int:
    """How many phases the car charges on at this connection (what a charging limit names)."""
    return 1 if grid is GridType.SINGLE_230 or car_phases < PHASES else PHASES
