"""domain.optimisation.control: a plan's steps as battery_mode commands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from voltfleet.domain.commands import BatteryMode
from voltfleet.domain.optimisation.control import command_intervals, planned_mode
from voltfleet.domain.optimisation.plan import BatteryPlan

SC, CH, DIS, IDLE = (
    BatteryMode.SELF_CONSUMPTION,
    BatteryMode.CHARGE,
    BatteryMode.DISCHARGE,
    BatteryMode.IDLE,
)


def test_modes_of_steps() -> None:
    assert planned_mode(2000, 2500) == (CH, 2000)  # charging from the grid
    assert planned_mode(2000, -300) == (SC, 0.0)  # charging from PV surplus alone
    assert planned_mode(-1000, 0) == (DIS, -1000)  # covering the home, as a setpoint
    assert planned_mode(-1000, 0, follow_home=True) == (SC, 0.0)  # ... or following it
    assert planned_mode(-3000, -2000, follow_home=True) == (DIS, -3000)  # into the grid
    assert planned_mode(0, 800, follow_home=True) == (IDLE, 0.0)  # holding, importing
    assert planned_mode(0, -800, follow_home=True) == (SC, 0.0)  # holding, PV exported
    assert planned_mode(4990, 6000, limit_w=4990) == (CH, 4990)  # never beyond the rating
    assert planned_mode(1234, 2000) == (CH, 1250)  # rounded to 50 W


def plan(battery: list[float], grid: list[float], method: str = "highs-lp") -> BatteryPlan:
    n = len(battery)
    return BatteryPlan(0.25, tuple(battery), tuple(grid), (0.0,) * n, (0.5,) * n, 0.0, method)


def test_intervals_merge_equal_neighbours_and_fallback_is_one() -> None:
    t0 = datetime(2026, 12, 6, tzinfo=UTC)
    q = timedelta(minutes=15)
    got = command_intervals(
        plan([2000, 2010, 0, -500], [2500, 2500, 100, 0]), t0, q, [0.1, 0.2, 0.3, 0.4]
    )
    assert [(i.mode, i.battery_power_w) for i in got] == [(CH, 2000), (IDLE, 0), (DIS, -500)]
    assert got[0].end == t0 + 2 * q and abs(got[0].price_per_kwh - 0.15) < 1e-12
    fallback = command_intervals(plan([0, 0], [0, 0], "self_consumption"), t0, q, [0.1, 0.3])
    assert [(i.mode, i.start, i.end) for i in fallback] == [(SC, t0, t0 + 2 * q)]
