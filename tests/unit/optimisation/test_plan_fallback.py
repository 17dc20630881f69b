"""usecases.battery_plan: the solver's plan when it is good; self-consumption, with the reason,
when the solver fails, runs out of time or returns a plan that breaks the limits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from tests.unit.optimisation.cases import problem
from voltfleet.domain.optimisation.baselines import self_consumption
from voltfleet.domain.optimisation.plan import BatteryPlan, SolverFailed
from voltfleet.domain.optimisation.problem import PlanProblem, ProblemError
from voltfleet.ports import PlanSolver
from voltfleet.solver.highs import HighsPlanSolver
from voltfleet.usecases.battery_plan import plan_batteries, plan_battery

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
