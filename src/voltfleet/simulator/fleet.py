"""Many simulated homes from one process, against a running voltfleet; bounded, stops by itself.

Simulated time runs from ``start`` for ``hours`` at ``speed`` simulated seconds per wall second,
in steps of ``step_s``; all homes advance together one batch of steps at a time and each home
sends its batch with its gateway's token. Simulated time never runs ahead of the real clock (the
platform refuses readings from the future): by default the run starts ``hours`` ago and ends now,
so a day of history arrives in minutes; a run that starts later goes on at real time once it has
caught up with the clock.

Each home's gateway talks to the platform over HTTP (``POST /api/v1/ingest`` and command polling,
with its token) or, with ``transport="mqtt"``, over MQTT (simulator.mqtt_gateway: its telemetry,
status, alarms and commands on its own topics, logged in with the same token); creating the
homes and asking for day plans goes through the HTTP API as the person in either case.

A home with an EV has a charger that speaks OCPP 1.6J to the platform over its own WebSocket
(simulator.ocpp_charger): the EV's readings reach the platform only that way, never through the
gateway.

The homes are made from a seed: the same seed gives the same homes, weather and load. Their
serial numbers carry a tag (by default from the seed), so a later run with the same tag finds the
homes an earlier one made: it re-issues their gateways' tokens, reads where their stored telemetry
ends and goes on from there with the counters where they were, instead of making new homes.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from voltfleet.simulator import commands as sim_commands
from voltfleet.simulator import weather
from voltfleet.simulator.client import (
    HomeAccount,
    LastReading,
    SimulatorError,
    Stats,
    VoltfleetClient,
)
from voltfleet.simulator.firmware import Installer
from voltfleet.simulator.gateway_settings import KINDS as GATEWAY_SETTING_KINDS
from voltfleet.simulator.gateway_settings import GatewaySettings
from voltfleet.simulator.live_data import Reporting
from voltfleet.simulator.model import (
    BatterySpec,
    Command,
    Counters,
    EvSpec,
    FaultSpec,
    HomeSpec,
    HomeState,
    Mode,
    PvSpec,
    Step,
    StepInput,
    battery_faults,
    ev_plan,
    initial_state,
    load_power_w,
    pv_power_w,
    step,
)
from voltfleet.simulator.model import command as set_command
from voltfleet.simulator.mqtt_gateway import (
    TRANSPORTS,
    LinkStats,
    MqttGateway,
    Transport,
    broker_address,
)
from voltfleet.simulator.ocpp_charger import ChargerStats, SimulatedCharger
from voltfleet.simulator.register_bank import RegisterBank
from voltfleet.simulator.register_bank import answer as register_answer
from voltfleet.simulator.weather import WeatherSource

log = logging.getLogger(__name__)

MAX_SITES = 10_000
MAX_HOURS = 24 * 28  # inside the platform's 30-day late window for back-filled history
MAX_STEPS_PER_BATCH = 120
REATTACH_LOOKBACK = timedelta(days=60)  # how far back a reattached home's last reading is sought
PLAN_LOOKBACK = timedelta(days=2)  # how far back a planned home's followed plan is sought


# ---- homes --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """Where simulated homes are put: within +-0.3 degrees of this point, on its clock and with
    its country's holidays. Their weather follows from where they are (weather.choose_station)."""

    name: str
    latitude: float
    longitude: float
    timezone: str = "Europe/Berlin"
    country: str = "DE"

    def __post_init__(self) -> None:
        if not -89.0 <= self.latitude <= 89.0 or not -179.0 <= self.longitude <= 179.0:
            raise ValueError(f"{self.name}: latitude must be -89..89, longitude -179..179")
        try:  # an unknown zone fails here, not in the middle of a run
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{self.name}: unknown time zone {self.timezone!r}") from exc


def german_places() -> tuple[Place, ...]:
    """The 15 DWD TRY stations: homes there get the measured weather of their climate region."""
    return tuple(Place(s.name, s.latitude, s.longitude) for s in weather.try_stations())


def make_homes(
    n: int,
    seed: int = 1,
    *,
    ev_share: float = 0.0,
    ev: EvSpec | None = None,
    ev_homes: tuple[int, ...] = (),
    places: tuple[Place, ...] = (),
) -> list[HomeSpec]:
    """``n`` varied homes, each near one of ``places`` drawn at random (by default the German TRY
    stations, ``german_places()``): PV 3-12 kWp, batteries 5-15 kWh, 2,000-6,000 kWh/a.
    Deterministic for a seed. A share ``ev_share`` of them, and the homes numbered in
    ``ev_homes``, have an EV (``ev``, by default ``EvSpec()``)."""
    rng = np.random.default_rng([seed, 0xF1EE7])
    sites = places or german_places()
    homes = []
    for i in range(n):
        st = sites[int(rng.integers(len(sites)))]
        kwp = float(rng.uniform(3.0, 12.0))
        bat_kwh = float(rng.choice([5.0, 7.7, 10.0, 12.8, 15.0]))
        battery = BatterySpec(
            capacity_wh=bat_kwh * 1000,
            max_charge_w=min(bat_kwh * 500, 5000.0),
            max_discharge_w=min(bat_kwh * 500, 5000.0),
            round_trip_efficiency=float(rng.uniform(0.88, 0.94)),
            soc_min=0.05,
            soc_max=1.0,
        )
        homes.append(
            HomeSpec(
                name=f"Simulated home {i + 1} ({st.name})",
                latitude=st.latitude + float(rng.uniform(-0.3, 0.3)),
                longitude=st.longitude + float(rng.uniform(-0.3, 0.3)),
                timezone=st.timezone,
                annual_kwh=float(rng.uniform(2000.0, 6000.0)),
                pv=PvSpec(
                    capacity_wp=kwp * 1000,
                    tilt_deg=float(rng.uniform(15.0, 45.0)),
                    azimuth_deg=float(rng.uniform(120.0, 240.0)),
                    inverter_ac_w=round(kwp * 1000 * 0.9 / 500) * 500 or 500,
                ),
                battery=battery,
                ev=(ev or EvSpec()) if rng.random() < ev_share or i in ev_homes else None,
                seed=int(rng.integers(2**31)),
                country=st.country,
            )
        )
    return homes


