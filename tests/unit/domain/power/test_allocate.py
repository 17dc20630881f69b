"""Allocation per mode, each case small enough to check by hand (docs/power-management.md)."""

from __future__ import annotations

import pytest

from voltfleet.domain.power.allocate import Allocation, Demand, MeterReading, Situation, allocate
from voltfleet.domain.power.fallback import fallback_limits
from voltfleet.domain.power.hysteresis import Held, smooth
from voltfleet.domain.power.modes import Mode, PowerSettings
from voltfleet.domain.power.tree import (
    Connector,
    GridType,
    Group,
    PeakLimit,
    Tree,
    TreeError,
)

G3 = GridType.THREE_400


def tree(*connectors: Connector, fuse: float = 25.0, grid: GridType = G3, **root: object) -> Tree:
    return Tree(grid, (Group("main", None, fuse, **root),), connectors)  # type: ignore[arg-type]


def conn(cid: str, max_a: float = 32.0, group: str = "main", **kw: object) -> Connector:
    return Connector(cid, group, max_a, **kw)  # type: ignore[arg-type]


def run(t: Tree, *demands: Demand, mode: Mode = Mode.SHARING, **kw: object) -> Allocation:
    meters = kw.pop("meters", {})
    cfg = PowerSettings(mode=mode, **{k: v for k, v in kw.items() if k in _CFG})  # type: ignore[arg-type]
    rest = {k: v for k, v in kw.items() if k not in _CFG}
    return allocate(Situation(t, cfg, list(demands), meters, **rest))  # type: ignore[arg-type]


_CFG = {"solar_backup_s", "min_solar_share", "meter_stale_s", "raise_hold_s"}


# ---- load balancing and power sharing ------------------------------------------------------------


def test_load_balancing_limits_a_connector_to_its_group() -> None:
    t = Tree(
        G3, (Group("main", None, 35), Group("garage", "main", 16)), (conn("a", group="garage"),)
    )
    a = run(t, Demand("a"))
    assert a.limits_a == {"a": 16.0}
    assert a.phases == {"a": 3}


def test_a_connector_never_gets_more_than_its_own_maximum() -> None:
    a = run(tree(conn("a", 11)), Demand("a"))
    assert a.limits_a == {"a": 11.0}


def test_power_sharing_gives_fair_shares_in_tenths_of_an_ampere_rounded_down() -> None:
    a = run(tree(conn("a"), conn("b"), conn("c")), Demand("a"), Demand("b"), Demand("c"))
    assert a.limits_a == {"a": 8.3, "b": 8.3, "c": 8.3}


def test_what_one_connector_cannot_use_goes_to_the_others() -> None:
    a = run(tree(conn("a", 6), conn("b"), conn("c")), Demand("a"), Demand("b"), Demand("c"))
    assert a.limits_a == {"a": 6.0, "b": 9.5, "c": 9.5}


def test_cars_that_cannot_get_6a_are_paused_latest_arrival_first_not_all_starved() -> None:
    t = tree(*(conn(c) for c in "abcde"))
    a = run(t, *(Demand(c, arrived_s=i) for i, c in enumerate("abcde")))
    # 25 A holds four cars at 6 A: the last to arrive waits, the others share 25 A
    assert a.paused == ("e",)
    assert a.limits_a == {"a": 6.2, "b": 6.2, "c": 6.2, "d": 6.2, "e": 0.0}


def test_priority_comes_before_arrival_when_pausing() -> None:
    t = tree(*(conn(c) for c in "abcd"), conn("vip", priority=1))
    a = run(t, *(Demand(c, arrived_s=i) for i, c in enumerate(["a", "b", "c", "d", "vip"])))
    assert a.paused == ("d",)
    assert a.limits_a["vip"] == 6.2


def test_a_car_paused_by_a_full_subgroup_does_not_block_cars_elsewhere() -> None:
    t = Tree(
        G3,
        (Group("main", None, 25), Group("g", "main", 16)),
        (conn("a", group="g"), conn("b", group="g"), conn("c", group="g"), conn("d"), conn("e")),
    )
    a = run(t, *(Demand(c, arrived_s=i) for i, c in enumerate("abcde")))
    assert a.paused == ("c",)
    assert a.limits_a == {"a": 6.2, "b": 6.2, "c": 0.0, "d": 6.2, "e": 6.2}


# ---- phases --------------------------------------------------------------------------------------


