"""Properties of the allocation over random trees, rotations, meters, arrivals, departures and
meter outages, cycle after cycle (with the hysteresis between cycles):

- no line of any group is ever given more than it may carry (its fuse or peak limit, minus the
  other consumers a fresh meter measures; its safe limit while the meter is silent), checked
  against limits recomputed here, both for the allocation and for the limits applied;
- every limit is 0 or between the minimum and the connector's maximum;
- fair sharing: a paused car could not have had 6 A even if every car that charges were held
  at its 6 A minimum (so nobody is paused while another gets more than a fair share).
"""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from voltfleet.domain.power.allocate import Demand, MeterReading, Situation, allocate
from voltfleet.domain.power.hysteresis import Held, smooth
from voltfleet.domain.power.modes import Mode, PowerSettings
from voltfleet.domain.power.tree import (
    ROTATIONS,
    Connector,
    GridType,
    Group,
    PeakLimit,
    Tree,
    footprint,
)

TOL = 1e-6
STALE_S = 30.0


@st.composite
def trees(draw: st.DrawFn) -> Tree:
    grid = draw(st.sampled_from(list(GridType)))
    n_groups = draw(st.integers(1, 6))
    groups = [Group("g0", None, draw(st.sampled_from([16.0, 25.0, 35.0, 63.0])))]
    for i in range(1, n_groups):
        parent = f"g{draw(st.integers(0, i - 1))}"
        peak = draw(
            st.none()
            | st.builds(
                PeakLimit,
                current_a=st.sampled_from([None, 8.0, 13.0, 20.0]),
                start_min=st.sampled_from([None, 0, 600]),
                end_min=st.sampled_from([None, 720, 1200]),
            )
        )
        groups.append(
            Group(
                f"g{i}",
                parent,
                draw(st.sampled_from([6.0, 10.0, 16.0, 20.0, 32.0])),
                peak=peak,
                fallback_a=draw(st.sampled_from([None, 6.0, 10.0])),
                has_meter=draw(st.booleans()),
            )
        )
    n_conn = draw(st.integers(0, 12))
    conns = tuple(
        Connector(
            f"c{j}",
            f"g{draw(st.integers(0, n_groups - 1))}",
            draw(st.sampled_from([4.0, 6.0, 10.0, 16.0, 32.0])),
            draw(st.sampled_from(ROTATIONS)),
            priority=draw(st.integers(0, 1)),
        )
        for j in range(n_conn)
    )
    return Tree(grid, tuple(groups), conns)


step = st.fixed_dictionaries(
    {
        "present": st.sets(st.integers(0, 11)),  # who is plugged in this cycle
        "phases": st.lists(st.sampled_from([1, 3]), min_size=12, max_size=12),
        "meter": st.lists(
            st.none() | st.tuples(st.floats(-20, 40), st.floats(-20, 40), st.floats(-20, 40)),
            min_size=6,
            max_size=6,
        ),
        "age": st.lists(st.sampled_from([1.0, 10.0, 120.0]), min_size=6, max_size=6),
        "minute": st.integers(0, 1439),
        "dt": st.sampled_from([1.0, 5.0, 30.0, 90.0]),
    }
)


def expected_caps(s: Situation, drawn: dict[str, float]) -> dict[tuple[str, int], float]:
    """What each group line may carry for the cars, recomputed independently."""
    tree = s.tree
    n = tree.grid.phases
    on_line = {(g.id, p): 0.0 for g in tree.groups for p in range(n)}
    cars = {d.connector_id: d for d in s.demands}
    for c in tree.connectors:
        d = cars.get(c.id)
        if d is None:
            continue
        for p in footprint(tree.grid, c.rotation, d.car_phases):
            for g in tree.ancestors(c.group_id):
                on_line[(g, p)] += drawn.get(c.id, 0.0)
    caps = {}
    for g in tree.groups:
        limit = g.fuse_a
        if g.peak is not None and g.peak.active(s.minute_of_day) and g.peak.current_a is not None:
            limit = min(limit, g.peak.current_a)
        m = s.meters.get(g.id)
        for p in range(n):
            if m is not None and m.age_s <= STALE_S:
                caps[(g.id, p)] = max(0.0, limit - max(0.0, m.currents_a[p] - on_line[(g.id, p)]))
            elif m is not None or g.has_meter:
                caps[(g.id, p)] = min(limit, g.safe_a)
            else:
                caps[(g.id, p)] = limit
    return caps