# ---- offline simulation -------------------------------------------------------------------------


@dataclass(frozen=True)
class Inputs:
    times: tuple[datetime, ...]  # step ends
    pv_w: np.ndarray[Any, np.dtype[np.float64]]
    load_w: np.ndarray[Any, np.dtype[np.float64]]
    ev_plugged: np.ndarray[Any, np.dtype[np.bool_]]
    ev_need_wh: np.ndarray[Any, np.dtype[np.float64]]
    battery_fault: np.ndarray[Any, np.dtype[np.bool_]] | None = None  # None: no faults

    def at(self, i: int) -> StepInput:
        return StepInput(
            float(self.pv_w[i]),
            float(self.load_w[i]),
            bool(self.ev_plugged[i]),
            float(self.ev_need_wh[i]),
            self.battery_fault is not None and bool(self.battery_fault[i]),
        )


def step_times(start: datetime, first: int, count: int, dt_s: float) -> tuple[datetime, ...]:
    """The ends of steps first .. first+count-1 (step k ends at start + (k+1) dt)."""
    return tuple(start + timedelta(seconds=(k + 1) * dt_s) for k in range(first, first + count))


def inputs_for(
    spec: HomeSpec,
    times: tuple[datetime, ...],
    dt_s: float,
    source: WeatherSource,
    chunk: int,
    shape: np.ndarray[Any, np.dtype[np.float64]] | None = None,
    faults: FaultSpec | None = None,
) -> Inputs:
    """PV, load and EV inputs of one home for the steps ending at ``times`` (means over each step
    are approximated by the value at the step's middle), and its battery faults when ``faults``
    is given (drawn per chunk, like the EV's plan)."""
    mids = tuple(t - timedelta(seconds=dt_s / 2) for t in times)
    irr = weather.irradiance(source, mids, spec.latitude, spec.longitude)
    pv = pv_power_w(spec.pv, irr)
    if shape is None:
        shape = weather.household_shape_w_per_kwh(mids, spec.timezone, spec.country)
    rng = np.random.default_rng([spec.seed, chunk])
    load = load_power_w(spec.annual_kwh, shape, dt_s, rng)
    n = len(times)
    plugged = np.zeros(n, dtype=np.bool_)
    need = np.zeros(n, dtype=np.float64)
    if spec.ev is not None:
        tz = ZoneInfo(spec.timezone)
        local = [t.astimezone(tz) for t in mids]
        hours = np.asarray([t.hour + t.minute / 60 for t in local], dtype=np.float64)
        days = np.asarray([t.toordinal() for t in local], dtype=np.int64)
        plugged, need = ev_plan(spec.ev, hours, days, np.random.default_rng([spec.seed, chunk, 7]))
    down = None
    if faults is not None and spec.battery is not None:
        down = battery_faults(faults, n, dt_s, np.random.default_rng([spec.seed, chunk, 0xFA]))
    return Inputs(times, pv, load, plugged, need, down)


def simulate(
    spec: HomeSpec,
    start: datetime,
    steps: int,
    dt_s: float = 60.0,
    source: WeatherSource = "try",
    state: HomeState | None = None,
    chunk_steps: int = 1440,
    faults: FaultSpec | None = None,
) -> Iterator[tuple[HomeState, Step]]:
    """Run one home offline; yields (state after, step) for each step. Inputs are made a chunk at
    a time (a day of minutes by default), so memory stays bounded for long runs. The EV's plan
    (and the battery's faults, with ``faults``) are drawn per chunk, so a car may be unplugged and
    a fault may end at a chunk edge."""
    state = state or initial_state(spec)
    for chunk, first in enumerate(range(0, steps, chunk_steps)):
        times = step_times(start, first, min(chunk_steps, steps - first), dt_s)
        inp = inputs_for(spec, times, dt_s, source, chunk, faults=faults)
        for i, ts in enumerate(times):
            state, s = step(spec, state, inp.at(i), ts, dt_s)
            yield state, s


# ---- against a platform -------------------------------------------------------------------------