def test_phase_rotation_spreads_single_phase_cars_over_the_phases() -> None:
    t = tree(conn("a"), conn("b", rotation=(1, 2, 0)), conn("c", rotation=(2, 0, 1)), fuse=16)
    a = run(t, Demand("a", car_phases=1), Demand("b", car_phases=1), Demand("c", car_phases=1))
    assert a.limits_a == {"a": 16.0, "b": 16.0, "c": 16.0}
    assert a.groups["main"].allocated_a == (16.0, 16.0, 16.0)
    assert a.phases == {"a": 1, "b": 1, "c": 1}


def test_single_phase_cars_on_the_same_phase_share_it() -> None:
    t = tree(conn("a"), conn("b"), fuse=16)
    a = run(t, Demand("a", car_phases=1), Demand("b", car_phases=1))
    assert a.limits_a == {"a": 8.0, "b": 8.0}
    assert a.groups["main"].allocated_a == (16.0, 0.0, 0.0)


def test_a_single_phase_car_leaves_the_other_phases_to_a_three_phase_car() -> None:
    t = tree(conn("one", rotation=(2, 0, 1)), conn("three"), fuse=20)
    a = run(t, Demand("one", car_phases=1), Demand("three"))
    # line 2 carries both (10 A each); lines 0 and 1 only the three-phase car
    assert a.limits_a == {"one": 10.0, "three": 10.0}
    assert a.groups["main"].allocated_a == (10.0, 10.0, 20.0)


def test_without_neutral_a_single_phase_car_loads_two_lines() -> None:
    t = tree(
        conn("a", rotation=(0, 1, 2)),
        conn("b", rotation=(1, 2, 0)),
        fuse=20,
        grid=GridType.THREE_230,
    )
    a = run(t, Demand("a", car_phases=1), Demand("b", car_phases=1))
    # a is on lines 0 and 1, b on lines 1 and 2: line 1 carries both
    assert a.limits_a == {"a": 10.0, "b": 10.0}
    assert a.groups["main"].allocated_a == (10.0, 20.0, 10.0)


def test_single_phase_grid() -> None:
    t = tree(conn("a"), conn("b"), fuse=40, grid=GridType.SINGLE_230)
    a = run(t, Demand("a"), Demand("b", car_phases=1))
    assert a.limits_a == {"a": 20.0, "b": 20.0}
    assert a.phases == {"a": 1, "b": 1}
    assert a.groups["main"].allocated_a == (40.0,)


# ---- meters: dynamic load balancing, stale meters ------------------------------------------------


def test_dynamic_load_balancing_subtracts_the_other_consumers() -> None:
    t = tree(conn("a"), has_meter=True)
    # the meter sees 18 A per phase, 8 A of which is the car: 10 A of others leave 15 A
    m = {"main": MeterReading((18.0, 18.0, 18.0), age_s=2)}
    a = run(t, Demand("a", drawn_a=8.0), meters=m)
    assert a.limits_a == {"a": 15.0}
    assert a.groups["main"].others_a == (10.0, 10.0, 10.0)


def test_the_most_loaded_phase_limits_a_three_phase_car() -> None:
    m = {"main": MeterReading((20.0, 4.0, 4.0), age_s=2)}
    a = run(tree(conn("a"), has_meter=True), Demand("a"), meters=m)
    assert a.limits_a == {"a": 0.0}  # 25 - 20 = 5 A on L1: below 6 A
    assert a.paused == ("a",)


def test_production_on_a_phase_never_widens_the_fuse() -> None:
    m = {"main": MeterReading((-10.0, -10.0, -10.0), age_s=2)}
    a = run(tree(conn("a", 40), has_meter=True), Demand("a"), meters=m)
    assert a.limits_a == {"a": 25.0}


def test_a_silent_meter_makes_its_group_fall_back_to_its_safe_limit_at_once() -> None:
    t = tree(conn("a"), conn("b"), has_meter=True, fallback_a=12.0)
    old = {"main": MeterReading((0.0, 0.0, 0.0), age_s=31)}
    a = run(t, Demand("a"), Demand("b"), meters=old)
    assert a.groups["main"].stale
    assert a.limits_a == {"a": 6.0, "b": 6.0}
    none = run(t, Demand("a"), Demand("b"), meters={})
    assert none.limits_a == {"a": 6.0, "b": 6.0}


