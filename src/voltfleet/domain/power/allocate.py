"""Allocation of charging current per grid phase down a location's fuse tree.

One cycle: what each group may give its chargers (its fuse, a peak-shaving limit, minus the other
consumers its meter measures, or a safe limit when that meter is silent), which cars may charge at
all (each needs the minimum current, 6 A; those that do not fit are paused in a stable order:
priority, then arrival), and how the rest is shared: max-min fair (progressive filling: every
admitted car's current rises together and stops where it reaches its own maximum or a group phase
is full), or first come first served in fast mode. Solar modes add one more constraint: the
power of all cars together against the measured surplus.

Why hand-written: the allocation is a small max-min fairness problem over linear constraints with
integer pausing; a general LP/ILP solver (scipy, OR-tools) would be slower per cycle than this
exact event-driven filling, and none knows phase rotation or the 6 A minimum.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from voltfleet.domain.power.modes import Mode, PowerSettings
from voltfleet.domain.power.tree import (
    PHASES,
    Connector,
    Tree,
    footprint,
    used_phases,
    watts_per_a,
)

EPS = 1e-9
INF = math.inf


@dataclass(frozen=True)
class MeterReading:
    """A group meter's newest reading: current per grid line (import positive) and its age."""

    currents_a: tuple[float, ...]
    age_s: float


@dataclass(frozen=True)
class Demand:
    """A connector with a car that wants current. ``car_phases``: what the car charges on (1 or
    3; 3 when unknown, the safe guess). ``arrived_s``: when it arrived (orders first come first
    served and who is paused). ``drawn_a``: the current per phase it draws now, as measured."""

    connector_id: str
    car_phases: int = PHASES
    arrived_s: float = 0.0
    drawn_a: float | None = None


@dataclass(frozen=True)
class Situation:
    tree: Tree
    settings: PowerSettings
    demands: Sequence[Demand]
    meters: Mapping[str, MeterReading]  # by group id
    minute_of_day: int = 0  # local time, for peak shaving windows
    now_s: float = 0.0
    surplus_seen_s: float | None = None  # solar only: when the surplus last covered a car


@dataclass(frozen=True)
class GroupState:
    cap_a: tuple[float, ...]  # per grid line: what the chargers below may draw together
    allocated_a: tuple[float, ...]  # per grid line: what they were given
    others_a: tuple[float, ...] | None  # per line: other consumers measured (fresh meter only)
    stale: bool  # it has a meter and the meter is silent: on its safe limit
    power_cap_w: float | None  # peak shaving in kW, for the chargers below (None: no such limit)


@dataclass(frozen=True)
class Allocation:
    limits_a: dict[str, float]  # connector id -> current per phase (0: paused)
    phases: dict[str, int]  # connector id -> phases the limit is for
    paused: tuple[str, ...]  # wanting current but given none, in the order they were refused
    groups: dict[str, GroupState]
    surplus_w: float | None  # solar modes: the surplus available to the cars
    surplus_seen_s: float | None


@dataclass
class _Class:
    """Connectors that the allocation cannot tell apart (same group, grid lines, watts per
    ampere and maximum): max-min fairness gives them the same current, so they are allocated
    as one, which keeps a cycle's cost per connector to a dictionary lookup."""

    group_id: str
    lines: tuple[int, ...]
    w_per_a: float
    max_a: float
    phases: int
    members: list[tuple[Demand, Connector]]
    ids: list[str]  # the members' connector ids, in the same order
    drawn_a: float = 0.0  # what its members draw together, per line
    cons: tuple[tuple[int, float], ...] = ()
    admitted: list[str] | None = None  # fair sharing: the members that charge
    level_a: float = 0.0  # fair sharing: what each admitted member gets


def _order(m: tuple[Demand, Connector]) -> tuple[int, float, str]:
    return (-m[1].priority, m[0].arrived_s, m[1].id)


