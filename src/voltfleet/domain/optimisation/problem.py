"""The data of one site's battery plan: steps, forecasts, prices, the battery and the grid.

Units: powers in W, energies in Wh, prices in the currency per kWh, the step in hours. Signs as
everywhere in voltfleet: pv + grid = load + battery, grid_power_w > 0 is import and
battery_power_w > 0 is charging. Each forecast and price series has one value per step (the
mean over the step). A step's price may be negative.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


class ProblemError(ValueError):
    """The plan's data is inconsistent (a person's or a device's input: say what is wrong)."""


def _finite(name: str, v: float) -> None:
    if not math.isfinite(v):
        raise ProblemError(f"{name} must be a finite number, got {v}")


def _fraction(name: str, v: float) -> None:
    if not (math.isfinite(v) and 0 <= v <= 1):
        raise ProblemError(f"{name} must be a fraction 0..1, got {v}")


@dataclass(frozen=True)
class Battery:
    """A home battery. ``soc_*`` are fractions of ``capacity_wh``; ``reserve_soc`` is kept for
    backup (the plan never goes below max(soc_min, reserve_soc)); efficiencies are one-way
    (charge: grid/PV side -> stored; discharge: stored -> home side)."""

    capacity_wh: float
    max_charge_w: float
    max_discharge_w: float
    soc_init: float
    soc_min: float = 0.05
    soc_max: float = 1.0
    reserve_soc: float = 0.0
    charge_efficiency: float = 0.95
    discharge_efficiency: float = 0.95
    # at least this state of charge at the end of the horizon (None: whatever pays best)
    final_soc_min: float | None = None
    # the battery's wear, per kWh discharged (AC side): its price divided by the energy it
    # delivers over its life (about 0.03-0.10 EUR/kWh); 0 plans as if cycling were free
    wear_cost_per_kwh: float = 0.0

    def check(self) -> None:
        for name in ("capacity_wh", "max_charge_w", "max_discharge_w"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ProblemError(f"battery.{name} must be a number >= 0, got {v}")
        if self.capacity_wh <= 0:
            raise ProblemError("battery.capacity_wh must be > 0")
        for name in ("soc_init", "soc_min", "soc_max", "reserve_soc"):
            _fraction(f"battery.{name}", getattr(self, name))
        for name in ("charge_efficiency", "discharge_efficiency"):
            v = getattr(self, name)
            if not (math.isfinite(v) and 0 < v <= 1):
                raise ProblemError(f"battery.{name} must be in (0, 1], got {v}")
        if self.floor_soc > self.soc_max:
            raise ProblemError("battery.soc_min and reserve_soc must be at most soc_max")
        if not (math.isfinite(self.wear_cost_per_kwh) and self.wear_cost_per_kwh >= 0):
            raise ProblemError(
                f"battery.wear_cost_per_kwh must be >= 0, got {self.wear_cost_per_kwh}"
            )
        if self.final_soc_min is not None:
            _fraction("battery.final_soc_min", self.final_soc_min)
            if self.final_soc_min > self.soc_max:
                raise ProblemError("battery.final_soc_min must be at most soc_max")

    @property
    def floor_soc(self) -> float:
        return max(self.soc_min, self.reserve_soc)

    @property
    def round_trip_efficiency(self) -> float:
        return self.charge_efficiency * self.discharge_efficiency


@dataclass(frozen=True)
class Grid:
    """The site's connection: import and export limits in W; ``export_max_w = 0`` for a site
    that may not export (zero export). ``curtail``: whether the PV may be limited below what it
    could produce (a site that can neither export nor curtail must use its surplus)."""

    import_max_w: float = 1e9
    export_max_w: float = 1e9
    curtail: bool = True

    def check(self) -> None:
        for name in ("import_max_w", "export_max_w"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ProblemError(f"grid.{name} must be a number >= 0, got {v}")


@dataclass(frozen=True)
class PlanProblem:
    """One site's plan over ``len(pv_w)`` steps of ``step_h`` hours from the plan's start.

    ``terminal_value_per_kwh``: what a kWh still stored at the end of the horizon is worth
    (so the plan does not empty the battery just because the horizon ends); it counts in the
    plan's cost as a credit for the energy added over the horizon (or a charge for what was
    taken out)."""

    step_h: float
    pv_w: Sequence[float]
    load_w: Sequence[float]
    import_price_per_kwh: Sequence[float]
    export_price_per_kwh: Sequence[float]
    battery: Battery
    grid: Grid = field(default_factory=Grid)
    terminal_value_per_kwh: float = 0.0
    # the first step's battery power, fixed (W; > 0 charging): the command running now is kept,
    # to see what changing it would gain (no flapping); None: free
    hold_first_w: float | None = None

    @property
    def steps(self) -> int:
        return len(self.pv_w)

    def check(self) -> None:
        if not (math.isfinite(self.step_h) and 0 < self.step_h <= 24):
            raise ProblemError(f"step_h must be in (0, 24] hours, got {self.step_h}")
        n = self.steps
        if n == 0:
            raise ProblemError("the plan needs at least one step")
        for name in ("load_w", "import_price_per_kwh", "export_price_per_kwh"):
            if len(getattr(self, name)) != n:
                raise ProblemError(f"{name} has {len(getattr(self, name))} values, pv_w has {n}")
        for name in ("pv_w", "load_w"):
            v = np.asarray(getattr(self, name), dtype=np.float64)
            if not (np.all(np.isfinite(v)) and np.all(v >= 0)):
                raise ProblemError(f"{name} must be numbers >= 0")
        for name in ("import_price_per_kwh", "export_price_per_kwh"):
            if not np.all(np.isfinite(np.asarray(getattr(self, name), dtype=np.float64))):
                raise ProblemError(f"{name} must be finite numbers")
        _finite("terminal_value_per_kwh", self.terminal_value_per_kwh)
        if self.hold_first_w is not None:
            _finite("hold_first_w", self.hold_first_w)
        self.battery.check()
        self.grid.check()