# ---- peak shaving --------------------------------------------------------------------------------


def test_peak_shaving_in_amperes_applies_only_in_its_time_window() -> None:
    peak = PeakLimit(current_a=10.0, start_min=17 * 60, end_min=21 * 60)
    t = tree(conn("a"), peak=peak)
    assert run(t, Demand("a"), minute_of_day=18 * 60).limits_a == {"a": 10.0}
    assert run(t, Demand("a"), minute_of_day=22 * 60).limits_a == {"a": 25.0}


def test_a_peak_window_may_wrap_midnight() -> None:
    peak = PeakLimit(current_a=10.0, start_min=22 * 60, end_min=6 * 60)
    assert peak.active(23 * 60) and peak.active(60) and not peak.active(12 * 60)


def test_peak_shaving_in_kw_counts_the_other_consumers() -> None:
    peak = PeakLimit(power_kw=11.0)
    t = tree(conn("a"), peak=peak, has_meter=True)
    a = run(t, Demand("a"), meters={"main": MeterReading((0.0, 0.0, 0.0), age_s=1)})
    assert a.limits_a == {"a": 15.9}  # 11,000 W / 690 W/A
    # 2 A per phase of others is 1,380 W: 9,620 W left, 13.9 A
    b = run(t, Demand("a"), meters={"main": MeterReading((2.0, 2.0, 2.0), age_s=1)})
    assert b.limits_a == {"a": 13.9}


# ---- fast mode -----------------------------------------------------------------------------------


def test_fast_mode_serves_first_come_first_served() -> None:
    t = tree(conn("a", 16), conn("b", 16), conn("c", 16))
    a = run(
        t,
        Demand("a", arrived_s=1),
        Demand("b", arrived_s=2),
        Demand("c", arrived_s=3),
        mode=Mode.FAST,
    )
    assert a.limits_a == {"a": 16.0, "b": 9.0, "c": 0.0}
    assert a.paused == ("c",)


# ---- solar ---------------------------------------------------------------------------------------

EXPORT_10A = {"main": MeterReading((-10.0, -10.0, -10.0), age_s=1)}  # 6,900 W to the grid


def test_solar_balancing_charges_from_the_surplus() -> None:
    a = run(
        tree(conn("a"), has_meter=True), Demand("a"), mode=Mode.SOLAR_BALANCING, meters=EXPORT_10A
    )
    assert a.surplus_w == pytest.approx(6900)
    assert a.limits_a == {"a": 10.0}


def test_solar_balancing_counts_what_the_car_draws_as_surplus() -> None:
    m = {"main": MeterReading((0.0, 0.0, 0.0), age_s=1)}  # the car's 10 A balance the export
    a = run(
        tree(conn("a"), has_meter=True),
        Demand("a", drawn_a=10.0),
        mode=Mode.SOLAR_BALANCING,
        meters=m,
    )
    assert a.limits_a == {"a": 10.0}


def test_solar_balancing_tops_up_from_the_grid_to_the_minimum() -> None:
    m = {"main": MeterReading((1.0, 1.0, 1.0), age_s=1)}
    a = run(tree(conn("a"), has_meter=True), Demand("a"), mode=Mode.SOLAR_BALANCING, meters=m)
    assert a.limits_a == {"a": 6.0}


def test_solar_only_pauses_without_surplus() -> None:
    m = {"main": MeterReading((1.0, 1.0, 1.0), age_s=1)}
    a = run(tree(conn("a"), has_meter=True), Demand("a"), mode=Mode.SOLAR_ONLY, meters=m)
    assert a.limits_a == {"a": 0.0}


def test_solar_only_charges_one_car_when_the_surplus_covers_only_one() -> None:
    a = run(
        tree(conn("a"), conn("b"), has_meter=True),
        Demand("a", arrived_s=1),
        Demand("b", arrived_s=2),
        mode=Mode.SOLAR_ONLY,
        meters=EXPORT_10A,
    )
    assert a.limits_a == {"a": 10.0, "b": 0.0}
    assert a.surplus_seen_s == 0.0


def test_solar_backup_lets_the_grid_bridge_a_short_dip() -> None:
    m = {"main": MeterReading((1.0, 1.0, 1.0), age_s=1)}
    t = tree(conn("a"), has_meter=True)
    args = dict(mode=Mode.SOLAR_ONLY, meters=m, solar_backup_s=300.0, surplus_seen_s=1000.0)
    assert run(t, Demand("a"), now_s=1200.0, **args).limits_a == {"a": 6.0}
    assert run(t, Demand("a"), now_s=1400.0, **args).limits_a == {"a": 0.0}