@dataclass(frozen=True)
class FleetConfig:
    sites: int = 10
    speed: float = 60.0  # simulated seconds per wall second; math.inf: as fast as possible
    hours: float = 24.0  # simulated duration
    step_s: float = 60.0
    seed: int = 1
    weather: WeatherSource = "try"  # measured typical years by region; "clearsky": always sunny
    start: datetime | None = None  # default: ``hours`` ago, so the run ends about now
    # steps ending at or before this go flat out, whatever the speed (history, back-filled)
    backfill_until: datetime | None = None
    batch_steps: int | None = None  # steps per ingest batch; default about 5 wall seconds' worth
    concurrency: int = 16  # homes talking to the platform at once
    wall_limit_s: float | None = None  # stop after this much wall time, whatever is left
    tag: str | None = None  # in the serial numbers; from the seed when omitted
    ev_share: float = 0.0
    ev_homes: tuple[int, ...] = ()  # homes (by number) that always have an EV
    ev: EvSpec | None = None  # the EV of the homes that have one (default EvSpec())
    places: tuple[Place, ...] = ()  # where the homes are (default: German TRY stations)
    reattach: bool = True  # find and go on with homes an earlier run made with the same tag
    # the inverters also report their lifetime yield register (the demo's do); off by default,
    # so a run's readings are as many as the tests count
    lifetime_counter: bool = False
    # battery communication faults, raised and cleared as alarms (the demo uses FaultSpec());
    # none by default, so a run's readings are complete and countable
    faults: FaultSpec | None = None
    # one battery fault in the first home from this time (the demo shows an alarm at once)
    forced_fault_at: datetime | None = None
    forced_fault_minutes: float = 15.0
    # each home's gateway fetches its commands (GET /api/v1/gateway/commands) this often (wall
    # seconds, also while waiting for the next batch) and applies them; None: never. Over MQTT
    # the platform pushes the commands instead; this paces the day plans only.
    command_poll_s: float | None = 5.0
    # homes (by number) whose battery gets a day plan from the platform (POST battery-plan) once
    # the run is past its back-fill (from the battery's state then) and every ``plan_every_s``
    # wall seconds (the placeholder of the optimiser); in the history they go through they
    # follow the plan commands they acknowledged back then (followed_plan)
    plan_homes: tuple[int, ...] = ()
    plan_every_s: float = 6 * 3600.0
    # a last say on the homes made from the seed (the demo puts some on its seeded sites)
    adjust_homes: Callable[[list[HomeSpec]], list[HomeSpec]] | None = None
    site_org_id: str | None = None  # where new homes' sites go (default: the person's org)
    # how the gateways talk to the platform: "http" (ingest and command polling) or "mqtt" (the
    # broker at ``mqtt_url``, which the platform's bridge reads)
    transport: Transport = "http"
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    ca_file: str | None = None  # a certificate to trust for an https:// platform (private CA)
    mqtt_connect_timeout_s: float = 30.0  # every gateway must be connected by then

    @property
    def serial_tag(self) -> str:
        return self.tag or f"S{self.seed}"

    def check(self) -> None:
        if not 1 <= self.sites <= MAX_SITES:
            raise ValueError(f"sites must be 1..{MAX_SITES}")
        if not 0 < self.hours <= MAX_HOURS:
            raise ValueError(f"hours must be > 0 and <= {MAX_HOURS}")
        if not self.speed > 0:
            raise ValueError("speed must be > 0")
        if not 1.0 <= self.step_s <= 3600.0:
            raise ValueError("step_s must be 1..3600")
        if self.transport not in TRANSPORTS:
            raise ValueError(f"transport must be one of {', '.join(TRANSPORTS)}")
        if self.transport == "mqtt":
            broker_address(self.mqtt_url)
            if not self.mqtt_connect_timeout_s > 0:
                raise ValueError("mqtt_connect_timeout_s must be > 0")


@dataclass
class HomeRun:
    spec: HomeSpec
    state: HomeState
    offset: Counters  # the counters' lifetime values before the run
    account: HomeAccount | None = None
    last: LastReading | None = None  # where its stored telemetry ended (a reattached home)
    inputs: Inputs | None = None
    inputs_first: int = 0
    charger: SimulatedCharger | None = None  # the EV's charger, connected over OCPP
    gateway: MqttGateway | None = None  # the gateway's MQTT link (transport "mqtt")
    battery_down: bool = False  # its battery's communication fault is on (an alarm is raised)
    forced_fault: tuple[datetime, datetime] | None = None  # a fault forced on it, from .. until
    alarms: list[dict[str, Any]] = field(default_factory=list)  # events for the next batch
    replies: dict[str, dict[str, Any]] = field(default_factory=dict)  # command id -> its reply
    registers: RegisterBank = field(default_factory=RegisterBank)  # its devices' registers
    planned_at: float | None = None  # wall time (monotonic) of the last day plan asked for
    # the plan commands its battery carried out in the history the run goes through: from when
    # each took over, oldest first (followed_plan); a command of the platform now ends them
    replay: list[tuple[datetime, Command]] = field(default_factory=list)
    firmware: Installer = field(default_factory=Installer)  # firmware_update commands
    reporting: Reporting = field(default_factory=Reporting)  # live_data commands change it
    gw_settings: GatewaySettings = field(default_factory=GatewaySettings)  # its own settings
    newest: Step | None = None  # its newest simulated step (what a live batch reports)


@dataclass
class FleetReport:
    homes: int
    steps: int
    sim_start: datetime
    sim_end: datetime
    wall_s: float
    stats: Stats
    totals: dict[int, Counters]  # per home index: energy in the run (Wh)
    accounts: list[HomeAccount] = field(default_factory=list)
    stopped_early: bool = False
    reattached: int = 0  # homes found from an earlier run (the rest were created)
    chargers: list[ChargerStats] = field(default_factory=list)
    transport: Transport = "http"
    gateways: list[LinkStats] = field(default_factory=list)  # the MQTT links (transport "mqtt")

    def total(self) -> Counters:
        out = Counters()
        for c in self.totals.values():
            out = out.plus(c)
        return out

    def summary(self) -> str:
        t = self.total()
        s = self.stats
        sim_h = (self.sim_end - self.sim_start).total_seconds() / 3600
        return (
            f"{self.homes} homes, {self.steps} steps ({sim_h:.1f} simulated hours) in "
            f"{self.wall_s:.1f} s{' (stopped early)' if self.stopped_early else ''}"
            f"{f', {self.reattached} homes reattached' if self.reattached else ''}\n"
            + (
                f"readings sent {s.sent}, acknowledged {s.acknowledged} (new {s.accepted}, "
                f"duplicates {s.duplicates}), quarantined {s.quarantined}, "
                f"failed {s.failed_readings}, retries {s.retries}\n"
                if self.transport == "http"
                else f"readings sent over MQTT {s.sent}, delivered to the broker {s.delivered} "
                f"(the bridge stores them), failed {s.failed_readings}, "
                f"messages resent {s.retries}, gateway connections "
                f"{sum(g.connects for g in self.gateways)}\n"
            )
            + f"energy kWh: pv {t.pv_wh / 1000:.1f}, load {t.load_wh / 1000:.1f}, "
            f"import {t.import_wh / 1000:.1f}, export {t.export_wh / 1000:.1f}, "
            f"charge {t.charge_wh / 1000:.1f}, discharge {t.discharge_wh / 1000:.1f}, "
            f"ev {t.ev_wh / 1000:.1f}"
            + (
                f"\nOCPP: {len(self.chargers)} chargers, "
                f"{sum(c.sessions_started for c in self.chargers)} sessions started, "
                f"{sum(c.sessions_stopped for c in self.chargers)} stopped, "
                f"{sum(c.messages for c in self.chargers)} messages, "
                f"{sum(c.lost for c in self.chargers)} lost"
                if self.chargers
                else ""
            )
            + (
                f"\ncommands: {s.commands_received} received, {s.commands_acknowledged} "
                f"acknowledged, {s.commands_failed} failed"
                if s.commands_received
                else ""
            )
        )


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat()


