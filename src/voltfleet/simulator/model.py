"""A simulated home in fixed time steps: PV, household load, a battery, a house meter, an EV.

Pure: data in, data out. No I/O, no clock; randomness only from seeds. Signs follow the site
conventions (DESIGN.md): ``grid_power_w`` > 0 is import, ``battery_power_w`` > 0 is charging, and
in every step (powers are the step's means, in W)::

    pv + grid = load + ev + battery_charge - battery_discharge

The battery's stored energy changes by ``charge_wh * eta - discharge_wh / eta`` where ``eta`` is
the square root of the round-trip efficiency (charge and discharge each lose half, in log terms).

Faults: now and then the battery's communication with the inverter fails (``battery_faults``, a
seeded random plan); while it is down the battery stays idle (the grid covers the difference, so
energy is still conserved) and reports nothing, and it recovers after some minutes.

Working modes (domain/work_modes.py) as the hybrid inverter runs them: PV mode leaves the battery
idle; self-consumption and forced off-grid charge from surplus and discharge to the loads (the
simulated grid stays as backup in off-grid); full feed-in exports surplus PV and discharges the
battery at its limit when PV is short; emergency charging charges at the limit (from the grid
too) until full; TOU runs the base mode of the table's slot for the home's local time. With
anti-feedback the export is capped by curtailing PV; an output limit (``ac_limit_w``) caps the
inverter's AC output the same way, and without grid charging (``grid_charge``) a charging
setpoint takes surplus PV only. A stopped inverter (power switch off)
produces nothing and leaves the battery idle. The intelligent-load relay switches a
``SMART_LOAD_W`` load (a heating rod) by the domain's rule.

Inputs per step (PV power, household load, EV plug state) are made as whole arrays for a span of
steps (``pv_power_w``, ``load_power_w``, ``ev_plan``), vectorised with numpy/pvlib; ``step``
then moves the state on by one step given those inputs and the current command.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from functools import cache
from zoneinfo import ZoneInfo

import holidays
import numpy as np
import numpy.typing as npt

from voltfleet.domain.work_modes import BaseMode, LoadSettings, TouSettings, load_on, tou_mode_at
from voltfleet.simulator.weather import Irradiance

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class Mode(StrEnum):
    """What the battery follows (the inverter's working mode)."""

    SELF_CONSUMPTION = "self_consumption"  # charge from surplus PV, discharge to cover the load
    SETPOINT = "setpoint"  # follow ``Command.setpoint_w`` (> 0 charge, < 0 discharge)
    IDLE = "idle"  # neither charge nor discharge
    FULL_FEED_IN = "full_feed_in"  # export surplus PV; discharge at the limit when PV is short
    TOU = "tou"  # the base mode of ``Command.tou`` at the home's local time


SMART_LOAD_W = 2000.0  # what the intelligent-load relay switches


@dataclass(frozen=True)
class Command:
    mode: Mode = Mode.SELF_CONSUMPTION
    setpoint_w: float = 0.0  # battery power asked for in SETPOINT mode; > 0 is charging
    tou: TouSettings | None = None  # the table, in TOU mode
    # caps of self-consumption (SunSpec 124 with both StorCtl_Mod bits: InWRte / OutWRte)
    charge_cap_w: float | None = None
    discharge_cap_w: float | None = None


@dataclass(frozen=True)
class PvSpec:
    capacity_wp: float  # DC nameplate
    tilt_deg: float = 35.0
    azimuth_deg: float = 180.0  # 180 = south
    inverter_ac_w: float | None = None  # clipping limit; default the DC nameplate
    gamma_pdc_per_c: float = -0.004  # power temperature coefficient
    losses: float = 0.14  # soiling, wiring, mismatch ... (PVWatts' default)
    inverter_efficiency: float = 0.96


@dataclass(frozen=True)
class BatterySpec:
    capacity_wh: float
    max_charge_w: float
    max_discharge_w: float
    round_trip_efficiency: float = 0.90
    soc_min: float = 0.05
    soc_max: float = 1.0

    @property
    def eta(self) -> float:
        """One-way efficiency (charge, and again discharge)."""
        return math.sqrt(self.round_trip_efficiency)

    @property
    def min_wh(self) -> float:
        return self.capacity_wh * self.soc_min

    @property
    def max_wh(self) -> float:
        return self.capacity_wh * self.soc_max


@dataclass(frozen=True)
class EvSpec:
    battery_wh: float = 60_000.0
    max_power_w: float = 11_000.0
    arrive_hour: float = 18.0  # local time, with +-arrive_spread_h of randomness
    depart_hour: float = 7.5  # with +-depart_spread_h
    daily_need_wh: float = 8_000.0  # energy used while away, with randomness
    at_home_probability: float = 0.8  # of the car coming home on a given day
    arrive_spread_h: float = 1.5
    depart_spread_h: float = 1.0


@dataclass(frozen=True)
class HomeSpec:
    name: str
    latitude: float
    longitude: float
    timezone: str
    annual_kwh: float  # household consumption, EV excluded
    pv: PvSpec
    battery: BatterySpec | None
    ev: EvSpec | None = None
    seed: int = 0
    country: str = "DE"


@dataclass(frozen=True)
class Counters:
    """Energy counters (Wh): what a house meter and a hybrid inverter count."""

    pv_wh: float = 0.0
    load_wh: float = 0.0
    ev_wh: float = 0.0
    import_wh: float = 0.0
    export_wh: float = 0.0
    charge_wh: float = 0.0
    discharge_wh: float = 0.0

    def plus(self, other: Counters) -> Counters:
        return Counters(
            self.pv_wh + other.pv_wh,
            self.load_wh + other.load_wh,
            self.ev_wh + other.ev_wh,
            self.import_wh + other.import_wh,
            self.export_wh + other.export_wh,
            self.charge_wh + other.charge_wh,
            self.discharge_wh + other.discharge_wh,
        )

    def minus(self, other: Counters) -> Counters:
        return Counters(
            self.pv_wh - other.pv_wh,
            self.load_wh - other.load_wh,
            self.ev_wh - other.ev_wh,
            self.import_wh - other.import_wh,
            self.export_wh - other.export_wh,
            self.charge_wh - other.charge_wh,
            self.discharge_wh - other.discharge_wh,
        )


@dataclass(frozen=True)
class HomeState:
    stored_wh: float = 0.0  # energy in the home battery
    ev_need_wh: float = 0.0  # energy the plugged-in EV still wants
    counters: Counters = field(default_factory=Counters)
    command: Command = field(default_factory=Command)
    inverter_on: bool = True  # the power switch
    load: LoadSettings | None = None  # the intelligent-load relay's settings
    load_on: bool = False
    load_on_s: float = 0.0  # how long the relay has been on
    ac_limit_w: float | None = None  # the inverter's output capped (SunSpec 123 WMaxLimPct)
    grid_charge: bool = True  # the battery may charge from the grid (SunSpec 124 ChaGriSet)


@dataclass(frozen=True)
class StepInput:
    pv_w: float  # what the PV array can deliver (AC), >= 0
    load_w: float  # household load, >= 0
    ev_plugged: bool = False
    ev_arrival_need_wh: float = 0.0  # > 0 at the step the car arrives: what it wants
    battery_fault: bool = False  # the battery's communication is down: it stays idle


@dataclass(frozen=True)
class Step:
    """One step's outcome. Powers are means over the step (W); ``ts`` is the step's end."""

    ts: datetime
    dt_s: float
    pv_w: float
    load_w: float
    ev_w: float
    grid_w: float
    charge_w: float
    discharge_w: float
    stored_before_wh: float
    stored_after_wh: float
    soc: float
    counters: Counters  # after the step
    battery_fault: bool = False  # the battery's communication was down during the step

    @property
    def battery_w(self) -> float:
        return self.charge_w - self.discharge_w

    @property
    def ac_w(self) -> float:
        """The hybrid inverter's AC output: PV less what went into the battery."""
        return self.pv_w - self.battery_w


def initial_state(spec: HomeSpec, soc: float = 0.5) -> HomeState:
    b = spec.battery
    stored = 0.0 if b is None else min(max(b.capacity_wh * soc, b.min_wh), b.max_wh)
    return HomeState(stored_wh=stored)


def step(
    spec: HomeSpec, state: HomeState, inp: StepInput, ts: datetime, dt_s: float
) -> tuple[HomeState, Step]:
    """Advance one step of ``dt_s`` seconds ending at ``ts``."""
    if dt_s <= 0:
        raise ValueError("dt_s must be > 0")
    h = dt_s / 3600.0
    pv = max(inp.pv_w, 0.0) if state.inverter_on else 0.0
    load = max(inp.load_w, 0.0)
    local = ts.astimezone(_zone(spec.timezone))
    relay = state.load_on
    if state.load is not None:
        soc_pct = None if spec.battery is None else 100 * state.stored_wh / spec.battery.capacity_wh
        relay = load_on(
            state.load,
            was_on=state.load_on,
            local=local,
            soc_pct=soc_pct,
            export_w=pv - load - (SMART_LOAD_W if state.load_on else 0.0),
            on_for_minutes=state.load_on_s / 60,
        )
        if relay:
            load += SMART_LOAD_W

    ev_need = state.ev_need_wh
    if inp.ev_arrival_need_wh > 0:
        ev_need = inp.ev_arrival_need_wh
    if not inp.ev_plugged:
        ev_need = 0.0
    ev = 0.0
    if spec.ev is not None and ev_need > 0:
        ev = min(spec.ev.max_power_w, ev_need / h)
        ev_need = max(ev_need - ev * h, 0.0)

    charge = discharge = 0.0
    stored = state.stored_wh
    b = spec.battery
    if b is not None:
        eta = b.eta
        room_w = max(b.max_wh - stored, 0.0) / (eta * h)
        avail_w = max(stored - b.min_wh, 0.0) * eta / h
        max_c = min(b.max_charge_w, room_w)
        max_d = min(b.max_discharge_w, avail_w)
        cmd = state.command
        if inp.battery_fault or not state.inverter_on:
            cmd = Command(Mode.IDLE)
        elif cmd.mode is Mode.TOU and cmd.tou is not None:
            cmd = _tou_command(cmd.tou, local, spec.country)
        surplus = pv - load - ev
        if cmd.mode is Mode.SELF_CONSUMPTION:
            if cmd.charge_cap_w is not None:
                max_c = min(max_c, max(cmd.charge_cap_w, 0.0))
            if cmd.discharge_cap_w is not None:
                max_d = min(max_d, max(cmd.discharge_cap_w, 0.0))
            if surplus > 0:
                charge = min(surplus, max_c)
            else:
                discharge = min(-surplus, max_d)
        elif cmd.mode is Mode.FULL_FEED_IN:
            if surplus <= 0:
                discharge = max_d
        elif cmd.mode is Mode.SETPOINT:
            if cmd.setpoint_w > 0:
                charge = min(cmd.setpoint_w, max_c)
                if not state.grid_charge:  # from surplus PV only
                    charge = min(charge, max(surplus, 0.0))
            elif cmd.setpoint_w < 0:
                discharge = min(-cmd.setpoint_w, max_d)
        stored = stored + charge * h * eta - discharge * h / eta
        stored = min(max(stored, b.min_wh), b.max_wh)  # float dust only

    if state.ac_limit_w is not None and pv - charge + discharge > state.ac_limit_w:
        pv -= min(pv - charge + discharge - state.ac_limit_w, pv)  # PV curtailed
    grid = load + ev + charge - discharge - pv
    tou = state.command.tou if state.command.mode is Mode.TOU else None
    if tou is not None and tou.anti_feedback and -grid > tou.feed_in_limit_w:
        curtailed = -grid - tou.feed_in_limit_w
        pv -= min(curtailed, pv)
        grid = load + ev + charge - discharge - pv
    delta = Counters(
        pv_wh=pv * h,
        load_wh=load * h,
        ev_wh=ev * h,
        import_wh=max(grid, 0.0) * h,
        export_wh=max(-grid, 0.0) * h,
        charge_wh=charge * h,
        discharge_wh=discharge * h,
    )
    counters = state.counters.plus(delta)
    soc = 0.0 if b is None else stored / b.capacity_wh
    new = replace(
        state,
        stored_wh=stored,
        ev_need_wh=ev_need,
        counters=counters,
        load_on=relay,
        load_on_s=state.load_on_s + dt_s if relay and state.load_on else 0.0,
    )
    return new, Step(
        ts=ts,
        dt_s=dt_s,
        pv_w=pv,
        load_w=load,
        ev_w=ev,
        grid_w=grid,
        charge_w=charge,
        discharge_w=discharge,
        stored_before_wh=state.stored_wh,
        stored_after_wh=stored,
        soc=soc,
        counters=counters,
        battery_fault=inp.battery_fault,
    )


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@cache
def _holidays(country: str, year: int) -> frozenset[date]:
    try:
        return frozenset(holidays.country_holidays(country, years=year))
    except NotImplementedError:  # a country the library does not know: no holidays
        return frozenset()


def _tou_command(tou: TouSettings, local: datetime, country: str) -> Command:
    """The battery command a TOU table gives at ``local``."""
    base = tou_mode_at(tou, local, holiday=local.date() in _holidays(country, local.year))
    if base is BaseMode.GRID_CHARGE:
        return Command(Mode.SETPOINT, float(tou.grid_charge_power_w))
    if base is BaseMode.FULL_FEED_IN:
        return Command(Mode.FULL_FEED_IN)
    if base is BaseMode.PV:
        return Command(Mode.IDLE)
    return Command(Mode.SELF_CONSUMPTION)


def command(state: HomeState, cmd: Command) -> HomeState:
    """The state with a new command (applied from the next step on)."""
    return replace(state, command=cmd)


# ---- inputs for a span of steps -----------------------------------------------------------------


@dataclass(frozen=True)
class FaultSpec:
    """How often a home's battery loses its communication, and for how long."""

    per_week: float = 2.0  # mean number of faults per home per simulated week; 0: never
    min_minutes: float = 5.0
    max_minutes: float = 30.0


def battery_faults(spec: FaultSpec, n: int, dt_s: float, rng: np.random.Generator) -> BoolArray:
    """Per step: is the battery's communication down? Faults begin at random (about
    ``per_week`` a week: each step starts one with probability rate x step) and each lasts a
    uniform ``min_minutes`` .. ``max_minutes``."""
    down = np.zeros(n, dtype=np.bool_)
    if n == 0 or spec.per_week <= 0:
        return down
    p = min(spec.per_week * dt_s / (7 * 86400.0), 1.0)
    for start in np.flatnonzero(rng.random(n) < p):
        minutes = float(rng.uniform(spec.min_minutes, spec.max_minutes))
        down[start : start + max(1, round(minutes * 60 / dt_s))] = True
    return down


def pv_power_w(spec: PvSpec, irr: Irradiance) -> FloatArray:
    """AC power (W) the array delivers at each instant of ``irr``: transposition to the plane of
    the array (pvlib, isotropic sky, with the sun that ``irr`` carries), PVWatts DC model with a
    simple cell temperature, system losses, a flat inverter efficiency and clipping at the
    inverter's AC rating."""
    from pvlib import irradiance, pvsystem  # type: ignore[import-untyped]

    poa = irradiance.get_total_irradiance(
        spec.tilt_deg,
        spec.azimuth_deg,
        irr.sun_zenith_deg,
        irr.sun_azimuth_deg,
        irr.dni_w_m2,
        irr.ghi_w_m2,
        irr.dhi_w_m2,
        model="isotropic",
    )
    poa_global = np.nan_to_num(np.asarray(poa["poa_global"], dtype=np.float64), nan=0.0)
    poa_global = np.clip(poa_global, 0.0, None)
    temp_cell = irr.temp_air_c + poa_global * (25.0 / 800.0)  # NOCT-like rise
    dc = pvsystem.pvwatts_dc(
        poa_global, temp_cell, spec.capacity_wp, spec.gamma_pdc_per_c, temp_ref=25.0
    )
    dc = np.asarray(dc, dtype=np.float64) * (1.0 - spec.losses)
    ac_limit = spec.inverter_ac_w if spec.inverter_ac_w is not None else spec.capacity_wp
    ac = np.clip(dc * spec.inverter_efficiency, 0.0, ac_limit)
    return np.asarray(ac, dtype=np.float64)


def load_power_w(
    annual_kwh: float, shape_w_per_kwh: FloatArray, dt_s: float, rng: np.random.Generator
) -> FloatArray:
    """Household load (W): the standard profile scaled to ``annual_kwh``, times a slowly varying
    random factor (mean 1), plus appliance events (kettle, oven, washing machine: 1-3 kW for
    2-40 minutes) that carry about 15 % of the energy; the base is lowered to match."""
    n = len(shape_w_per_kwh)
    base = shape_w_per_kwh * annual_kwh * 0.85
    # AR(1) in log space with a correlation time of ~30 minutes, sigma 0.25
    phi = math.exp(-dt_s / 1800.0)
    sigma = 0.25
    eps = rng.normal(0.0, sigma * math.sqrt(1 - phi * phi), n)
    x = np.empty(n, dtype=np.float64)
    prev = rng.normal(0.0, sigma)
    for i in range(n):
        prev = phi * prev + eps[i]
        x[i] = prev
    factor = np.exp(x - sigma * sigma / 2)
    load = base * factor
    # appliance events: energy share ~15 % of the mean profile over the span
    mean_w = float(np.mean(shape_w_per_kwh)) * annual_kwh if n else 0.0
    target_wh = 0.15 * mean_w * n * dt_s / 3600.0
    events = np.zeros(n, dtype=np.float64)
    made = 0.0
    while n and made < target_wh:
        power = float(rng.uniform(1000.0, 3000.0))
        minutes = float(rng.uniform(2.0, 40.0))
        length = max(1, round(minutes * 60 / dt_s))
        # events follow the profile's shape: more in the evening than at night
        weights = shape_w_per_kwh / shape_w_per_kwh.sum()
        start = int(rng.choice(n, p=weights))
        end = min(start + length, n)
        events[start:end] += power
        made += power * (end - start) * dt_s / 3600.0
    return np.asarray(load + events, dtype=np.float64)


def ev_plan(
    spec: EvSpec,
    local_hours: FloatArray,
    day_index: npt.NDArray[np.int64],
    rng: np.random.Generator,
) -> tuple[BoolArray, FloatArray]:
    """(plugged in?, energy wanted at arrival (Wh, only at the arrival step)) per step, from each
    step's local hour of day and local day number. The car comes home most evenings, stays the
    night and leaves in the morning.

    A stay runs from its arrival to the first departure hour after it (the same day when the car
    leaves later in the day than it came, else the next day), so any pair of hours works: a car
    that comes home at 01:30 and leaves at 23:30 is away two hours a day, not plugged in for good.
    Arriving while still plugged in (stays that overlap) continues the stay without a new need."""
    n = len(local_hours)
    plugged = np.zeros(n, dtype=np.bool_)
    need = np.zeros(n, dtype=np.float64)
    days = sorted(set(int(d) for d in day_index))
    stays: list[tuple[float, float, float]] = []  # (arrival, departure) in hours since day 0
    for d in days:
        if rng.random() > spec.at_home_probability:
            continue
        arrive = spec.arrive_hour + rng.uniform(-spec.arrive_spread_h, spec.arrive_spread_h)
        depart = spec.depart_hour + rng.uniform(-spec.depart_spread_h, spec.depart_spread_h)
        wanted = min(spec.daily_need_wh * rng.uniform(0.3, 2.5), spec.battery_wh * 0.8)
        start = d * 24.0 + arrive
        end = d * 24.0 + depart
        while end <= start:
            end += 24.0
        stays.append((start, end, wanted))
    at = np.asarray(day_index, dtype=np.float64) * 24.0 + np.asarray(local_hours, dtype=np.float64)
    was = False
    k = 0  # the first stay that may still hold a step (steps are in time order)
    for i in range(n):
        t = float(at[i])
        while k < len(stays) and stays[k][1] <= t:
            k += 1
        now = False
        for start, end, wanted in stays[k : k + 2]:  # stays start a day apart: two suffice
            if start <= t < end:
                if not was and not now:
                    need[i] = wanted
                now = True
        plugged[i] = now
        was = now
    return plugged, need
