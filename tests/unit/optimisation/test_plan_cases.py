"""The battery plan on cases a person can check by hand (HiGHS, the real solver).

Hourly steps unless said; a 10 kWh battery, 5 kW each way, 95 % each way (90.25 % round trip),
10 % minimum; load 1 kW. Powers in W: battery > 0 charging, grid > 0 import."""

from __future__ import annotations

import pytest

from tests.unit.optimisation.cases import battery, problem
from voltfleet.domain.optimisation.baselines import no_battery, self_consumption
from voltfleet.domain.optimisation.plan import BatteryPlan, violations
from voltfleet.domain.optimisation.problem import Grid, PlanProblem
from voltfleet.solver.highs import HighsPlanSolver

SOLVER = HighsPlanSolver()


def solve(p: PlanProblem) -> BatteryPlan:
    plan = SOLVER.solve(p, time_limit_s=5)
    assert violations(p, plan) == []
    assert plan.cost <= no_battery(p).cost + 1e-6
    assert plan.cost <= self_consumption(p).cost + 1e-6
    return plan


def charging(plan: BatteryPlan) -> set[int]:
    return {t for t, w in enumerate(plan.battery_power_w) if w > 1}


def discharging(plan: BatteryPlan) -> set[int]:
    return {t for t, w in enumerate(plan.battery_power_w) if w < -1}


def test_flat_prices_never_cycle_through_the_grid() -> None:
    # 15-minute steps over 24 h, one price all day: buying to store only loses the round trip
    p = problem([0.30] * 96, export_price=0.08, step_h=0.25, bat=battery(soc_init=0.5))
    plan = solve(p)
    assert charging(plan) == set()
    # the stored energy covers the load (worth nothing at the horizon), nothing is exported
    assert all(g >= -1e-6 for g in plan.grid_power_w)
    assert plan.soc[-1] == pytest.approx(0.1)
    # and with a value at the horizon equal to what it saves, the battery is left alone
    kept = solve(problem([0.30] * 96, step_h=0.25, bat=battery(soc_init=0.5), terminal=0.30))
    assert charging(kept) == set() and discharging(kept) == set()


def test_cheap_night_dear_evening_charges_at_night_and_covers_the_evening() -> None:
    prices = [0.10] * 6 + [0.25] * 11 + [0.40] * 5 + [0.25] * 2
    plan = solve(problem(prices))
    assert charging(plan) and charging(plan) <= set(range(6))
    # the evening's load comes from the battery, not the grid
    assert all(abs(plan.grid_power_w[t]) < 1e-6 for t in range(17, 22))
    assert set(range(17, 22)) <= discharging(plan)
    # the battery is full after the night (charging beats 0.25 / 0.9025 = 0.111 > 0.10)
    assert plan.soc[5] == pytest.approx(1.0)
    assert plan.soc[-1] == pytest.approx(0.1)


def test_negative_prices_import_and_curtail_where_allowed() -> None:
    # hours 4-7: the grid pays 0.02 per kWh taken and charges 0.05 per kWh fed in
    imp = [0.30] * 4 + [-0.02] * 4 + [0.30] * 4
    exp = [0.08] * 4 + [-0.05] * 4 + [0.08] * 4
    pv = [0.0] * 4 + [3000.0] * 4 + [0.0] * 4
    plan = solve(problem(imp, export_price=exp, pv_w=pv, load_w=500))
    for t in range(4, 8):
        assert plan.curtail_w[t] == pytest.approx(3000)  # PV off: the grid pays to be used
        assert plan.grid_power_w[t] >= -1e-6  # nothing is fed in
    # the load and a full battery from the grid (the battery may even cycle in these hours:
    # its losses are energy the grid pays to have taken)
    assert sum(plan.grid_power_w[4:8]) >= 4 * 500 + 9000 / 0.95 - 1e-3
    assert charging(plan) <= set(range(4, 8))
    assert plan.soc[7] == pytest.approx(1.0)
    # a site that may not curtail stores its surplus and exports at most what the battery
    # cannot take: 4 h x 2.5 kW less 9 kWh / 0.95
    fixed = solve(problem(imp, export_price=exp, pv_w=pv, load_w=500, grid=Grid(curtail=False)))
    assert all(c == 0 for c in fixed.curtail_w)
    assert -sum(min(g, 0.0) for g in fixed.grid_power_w[4:8]) <= 10_000 - 9000 / 0.95 + 1e-3


def test_full_battery_with_solar_surplus_and_a_high_export_price_exports_all() -> None:
    p = problem([0.30] * 4, export_price=0.50, pv_w=5000, load_w=1000, bat=battery(soc_init=1.0))
    plan = solve(p)
    # 4 kW of surplus plus the battery at full power (it is worth nothing after the horizon)
    assert plan.grid_power_w[0] == pytest.approx(-9000)
    assert all(c == 0 for c in plan.curtail_w)
    assert plan.soc[-1] == pytest.approx(0.1)


