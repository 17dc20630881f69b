"""domain.plan (the placeholder day plan): charge in the cheapest hours, discharge in the
dearest, self-consumption otherwise; one interval per change; limits and energy respected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from voltfleet.domain.commands import BatteryMode
from voltfleet.domain.plan import BatteryParams, PlanError, day_plan, planned_power_at
from voltfleet.domain.tariffs.series import RateSeries, to_us

T0 = datetime(2026, 3, 2, tzinfo=UTC)
HOUR = timedelta(hours=1)


def hourly(prices: list[float]) -> RateSeries:
    starts = [to_us(T0 + i * HOUR) for i in range(len(prices))]
    ends = [to_us(T0 + (i + 1) * HOUR) for i in range(len(prices))]
    return RateSeries(starts, ends, prices, "EUR", HOUR)


# cheap at night (hours 2-4), dear in the evening (hours 18-20)
DAY = [0.20, 0.15, 0.05, 0.04, 0.06, 0.18] + [0.25] * 12 + [0.45, 0.50, 0.40, 0.30, 0.28, 0.22]
BAT = BatteryParams(
    capacity_wh=10_000,
    max_charge_w=5000,
    max_discharge_w=5000,
    soc_now=0.1,
    target_soc=0.9,
    soc_min=0.1,
    round_trip_efficiency=0.81,
)


def test_charges_cheapest_and_discharges_dearest() -> None:
    plan = day_plan(hourly(DAY), BAT)
    # 8 kWh into the battery = 8 / 0.9 kWh from the grid at up to 5 kW: the cheapest hour (3)
    # in full, the rest in the next cheapest (2)
    charge = {(i.start - T0) // HOUR: i for i in plan.intervals if i.mode is BatteryMode.CHARGE}
    assert set(charge) == {2, 3}
    assert charge[3].battery_power_w == 5000
    assert charge[2].battery_power_w == pytest.approx(8 / 0.9 * 1000 - 5000)
    assert plan.charge_kwh == pytest.approx(8 / 0.9)
    discharge = [i for i in plan.intervals if i.mode is BatteryMode.DISCHARGE]
    hours = sorted((i.start - T0) // HOUR for i in discharge)
    assert hours[0] == 18 and all(DAY[h] > 0.06 / 0.81 for h in hours)
    # 8 kWh stored above the minimum give 8 * 0.9 kWh to the home, at most 5 kW
    assert plan.discharge_kwh == pytest.approx(8 * 0.9)
    assert all(-5000 <= i.battery_power_w < 0 for i in discharge)
    # the plan covers the day without gaps, and neighbours differ
    assert plan.intervals[0].start == T0 and plan.intervals[-1].end == T0 + 24 * HOUR
    for a, b in zip(plan.intervals, plan.intervals[1:], strict=False):
        assert a.end == b.start and (a.mode, a.battery_power_w) != (b.mode, b.battery_power_w)
    assert planned_power_at(plan, T0 + 3.5 * HOUR) == 5000
    assert planned_power_at(plan, T0 + 10 * HOUR) is None  # self-consumption
    assert plan.intervals[0].command_params() == {"mode": "self_consumption"}
    assert charge[3].command_params() == {"mode": "charge", "battery_power_w": 5000.0}


def test_no_discharge_when_the_spread_does_not_pay_the_losses() -> None:
    flat = [0.30] * 23 + [0.33]
    plan = day_plan(hourly(flat), BAT)
    assert not [i for i in plan.intervals if i.mode is BatteryMode.DISCHARGE]
    assert plan.discharge_kwh == 0


def test_a_full_battery_is_not_charged() -> None:
    full = BatteryParams(10_000, 5000, 5000, soc_now=0.95, target_soc=0.9, soc_min=0.1)
    plan = day_plan(hourly(DAY), full)
    assert plan.charge_kwh == 0
    assert not [i for i in plan.intervals if i.mode is BatteryMode.CHARGE]


@pytest.mark.parametrize(
    "bad",
    [
        BatteryParams(0, 5000, 5000),
        BatteryParams(10_000, -1, 5000),
        BatteryParams(10_000, 5000, 5000, soc_now=1.5),
        BatteryParams(10_000, 5000, 5000, target_soc=0.1, soc_min=0.2),
    ],
)
def test_bad_parameters(bad: BatteryParams) -> None:
    with pytest.raises(PlanError):
        day_plan(hourly(DAY), bad)
