"""The plans an optimised plan is measured against, and the safe fallback.

``self_consumption``: what a battery does on its own: charge from PV surplus, discharge to cover
the load, never from or to the grid; PV the battery and the export limit cannot take is curtailed
(the inverter limits itself; a fallback must always be possible). ``no_battery``: the same site
with the battery idle. Both are plain simulations (no solver), hence the fallback when the solver
fails or runs out of time.
"""

from __future__ import annotations

from dataclasses import replace

from voltfleet.domain.optimisation.plan import BatteryPlan, plan_cost
from voltfleet.domain.optimisation.problem import PlanProblem


def _simulate(problem: PlanProblem, *, use_battery: bool, method: str) -> BatteryPlan:
    b, g, dt = problem.battery, problem.grid, problem.step_h
    e = b.soc_init * b.capacity_wh
    lo = min(b.floor_soc, b.soc_init) * b.capacity_wh
    hi = max(b.soc_max, b.soc_init) * b.capacity_wh
    batt: list[float] = []
    grid: list[float] = []
    curt: list[float] = []
    soc: list[float] = []
    for pv, load in zip(problem.pv_w, problem.load_w, strict=True):
        net = pv - load  # > 0 surplus
        p = 0.0
        if use_battery and net > 0:
            p = min(net, b.max_charge_w, max(hi - e, 0.0) / (dt * b.charge_efficiency))
            e += p * dt * b.charge_efficiency
        elif use_battery and net < 0:
            p = -min(-net, b.max_discharge_w, max(e - lo, 0.0) * b.discharge_efficiency / dt)
            e += p * dt / b.discharge_efficiency
        rest = net - p  # > 0 to export, < 0 to import
        c = max(rest - g.export_max_w, 0.0)
        batt.append(p)
        curt.append(c)
        grid.append(-(rest - c))
        soc.append(e / b.capacity_wh)
    return BatteryPlan(
        step_h=dt,
        battery_power_w=tuple(batt),
        grid_power_w=tuple(grid),
        curtail_w=tuple(curt),
        soc=tuple(soc),
        cost=plan_cost(problem, grid, soc, batt),
        method=method,
    )


def self_consumption(problem: PlanProblem, reason: str | None = None) -> BatteryPlan:
    plan = _simulate(problem, use_battery=True, method="self_consumption")
    if reason is None:
        return plan
    return replace(plan, fallback_reason=reason)


def no_battery(problem: PlanProblem) -> BatteryPlan:
    return _simulate(problem, use_battery=False, method="no_battery")
