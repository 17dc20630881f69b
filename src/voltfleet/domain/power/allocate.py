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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

import numpy as np

from voltfleet.domain.power.departure import Need, required_w
from voltfleet.domain.power.modes import Mode, PowerSettings
from voltfleet.domain.power.tree import (
    PHASES,
    ROTATIONS,
    STANDARD_ROTATION,
    Connector,
    Tree,
    footprint,
    used_phases,
    watts_per_a,
)

EPS = 1e-9
INF = math.inf
LineCons = dict[tuple[str, tuple[int, ...]], tuple[tuple[int, ...], tuple[tuple[int, float], ...]]]


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
    # departure times (domain.power.departure): connector id -> what its car still needs by when
    needs: Mapping[str, Need] = field(default_factory=dict)


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


@dataclass(slots=True)
class _Class:
    """Connectors that the allocation cannot tell apart (same group, grid lines, watts per
    ampere and maximum): max-min fairness gives them the same current, so they are allocated
    as one, which keeps a cycle's cost per connector to a dictionary lookup."""

    group_id: str
    lines: tuple[int, ...]
    w_per_a: float
    max_a: float
    phases: int
    member_list: list[tuple[Demand, Connector]] | None  # None: built from ``rows`` when asked
    ids: list[str]  # the members' connector ids, in the same order
    drawn_a: float = 0.0  # what its members draw together, per line
    rows: Sequence[int] = ()  # the members' places in the situation's demands (fast path)
    source: Situation | None = None
    cons: tuple[tuple[int, float], ...] = ()
    ks: tuple[int, ...] | None = None  # when every constraint is a line's (coefficient 1): theirs
    admitted: list[str] | None = None  # fair sharing: the members that charge
    level_a: float = 0.0  # fair sharing: what each admitted member gets
    need_a: float = 0.0  # a car with a departure (alone in its class): the current it needs
    floor_a: float = 0.0  # ... and what of it was reserved (0: no floor above the minimum)

    @property
    def members(self) -> list[tuple[Demand, Connector]]:
        """(demand, connector) of each member, in the demands' order."""
        if self.member_list is None:
            assert self.source is not None
            demands, index = self.source.demands, self.source.tree.connector_index
            self.member_list = [(d, index[d.connector_id]) for d in (demands[r] for r in self.rows)]
        return self.member_list


def _order(m: tuple[Demand, Connector]) -> tuple[int, float, str]:
    return (-m[1].priority, m[0].arrived_s, m[1].id)


Order = Callable[[tuple[Demand, Connector]], tuple[object, ...]]


def _order_by(needs: Mapping[str, Need]) -> Order:
    """Who comes first: priority, then cars with a departure that still need energy (earliest
    departure first), then arrival."""
    if not needs:
        return _order

    def key(m: tuple[Demand, Connector]) -> tuple[int, int, float, float, str]:
        need = needs.get(m[1].id)
        if need is not None and need.urgent:
            return (-m[1].priority, 0, need.departure_s, m[0].arrived_s, m[1].id)
        return (-m[1].priority, 1, 0.0, m[0].arrived_s, m[1].id)

    return key


def _split_urgent(s: Situation, classes: list[_Class]) -> list[_Class]:
    """Each car with a departure that still needs energy in a class of its own, with the
    current it needs (its required average power over its watts per ampere)."""
    needs = s.needs
    urgent = {cid for cid, n in needs.items() if n.urgent}
    out: list[_Class] = []
    for cls in classes:
        if urgent.isdisjoint(cls.ids):
            out.append(cls)
            continue
        rest: list[tuple[Demand, Connector]] = []
        alone: list[_Class] = []
        for d, c in cls.members:
            need = needs.get(c.id)
            if need is None or not need.urgent:
                rest.append((d, c))
                continue
            drawn = d.drawn_a if d.drawn_a is not None else 0.0
            one = _Class(
                cls.group_id, cls.lines, cls.w_per_a, cls.max_a, cls.phases, [(d, c)], [c.id]
            )
            one.drawn_a = drawn if drawn > 0 and math.isfinite(drawn) else 0.0
            one.need_a = min(cls.max_a, required_w(need, s.now_s) / cls.w_per_a)
            alone.append(one)
        if rest:
            kept = _Class(
                cls.group_id,
                cls.lines,
                cls.w_per_a,
                cls.max_a,
                cls.phases,
                rest,
                [c.id for _, c in rest],
            )
            kept.drawn_a = max(0.0, cls.drawn_a - sum(a.drawn_a for a in alone))
            out.append(kept)
        out.extend(alone)
    return out