def readings_for(
    acc: HomeAccount,
    ts: datetime,
    c: Counters,
    s: Step | None,
    soc: float,
    *,
    battery: bool = True,
    lifetime: bool = False,
) -> list[dict[str, Any]]:
    """The readings a gateway sends for one instant: lifetime counters ``c``, the step's powers
    (none for the baseline at the run's start) and the state of charge; nothing of the battery
    without ``battery`` (its communication is down). With ``lifetime`` the inverter also reports
    its lifetime yield register (``lifetime_yield_wh``: all it made since manufacture, the
    "total yield" the portal shows).

    The inverter's load is all the site consumes, the EV's charging included: a hybrid inverter
    measures it from its grid meter, so at the site pv + grid = load + battery (DESIGN.md)
    whether or not a car is charging. The charger reports the EV's share itself, over OCPP."""
    t = _iso(ts)

    def r(dev: str, point: str, value: float, unit: str) -> dict[str, Any]:
        return {"device": dev, "point": point, "ts": t, "value": value, "unit": unit}

    inv, bat, mtr = acc.inverter_serial, acc.battery_serial, acc.meter_serial
    out = [
        r(inv, "pv_energy_wh", round(c.pv_wh, 3), "Wh"),
        r(inv, "load_energy_wh", round(c.load_wh + c.ev_wh, 3), "Wh"),
        r(bat, "battery_charge_energy_wh", round(c.charge_wh, 3), "Wh"),
        r(bat, "battery_discharge_energy_wh", round(c.discharge_wh, 3), "Wh"),
        r(bat, "soc", round(soc * 100, 2), "%"),
        r(mtr, "grid_import_energy_wh", round(c.import_wh, 3), "Wh"),
        r(mtr, "grid_export_energy_wh", round(c.export_wh, 3), "Wh"),
    ]
    if lifetime:
        out.append(r(inv, "lifetime_yield_wh", round(c.pv_wh, 3), "Wh"))
    if s is not None:
        out += [
            r(inv, "pv_power_w", round(s.pv_w, 1), "W"),
            r(inv, "load_power_w", round(s.load_w + s.ev_w, 1), "W"),
            r(inv, "ac_power_w", round(s.ac_w, 1), "W"),
            r(bat, "battery_power_w", round(s.battery_w, 1), "W"),
            r(mtr, "grid_power_w", round(s.grid_w, 1), "W"),
        ]
    if not battery:
        out = [x for x in out if x["device"] != bat]
    return out


def live_readings(acc: HomeAccount, ts: datetime, s: Step) -> list[dict[str, Any]]:
    """A live batch at ``ts``: the newest step's powers and state of charge (no counters: they
    come with the steps' own batches), what a gateway asked for live data sends between them."""
    return [
        x
        for x in readings_for(acc, ts, s.counters, s, s.soc, battery=not s.battery_fault)
        if x["point"] in LIVE_POINTS
    ]


LIVE_POINTS = frozenset(
    {"pv_power_w", "load_power_w", "ac_power_w", "battery_power_w", "grid_power_w", "soc"}
)


BATTERY_FAULT = "BAT_COMM_LOST"  # domain.alarms' code for the simulated fault


def fault_input(run: HomeRun, inp: StepInput, ts: datetime, dt_s: float) -> StepInput:
    """The step's input with the fault forced on the home, if the step (ending at ``ts``) falls
    in its forced fault."""
    f = run.forced_fault
    if f is None or inp.battery_fault or not (ts > f[0] and ts - timedelta(seconds=dt_s) < f[1]):
        return inp
    return replace(inp, battery_fault=True)


def fault_events(run: HomeRun, s: Step) -> list[dict[str, Any]]:
    """The alarm events of a step: a raise when the battery's fault begins, a clear when it
    ends (both at the step's end, when the gateway notices)."""
    if s.battery_fault == run.battery_down or run.account is None:
        return []
    run.battery_down = s.battery_fault
    return [
        {
            "device": run.account.battery_serial,
            "code": BATTERY_FAULT,
            "action": "raise" if s.battery_fault else "clear",
            "ts": _iso(s.ts),
            "message": "no answer from the battery management system"
            if s.battery_fault
            else "battery management system answers again",
        }
    ]