def allocate(s: Situation) -> Allocation:
    tree, cfg = s.tree, s.settings
    grid = tree.grid
    n_lines = grid.phases
    index_of = tree.connector_index
    min_a = cfg.min_charge_a

    by_key: dict[tuple[str, tuple[int, ...], float], _Class] = {}
    lines_of: dict[tuple[tuple[int, int, int], int], tuple[int, ...]] = {}
    seen: set[str] = set()
    for d in s.demands:
        c = index_of.get(d.connector_id)
        if c is None or d.connector_id in seen:
            continue
        seen.add(d.connector_id)
        car = PHASES if d.car_phases >= PHASES else 1
        lines = lines_of.get((c.rotation, car))
        if lines is None:
            lines = lines_of[(c.rotation, car)] = footprint(grid, c.rotation, car)
        key = (c.group_id, lines, c.max_a)
        cls = by_key.get(key)
        if cls is None:
            cls = by_key[key] = _Class(
                c.group_id, lines, watts_per_a(grid, car), c.max_a, used_phases(grid, car), [], []
            )
        cls.members.append((d, c))
        cls.ids.append(c.id)
        a = d.drawn_a
        if a is not None and a > 0 and math.isfinite(a):
            cls.drawn_a += a
    classes = list(by_key.values())

    # ---- what each group may give its chargers -----------------------------------------------
    drawn = {g.id: [0.0] * PHASES for g in tree.groups}
    for cls in classes:
        if cls.drawn_a > 0:
            for gid in tree.ancestors(cls.group_id):
                row = drawn[gid]
                for p in cls.lines:
                    row[p] += cls.drawn_a
    caps: dict[str, list[float]] = {}
    power_caps: dict[str, float] = {}
    others_of: dict[str, tuple[float, ...] | None] = {}
    stale_of: dict[str, bool] = {}
    for g in tree.groups:
        base = g.fuse_a
        peak = g.peak if g.peak is not None and g.peak.active(s.minute_of_day) else None
        if peak is not None and peak.current_a is not None:
            base = min(base, max(0.0, peak.current_a))
        reading = s.meters.get(g.id)
        fresh = (
            reading is not None
            and reading.age_s <= cfg.meter_stale_s
            and len(reading.currents_a) >= n_lines
            and all(math.isfinite(x) for x in reading.currents_a[:n_lines])
        )
        others: tuple[float, ...] | None = None
        if fresh and reading is not None:
            # the other consumers: what the meter measures minus what the cars below draw;
            # production (negative) never widens a fuse
            others = tuple(max(0.0, reading.currents_a[p] - drawn[g.id][p]) for p in range(n_lines))
            cap = [max(0.0, base - others[p]) for p in range(n_lines)]
            stale = False
        elif g.has_meter or reading is not None:
            cap = [min(base, g.safe_a)] * n_lines
            stale = True
        else:
            cap = [base] * n_lines
            stale = False
        caps[g.id] = cap
        others_of[g.id] = others
        stale_of[g.id] = stale
        if peak is not None and peak.power_kw is not None:
            other_w = sum(others) * grid.volts_per_line_a if others is not None else 0.0
            power_caps[g.id] = max(0.0, peak.power_kw * 1000.0 - other_w)

    # ---- solar -------------------------------------------------------------------------------
    surplus_w: float | None = None
    seen_s = s.surplus_seen_s
    solar_admit = INF  # the cars' minimum power admission may use
    solar_fill: float | None = None  # the power the cars may share (None: no solar constraint)
    bridging = False
    if cfg.mode.solar:
        root = tree.root
        reading = s.meters.get(root.id)
        surplus_w = 0.0
        if reading is not None and not stale_of[root.id] and len(reading.currents_a) >= n_lines:
            grid_w = sum(reading.currents_a[:n_lines]) * grid.volts_per_line_a
            ev_w = sum(cls.drawn_a * cls.w_per_a for cls in classes)
            surplus_w = max(0.0, ev_w - grid_w)
        first_w = min((min_a * cls.w_per_a for cls in classes), default=INF)
        if surplus_w >= first_w:
            seen_s = s.now_s
        if cfg.mode is Mode.SOLAR_ONLY:
            bridging = (
                cfg.solar_backup_s > 0
                and seen_s is not None
                and s.now_s - seen_s <= cfg.solar_backup_s
            )
            solar_admit = INF if bridging else surplus_w
        elif cfg.mode is Mode.SMART_SOLAR:
            share = cfg.min_solar_share
            solar_admit = surplus_w / share if share > 0 else INF
        solar_fill = surplus_w

    # ---- constraints: (group, line) currents, group power, solar power -------------------------
    cap_k: list[float] = []
    index: dict[tuple[str, int], int] = {}
    for g in tree.groups:
        for p in range(n_lines):
            index[(g.id, p)] = len(cap_k)
            cap_k.append(caps[g.id][p])
    power_index: dict[str, int] = {}
    for gid, w in power_caps.items():
        power_index[gid] = len(cap_k)
        cap_k.append(w)
    solar_k = -1
    if solar_fill is not None:
        solar_k = len(cap_k)
        cap_k.append(solar_admit)
    for cls in classes:
        out: list[tuple[int, float]] = []
        for gid in tree.ancestors(cls.group_id):
            out.extend((index[(gid, p)], 1.0) for p in cls.lines)
            k = power_index.get(gid)
            if k is not None:
                out.append((k, cls.w_per_a))
        if solar_k >= 0:
            out.append((solar_k, cls.w_per_a))
        cls.cons = tuple(out)

    paused: list[tuple[Demand, Connector]] = []
    values: dict[str, float] = {}
    if cfg.mode is Mode.FAST:
        _first_come(classes, cap_k, min_a, values, paused)
    else:
        _admit(classes, cap_k, min_a, paused)
        if solar_k >= 0 and solar_fill is not None:
            used_min_w = sum(min_a * c.w_per_a * len(c.admitted or ()) for c in classes)
            keep_to_surplus = cfg.mode is Mode.SOLAR_ONLY and not bridging
            cap_k[solar_k] = solar_fill if keep_to_surplus else max(solar_fill, used_min_w)
        _fill(classes, cap_k, min_a)

    limits: dict[str, float] = {}
    phases: dict[str, int] = {}
    alloc = {g.id: [0.0] * n_lines for g in tree.groups}
    for cls in classes:
        phases.update(dict.fromkeys(cls.ids, cls.phases))
        if cls.admitted is not None:  # fair shares: one value for the class
            v = _step(cls.level_a)
            if len(cls.admitted) < len(cls.ids):
                limits.update(dict.fromkeys(cls.ids, 0.0))
            limits.update(dict.fromkeys(cls.admitted, v))
            total = v * len(cls.admitted)
        else:
            total = 0.0
            for _, c in cls.members:
                v = _step(values.get(c.id, 0.0))
                limits[c.id] = v
                total += v
        if total > 0:
            for gid in tree.ancestors(cls.group_id):
                row = alloc[gid]
                for p in cls.lines:
                    row[p] += total
    groups = {
        g.id: GroupState(
            cap_a=tuple(caps[g.id]),
            allocated_a=tuple(alloc[g.id]),
            others_a=others_of[g.id],
            stale=stale_of[g.id],
            power_cap_w=power_caps.get(g.id),
        )
        for g in tree.groups
    }
    refused = tuple(c.id for _, c in sorted(paused, key=_order))
    return Allocation(limits, phases, refused, groups, surplus_w, seen_s)