def allocate(s: Situation) -> Allocation:
    """One cycle's allocation (the module's notes). The connectors are put into classes by
    array operations (``allocate_classes``); ``allocate_plain`` does it connector by connector
    and is the reference the tests compare this with."""
    return _allocate(s, _classes_fast(s))


def allocate_plain(s: Situation) -> Allocation:
    """The same allocation, its classes built by a plain loop over the demands."""
    return _allocate(s, _classes_plain(s))


def _classes_plain(s: Situation) -> list[_Class]:
    tree = s.tree
    grid = tree.grid
    index_of = tree.connector_index
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
        assert cls.member_list is not None
        cls.member_list.append((d, c))
        cls.ids.append(c.id)
        a = d.drawn_a
        if a is not None and a > 0 and math.isfinite(a):
            cls.drawn_a += a
    return list(by_key.values())


@dataclass(frozen=True)
class _Protos:
    """What ``_classes_fast`` needs of a tree, computed once per tree (kept on it): each
    connector's place, and the class prototype (group, lines, maximum) it belongs to with a
    one-phase car and with a three-phase car."""

    pos: dict[str, int]  # connector id -> its place in tree.connectors
    proto: np.ndarray  # [place, 0: one-phase car / 1: three-phase car] -> prototype
    protos: list[tuple[str, tuple[int, ...], float, float, int]]  # group, lines, w/A, max, phases


def _protos(tree: Tree) -> _Protos:
    memo = tree.memo
    found = memo.get("allocate")
    if isinstance(found, _Protos):
        return found
    grid = tree.grid
    conns = tree.connectors
    n = len(conns)
    group_of = {g.id: j for j, g in enumerate(tree.groups)}
    lines_list: list[tuple[int, ...]] = []
    line_code: dict[tuple[int, ...], int] = {}
    car_of_code: list[int] = []

    def code(lines: tuple[int, ...], car: int) -> int:
        found = line_code.get(lines)
        if found is None:
            found = line_code[lines] = len(lines_list)
            lines_list.append(lines)
            car_of_code.append(car)
        return found

    three = code(footprint(grid, STANDARD_ROTATION, PHASES), PHASES)
    one_by_rotation = {r: code(footprint(grid, r, 1), 1) for r in ROTATIONS}
    gi = np.array([group_of[c.group_id] for c in conns], dtype=np.int64)
    c1 = np.array([one_by_rotation[c.rotation] for c in conns], dtype=np.int64)
    max_a = np.array([c.max_a for c in conns], dtype=np.float64)
    maxima, max_i = np.unique(max_a, return_inverse=True)
    n_codes, n_max = len(lines_list), max(1, len(maxima))
    keys = np.stack(((gi * n_codes + c1) * n_max + max_i, (gi * n_codes + three) * n_max + max_i))
    uniq, proto = np.unique(keys.T.reshape(-1), return_inverse=True)
    groups = tree.groups
    protos = []
    for key in uniq.tolist():
        g, rest = divmod(key, n_codes * n_max)
        lc, m = divmod(rest, n_max)
        car = car_of_code[lc]
        protos.append(
            (
                groups[g].id,
                lines_list[lc],
                watts_per_a(grid, car),
                float(maxima[m]),
                used_phases(grid, car),
            )
        )
    pos = dict(zip([c.id for c in conns], range(n), strict=True))
    out = _Protos(pos, proto.reshape(n, 2), protos)
    memo["allocate"] = out
    return out