def loads(s: Situation, limits: dict[str, float]) -> dict[tuple[str, int], float]:
    tree = s.tree
    out = {(g.id, p): 0.0 for g in tree.groups for p in range(tree.grid.phases)}
    cars = {d.connector_id: d for d in s.demands}
    for c in tree.connectors:
        if c.id in cars and limits.get(c.id, 0.0) > 0:
            for p in footprint(tree.grid, c.rotation, cars[c.id].car_phases):
                for g in tree.ancestors(c.group_id):
                    out[(g, p)] += limits[c.id]
    return out


@settings(max_examples=300, deadline=None)
@given(
    tree=trees(),
    steps=st.lists(step, min_size=1, max_size=8),
    mode=st.sampled_from([Mode.SHARING, Mode.FAST]),
)
def test_no_group_line_is_ever_over_its_limit_and_pausing_is_necessary(
    tree: Tree, steps: list[dict[str, object]], mode: Mode
) -> None:
    cfg = PowerSettings(mode=mode, meter_stale_s=STALE_S, raise_hold_s=60.0)
    held: dict[str, Held] = {}
    arrived: dict[str, float] = {}
    now = 0.0
    applied_before: dict[str, float] = {}
    for st_ in steps:
        now += st_["dt"]  # type: ignore[operator]
        present = {f"c{i}" for i in st_["present"]}  # type: ignore[attr-defined]
        for cid in present:
            arrived.setdefault(cid, now)
        for cid in list(arrived):
            if cid not in present:
                del arrived[cid]  # departed
        phases = st_["phases"]
        demands = [
            Demand(c.id, phases[int(c.id[1:])], arrived[c.id], applied_before.get(c.id))  # type: ignore[index]
            for c in tree.connectors
            if c.id in present
        ]
        meters = {
            f"g{i}": MeterReading(m, st_["age"][i])  # type: ignore[index]
            for i, m in enumerate(st_["meter"])  # type: ignore[arg-type]
            if m is not None and i < len(tree.groups)
        }
        s = Situation(tree, cfg, demands, meters, minute_of_day=st_["minute"], now_s=now)  # type: ignore[arg-type]
        a = allocate(s)
        drawn = {d.connector_id: d.drawn_a or 0.0 for d in demands}
        caps = expected_caps(s, drawn)
        for key, used in loads(s, a.limits_a).items():
            assert used <= caps[key] + TOL, (key, used, caps[key])
        by_id = {c.id: c for c in tree.connectors}
        for cid, v in a.limits_a.items():
            assert v == 0.0 or cfg.min_charge_a - TOL <= v <= by_id[cid].max_a + TOL
        if mode is Mode.SHARING:
            at_min = {cid: cfg.min_charge_a for cid, v in a.limits_a.items() if v > 0}
            floor = loads(s, at_min)
            cars = {d.connector_id: d for d in demands}
            for cid in a.paused:
                c = by_id[cid]
                if c.max_a < cfg.min_charge_a:
                    continue
                lines = footprint(tree.grid, c.rotation, cars[cid].car_phases)
                assert any(
                    floor[(g, p)] + cfg.min_charge_a > caps[(g, p)] + TOL
                    for g in tree.ancestors(c.group_id)
                    for p in lines
                ), f"{cid} was paused but fits at the minimum"
        held = smooth(held, a.limits_a, now, cfg.raise_hold_s)
        applied = {cid: h.applied_a for cid, h in held.items()}
        for key, used in loads(s, applied).items():
            assert used <= caps[key] + TOL
        applied_before = {cid: v for cid, v in applied.items() if v > 0 and math.isfinite(v)}