def _step(v: float) -> float:
    """Down to 0.1 A: what a charger is told never exceeds what was allocated."""
    return math.floor(v * 10 + 1e-6) / 10 if v > 0 else 0.0


def _first_come(
    classes: list[_Class],
    cap_k: list[float],
    min_a: float,
    values: dict[str, float],
    paused: list[tuple[Demand, Connector]],
) -> None:
    """Fast mode: in order of arrival (priority first), each car the most the tree still
    allows; a car that cannot get its minimum waits."""
    left = list(cap_k)
    order = sorted(((m, cls) for cls in classes for m in cls.members), key=lambda x: _order(x[0]))
    for m, cls in order:
        room = min((left[k] / a for k, a in cls.cons), default=INF)
        got = min(cls.max_a, room)
        if got + EPS < min_a:
            values[m[1].id] = 0.0
            paused.append(m)
            continue
        for k, a in cls.cons:
            left[k] -= a * got
        values[m[1].id] = got


def _admit(
    classes: list[_Class],
    cap_k: list[float],
    min_a: float,
    paused: list[tuple[Demand, Connector]],
) -> None:
    """Who charges at all: in order (priority, then arrival), each car whose minimum still fits
    every constraint on its path; the others are paused. Only constraints that cannot hold
    everyone's minimum need the walk in order; cars on none of them are all admitted."""
    total = [0.0] * len(cap_k)
    for cls in classes:
        if cls.max_a + EPS < min_a:
            continue
        n = len(cls.members)
        for k, a in cls.cons:
            total[k] += a * min_a * n
    tight = {k for k, t in enumerate(total) if t > cap_k[k] + 1e-6}
    used = [0.0] * len(cap_k)
    contested: list[tuple[tuple[Demand, Connector], _Class]] = []
    for cls in classes:
        if cls.max_a + EPS < min_a:
            cls.admitted = []
            paused.extend(cls.members)
        elif tight and any(k in tight for k, _ in cls.cons):
            cls.admitted = []
            contested.extend((m, cls) for m in cls.members)
        else:
            cls.admitted = cls.ids
            n = len(cls.members)
            for k, a in cls.cons:
                used[k] += a * min_a * n
    contested.sort(key=lambda x: _order(x[0]))
    for m, cls in contested:
        if all(used[k] + a * min_a <= cap_k[k] + 1e-6 for k, a in cls.cons if k in tight):
            for k, a in cls.cons:
                used[k] += a * min_a
            assert cls.admitted is not None
            cls.admitted.append(m[1].id)
        else:
            paused.append(m)