def _classes_fast(s: Situation) -> list[_Class]:
    """The classes of ``_classes_plain`` (same members, order and sums) by array operations:
    the per-connector work is a dictionary lookup and a few attribute reads per demand."""
    demands = s.demands
    n = len(demands)
    if n == 0:
        return []
    t = _protos(s.tree)
    ids = [d.connector_id for d in demands]
    found = list(map(t.pos.get, ids))
    if None in found:
        found = [-1 if x is None else x for x in found]
    place = np.array(found, dtype=np.int64)
    rows = np.flatnonzero(place >= 0)
    if len(rows) and np.bincount(place[rows]).max() > 1:  # asked twice: the first counts
        _, first = np.unique(place[rows], return_index=True)
        rows = rows[np.sort(first)]
    if len(rows) == 0:
        return []
    three = np.array([d.car_phases for d in demands], dtype=np.int64)[rows] >= PHASES
    key = t.proto[place[rows], three.astype(np.int64)]
    uniq, first_at, inverse = np.unique(key, return_index=True, return_inverse=True)
    by_appearance = np.argsort(first_at, kind="stable")
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[by_appearance] = np.arange(len(uniq))
    cls_of = rank[inverse.reshape(-1)]
    n_cls = len(uniq)
    counts = np.bincount(cls_of, minlength=n_cls).tolist()
    drawn_list = [d.drawn_a for d in demands]
    if drawn_list.count(None) == n:  # nothing measured: nothing to convert
        sums = [0.0] * n_cls
    else:
        drawn = np.array(drawn_list, dtype=np.float64)[rows]  # None -> nan
        drawn = np.where((drawn > 0) & np.isfinite(drawn), drawn, 0.0)
        sums = np.bincount(cls_of, weights=drawn, minlength=n_cls).tolist()
    member_rows = rows[np.argsort(cls_of, kind="stable")].tolist()
    member_ids = [ids[r] for r in member_rows]
    protos = t.protos
    classes = []
    at = 0
    for k, proto in enumerate(uniq[by_appearance].tolist()):
        group_id, lines, w_per_a, max_a, phases = protos[proto]
        end = at + counts[k]
        classes.append(
            _Class(
                group_id,
                lines,
                w_per_a,
                max_a,
                phases,
                None,
                member_ids[at:end],
                drawn_a=sums[k],
                rows=member_rows[at:end],
                source=s,
            )
        )
        at = end
    return classes


