"""Departure times in the allocation (domain.power.departure): the required average power, the
outlook a person reads, urgent cars first, and two properties over random situations: no group
line is ever over its limit, and an urgent car gets at least what a non-urgent car with the same
constraints gets."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.domain.power.test_allocate_fast import situations
from tests.unit.domain.power.test_allocation_properties import expected_caps, loads
from voltfleet.domain.power.allocate import Demand, Situation, allocate, allocate_plain
from voltfleet.domain.power.departure import Need, outlook, remaining_wh, required_w
from voltfleet.domain.power.modes import Mode, PowerSettings
from voltfleet.domain.power.tree import Connector, GridType, Group, Tree

G3 = GridType.THREE_400
TOL = 1e-6


def test_required_power_is_remaining_energy_over_time_left() -> None:
    assert required_w(Need(11_000.0, 7200.0), 0.0) == 5500.0
    assert required_w(Need(0.0, 7200.0), 0.0) == 0.0  # has what it asked for
    assert required_w(Need(1000.0, 10.0), 20.0) == math.inf  # departure passed, energy missing


def test_outlook_says_ready_at_or_missing_by() -> None:
    ready = outlook(Need(11_000.0, 4 * 3600.0), 11_000.0, 0.0)
    assert ready.ready_s == 3600.0 and ready.short_wh == 0.0
    short = outlook(Need(11_000.0, 3600.0), 4140.0, 0.0)
    assert short.ready_s is None and math.isclose(short.short_wh, 6860.0)
    assert outlook(Need(5000.0, 3600.0), 0.0, 0.0).short_wh == 5000.0  # paused: misses it all
    assert remaining_wh(20_000.0, 4500.0) == 15_500.0
    assert remaining_wh(None, 4500.0) == 0.0


def _three(fuse: float = 25.0) -> Tree:
    conns = tuple(Connector(c, "main", 32.0) for c in "abc")
    return Tree(G3, (Group("main", None, fuse),), conns)


def test_an_urgent_car_gets_the_current_it_needs_and_the_others_share_the_rest() -> None:
    t = _three()
    demands = [Demand(c, arrived_s=i) for i, c in enumerate("abc")]
    fair = allocate(Situation(t, PowerSettings(), demands, {}))
    assert fair.limits_a == {"a": 8.3, "b": 8.3, "c": 8.3}
    # c must have 22 kWh in 2 h: 11 kW, 15.9 A on three phases
    need = {"c": Need(22_000.0, 7200.0)}
    a = allocate(Situation(t, PowerSettings(), demands, {}, needs=need))
    assert a.limits_a["c"] == 13.0  # all the 25 A leave once a and b have their 6 A
    assert a.limits_a["a"] == a.limits_a["b"] == 6.0
    assert sum(a.limits_a.values()) <= 25.0 + TOL


def test_an_urgent_car_with_a_small_need_does_not_take_more_than_its_fair_share() -> None:
    t = _three()
    demands = [Demand(c, arrived_s=i) for i, c in enumerate("abc")]
    need = {"c": Need(2_000.0, 7200.0)}  # 1 kW: below its minimum
    a = allocate(Situation(t, PowerSettings(), demands, {}, needs=need))
    assert a.limits_a == {"a": 8.3, "b": 8.3, "c": 8.3}


def test_when_not_everyone_fits_the_urgent_car_charges_and_the_latest_other_waits() -> None:
    t = Tree(G3, (Group("main", None, 16.0),), tuple(Connector(c, "main", 32.0) for c in "abc"))
    demands = [Demand(c, arrived_s=i) for i, c in enumerate("abc")]
    plain = allocate(Situation(t, PowerSettings(), demands, {}))
    assert plain.paused == ("c",)
    a = allocate(Situation(t, PowerSettings(), demands, {}, needs={"c": Need(5000.0, 3600.0)}))
    assert a.paused == ("b",)
    assert a.limits_a["c"] >= 6.0


def test_in_solar_balancing_the_grid_tops_an_urgent_car_up_to_its_need() -> None:
    t = Tree(G3, (Group("main", None, 35.0, has_meter=True),), (Connector("a", "main", 16.0),))
    from voltfleet.domain.power.allocate import MeterReading

    meters = {"main": MeterReading((0.0, 0.0, 0.0), 1.0)}  # no surplus
    cfg = PowerSettings(mode=Mode.SOLAR_BALANCING)
    base = allocate(Situation(t, cfg, [Demand("a")], meters))
    assert base.limits_a == {"a": 6.0}
    a = allocate(Situation(t, cfg, [Demand("a")], meters, needs={"a": Need(20_700.0, 3 * 3600.0)}))
    assert a.limits_a == {"a": 10.0}  # 6.9 kW on three phases


@st.composite
def with_needs(draw: st.DrawFn) -> Situation:
    s: Situation = draw(situations())
    ids = [c.id for c in s.tree.connectors]
    needs = {
        cid: Need(
            draw(st.sampled_from([0.0, 1000.0, 8000.0, 30_000.0, 80_000.0])),
            s.now_s + draw(st.sampled_from([-60.0, 600.0, 3600.0, 36_000.0])),
        )
        for cid in ids
        if draw(st.booleans())
    }
    return Situation(
        s.tree,
        s.settings,
        s.demands,
        s.meters,
        minute_of_day=s.minute_of_day,
        now_s=s.now_s,
        surplus_seen_s=s.surplus_seen_s,
        needs=needs,
    )


@settings(max_examples=300, deadline=None)
@given(with_needs())
def test_departures_never_break_a_limit_and_urgent_cars_get_at_least_their_twins(
    s: Situation,
) -> None:
    a = allocate(s)
    assert a == allocate_plain(s)
    cars = {}
    for d in s.demands:  # the first of a connector counts
        cars.setdefault(d.connector_id, d)
    demands = [d for cid, d in cars.items() if s.tree.connector(cid) is not None]
    clean = Situation(s.tree, s.settings, demands, s.meters, s.minute_of_day, s.now_s)
    drawn = {
        d.connector_id: (
            d.drawn_a if d.drawn_a and math.isfinite(d.drawn_a) and d.drawn_a > 0 else 0.0
        )
        for d in demands
    }
    caps = expected_caps(clean, drawn)
    for key, used in loads(clean, a.limits_a).items():
        assert used <= caps[key] + TOL, (key, used, caps[key])
    by_id = s.tree.connector_index
    for cid, v in a.limits_a.items():
        assert v == 0.0 or s.settings.min_charge_a - TOL <= v <= by_id[cid].max_a + TOL
    if s.settings.mode is Mode.FAST:
        return
    # twins: same group, maximum, rotation, priority and car phases; one urgent, one not
    for d1 in demands:
        n1 = s.needs.get(d1.connector_id)
        if n1 is None or not n1.urgent:
            continue
        c1 = by_id[d1.connector_id]
        for d2 in demands:
            n2 = s.needs.get(d2.connector_id)
            if n2 is not None and n2.urgent:
                continue
            c2 = by_id[d2.connector_id]
            same = (
                c1.group_id == c2.group_id
                and c1.max_a == c2.max_a
                and c1.rotation == c2.rotation
                and c1.priority == c2.priority
                and min(d1.car_phases, 3) // 3 == min(d2.car_phases, 3) // 3
            )
            if same:
                assert a.limits_a[c1.id] >= a.limits_a[c2.id] - TOL, (c1.id, c2.id)