def followed_plan(
    commands: list[dict[str, Any]], battery: BatterySpec | None, serial: str, start: datetime
) -> list[tuple[datetime, Command]]:
    """What a home's battery did of its plans' commands (``CommandOut`` bodies) from ``start``
    on: each acknowledged one as the battery command it became, from when it took over (its due
    time, or ``start`` for one in force then), and self-consumption from where one ran out with
    none after it (as the plan has it between its intervals); oldest first. A run going through
    that history (a demo's seeded day, or a stretch it back-fills after a stop) has the battery
    follow them, as it did then."""
    done = []
    for c in commands:
        if c.get("state") != "acknowledged":
            continue
        begin = datetime.fromisoformat(c["not_before"])
        end = datetime.fromisoformat(c["expires_at"])
        if end <= start:
            continue
        body = {"kind": c.get("kind"), "params": c.get("params"), "device": serial}
        outcome = sim_commands.interpret(body, battery, {serial})
        if outcome.command is not None:
            done.append((max(begin, start), end, outcome.command))
    done.sort(key=lambda x: x[0])
    out: list[tuple[datetime, Command]] = []
    for k, (begin, end, cmd) in enumerate(done):
        out.append((begin, cmd))
        if k + 1 == len(done) or done[k + 1][0] > end:
            out.append((end, Command(Mode.SELF_CONSUMPTION)))
    return out


def _offset(spec: HomeSpec) -> Counters:
    """Lifetime counter values before the run (a home is not new), from the home's seed."""
    rng = np.random.default_rng([spec.seed, 0xC0])
    years = float(rng.uniform(0.2, 5.0))
    pv = spec.pv.capacity_wp * 1000.0 * years  # ~1000 kWh/kWp/a
    load = spec.annual_kwh * 1000 * years
    return Counters(
        pv_wh=round(pv, 3),
        load_wh=round(load, 3),
        import_wh=round(load * 0.55, 3),
        export_wh=round(pv * 0.45, 3),
        charge_wh=round(pv * 0.2, 3),
        discharge_wh=round(pv * 0.18, 3),
    )


def _ev_register(spec: HomeSpec) -> float:
    """The charger's energy register before the run (Wh), from the home's seed."""
    rng = np.random.default_rng([spec.seed, 0xE7])
    return round(float(rng.uniform(0.2, 5.0)) * 2_000_000.0)  # ~2,000 kWh a year


def _resumed(spec: HomeSpec, last: LastReading) -> tuple[HomeState, Counters]:
    """A reattached home's state and counter offsets: the battery as the stored state of charge
    says, the lifetime counters where the stored ones ended (the seed's values where none)."""
    base = _offset(spec)
    c = last.counters
    offset = Counters(
        pv_wh=c.get("pv_energy_wh", base.pv_wh),
        load_wh=c.get("load_energy_wh", base.load_wh),
        import_wh=c.get("grid_import_energy_wh", base.import_wh),
        export_wh=c.get("grid_export_energy_wh", base.export_wh),
        charge_wh=c.get("battery_charge_energy_wh", base.charge_wh),
        discharge_wh=c.get("battery_discharge_energy_wh", base.discharge_wh),
    )
    state = initial_state(spec) if last.soc_pct is None else initial_state(spec, last.soc_pct / 100)
    return state, offset


async def _sleep_until(wall_due: float, stop: threading.Event | None) -> bool:
    """Sleep until time.monotonic() reaches ``wall_due``; False when told to stop."""
    while True:
        if stop is not None and stop.is_set():
            return False
        left = wall_due - time.monotonic()
        if left <= 0:
            return True
        await asyncio.sleep(min(left, 0.5))