def _allocate(s: Situation, classes: list[_Class]) -> Allocation:
    tree, cfg = s.tree, s.settings
    order = _order_by(s.needs)
    if s.needs:
        classes = _split_urgent(s, classes)
    grid = tree.grid
    n_lines = grid.phases
    min_a = cfg.min_charge_a

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
    # the line constraints of a (group, lines) depend on the tree alone: kept with it
    line_cons = cast(LineCons, tree.memo.setdefault("line_cons", {}))
    for cls in classes:
        if not power_index:
            found = line_cons.get((cls.group_id, cls.lines))
            if found is None:
                ks = tuple(
                    index[(gid, p)] for gid in tree.ancestors(cls.group_id) for p in cls.lines
                )
                found = line_cons[(cls.group_id, cls.lines)] = (ks, tuple((k, 1.0) for k in ks))
            ks, on_lines = found
            if solar_k < 0:
                cls.cons, cls.ks = on_lines, ks
            else:
                cls.cons = (*on_lines, (solar_k, cls.w_per_a))
            continue
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
        _first_come(classes, cap_k, min_a, values, paused, order)
    else:
        used = _admit(classes, cap_k, min_a, paused, order)
        if s.needs:
            _reserve(classes, cap_k, used, min_a, order)
        if solar_k >= 0 and solar_fill is not None:
            used_min_w = sum(
                max(min_a, c.floor_a) * c.w_per_a * len(c.admitted or ()) for c in classes
            )
            keep_to_surplus = cfg.mode is Mode.SOLAR_ONLY and not bridging
            cap_k[solar_k] = solar_fill if keep_to_surplus else max(solar_fill, used_min_w)
        _fill(classes, cap_k, min_a)

    all_ids: list[str] = []  # every class's connectors, and their limits and phases
    all_limits: list[float] = []
    all_phases: list[int] = []
    alloc = {g.id: [0.0] * n_lines for g in tree.groups}
    alloc_k = [0.0] * len(index)  # the same sums by (group, line) constraint
    for cls in classes:
        m = len(cls.ids)
        all_ids += cls.ids
        all_phases += [cls.phases] * m
        if cls.admitted is not None:  # fair shares: one value for the class
            v = _step(cls.level_a)
            if len(cls.admitted) < m:
                admitted = set(cls.admitted)
                all_limits += [v if cid in admitted else 0.0 for cid in cls.ids]
            else:
                all_limits += [v] * m
            total = v * len(cls.admitted)
        else:
            total = 0.0
            for cid in cls.ids:
                v = _step(values.get(cid, 0.0))
                all_limits.append(v)
                total += v
        if total > 0:
            if cls.ks is not None:  # its constraints are its (group, line)s
                for k in cls.ks:
                    alloc_k[k] += total
                continue
            for gid in tree.ancestors(cls.group_id):
                row = alloc[gid]
                for p in cls.lines:
                    row[p] += total
    for (gid, p), k in index.items():
        if alloc_k[k]:
            alloc[gid][p] += alloc_k[k]
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
    refused = tuple(c.id for _, c in sorted(paused, key=order))
    limits = dict(zip(all_ids, all_limits, strict=True))
    phases = dict(zip(all_ids, all_phases, strict=True))
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
    order: Order = _order,
) -> None:
    """Fast mode: in order of arrival (priority first), each car the most the tree still
    allows; a car that cannot get its minimum waits."""
    left = list(cap_k)
    walk = sorted(((m, cls) for cls in classes for m in cls.members), key=lambda x: order(x[0]))
    for m, cls in walk:
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
    order: Order = _order,
) -> list[float]:
    """Who charges at all: in order (priority, then arrival), each car whose minimum still fits
    every constraint on its path; the others are paused. Only constraints that cannot hold
    everyone's minimum need the walk in order; cars on none of them are all admitted."""
    total = [0.0] * len(cap_k)
    for cls in classes:
        if cls.max_a + EPS < min_a:
            continue
        n = len(cls.ids)
        if cls.ks is not None:  # coefficients 1: a * min_a * n is min_a * n
            add = min_a * n
            for k in cls.ks:
                total[k] += add
            continue
        for k, a in cls.cons:
            total[k] += a * min_a * n
    tight = {k for k, t in enumerate(total) if t > cap_k[k] + 1e-6}
    used = [0.0] * len(cap_k)
    contested: list[tuple[tuple[Demand, Connector], _Class]] = []
    for cls in classes:
        if cls.max_a + EPS < min_a:
            cls.admitted = []
            paused.extend(cls.members)
        elif tight and not tight.isdisjoint(k for k, _ in cls.cons):
            cls.admitted = []
            contested.extend((m, cls) for m in cls.members)
        else:
            cls.admitted = cls.ids
            n = len(cls.ids)
            if cls.ks is not None:
                add = min_a * n
                for k in cls.ks:
                    used[k] += add
                continue
            for k, a in cls.cons:
                used[k] += a * min_a * n
    contested.sort(key=lambda x: order(x[0]))
    for m, cls in contested:
        if all(used[k] + a * min_a <= cap_k[k] + 1e-6 for k, a in cls.cons if k in tight):
            for k, a in cls.cons:
                used[k] += a * min_a
            assert cls.admitted is not None
            cls.admitted.append(m[1].id)
        else:
            paused.append(m)
    return used