def _fill(classes: list[_Class], cap_k: list[float], min_a: float) -> None:
    """Max-min fair shares by progressive filling, from the minimum up.

    All unfrozen classes share one level; a class freezes at its own maximum or when a
    constraint it is on fills up. A constraint's level only rises as classes freeze below it,
    so stale heap entries are lower bounds, re-checked when they come up (lazy deletion)."""
    live = [c for c in classes if c.admitted]
    n_c = len(live)
    if n_c == 0:
        return
    frozen_use = [0.0] * len(cap_k)
    coef = [0.0] * len(cap_k)
    members: list[list[int]] = [[] for _ in cap_k]
    cons_of: list[list[tuple[int, float]]] = []
    for ci, cls in enumerate(live):
        n = len(cls.admitted or ())
        scaled = [(k, a * n) for k, a in cls.cons]
        cons_of.append(scaled)
        for k, a in scaled:
            coef[k] += a
            members[k].append(ci)
    level_of = [0.0] * n_c
    frozen = [False] * n_c

    def level(k: int) -> float:
        return (cap_k[k] - frozen_use[k]) / coef[k] if coef[k] > EPS else INF

    heap = [(level(k), k) for k in range(len(cap_k)) if coef[k] > EPS]
    heapq.heapify(heap)
    by_max = sorted(range(n_c), key=lambda ci: live[ci].max_a)
    nxt = 0
    left = n_c

    def freeze(ci: int, v: float) -> None:
        frozen[ci] = True
        level_of[ci] = v
        for k, a in cons_of[ci]:
            frozen_use[k] += a * v
            coef[k] -= a

    while left:
        while nxt < n_c and frozen[by_max[nxt]]:
            nxt += 1
        next_max = live[by_max[nxt]].max_a if nxt < n_c else INF
        top = INF
        top_k = -1
        while heap:
            lv, k = heap[0]
            if coef[k] <= EPS:
                heapq.heappop(heap)
                continue
            actual = level(k)
            if actual > lv + 1e-12:
                heapq.heapreplace(heap, (actual, k))
                continue
            top, top_k = actual, k
            break
        if next_max <= top:
            freeze(by_max[nxt], max(min_a, next_max))
            left -= 1
            continue
        heapq.heappop(heap)
        v = max(min_a, top)  # admission guarantees the minimum fits
        for ci in members[top_k]:
            if not frozen[ci]:
                freeze(ci, v)
                left -= 1
    for ci, cls in enumerate(live):
        cls.level_a = level_of[ci]
