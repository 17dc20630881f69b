"""Plan a battery: ask the solver, verify its answer, fall back to self-consumption.

The solver (``ports.PlanSolver``) has a wall-clock limit of its own. When it fails, runs out of
time or returns a plan that breaks the problem's limits (``domain.optimisation.plan.violations``),
the site gets the self-consumption plan instead, and the plan keeps the reason
(``BatteryPlan.fallback_reason``), which is logged here and shown on the plan page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace

from voltfleet.domain.optimisation.baselines import self_consumption
from voltfleet.domain.optimisation.plan import BatteryPlan, SolverFailed, violations
from voltfleet.domain.optimisation.problem import PlanProblem
from voltfleet.ports import PlanSolver

log = logging.getLogger(__name__)

DEFAULT_TIME_LIMIT_S = 2.0


def _checked(problem: PlanProblem, got: BatteryPlan | SolverFailed, site: str) -> BatteryPlan:
    if isinstance(got, BatteryPlan):
        wrong = violations(problem, got)
        if not wrong:
            return got
        reason = f"the solver's plan broke its limits: {wrong[0]}"
    else:
        reason = str(got) or type(got).__name__
    log.warning("battery plan %s: self-consumption instead (%s)", site, reason)
    return self_consumption(problem, reason=reason)


def plan_battery(
    solver: PlanSolver,
    problem: PlanProblem,
    *,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    site: str = "",
) -> BatteryPlan:
    """The optimised plan, or the self-consumption plan with the reason why not.
    ``ProblemError`` (bad input) is raised before the solver is asked."""
    problem.check()
    try:
        got: BatteryPlan | SolverFailed = solver.solve(problem, time_limit_s=time_limit_s)
    except SolverFailed as exc:
        got = exc
    except Exception as exc:  # any solver crash must still leave a safe plan
        got = SolverFailed(f"solver error: {type(exc).__name__}: {exc}")
    return _checked(problem, got, site)


def plan_batteries(
    solver: PlanSolver,
    problems: Sequence[PlanProblem],
    *,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> list[BatteryPlan]:
    """Many sites in one call to the solver; each checked, each with its own fallback."""
    for p in problems:
        p.check()
    try:
        got = solver.solve_many(problems, time_limit_s=time_limit_s)
    except Exception as exc:  # the whole batch failed: every site falls back
        failed = SolverFailed(f"solver error: {type(exc).__name__}: {exc}")
        got = [failed] * len(problems)
    return [_checked(p, g, str(i)) for i, (p, g) in enumerate(zip(problems, got, strict=True))]


def plan_stable(
    solver: PlanSolver,
    problem: PlanProblem,
    running_w: float | None,
    *,
    min_gain: float,
    same: Callable[[float, float], bool],
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    site: str = "",
) -> tuple[BatteryPlan, bool]:
    """Re-planning without flapping: the new plan, unless its first step changes what the
    battery is doing now (``running_w``; ``same`` tells whether two powers are the same command)
    and that change gains less than ``min_gain`` (currency) over keeping the running command
    for one more step, then the plan that keeps it. Returns (plan, kept the running command)."""
    new = plan_battery(solver, problem, time_limit_s=time_limit_s, site=site)
    if running_w is None or new.fallback_reason is not None:
        return new, False
    if same(new.battery_power_w[0], running_w):
        return new, False
    held = plan_battery(
        solver, replace(problem, hold_first_w=running_w), time_limit_s=time_limit_s, site=site
    )
    if held.fallback_reason is None and held.cost - new.cost < min_gain:
        return held, True
    return new, False
