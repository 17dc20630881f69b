"""A battery plan: per step the battery power, the grid power, the PV curtailed and the state of
charge at the step's end; its cost; who made it (the solver, or the fallback and why).

``plan_cost`` is the one definition of what a plan costs, used for the solver's plan and the
baselines alike: import priced at the import price, export at the export price, minus the
value of the energy the battery gained over the horizon (``terminal_value_per_kwh``).
``violations`` checks a plan against its problem (bounds, power balance, state of charge), so a
solver's answer is verified before it drives a battery.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from voltfleet.domain.optimisation.problem import PlanProblem


class SolverFailed(RuntimeError):
    """The solver gave no usable plan (time limit, infeasible, numerical trouble, bad answer);
    the message is the reason the fallback was taken."""


@dataclass(frozen=True)
class BatteryPlan:
    step_h: float
    battery_power_w: tuple[float, ...]  # > 0 charging (on the AC side)
    grid_power_w: tuple[float, ...]  # > 0 import
    curtail_w: tuple[float, ...]  # PV not produced (>= 0)
    soc: tuple[float, ...]  # fraction 0..1 at the end of each step
    cost: float  # plan_cost: energy bought - sold - value gained in store
    method: str  # "highs-lp", "highs-milp", "self_consumption", "no_battery"
    fallback_reason: str | None = None  # why the solver's plan was not used
    solve_s: float = 0.0  # wall-clock seconds spent by the solver

    @property
    def steps(self) -> int:
        return len(self.battery_power_w)

    @property
    def charge_kwh(self) -> float:
        return sum(max(p, 0.0) for p in self.battery_power_w) * self.step_h / 1000

    @property
    def discharge_kwh(self) -> float:
        return sum(max(-p, 0.0) for p in self.battery_power_w) * self.step_h / 1000


def energy_cost(problem: PlanProblem, grid_power_w: Sequence[float]) -> float:
    """What the grid exchange costs (negative: earns)."""
    total = 0.0
    for g, pi, pe in zip(
        grid_power_w, problem.import_price_per_kwh, problem.export_price_per_kwh, strict=True
    ):
        total += (g * pi if g > 0 else g * pe) * problem.step_h / 1000
    return total


def plan_cost(problem: PlanProblem, grid_power_w: Sequence[float], soc: Sequence[float]) -> float:
    """The plan's cost: the grid exchange less the value of the energy the battery gained."""
    b = problem.battery
    end = soc[-1] if soc else b.soc_init
    gained_kwh = (end - b.soc_init) * b.capacity_wh / 1000
    return energy_cost(problem, grid_power_w) - problem.terminal_value_per_kwh * gained_kwh


def violations(problem: PlanProblem, plan: BatteryPlan, tol_w: float = 1.0) -> list[str]:
    """What in ``plan`` breaks the problem's limits (empty when it is a valid plan).
    ``tol_w``: tolerance in W (and the matching energy over a step for the state of charge)."""
    b, g, n = problem.battery, problem.grid, problem.steps
    out: list[str] = []
    if plan.steps != n or len(plan.soc) != n or len(plan.grid_power_w) != n:
        return [f"the plan has {plan.steps} steps, the problem {n}"]
    tol_wh = tol_w * problem.step_h
    e = b.soc_init * b.capacity_wh
    lo = min(b.floor_soc, b.soc_init) * b.capacity_wh
    hi = max(b.soc_max, b.soc_init) * b.capacity_wh
    for t in range(n):
        p, gr, c = plan.battery_power_w[t], plan.grid_power_w[t], plan.curtail_w[t]
        pv, load = problem.pv_w[t], problem.load_w[t]
        if abs(pv - c + gr - load - p) > tol_w:
            out.append(f"step {t}: power does not balance ({pv - c + gr - load - p:+.1f} W)")
        if p > b.max_charge_w + tol_w or -p > b.max_discharge_w + tol_w:
            out.append(f"step {t}: battery power {p:.1f} W beyond its limits")
        if gr > g.import_max_w + tol_w or -gr > g.export_max_w + tol_w:
            out.append(f"step {t}: grid power {gr:.1f} W beyond the connection's limits")
        if c < -tol_w or c > pv + tol_w or (c > tol_w and not g.curtail):
            out.append(f"step {t}: curtailment {c:.1f} W not allowed")
        # the battery's state of charge, from the plan's power: the AC power is net of one
        # direction only, so charge loses on the way in and discharge on the way out
        e += p * problem.step_h * b.charge_efficiency if p > 0 else 0.0
        e += p * problem.step_h / b.discharge_efficiency if p < 0 else 0.0
        if abs(e - plan.soc[t] * b.capacity_wh) > tol_wh:
            out.append(f"step {t}: state of charge {plan.soc[t]:.4f} does not follow the power")
        if e < lo - tol_wh or e > hi + tol_wh:
            out.append(f"step {t}: state of charge {e / b.capacity_wh:.4f} out of bounds")
    if b.final_soc_min is not None and e < b.final_soc_min * b.capacity_wh - tol_wh:
        out.append(f"final state of charge {e / b.capacity_wh:.4f} below {b.final_soc_min}")
    return out