def test_zero_export_site_never_exports() -> None:
    p = problem(
        [0.30] * 8,
        export_price=0.50,
        pv_w=6000,
        load_w=1000,
        grid=Grid(export_max_w=0),
        bat=battery(soc_init=0.5),
    )
    plan = solve(p)
    assert all(g >= -1e-6 for g in plan.grid_power_w)
    # the battery takes the surplus until full (5 kWh at 4.75 kWh per hour), the rest is curtailed
    assert plan.soc[-1] == pytest.approx(1.0)
    assert sum(plan.curtail_w) == pytest.approx(8 * 5000 - 5000 / 0.95)


# the seed's rules: a day with a cheap night (0-8), a sunny middle (9-15) and a dear evening
NIGHT, DAY, EVENING = range(0, 9), range(9, 16), range(17, 22)
TOU = [0.12] * 9 + [0.28] * 8 + [0.42] * 5 + [0.28] * 2


def sunny(kw: float) -> list[float]:
    return [kw * 1000 if t in DAY else 0.0 for t in range(24)]


def test_rule_solar_surplus_first() -> None:
    # 7 h x 3 kW surplus is far more than the battery holds: the night's cheap grid is not used
    plan = solve(problem(TOU, export_price=0.08, pv_w=sunny(4), bat=battery(soc_init=0.1)))
    assert charging(plan) <= set(DAY)
    assert all(plan.grid_power_w[t] <= 1e-6 for t in charging(plan))
    # enough stored by the sun for the evening and the night (8 kWh of load after 15:00)
    assert plan.soc[15] == pytest.approx(0.1 + 8 / 0.95 / 10)
    assert all(abs(plan.grid_power_w[t]) < 1e-6 for t in range(16, 24))


def test_rule_grid_charge_when_cheap_and_solar_not_enough() -> None:
    # 7 h x 0.3 kW surplus: 2 kWh from the sun; the rest of the evening comes from the night
    plan = solve(problem(TOU, export_price=0.08, pv_w=sunny(1.3), bat=battery(soc_init=0.1)))
    night_kwh = sum(plan.battery_power_w[t] for t in NIGHT) / 1000
    assert night_kwh > 1.0
    assert all(plan.grid_power_w[t] > 1000 for t in NIGHT if plan.battery_power_w[t] > 1)
    # and the sunny surplus still goes into the battery, not to the grid at 0.08
    assert all(plan.grid_power_w[t] >= -1e-6 for t in DAY)


def test_rule_battery_supplies_the_home_when_dear() -> None:
    plan = solve(problem(TOU, export_price=0.08, pv_w=sunny(1.3), bat=battery(soc_init=0.1)))
    assert set(EVENING) <= discharging(plan)
    assert all(abs(plan.grid_power_w[t]) < 1e-6 for t in EVENING)


def test_rule_export_when_export_is_dear() -> None:
    export = [0.05] * 24
    export[19] = 0.60  # a spike above every import price
    plan = solve(problem(TOU, export_price=export, bat=battery(soc_init=0.9)))
    # the whole battery power goes out at the spike: 5 kW, 1 kW of it to the home
    assert plan.battery_power_w[19] == pytest.approx(-5000)
    assert plan.grid_power_w[19] == pytest.approx(-4000)


def test_export_paid_above_import_needs_integers_and_gets_them() -> None:
    # export pays more than import: an LP would import 9 kW only to export it at once, which
    # one meter cannot do; the plan exports the sun and nothing else (battery left out)
    p = problem(
        [0.10] * 4,
        export_price=0.20,
        pv_w=2000,
        load_w=0,
        grid=Grid(import_max_w=9000),
        bat=battery(max_charge_w=0, max_discharge_w=0),
    )
    plan = solve(p)
    assert plan.method == "highs-milp"
    assert plan.grid_power_w == pytest.approx((-2000,) * 4)
    assert plan.cost == pytest.approx(-4 * 2 * 0.20)


def test_wear_cost_keeps_the_battery_out_of_thin_spreads() -> None:
    # 0.33 by day, 0.41 in the evening: 0.33 / 0.9025 = 0.366 buys a kWh worth 0.41, but not
    # once each kWh discharged wears 0.05 of battery; the night's 0.24 still pays
    prices = [0.24] * 6 + [0.33] * 11 + [0.41] * 4 + [0.29] * 3
    day = problem(prices[6:21], bat=battery(soc_init=0.1))
    assert charging(solve(day))  # without wear, it charges by day for the evening
    worn = solve(problem(prices[6:21], bat=battery(soc_init=0.1, wear_cost_per_kwh=0.05)))
    assert charging(worn) == set() and discharging(worn) == set()
    night = solve(problem(prices, bat=battery(soc_init=0.1, wear_cost_per_kwh=0.05)))
    assert charging(night) <= set(range(6)) and discharging(night) <= set(range(6, 21))
