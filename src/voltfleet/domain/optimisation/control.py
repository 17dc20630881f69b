"""A battery plan as the commands a battery follows: one ``PlanInterval`` (``domain.plan``) per
change of plan, each a ``battery_mode`` command.

Per step (``planned_mode``): the plan charges from the grid (``charge`` at its power), discharges
(``discharge`` at its power) or holds (``idle``: keep the energy for a dearer hour); charging from
PV surplus alone, and with ``follow_home`` every step that only serves the home, is
``self_consumption``. Powers are rounded to ``RESOLUTION_W`` so a
forecast's small wiggles do not each become a command; equal neighbours merge. A fallback plan
(the solver gave none) is one ``self_consumption`` interval: the battery follows the home, as it
would with no plan.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from voltfleet.domain.commands import BatteryMode
from voltfleet.domain.optimisation.plan import BatteryPlan
from voltfleet.domain.plan import PlanInterval

RESOLUTION_W = 50.0


def step_mode(power_w: float, limit_w: float = math.inf) -> tuple[BatteryMode, float]:
    """The mode of one step and its power, rounded, never beyond ``limit_w``."""
    p = max(min(round(power_w / RESOLUTION_W) * RESOLUTION_W, limit_w), -limit_w)
    if p > 0:
        return BatteryMode.CHARGE, p
    if p < 0:
        return BatteryMode.DISCHARGE, p
    return BatteryMode.IDLE, 0.0


def planned_mode(
    battery_w: float, grid_w: float, limit_w: float = math.inf, *, follow_home: bool = False
) -> tuple[BatteryMode, float]:
    """The command of one step of a plan.

    Always: charging from PV surplus alone (the plan imports nothing for it) is
    ``self_consumption``: the battery takes the surplus there really is, and a PV forecast that
    was too high never makes it charge from the grid.

    ``follow_home``: every step where the plan only serves the home becomes
    ``self_consumption`` too: discharging to cover the load (exporting nothing), and holding
    while PV surplus is exported; only trading with the grid (charging from it, discharging into
    it) and holding energy while importing keep the planned power. The battery then follows the
    home's real load and sun instead of the forecast's; in a month of simulated homes this is
    what makes the plan beat plain self-consumption (benchmarks/battery_plan_month.py).
    Without it, discharging and holding are carried out at the planned power (setpoints)."""
    mode, p = step_mode(battery_w, limit_w)
    tol = RESOLUTION_W
    if mode is BatteryMode.CHARGE and grid_w <= tol:
        return BatteryMode.SELF_CONSUMPTION, 0.0
    if follow_home and mode is BatteryMode.DISCHARGE and grid_w >= -tol:
        return BatteryMode.SELF_CONSUMPTION, 0.0
    if follow_home and mode is BatteryMode.IDLE and grid_w < -tol:
        return BatteryMode.SELF_CONSUMPTION, 0.0
    return mode, p


def command_intervals(
    plan: BatteryPlan,
    start: datetime,
    step: timedelta,
    import_price_per_kwh: Sequence[float],
    limit_w: float = math.inf,
    *,
    follow_home: bool = False,
) -> tuple[PlanInterval, ...]:
    """The plan's intervals from ``start``, one per change; ``price_per_kwh`` is the mean
    import price over each; powers never beyond ``limit_w`` (the battery's rating);
    ``follow_home``: see ``planned_mode``."""
    n = plan.steps
    if plan.method == "self_consumption":
        mean = sum(import_price_per_kwh) / max(len(import_price_per_kwh), 1)
        return (PlanInterval(start, start + n * step, BatteryMode.SELF_CONSUMPTION, 0.0, mean),)
    out: list[PlanInterval] = []
    count = 0
    for t in range(n):
        mode, p = planned_mode(
            plan.battery_power_w[t], plan.grid_power_w[t], limit_w, follow_home=follow_home
        )
        price = import_price_per_kwh[t]
        last = out[-1] if out else None
        if last is not None and last.mode is mode and last.battery_power_w == p:
            mean = (last.price_per_kwh * count + price) / (count + 1)
            out[-1] = PlanInterval(last.start, start + (t + 1) * step, mode, p, mean)
            count += 1
        else:
            out.append(PlanInterval(start + t * step, start + (t + 1) * step, mode, p, price))
            count = 1
    return tuple(out)
