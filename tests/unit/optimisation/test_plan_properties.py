"""Properties of every battery plan HiGHS makes, on random sites, prices (negative too, export
above import too) and batteries: the state of charge stays within its bounds, power balances in
every step (``violations`` is empty), and the plan never costs more than the same site with no
battery nor more than plain self-consumption (both are feasible plans of the same problem)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voltfleet.domain.optimisation.baselines import no_battery, self_consumption
from voltfleet.domain.optimisation.plan import violations
from voltfleet.domain.optimisation.problem import Battery, Grid, PlanProblem
from voltfleet.solver.highs import THROUGHPUT_COST, HighsPlanSolver

SOLVER = HighsPlanSolver()


@st.composite
def problems(draw: st.DrawFn) -> PlanProblem:
    n = draw(st.integers(1, 24))
    step_h = draw(st.sampled_from([0.25, 0.5, 1.0]))
    kw = st.floats(0, 8, allow_nan=False)
    price = st.floats(-0.2, 0.6, allow_nan=False)
    soc_min = draw(st.floats(0, 0.5))
    soc_max = draw(st.floats(soc_min, 1))
    return PlanProblem(
        step_h=step_h,
        pv_w=[draw(kw) * 1000 for _ in range(n)],
        load_w=[draw(kw) * 1000 for _ in range(n)],
        import_price_per_kwh=[draw(price) for _ in range(n)],
        export_price_per_kwh=[draw(price) for _ in range(n)],
        battery=Battery(
            capacity_wh=draw(st.floats(500, 20_000)),
            max_charge_w=draw(st.floats(0, 6000)),
            max_discharge_w=draw(st.floats(0, 6000)),
            soc_init=draw(st.floats(0, 1)),
            soc_min=soc_min,
            soc_max=soc_max,
            reserve_soc=draw(st.floats(0, soc_max)),
            charge_efficiency=draw(st.floats(0.8, 1)),
            discharge_efficiency=draw(st.floats(0.8, 1)),
            wear_cost_per_kwh=draw(st.sampled_from([0.0, 0.05])),
        ),
        # imports up to the largest load (no baseline breaks the limit); export limited or zero
        grid=Grid(import_max_w=8000, export_max_w=draw(st.sampled_from([0.0, 3000.0, 1e9]))),
        terminal_value_per_kwh=draw(st.floats(0, 0.3)),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_plans_are_valid_and_never_dearer_than_the_baselines(p: PlanProblem) -> None:
    plan = SOLVER.solve(p, time_limit_s=10)
    assert violations(p, plan) == []
    b = p.battery
    lo = min(b.floor_soc, b.soc_init) - 1e-6
    hi = max(b.soc_max, b.soc_init) + 1e-6
    assert all(lo <= s <= hi for s in plan.soc)
    # the tie-breaker may cost at most its own price per kWh cycled
    slack = 1e-6 + 2 * THROUGHPUT_COST * (plan.charge_kwh + plan.discharge_kwh + 1)
    assert plan.cost <= no_battery(p).cost + slack
    assert plan.cost <= self_consumption(p).cost + slack
