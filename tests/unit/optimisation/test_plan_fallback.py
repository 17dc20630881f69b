"""usecases.battery_plan: the solver's plan when it is good; self-consumption, with the reason,
when the solver fails, runs out of time or returns a plan that breaks the limits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from tests.unit.optimisation.cases import battery, problem
from voltfleet.domain.optimisation.baselines import self_consumption
from voltfleet.domain.optimisation.plan import BatteryPlan, SolverFailed
from voltfleet.domain.optimisation.problem import PlanProblem, ProblemError
from voltfleet.ports import PlanSolver
from voltfleet.solver.highs import HighsPlanSolver
from voltfleet.usecases.battery_plan import plan_batteries, plan_battery, plan_stable

PRICES = [0.10] * 6 + [0.25] * 11 + [0.40] * 5 + [0.25] * 2


class Failing:
    def solve(self, problem: PlanProblem, *, time_limit_s: float) -> BatteryPlan:
        raise SolverFailed("HiGHS: Infeasible")

    def solve_many(
        self, problems: Sequence[PlanProblem], *, time_limit_s: float
    ) -> list[BatteryPlan | SolverFailed]:
        raise ZeroDivisionError("boom")


class Lying(HighsPlanSolver):
    """Returns the real plan with one step's grid power changed: the balance breaks."""

    def solve(self, problem: PlanProblem, *, time_limit_s: float) -> BatteryPlan:
        plan = super().solve(problem, time_limit_s=time_limit_s)
        return replace(plan, grid_power_w=(plan.grid_power_w[0] + 500, *plan.grid_power_w[1:]))


def test_the_solvers_plan_when_it_is_good() -> None:
    solver: PlanSolver = HighsPlanSolver()
    plan = plan_battery(solver, problem(PRICES))
    assert plan.method == "highs-lp" and plan.fallback_reason is None
    assert plan.cost < self_consumption(problem(PRICES)).cost


def test_a_failing_solver_leaves_self_consumption_with_the_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    p = problem(PRICES)
    plan = plan_battery(Failing(), p, site="site-1")
    assert plan.method == "self_consumption"
    assert plan.fallback_reason == "HiGHS: Infeasible"
    assert plan.battery_power_w == self_consumption(p).battery_power_w
    assert "site-1" in caplog.text and "Infeasible" in caplog.text
    # a batch whose solver crashes: every site falls back, each with the reason
    plans = plan_batteries(Failing(), [p, p])
    assert [x.fallback_reason for x in plans] == ["solver error: ZeroDivisionError: boom"] * 2


def test_the_solvers_own_time_limit_falls_back() -> None:
    plan = plan_battery(HighsPlanSolver(), problem(PRICES * 2, step_h=0.5), time_limit_s=1e-9)
    assert plan.method == "self_consumption"
    assert plan.fallback_reason is not None and "time limit" in plan.fallback_reason.lower()


def test_a_plan_that_breaks_the_limits_is_not_used() -> None:
    plan = plan_battery(Lying(), problem(PRICES))
    assert plan.method == "self_consumption"
    assert plan.fallback_reason is not None
    assert "step 0: power does not balance" in plan.fallback_reason


def test_bad_input_is_refused_before_the_solver() -> None:
    with pytest.raises(ProblemError, match="load_w has 2 values"):
        plan_battery(Failing(), replace(problem(PRICES), load_w=[1.0, 2.0]))


def test_the_time_limit_is_per_solve_not_per_solver_lifetime() -> None:
    # HiGHS counts its time limit over the instance's whole life; a kept model that has
    # already run longer than the limit in total must still solve the next problem
    solver = HighsPlanSolver()
    p = problem(PRICES * 8, step_h=0.25)
    used = 0.0
    while used < 0.6:  # three times the limit, spent over many solves
        plan = solver.solve(p, time_limit_s=0.2)
        used += plan.solve_s
        p = replace(p, import_price_per_kwh=[x + 0.01 for x in p.import_price_per_kwh])
    assert plan_battery(solver, p, time_limit_s=0.2).fallback_reason is None


def same_mode(a: float, b: float) -> bool:
    return (a > 1) == (b > 1) and (a < -1) == (b < -1)


def test_replanning_keeps_the_running_command_unless_the_change_pays() -> None:
    # a flat day with a tiny dip later: discharging now to cover the load is what the new plan
    # wants, but the battery is charging; the change gains little, so charging is kept
    prices = [0.30] * 4 + [0.2999] * 4
    p = problem(prices, load_w=300, bat=battery(soc_init=0.5), terminal=0.25)
    solver = HighsPlanSolver()
    free = plan_battery(solver, p)
    assert free.battery_power_w[0] < -1  # covers the load from the battery
    kept, held = plan_stable(solver, p, 1000.0, min_gain=0.50, same=same_mode)
    assert held and kept.battery_power_w[0] == pytest.approx(1000)
    assert kept.cost - free.cost < 0.50
    changed, held = plan_stable(solver, p, 1000.0, min_gain=0.001, same=same_mode)
    assert not held and changed.battery_power_w[0] < -1
    # the same command as running: nothing to weigh
    again, held = plan_stable(solver, p, free.battery_power_w[0], min_gain=0.5, same=same_mode)
    assert not held and again.battery_power_w == free.battery_power_w
