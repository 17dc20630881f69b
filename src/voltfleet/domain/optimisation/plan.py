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

import numpy as np

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
    cost: float  # plan_cost: energy bought - sold + wear - value gained in store
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
    g = np.asarray(grid_power_w, dtype=np.float64)
    pi = np.asarray(problem.import_price_per_kwh, dtype=np.float64)
    pe = np.asarray(problem.export_price_per_kwh, dtype=np.float64)
    return float(np.sum(np.where(g > 0, g * pi, g * pe))) * problem.step_h / 1000


def plan_cost(
    problem: PlanProblem,
    grid_power_w: Sequence[float],
    soc: Sequence[float],
    battery_power_w: Sequence[float] = (),
) -> float:
    """The plan's cost: the grid exchange, plus the battery's wear for what it discharges, less
    the value of the energy the battery gained."""
    b = problem.battery
    end = soc[-1] if len(soc) else b.soc_init
    gained_kwh = (end - b.soc_init) * b.capacity_wh / 1000
    wear = 0.0
    if b.wear_cost_per_kwh and len(battery_power_w):
        out_w = np.clip(-np.asarray(battery_power_w, dtype=np.float64), 0, None)
        wear = b.wear_cost_per_kwh * float(out_w.sum()) * problem.step_h / 1000
    return energy_cost(problem, grid_power_w) + wear - problem.terminal_value_per_kwh * gained_kwh


def _first(what: str, bad: np.ndarray, values: np.ndarray) -> list[str]:
    steps = np.nonzero(bad)[0]
    if len(steps) == 0:
        return []
    t = int(steps[0])
    more = f" (and {len(steps) - 1} more steps)" if len(steps) > 1 else ""
    return [f"step {t}: {what} ({float(values[t]):+.4f}){more}"]


def violations(problem: PlanProblem, plan: BatteryPlan, tol_w: float = 1.0) -> list[str]:
    """What in ``plan`` breaks the problem's limits (empty when it is a valid plan), the first
    step of each kind of fault. ``tol_w``: tolerance in W (and the matching energy over a step
    for the state of charge)."""
    b, g, n = problem.battery, problem.grid, problem.steps
    if plan.steps != n or len(plan.soc) != n or len(plan.grid_power_w) != n:
        return [f"the plan has {plan.steps} steps, the problem {n}"]
    f64 = np.float64
    p = np.asarray(plan.battery_power_w, dtype=f64)
    gr = np.asarray(plan.grid_power_w, dtype=f64)
    c = np.asarray(plan.curtail_w, dtype=f64)
    pv = np.asarray(problem.pv_w, dtype=f64)
    load = np.asarray(problem.load_w, dtype=f64)
    soc = np.asarray(plan.soc, dtype=f64)
    tol_wh = tol_w * problem.step_h
    out: list[str] = []
    gap = pv - c + gr - load - p
    out += _first("power does not balance, W", np.abs(gap) > tol_w, gap)
    out += _first(
        "battery power beyond its limits, W",
        (p > b.max_charge_w + tol_w) | (-p > b.max_discharge_w + tol_w),
        p,
    )
    out += _first(
        "grid power beyond the connection's limits, W",
        (gr > g.import_max_w + tol_w) | (-gr > g.export_max_w + tol_w),
        gr,
    )
    out += _first(
        "curtailment not allowed, W",
        (c < -tol_w) | (c > pv + tol_w) | ((c > tol_w) & (not g.curtail)),
        c,
    )
    # the stored energy from the plan's AC power: charge loses on the way in, discharge on
    # the way out
    step_wh = np.where(p > 0, p * b.charge_efficiency, p / b.discharge_efficiency)
    e = b.soc_init * b.capacity_wh + np.cumsum(step_wh * problem.step_h)
    drift = e - soc * b.capacity_wh
    out += _first("state of charge does not follow the power, Wh", np.abs(drift) > tol_wh, drift)
    lo = min(b.floor_soc, b.soc_init) * b.capacity_wh
    hi = max(b.soc_max, b.soc_init) * b.capacity_wh
    out += _first(
        "state of charge out of bounds", (e < lo - tol_wh) | (e > hi + tol_wh), e / b.capacity_wh
    )
    if b.final_soc_min is not None and e[-1] < b.final_soc_min * b.capacity_wh - tol_wh:
        out.append(f"final state of charge {e[-1] / b.capacity_wh:.4f} below {b.final_soc_min}")
    return out