def test_smart_solar_starts_when_the_surplus_reaches_the_minimum_charge_threshold() -> None:
    t = tree(conn("a"), has_meter=True)
    half = {"main": MeterReading((-3.0, -3.0, -3.0), age_s=1)}  # 2,070 W: half of 6 A x 690
    less = {"main": MeterReading((-2.9, -2.9, -2.9), age_s=1)}
    a = run(t, Demand("a"), mode=Mode.SMART_SOLAR, meters=half, min_solar_share=0.5)
    assert a.limits_a == {"a": 6.0}
    b = run(t, Demand("a"), mode=Mode.SMART_SOLAR, meters=less, min_solar_share=0.5)
    assert b.limits_a == {"a": 0.0}


def test_solar_without_a_fresh_main_meter_assumes_no_surplus() -> None:
    old = {"main": MeterReading((-10.0, -10.0, -10.0), age_s=600)}
    a = run(tree(conn("a"), has_meter=True), Demand("a"), mode=Mode.SOLAR_ONLY, meters=old)
    assert a.limits_a == {"a": 0.0}


# ---- hysteresis, fallback, the tree --------------------------------------------------------------


def test_limits_drop_at_once_and_rise_only_after_the_hold_time() -> None:
    held = {"a": Held(16.0)}
    down = smooth(held, {"a": 10.0}, now_s=0, hold_s=60)
    assert down["a"] == Held(10.0, None)
    up1 = smooth(down, {"a": 16.0}, now_s=10, hold_s=60)
    assert up1["a"] == Held(10.0, 10)
    up2 = smooth(up1, {"a": 14.0}, now_s=50, hold_s=60)
    assert up2["a"].applied_a == 10.0
    up3 = smooth(up2, {"a": 14.0}, now_s=70, hold_s=60)
    assert up3["a"] == Held(14.0, None)
    # a dip while waiting restarts the wait
    w = smooth(smooth(up1, {"a": 9.0}, now_s=20, hold_s=60), {"a": 16.0}, now_s=75, hold_s=60)
    assert w["a"] == Held(9.0, 75)


def test_a_car_that_just_arrived_starts_at_once_but_a_paused_one_waits_to_resume() -> None:
    assert smooth({}, {"a": 16.0}, now_s=0, hold_s=60)["a"] == Held(16.0, None)
    paused = {"a": Held(0.0)}
    assert smooth(paused, {"a": 6.0}, now_s=5, hold_s=60)["a"] == Held(0.0, 5)


def test_fallback_limits_are_safe_when_every_connector_falls_back() -> None:
    t = Tree(
        G3,
        (Group("main", None, 35), Group("g", "main", 16, has_meter=True, fallback_a=12.0)),
        (conn("a", group="g"), conn("b", group="g"), conn("c"), conn("d", 8)),
    )
    assert fallback_limits(t) == {"a": 6.0, "b": 6.0, "c": 8.7, "d": 8.0}
    crowded = tree(*(conn(c) for c in "abcde"))
    assert set(fallback_limits(crowded).values()) == {0.0}


@pytest.mark.parametrize(
    ("groups", "connectors", "message"),
    [
        ((Group("a", None, 10), Group("b", None, 10)), (), "exactly one main fuse"),
        ((Group("a", None, 10), Group("b", "x", 10)), (), "does not exist"),
        ((Group("r", None, 10), Group("a", "b", 10), Group("b", "a", 10)), (), "own ancestor"),
        ((Group("a", None, 0),), (), "positive"),
        ((Group("a", None, 10),), (Connector("c", "a", 16, (0, 0, 1)),), "each phase once"),
        ((Group("a", None, 10),), (Connector("c", "z", 16),), "does not exist"),
    ],
)
def test_a_tree_that_is_not_one_is_refused_with_a_reason(
    groups: tuple[Group, ...], connectors: tuple[Connector, ...], message: str
) -> None:
    with pytest.raises(TreeError, match=message):
        Tree(G3, groups, connectors)


def test_demands_for_unknown_connectors_are_ignored() -> None:
    a = run(tree(conn("a")), Demand("a"), Demand("ghost"))
    assert a.limits_a == {"a": 25.0}