def _reserve(
    classes: list[_Class], cap_k: list[float], used: list[float], min_a: float, order: Order
) -> None:
    """Departure times: each admitted car that needs more than its minimum to be ready in
    time gets what the constraints still hold once every admitted car has its minimum, up to
    its need, in order (earliest departure first). No one is paused for it, and no constraint
    is exceeded: the reservation is what is left."""
    urgent = [c for c in classes if c.need_a > min_a and c.admitted]
    urgent.sort(key=lambda c: order(c.members[0]))
    for cls in urgent:
        room = min(((cap_k[k] - used[k]) / a for k, a in cls.cons if a > 0), default=INF)
        extra = max(0.0, min(cls.need_a - min_a, room))
        if extra <= EPS:
            continue
        for k, a in cls.cons:
            used[k] += a * extra
        cls.floor_a = min_a + extra


def _scaled(
    ci: int,
    cons_of: list[list[tuple[int, float]] | None],
    ks_of: list[tuple[tuple[int, ...], float] | None],
) -> list[tuple[int, float]]:
    """A live class's constraints with their coefficients scaled by its admitted count."""
    unit = ks_of[ci]
    if unit is not None:
        return [(k, unit[1]) for k in unit[0]]
    return list(cons_of[ci] or ())


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
    cons_of: list[list[tuple[int, float]] | None] = []
    ks_of: list[tuple[tuple[int, ...], float] | None] = []  # coefficients 1: (ks, n)
    for ci, cls in enumerate(live):
        n = len(cls.admitted or ())
        if cls.ks is not None:  # the same sums as below, with a * n = n
            nf = float(n)
            for k in cls.ks:
                coef[k] += nf
                members[k].append(ci)
            cons_of.append(None)
            ks_of.append((cls.ks, nf))
            continue
        scaled = [(k, a * n) for k, a in cls.cons]
        cons_of.append(scaled)
        ks_of.append(None)
        for k, a in scaled:
            coef[k] += a
            members[k].append(ci)
    level_of = [0.0] * n_c
    frozen = [False] * n_c
    # departure times: a class with a reserved floor waits at it (its use counted, its
    # coefficient not) until the common level reaches the floor, then rises with the others
    parked = [False] * n_c
    by_floor: list[int] = []
    for ci, cls in enumerate(live):
        if cls.floor_a > min_a:
            parked[ci] = True
            by_floor.append(ci)
            for k, a in _scaled(ci, cons_of, ks_of):
                frozen_use[k] += a * cls.floor_a
                coef[k] -= a
    by_floor.sort(key=lambda ci: live[ci].floor_a)
    nxt_floor = 0

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
        unit = ks_of[ci]
        if unit is not None:
            ks, nf = unit
            use = nf * v
            for k in ks:
                frozen_use[k] += use
                coef[k] -= nf
            return
        for k, a in cons_of[ci] or ():
            frozen_use[k] += a * v
            coef[k] -= a

    while left:
        while nxt < n_c and frozen[by_max[nxt]]:
            nxt += 1
        at_max = nxt
        while at_max < n_c and (frozen[by_max[at_max]] or parked[by_max[at_max]]):
            at_max += 1  # a parked class is above the level: not the next to reach its maximum
        next_max = live[by_max[at_max]].max_a if at_max < n_c else INF
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
        while nxt_floor < len(by_floor) and not parked[by_floor[nxt_floor]]:
            nxt_floor += 1
        if nxt_floor < len(by_floor):
            ci = by_floor[nxt_floor]
            if live[ci].floor_a <= min(next_max, top):  # the level reached its floor: it joins
                parked[ci] = False
                for k, a in _scaled(ci, cons_of, ks_of):
                    frozen_use[k] -= a * live[ci].floor_a
                    coef[k] += a
                    heapq.heappush(heap, (level(k), k))  # its level may have dropped
                continue
        if next_max <= top:
            freeze(by_max[at_max], max(min_a, next_max))
            left -= 1
            continue
        if top_k < 0:  # only parked classes are left, on full constraints: they keep floors
            break
        heapq.heappop(heap)
        v = max(min_a, top)  # admission guarantees the minimum fits
        for ci in members[top_k]:
            if not frozen[ci] and not parked[ci]:
                freeze(ci, v)
                left -= 1
    for ci in range(n_c):
        if parked[ci]:
            level_of[ci] = live[ci].floor_a
    for ci, cls in enumerate(live):
        cls.level_a = level_of[ci]
