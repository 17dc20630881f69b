"""A battery's day plan from prices alone: charge in the cheapest hours, discharge in the dearest.

PLACEHOLDER for the battery optimisation issue (capability 4 of DESIGN.md). It knows nothing
of PV or load forecasts, grid limits or export prices, and it does not track the state of
charge through the day (the battery's own limits stop it); it only shows the path a plan takes:
prices -> plan -> timed commands -> a battery that follows them. The real optimiser replaces
``day_plan``; the rest (plan intervals as ``battery_mode`` commands) stays.

Pure: data in, data out. Powers in W (battery_power_w > 0 is charging), energies in kWh as
``domain.schedule`` takes them, prices in the series' currency per kWh.

How: ``schedule.plan_schedule`` picks the cheapest intervals (IMPORT) for the energy that brings
the battery from ``soc_now`` to ``target_soc``, at up to ``max_charge_w``; and the dearest
intervals (EXPORT direction: most lucrative first) for the energy the battery holds at
``target_soc`` above ``soc_min``, at up to ``max_discharge_w``. A discharge interval is kept only
where it is not a charge interval and its price beats the dearest charge price after the
round-trip loss; every other interval is ``self_consumption``. Equal neighbours are merged, so
each interval of the result is one change of plan (one command).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from voltfleet.domain.commands import BatteryMode
from voltfleet.domain.schedule import ScheduleError, plan_schedule
from voltfleet.domain.tariffs.model import Direction
from voltfleet.domain.tariffs.series import RateSeries, from_us


class PlanError(ValueError):
    pass


@dataclass(frozen=True)
class BatteryParams:
    capacity_wh: float
    max_charge_w: float
    max_discharge_w: float
    soc_now: float = 0.5  # fraction 0..1
    target_soc: float = 0.95  # charge to this in the cheap hours
    soc_min: float = 0.05  # discharge down to this in the dear hours
    round_trip_efficiency: float = 0.9

    def check(self) -> None:
        for name in ("capacity_wh", "max_charge_w", "max_discharge_w"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise PlanError(f"{name} must be a number > 0, got {v}")
        for name in ("soc_now", "target_soc", "soc_min", "round_trip_efficiency"):
            v = getattr(self, name)
            if not (math.isfinite(v) and 0 <= v <= 1):
                raise PlanError(f"{name} must be a fraction 0..1, got {v}")
        if self.soc_min >= self.target_soc:
            raise PlanError("soc_min must be below target_soc")
        if self.round_trip_efficiency <= 0:
            raise PlanError("round_trip_efficiency must be > 0")


@dataclass(frozen=True)
class PlanInterval:
    """Hold ``mode`` over [start, end); ``battery_power_w`` is the planned power (> 0 charging,
    < 0 discharging, 0 for self-consumption, whose power the home decides);
    ``price_per_kwh`` the mean price over the interval."""

    start: datetime
    end: datetime
    mode: BatteryMode
    battery_power_w: float
    price_per_kwh: float

    def command_params(self) -> dict[str, object]:
        """The ``battery_mode`` command that carries out this interval."""
        if self.mode is BatteryMode.SELF_CONSUMPTION or self.mode is BatteryMode.IDLE:
            return {"mode": self.mode.value}
        return {"mode": self.mode.value, "battery_power_w": round(self.battery_power_w, 1)}


@dataclass(frozen=True)
class DayPlan:
    currency: str
    intervals: tuple[PlanInterval, ...]
    charge_kwh: float  # planned from the grid side (before losses)
    discharge_kwh: float  # planned to the home side (after losses)


def _hours(series: RateSeries) -> list[float]:
    return [float(e - s) / 3.6e9 for s, e in zip(series.starts_us, series.ends_us, strict=True)]


def day_plan(rates: RateSeries, battery: BatteryParams) -> DayPlan:
    """The plan over the whole span of ``rates`` (the site's IMPORT prices)."""
    battery.check()
    n = len(rates.starts_us)
    if n == 0:
        raise PlanError("no prices to plan with")
    eta = math.sqrt(battery.round_trip_efficiency)
    hours = _hours(rates)
    prices = [float(p) for p in rates.prices_per_kwh]
    starts = [from_us(int(v)) for v in rates.starts_us]
    ends = [from_us(int(v)) for v in rates.ends_us]

    charge_kwh = max(battery.target_soc - battery.soc_now, 0.0) * battery.capacity_wh / 1000 / eta
    fit = sum(hours) * battery.max_charge_w / 1000
    charge_kwh = min(charge_kwh, fit)
    power = [0.0] * n
    index = {s: i for i, s in enumerate(starts)}
    if charge_kwh > 0:
        sched = plan_schedule(rates, Direction.IMPORT, charge_kwh, battery.max_charge_w / 1000)
        for slot in sched.slots:
            power[index[slot.start]] = slot.power_kw * 1000
    charged = [i for i in range(n) if power[i] > 0]
    # the dearest price paid for charging, after the round trip: discharging must beat it
    floor = max((prices[i] for i in charged), default=min(prices)) / battery.round_trip_efficiency

    discharge_kwh = (battery.target_soc - battery.soc_min) * battery.capacity_wh / 1000 * eta
    discharge_kwh = min(discharge_kwh, sum(hours) * battery.max_discharge_w / 1000)
    planned_out = 0.0
    if discharge_kwh > 0:
        try:
            slots = plan_schedule(
                rates, Direction.EXPORT, discharge_kwh, battery.max_discharge_w / 1000
            ).slots
        except ScheduleError:  # pragma: no cover - capped to what fits above
            slots = ()
        for slot in slots:
            i = index[slot.start]
            if power[i] == 0 and prices[i] > floor:
                power[i] = -slot.power_kw * 1000
                planned_out += slot.energy_kwh

    merged: list[PlanInterval] = []
    for i in range(n):
        p = power[i]
        mode = (
            BatteryMode.CHARGE
            if p > 0
            else BatteryMode.DISCHARGE
            if p < 0
            else BatteryMode.SELF_CONSUMPTION
        )
        last = merged[-1] if merged else None
        if last is not None and last.mode is mode and last.battery_power_w == p:
            span_h = (last.end - last.start).total_seconds() / 3600
            mean = (last.price_per_kwh * span_h + prices[i] * hours[i]) / (span_h + hours[i])
            merged[-1] = PlanInterval(last.start, ends[i], mode, p, mean)
        else:
            merged.append(PlanInterval(starts[i], ends[i], mode, p, prices[i]))
    return DayPlan(
        currency=rates.currency,
        intervals=tuple(merged),
        charge_kwh=sum(power[i] * hours[i] for i in charged) / 1000,
        discharge_kwh=planned_out,
    )


def planned_power_at(plan: DayPlan, at: datetime) -> float | None:
    """The planned battery power at an instant (None outside the plan or in self-consumption,
    where the home decides)."""
    for it in plan.intervals:
        if it.start <= at < it.end:
            return None if it.mode is BatteryMode.SELF_CONSUMPTION else it.battery_power_w
    return None