async def run_fleet(
    url: str,
    email: str,
    password: str,
    config: FleetConfig,
    *,
    stop: threading.Event | None = None,
    client: VoltfleetClient | None = None,
) -> FleetReport:
    """Create ``config.sites`` homes on the platform at ``url`` (or find those an earlier run
    made with the same tag, and go on from where their telemetry ends) and run them; returns what
    was simulated and what the platform acknowledged."""
    config.check()
    dt = config.step_s
    steps = math.ceil(config.hours * 3600 / dt)
    now = datetime.now(UTC)
    if config.start is None:
        begin = now - timedelta(hours=config.hours)
        start = datetime.fromtimestamp(math.floor(begin.timestamp() / dt) * dt, UTC)
    else:
        start = config.start.astimezone(UTC)
    end = start + timedelta(seconds=steps * dt)
    speed = config.speed
    per_batch = config.batch_steps or (
        MAX_STEPS_PER_BATCH
        if math.isinf(speed)
        else max(1, min(MAX_STEPS_PER_BATCH, round(speed * 5 / dt)))
    )
    tag = config.serial_tag
    specs = make_homes(
        config.sites,
        config.seed,
        ev_share=config.ev_share,
        ev=config.ev,
        ev_homes=config.ev_homes,
        places=config.places,
    )
    runs = [HomeRun(s, initial_state(s), _offset(s)) for s in specs]
    if config.adjust_homes is not None:
        specs = config.adjust_homes(specs)
        runs = [HomeRun(s, initial_state(s), _offset(s)) for s in specs]
    if config.forced_fault_at is not None and runs and specs[0].battery is not None:
        begin = config.forced_fault_at.astimezone(UTC)
        runs[0].forced_fault = (begin, begin + timedelta(minutes=config.forced_fault_minutes))
    own = client is None
    client = client or VoltfleetClient(
        url, max_connections=config.concurrency, stop=stop, ca_file=config.ca_file
    )
    sem = asyncio.Semaphore(config.concurrency)
    t_wall0 = time.monotonic()
    stopped = False
    try:
        await client.sign_in(email, password)

        async def setup(i: int, run: HomeRun) -> None:
            s = run.spec
            inverter_w = s.pv.inverter_ac_w or s.pv.capacity_wp
            battery_wh = s.battery.capacity_wh if s.battery else 0.0
            async with sem:
                ev = s.ev is not None
                if config.reattach:
                    run.account = await client.find_home(
                        i, tag, inverter_w=inverter_w, battery_wh=battery_wh, charger=ev
                    )
                if run.account is not None:
                    run.last = await client.last_reading(
                        run.account, now=now, lookback=REATTACH_LOOKBACK
                    )
                    if run.last is not None:
                        run.state, run.offset = _resumed(s, run.last)
                    return
                run.account = await client.create_home(
                    i,
                    tag,
                    name=s.name,
                    latitude=s.latitude,
                    longitude=s.longitude,
                    timezone=s.timezone,
                    country=s.country,
                    capacity_kwp=s.pv.capacity_wp / 1000,
                    inverter_w=inverter_w,
                    battery_wh=battery_wh,
                    charger=ev,
                    org_id=config.site_org_id,
                )

        async def connect_charger(run: HomeRun) -> None:
            acc = run.account
            if acc is None or acc.charger_serial is None or acc.charger_token is None:
                return
            register = None
            if acc.reattached:
                async with sem:
                    register = await client.charger_register_wh(
                        acc, now=now, lookback=REATTACH_LOOKBACK
                    )
            charger = SimulatedCharger(
                url,
                acc.charger_serial,
                acc.charger_token,
                register_wh=register if register is not None else _ev_register(run.spec),
                stop=stop,
                # every other home's charger speaks OCPP 2.0.1 (the charger page shows which)
                version="2.0.1" if acc.charger_serial[-5:-4] in tuple("13579") else "1.6",
            )
            try:
                await charger.connect()
            except Exception as exc:  # the home runs on without its EV's telemetry
                log.warning("simulator: charger %s not connected: %r", acc.charger_serial, exc)
                await charger.close()
                return
            run.charger = charger

        def apply_command(run: HomeRun, command_id: str, body: Any) -> dict[str, Any]:
            """Apply a new command to the home's battery (from the next step on) and return its
            reply; a command handed out again gets the same answer."""
            acc = run.account
            assert acc is not None
            reply = run.replies.get(command_id)
            if reply is not None:
                return reply
            client.stats.commands_received += 1
            if isinstance(body, dict) and body.get("kind") == "live_data":  # its interval
                reply = run.reporting.apply(body.get("params"), time.monotonic())
                run.replies[command_id] = reply
                return reply
            if isinstance(body, dict) and body.get("kind") in GATEWAY_SETTING_KINDS:
                reply = run.gw_settings.apply(body, run.reporting)
                run.replies[command_id] = reply
                return reply
            at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
            serials = {acc.battery_serial, acc.inverter_serial, acc.meter_serial}
            reg = register_answer(run.registers, body, serials, at, found=len(serials))
            if reg is not None:  # register_read / register_write / scan
                run.replies[command_id] = reg
                if reg["status"] == "acknowledged":
                    client.stats.commands_acknowledged += 1
                else:
                    client.stats.commands_failed += 1
                return reg
            out = sim_commands.interpret(
                body, run.spec.battery, {acc.battery_serial, acc.inverter_serial}
            )
            if out.command is not None:
                run.state = set_command(run.state, out.command)
                run.replay.clear()  # the platform's word now, not the history's
            if out.state:
                run.state = replace(run.state, **out.state)
            reply = out.reply()
            if len(run.replies) > 500:
                run.replies.clear()
            run.replies[command_id] = reply
            if out.ok:
                client.stats.commands_acknowledged += 1
            else:
                client.stats.commands_failed += 1
            return reply

        def firmware_over_http(run: HomeRun, command_id: str, body: Any) -> dict[str, Any]:
            acc = run.account
            if command_id in run.replies or acc is None:
                return run.replies.get(command_id) or {"status": "failed", "message": "no home"}
            why = run.firmware.check(body)
            reply = {"status": "failed" if why else "acknowledged", "message": why or "accepted"}
            run.replies[command_id] = reply
            if not why:
                report = functools.partial(client.firmware_status, acc)
                task = asyncio.create_task(run.firmware.run(body, report))
                installs.add(task)
                task.add_done_callback(installs.discard)
            return reply

        async def connect_gateways() -> None:
            """Every home's gateway on the broker (logged in with its token), or an error."""
            host, port = broker_address(config.mqtt_url)
            gateways = []
            for r in runs:
                assert r.account is not None
                r.gateway = MqttGateway(
                    host,
                    port,
                    r.account.gateway_serial,
                    r.account.token,
                    functools.partial(apply_command, r),
                    stats=client.stats,
                    stop=stop,
                    firmware=r.firmware,
                    reporting=r.reporting,
                )
                r.gateway.start()
                gateways.append(r.gateway)
            wait_s = config.mqtt_connect_timeout_s
            up = await asyncio.gather(*(g.wait_connected(wait_s) for g in gateways))
            down = [g for g, ok in zip(gateways, up, strict=True) if not ok]
            if down:
                why = down[0].last_error or "no answer"
                hint = (
                    "the platform lets a gateway log in with its token when it keeps the "
                    "broker's files (VOLTFLEET_MQTT_BROKER_DIR)"
                    if "authori" in why.lower()
                    else "is the broker running there?"
                )
                raise SimulatorError(
                    f"{len(down)} of {len(runs)} gateways not connected to the MQTT broker at "
                    f"{config.mqtt_url} after {wait_s:g} s (gateway {down[0].serial}: {why}); "
                    + hint
                )

        await asyncio.gather(*(setup(i, r) for i, r in enumerate(runs)))
        await asyncio.gather(*(connect_charger(r) for r in runs))
        if config.transport == "mqtt":
            await connect_gateways()
        reattached = sum(1 for r in runs if r.account is not None and r.account.reattached)
        log.info(
            "simulator: %d homes (serials SIM%s...): %d created, %d reattached",
            len(runs),
            tag,
            len(runs) - reattached,
            reattached,
        )
        # go on from where the stored telemetry ends (the newest home's), not before it
        ends = [r.last.ts for r in runs if r.last is not None]
        if ends and max(ends) > start:
            start = max(ends).astimezone(UTC)
            steps = max(0, math.ceil((end - start).total_seconds() / dt - 1e-9))

        async def history_of_plan(run: HomeRun) -> None:
            acc = run.account
            if acc is None or run.spec.battery is None or start >= now:
                return
            try:
                async with sem:
                    got = await client.plan_commands(acc, max(start, now - PLAN_LOOKBACK), now)
            except SimulatorError as exc:  # the history in self-consumption, then
                log.warning("simulator: no plan history for home %d: %s", acc.index, exc)
                return
            run.replay = followed_plan(got, run.spec.battery, acc.battery_serial, start)

        await asyncio.gather(
            *(history_of_plan(runs[i]) for i in config.plan_homes if i < len(runs))
        )

        async def send(run: HomeRun, batch: list[dict[str, Any]]) -> None:
            assert run.account is not None
            alarms, run.alarms = run.alarms, []
            async with sem:
                if run.gateway is not None:
                    await run.gateway.send(batch, alarms)
                else:
                    await client.send(run.account, batch, alarms)

        async def drive(run: HomeRun, ev_steps: list[tuple[datetime, bool, float]]) -> None:
            """The EV's steps, through the home's charger (OCPP), in order."""
            if run.charger is not None:
                for ts, plugged, power in ev_steps:
                    await run.charger.step(ts, dt, plugged, power)

        # A reattached home's gateway reports its battery fine at the start: an alarm an
        # earlier run left active ends there (a clear with nothing active changes nothing).
        for r in runs:
            if r.account is not None and r.account.reattached and r.spec.battery is not None:
                r.alarms.append(
                    {
                        "device": r.account.battery_serial,
                        "code": BATTERY_FAULT,
                        "action": "clear",
                        "ts": _iso(start),
                    }
                )
        # the baseline: every counter's value at the start
        await asyncio.gather(
            *(
                send(
                    r,
                    readings_for(
                        r.account,  # type: ignore[arg-type]
                        start,
                        r.offset,
                        None,
                        r.state.stored_wh / r.spec.battery.capacity_wh if r.spec.battery else 0.0,
                        lifetime=config.lifetime_counter,
                    ),
                )
                for r in runs
            )
        )
        last_poll = -math.inf
        installs: set[asyncio.Task[bool]] = set()

        async def poll(run: HomeRun) -> None:
            """Fetch the home's commands over HTTP, apply each and answer it."""
            acc = run.account
            if acc is None:
                return
            async with sem:
                got = await client.poll_commands(acc)
            for body in got:
                cid = str(body.get("id", ""))
                if run.firmware.accepts(body):  # installs in the background, reports by HTTP
                    reply = firmware_over_http(run, cid, body)
                else:
                    reply = apply_command(run, cid, body)
                async with sem:
                    await client.reply_command(acc, cid, reply)

        async def plan(run: HomeRun) -> None:
            b = run.spec.battery
            if run.account is None or b is None:
                return
            run.planned_at = time.monotonic()
            body = {
                "capacity_kwh": round(b.capacity_wh / 1000, 3),
                "soc_now": round(run.state.stored_wh / b.capacity_wh, 4),
                "max_charge_w": b.max_charge_w,
                "max_discharge_w": b.max_discharge_w,
                "soc_min": b.soc_min,
                "round_trip_efficiency": b.round_trip_efficiency,
            }
            try:
                async with sem:
                    got = await client.request_plan(run.account, body)
                log.info(
                    "simulator: home %d has a day plan of %d commands",
                    run.account.index,
                    len(got.get("commands", [])),
                )
            except Exception as exc:  # the home goes on in self-consumption
                log.warning("simulator: no day plan for home %d: %s", run.account.index, exc)

        caught_up = False  # past the back-fill: a day plan starts from the battery's state now

        async def commands_due() -> None:
            nonlocal last_poll
            if config.command_poll_s is None:
                return
            if time.monotonic() - last_poll < config.command_poll_s:
                return
            last_poll = time.monotonic()
            planning = [
                runs[i]
                for i in config.plan_homes
                if caught_up
                and i < len(runs)
                and (
                    runs[i].planned_at is None
                    or time.monotonic() - (runs[i].planned_at or 0.0) >= config.plan_every_s
                )
            ]
            await asyncio.gather(*(plan(r) for r in planning))
            # the gateways on MQTT get their commands pushed by the platform's bridge
            await asyncio.gather(*(poll(r) for r in runs if r.gateway is None))

        def live_runs() -> list[HomeRun]:
            """The homes a live batch can come from: past the back-fill, a step simulated."""
            if not caught_up:
                return []
            return [r for r in runs if r.newest is not None and r.account is not None]

        async def live_batches() -> None:
            """The homes whose gateway was asked for live data (a ``live_data`` command) send
            their newest values at the interval it was told, between the steps' batches; the
            others keep the fleet's pace."""
            wall = time.monotonic()
            due = [r for r in live_runs() if r.reporting.live_due(wall)]
            if not due:
                return
            ts = datetime.now(UTC)
            ts = ts.replace(microsecond=ts.microsecond // 1000 * 1000)
            for r in due:
                r.reporting.sent_live(wall)
            await asyncio.gather(
                *(send(r, live_readings(r.account, ts, r.newest)) for r in due)  # type: ignore[arg-type]
            )

        def next_live() -> float | None:
            wall = time.monotonic()
            found = [r.reporting.next_live(wall) for r in live_runs()]
            return min((t for t in found if t is not None), default=None)

        async def wait_until(due: float) -> bool:
            """Sleep until ``due`` (monotonic), fetching commands and sending live batches
            meanwhile; False on stop."""
            while True:
                await commands_due()
                await live_batches()
                poll_s = config.command_poll_s
                nxt = due if poll_s is None else min(due, last_poll + poll_s)
                live_at = next_live()
                nxt = nxt if live_at is None else min(nxt, live_at)
                if not await _sleep_until(nxt, stop):
                    return False
                if time.monotonic() >= due:
                    await commands_due()
                    return True

        pace_wall0, pace_k0 = time.monotonic(), 0  # where paced time started
        backfill_until = config.backfill_until
        chunk_steps = max(per_batch, 1440)
        shapes: dict[tuple[str, str, int], Any] = {}
        k = 0
        while k < steps:
            chunk = k // chunk_steps
            backfill = backfill_until is not None and start + timedelta(
                seconds=(k + 1) * dt
            ) <= backfill_until.astimezone(UTC)
            n = min(
                MAX_STEPS_PER_BATCH if backfill else per_batch,
                steps - k,
                chunk_steps * (chunk + 1) - k,
            )
            wall_now, clock = time.monotonic(), datetime.now(UTC)
            if backfill:
                assert backfill_until is not None
                fits = int((backfill_until.astimezone(UTC) - start).total_seconds() // dt) - k
                n = max(1, min(n, fits))
                due = wall_now
                pace_wall0, pace_k0 = wall_now, k + n
            else:
                # caught up with the real clock: batches no longer than the clock allows
                fits = int((clock - start).total_seconds() // dt) - k
                n = max(1, min(n, fits))
                # pace: speed, and never ahead of the real clock
                due = pace_wall0 + (k + n - pace_k0) * dt / speed
            batch_end = start + timedelta(seconds=(k + n) * dt)
            ahead = (batch_end - clock).total_seconds()
            due = max(due, wall_now + ahead)
            if config.wall_limit_s is not None and due - t_wall0 > config.wall_limit_s:
                stopped = True
                break
            caught_up = caught_up or not backfill
            if not await wait_until(due):
                stopped = True
                break
            batches: list[tuple[HomeRun, list[dict[str, Any]]]] = []
            ev_batches: list[tuple[HomeRun, list[tuple[datetime, bool, float]]]] = []
            for run in runs:
                if run.inputs is None or run.inputs_first != chunk * chunk_steps:
                    first = chunk * chunk_steps
                    times = step_times(start, first, min(chunk_steps, steps - first), dt)
                    key = (run.spec.timezone, run.spec.country, chunk)
                    if key not in shapes:
                        if any(c != chunk for _, _, c in shapes):  # a new chunk
                            shapes.clear()
                        mids = tuple(t - timedelta(seconds=dt / 2) for t in times)
                        shapes[key] = weather.household_shape_w_per_kwh(
                            mids, run.spec.timezone, run.spec.country
                        )
                    run.inputs = inputs_for(
                        run.spec,
                        times,
                        dt,
                        config.weather,
                        chunk,
                        shape=shapes[key],
                        faults=config.faults,
                    )
                    run.inputs_first = first
                batch: list[dict[str, Any]] = []
                ev_steps: list[tuple[datetime, bool, float]] = []
                for j in range(k, k + n):
                    i = j - run.inputs_first
                    begins = run.inputs.times[i] - timedelta(seconds=dt)
                    while run.replay and run.replay[0][0] <= begins:
                        run.state = set_command(run.state, run.replay.pop(0)[1])
                    inp = fault_input(run, run.inputs.at(i), run.inputs.times[i], dt)
                    run.state, s = step(run.spec, run.state, inp, run.inputs.times[i], dt)
                    assert run.account is not None
                    batch += readings_for(
                        run.account,
                        s.ts,
                        run.offset.plus(s.counters),
                        s,
                        s.soc,
                        battery=not s.battery_fault,
                        lifetime=config.lifetime_counter,
                    )
                    run.alarms += fault_events(run, s)
                    run.newest = s
                    ev_steps.append((s.ts, inp.ev_plugged, s.ev_w))
                batches.append((run, batch))
                ev_batches.append((run, ev_steps))
            await asyncio.gather(
                *(send(r, b) for r, b in batches), *(drive(r, e) for r, e in ev_batches)
            )
            k += n
    finally:
        for r in runs:
            if r.charger is not None:
                await r.charger.close()
            if r.gateway is not None:
                await r.gateway.close()
        if own:
            await client.aclose()
    return FleetReport(
        homes=len(runs),
        steps=k if runs else 0,
        sim_start=start,
        sim_end=start + timedelta(seconds=k * dt),
        wall_s=time.monotonic() - t_wall0,
        stats=client.stats,
        totals={i: r.state.counters for i, r in enumerate(runs)},
        accounts=[r.account for r in runs if r.account is not None],
        stopped_early=stopped,
        reattached=sum(1 for r in runs if r.account is not None and r.account.reattached),
        chargers=[r.charger.stats for r in runs if r.charger is not None],
        transport=config.transport,
        gateways=[r.gateway.link for r in runs if r.gateway is not None],
    )


def run_fleet_sync(
    url: str,
    email: str,
    password: str,
    config: FleetConfig,
    stop: threading.Event | None = None,
) -> FleetReport:
    """``run_fleet`` on its own event loop (for a CLI or a background thread)."""
    return asyncio.run(run_fleet(url, email, password, config, stop=stop))
