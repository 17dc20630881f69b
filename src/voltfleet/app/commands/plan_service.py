"""The battery's plan as timed commands.

``make_plan`` plans a site's battery with the optimiser (``usecases.battery_plan``: an exact LP
in HiGHS over the site's IMPORT and EXPORT prices and its PV and load forecasts, with a
self-consumption fallback), keeps the plan (``store.plan_models.BatteryPlanRow``) and queues one
``battery_mode`` command per change of plan (source "plan"), each due at its interval's start
and expiring at its end, through the same path as a person's commands. A new plan replaces the
queued commands of the previous one (they end ``expired``, "replaced by a newer plan").
``plan_vs_actual`` reads back what was planned (the plan's commands and their states) and the
battery power the device reported (5-minute means).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.app import audit
from voltfleet.app.commands import service
from voltfleet.app.commands.planning import STEP, Planner, forecast_site, measured, planner_of
from voltfleet.app.deps import Caller
from voltfleet.app.devices.repository import DeviceRepository
from voltfleet.app.sites.repository import SiteRepository
from voltfleet.app.tariffs import service as tariffs
from voltfleet.domain import commands as dc
from voltfleet.domain.access import Action, Kind
from voltfleet.domain.optimisation.baselines import no_battery, self_consumption
from voltfleet.domain.optimisation.control import command_intervals
from voltfleet.domain.optimisation.forecast import DayError, daily_errors
from voltfleet.domain.optimisation.ledger import Ledger, ledger
from voltfleet.domain.optimisation.plan import BatteryPlan
from voltfleet.domain.optimisation.problem import Battery, Grid, PlanProblem, ProblemError
from voltfleet.domain.plan import PlanInterval
from voltfleet.domain.telemetry.rollup import Resolution, Rollup
from voltfleet.store.command_models import Command
from voltfleet.store.command_repository import target_of
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site, User
from voltfleet.store.plan_models import BatteryPlanRow
from voltfleet.store.timeseries import store_for
from voltfleet.usecases.commands import queue_checked, sweep
from voltfleet.usecases.errors import Conflict, Invalid, NotFound, Rejected

PLAN = "plan"
MAX_HOURS = 48


@dataclass(frozen=True)
class PlanRequest:
    capacity_kwh: float
    battery_id: str | None = None
    soc_now: float | None = None
    target_soc: float = 0.95  # the highest state of charge the plan uses
    soc_min: float = 0.05
    max_charge_w: float | None = None
    max_discharge_w: float | None = None
    round_trip_efficiency: float = 0.9
    hours: float = 24.0
    start_time: datetime | None = None
    reserve_soc: float = 0.0
    annual_consumption_kwh: float = 4000.0
    wear_cost_per_kwh: float = 0.05
    export_limit_w: float | None = None  # None: no limit; 0: the site may not export
    follow_home: bool = True  # steps that only serve the home as self-consumption (control)


@dataclass(frozen=True)
class DayPlan:
    """A plan as made: its steps (``plan``, from ``start`` at ``STEP``), the intervals the
    commands carry out, what it was made from, and what the site would pay without it."""

    currency: str
    start: datetime
    intervals: tuple[PlanInterval, ...]
    plan: BatteryPlan
    problem: PlanProblem
    cost_no_battery: float
    cost_self_consumption: float
    pv_source: str
    load_source: str
    row_id: str
    pv_note: str = ""  # why the weather forecast was not used (clear sky instead)

    @property
    def charge_kwh(self) -> float:
        return self.plan.charge_kwh

    @property
    def discharge_kwh(self) -> float:
        return self.plan.discharge_kwh


def battery_of(session: Session, caller: Caller, site: Site, battery_id: str | None) -> Device:
    repo = DeviceRepository(session, caller)
    if battery_id:
        device = repo.get(battery_id)
        if device.site_id != site.id:
            raise NotFound("device")
        return device
    batteries = [d for d in repo.of_site(site.id) if d.kind == "battery"]
    if not batteries:
        raise Conflict("the site has no battery to plan for", code="no_battery")
    return batteries[0]


def latest_soc(session: Session, device: Device, now: datetime) -> float | None:
    """The battery's last reported state of charge in the last 6 hours, a fraction 0..1 as the
    store keeps it (ingest turns a reported "%" into a fraction: domain/telemetry/points.py)."""
    samples = store_for(session.connection()).read(
        device.id, "soc", now - timedelta(hours=6), now + timedelta(seconds=1)
    )
    return samples[-1].value if samples else None


def _battery(req: PlanRequest, device: Device, soc: float | None) -> Battery:
    rated = device.rated_power_w or 0.0
    charge = req.max_charge_w or rated or 0.0
    discharge = req.max_discharge_w or rated or 0.0
    for name, v in (("max_charge_w", charge), ("max_discharge_w", discharge)):
        if not (math.isfinite(v) and v > 0):
            raise Rejected(
                f"{name} must be a number > 0 (the battery has no rated power)",
                code="invalid_plan",
            )
    if req.soc_min >= req.target_soc:
        raise Rejected("soc_min must be below target_soc", code="invalid_plan")
    eta = math.sqrt(req.round_trip_efficiency)
    return Battery(
        capacity_wh=req.capacity_kwh * 1000,
        max_charge_w=charge,
        max_discharge_w=discharge,
        soc_init=0.5 if soc is None else min(max(soc, 0.0), 1.0),
        soc_min=req.soc_min,
        soc_max=req.target_soc,
        reserve_soc=min(req.reserve_soc, req.target_soc),
        charge_efficiency=eta,
        discharge_efficiency=eta,
        wear_cost_per_kwh=req.wear_cost_per_kwh,
    )


def _prices(
    session: Session, site: Site, direction: str, start: datetime, end: datetime
) -> list[float]:
    try:
        series = tariffs.rates(session, site, direction, start, end, STEP)
    except Conflict as exc:
        if direction == "EXPORT" and exc.code == "no_tariff":
            return []  # no feed-in tariff: exported energy earns nothing
        raise
    return [float(p) for p in series.prices_per_kwh]


def make_plan(
    session: Session,
    caller: Caller,
    site_id: str,
    req: PlanRequest,
    *,
    now: datetime,
    planner: Planner | None = None,
) -> tuple[Device, DayPlan, list[Command]]:
    """A person asks for a plan: their scope and rights are checked, then ``plan_site``."""
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    device = battery_of(session, caller, site, req.battery_id)
    caller.require(Kind.DEVICE, Action.UPDATE)
    day, rows = plan_site(
        session,
        site,
        device,
        req,
        now=now,
        planner=planner,
        actor=caller.user,
        address=caller.address,
    )
    return device, day, rows


def plan_site(
    session: Session,
    site: Site,
    device: Device,
    req: PlanRequest,
    *,
    now: datetime,
    planner: Planner | None = None,
    trigger: str = "request",
    running_w: float | None = None,
    actor: User | None = None,
    address: str = "",
) -> tuple[DayPlan, list[Command]]:
    """Plan ``device`` of ``site`` (no permission check: callers do that), keep the plan and
    queue its commands. ``running_w``: the power of the command the battery follows now, kept
    unless changing it gains MIN_GAIN (re-planning, ``plan_cycle``)."""
    if not 0 < req.hours <= MAX_HOURS:
        raise Invalid(f"hours must be > 0 and <= {MAX_HOURS}")
    start = req.start_time or now
    if start.tzinfo is None:
        raise Invalid("start_time needs a UTC offset")
    start = datetime.fromtimestamp(start.timestamp() // 900 * 900, start.tzinfo)
    n = max(1, int(req.hours * 4))
    end = start + n * STEP
    imp = _prices(session, site, "IMPORT", start, end)
    exp = _prices(session, site, "EXPORT", start, end) or [0.0] * n
    currency = tariffs.rates(session, site, "IMPORT", start, end, STEP).currency
    soc = req.soc_now if req.soc_now is not None else latest_soc(session, device, now)
    battery = _battery(req, device, soc)
    planner = planner or planner_of(None)
    devices = list(session.scalars(select(Device).where(Device.site_id == site.id)))
    times = [start + i * STEP for i in range(n)]
    fc = planner.forecast(
        forecast_site(session, site, devices, now, req.annual_consumption_kwh), times
    )
    problem = PlanProblem(
        step_h=STEP.total_seconds() / 3600,
        pv_w=fc.pv_w,
        load_w=fc.load_w,
        import_price_per_kwh=imp,
        export_price_per_kwh=exp,
        battery=battery,
        grid=Grid(export_max_w=1e9 if req.export_limit_w is None else req.export_limit_w),
        # a kWh left in store is worth what the cheapest hour would charge for it, less the
        # round trip: the plan neither buys for the horizon nor throws stored energy away
        terminal_value_per_kwh=max(min(imp), 0.0) * battery.round_trip_efficiency,
    )
    limit_w = max(battery.max_charge_w, battery.max_discharge_w)
    try:
        plan, kept = planner.plan_stable(problem, site.id, running_w, limit_w)
    except ProblemError as exc:
        raise Rejected(str(exc), code="invalid_plan") from exc
    row = BatteryPlanRow(
        site_id=site.id,
        device_id=device.id,
        start=start,
        step_s=int(STEP.total_seconds()),
        method=plan.method,
        fallback_reason=plan.fallback_reason,
        currency=currency,
        cost=plan.cost,
        cost_no_battery=no_battery(problem).cost,
        cost_self_consumption=self_consumption(problem).cost,
        pv_source=fc.pv_source[:60],
        load_source=fc.load_source[:60],
        trigger=trigger,
        kept_running=kept,
        request=_request_json(req),
        steps={
            "import_price": list(imp),
            "export_price": list(exp),
            "pv_w": list(fc.pv_w),
            "load_w": list(fc.load_w),
            "battery_w": list(plan.battery_power_w),
            "grid_w": list(plan.grid_power_w),
            "soc": list(plan.soc),
            "soc_init": battery.soc_init,
            "pv_note": fc.pv_note,  # why the weather forecast was not used ("": it was)
        },
    )
    session.add(row)
    session.flush()
    intervals = command_intervals(plan, start, STEP, imp, limit_w, follow_home=req.follow_home)
    limits = dc.DeviceLimits(device.kind, limit_w)
    rows = queue_commands(
        session, device, intervals, limits, now=now, created_by=actor.id if actor else None
    )
    audit.record(
        session,
        actor=actor,
        action="battery_plan.created",
        object_type="site",
        object_id=site.id,
        org_id=site.org_id,
        address=address,
        detail={
            "device_id": device.id,
            "commands": len(rows),
            "start": start.isoformat(),
            "method": plan.method,
            "fallback_reason": plan.fallback_reason,
            "trigger": trigger,
        },
    )
    day = DayPlan(
        currency=currency,
        start=start,
        intervals=intervals,
        plan=plan,
        problem=problem,
        cost_no_battery=row.cost_no_battery,
        cost_self_consumption=row.cost_self_consumption,
        pv_source=fc.pv_source,
        load_source=fc.load_source,
        row_id=row.id,
        pv_note=fc.pv_note,
    )
    return day, rows


def _request_json(req: PlanRequest) -> dict[str, object]:
    out: dict[str, object] = dict(req.__dict__)
    out.pop("start_time", None)  # re-planning starts at its own now
    out.pop("soc_now", None)  # and from the battery's reported state of charge
    return out


def request_of(stored: dict[str, object]) -> PlanRequest:
    known = set(PlanRequest.__dataclass_fields__)
    return PlanRequest(**{k: v for k, v in stored.items() if k in known})  # type: ignore[arg-type]


def queue_commands(
    session: Session,
    device: Device,
    intervals: tuple[PlanInterval, ...],
    limits: dc.DeviceLimits,
    *,
    now: datetime,
    created_by: str | None,
) -> list[Command]:
    """Replace the queued commands of the device's previous plan by one ``battery_mode``
    command per interval still ahead (the one call site of the commands' queue)."""
    for old in session.scalars(
        select(Command).where(
            Command.device_id == device.id,
            Command.source == PLAN,
            Command.state == dc.CommandState.QUEUED.value,
        )
    ):
        old.state = dc.CommandState.EXPIRED.value
        old.message = "replaced by a newer plan"
    rows: list[Command] = []
    repo = service.repo(session)
    target = target_of(session, device)
    ahead = [it for it in intervals if it.end > now]
    take_over = False  # the interval under way ends within MIN_TTL: the next one starts now
    for i, it in enumerate(ahead):
        begin = now if take_over else max(it.start, now)
        take_over = False
        if it.end - begin < dc.MIN_TTL and i + 1 < len(ahead):
            # a command is at least MIN_TTL long, so this one would run past the next one's
            # start and the two would overlap: hand over to the next interval at once
            take_over = True
            continue
        request = dc.validate(dc.CommandKind.BATTERY_MODE.value, it.command_params(), limits)
        rows.append(
            queue_checked(
                repo,
                target,
                request,
                now=now,
                not_before=begin,
                ttl=max(it.end - begin, dc.MIN_TTL),
                source=PLAN,
                created_by=created_by,
            )
        )
    return rows


@dataclass(frozen=True)
class PlanVsActual:
    device: Device
    commands: list[Command]
    actual: list[Rollup]
    start: datetime
    end: datetime


def plan_vs_actual(
    session: Session, caller: Caller, site_id: str, start: datetime, end: datetime, *, now: datetime
) -> PlanVsActual | None:
    """The plan's commands due in [start, end) and the battery's reported power then (None
    when the site has no battery)."""
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    batteries = [
        d for d in DeviceRepository(session, caller).of_site(site.id) if d.kind == "battery"
    ]
    if not batteries:
        return None
    device = batteries[0]
    sweep(service.repo(session), now, device_id=device.id)
    commands = list(
        session.scalars(
            select(Command)
            .where(
                Command.device_id == device.id,
                Command.source == PLAN,
                Command.not_before < end,
                Command.expires_at > start,
            )
            .order_by(Command.not_before, Command.created_at)
        )
    )
    actual = store_for(session.connection()).read_rollups(
        device.id, "battery_power_w", Resolution.FIVE_MIN, start, end
    )
    return PlanVsActual(device, commands, list(actual), start, end)


def latest_plan(
    session: Session, caller: Caller, site_id: str, now: datetime
) -> BatteryPlanRow | None:
    """The site's most recent plan made before ``now`` (the caller must see the site)."""
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    return _latest_plan(session, site.id, now)


def _latest_plan(session: Session, site_id: str, now: datetime) -> BatteryPlanRow | None:
    return session.scalars(
        select(BatteryPlanRow)
        .where(BatteryPlanRow.site_id == site_id, BatteryPlanRow.created_at <= now)
        .order_by(BatteryPlanRow.created_at.desc())
        .limit(1)
    ).first()


@dataclass(frozen=True)
class PlanNow:
    """The overview's card of a site's plan: its latest plan, the plan's command running now
    (None: the home decides) and the site's zone."""

    plan: BatteryPlanRow | None
    command: Command | None
    zone: str


def plan_now(session: Session, caller: Caller, site_id: str, now: datetime) -> PlanNow:
    """``PlanNow`` from one scoped load of the site: a read only (no sweep of the commands, no
    telemetry, which the plan tab's ``plan_vs_actual`` needs and the card does not)."""
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    command = session.scalars(
        select(Command)
        .join(Device, Device.id == Command.device_id)
        .where(
            Command.site_id == site.id,
            Device.kind == "battery",
            Command.source == PLAN,
            Command.not_before <= now,
            Command.expires_at > now,
            Command.state != dc.CommandState.EXPIRED.value,
        )
        .order_by(Command.not_before.desc(), Command.created_at.desc())
        .limit(1)
    ).first()
    return PlanNow(_latest_plan(session, site.id, now), command, site.timezone)


def measured_soc(session: Session, device_id: str, start: datetime, end: datetime) -> list[Rollup]:
    """The battery's reported state of charge (a fraction 0..1, 5-minute means) in
    [start, end)."""
    return list(
        store_for(session.connection()).read_rollups(
            device_id, "soc", Resolution.FIVE_MIN, start, end
        )
    )


LEDGER_DAYS = 7


def battery_ledger(
    session: Session, caller: Caller, site_id: str, now: datetime, days: int = LEDGER_DAYS
) -> Ledger | None:
    """The stored-energy ledger of the site's battery over the last ``days`` from its own
    telemetry (quarter-hour means of battery, PV and load power) and the site's prices; None
    when the site has no battery, no telemetry or no IMPORT tariff."""
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    devices = list(session.scalars(select(Device).where(Device.site_id == site.id)))
    batteries = [d for d in devices if d.kind == "battery"]
    if not batteries:
        return None
    end = datetime.fromtimestamp(now.timestamp() // 900 * 900, now.tzinfo)
    start = end - timedelta(days=days)
    batt = dict(measured(session, batteries, "battery_power_w", start, end))
    if not batt:
        return None
    pv = dict(measured(session, devices, "pv_power_w", start, end))
    load = dict(measured(session, devices, "load_power_w", start, end))
    try:
        imp = _prices(session, site, "IMPORT", start, end)
        exp = _prices(session, site, "EXPORT", start, end) or [0.0] * len(imp)
    except Conflict:
        return None
    times = [start + i * STEP for i in range(len(imp))]
    # energy stored before the window is of "initial" origin (the device knows no capacity)
    return ledger(
        STEP.total_seconds() / 3600,
        [batt.get(t, 0.0) for t in times],
        [pv.get(t, 0.0) for t in times],
        [load.get(t, 0.0) for t in times],
        imp,
        exp,
    )


@dataclass(frozen=True)
class ForecastErrors:
    load: list[DayError]
    pv: list[DayError]


def forecast_errors(
    session: Session, caller: Caller, site_id: str, now: datetime, days: int = LEDGER_DAYS
) -> ForecastErrors | None:
    """How far the plans' forecasts were from what the site measured, per local day: for each
    past quarter hour, the forecast of the last plan made before it (the one the battery
    followed) against the measured mean. None without plans or measurements."""
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    since = now - timedelta(days=days)
    rows = session.scalars(
        select(BatteryPlanRow)
        .where(BatteryPlanRow.site_id == site.id, BatteryPlanRow.created_at >= since)
        .order_by(BatteryPlanRow.created_at)
        .limit(2000)
    ).all()
    if not rows:
        return None
    pv_fc: dict[datetime, float] = {}
    load_fc: dict[datetime, float] = {}
    for row in rows:
        made = datetime.fromtimestamp(row.created_at.timestamp() // 900 * 900, UTC)
        for i, (p, ld) in enumerate(zip(row.steps["pv_w"], row.steps["load_w"], strict=True)):
            t = row.start + i * STEP
            if made <= t < now:  # later plans overwrite: the forecast in force then
                pv_fc[t], load_fc[t] = p, ld
    devices = list(session.scalars(select(Device).where(Device.site_id == site.id)))
    tz = ZoneInfo(site.timezone or "UTC")
    out = []
    for point, fc in (("load_power_w", load_fc), ("pv_power_w", pv_fc)):
        got = dict(measured(session, devices, point, since, now))
        times = sorted(t for t in fc if t in got)
        out.append(daily_errors(times, [fc[t] for t in times], [got[t] for t in times], tz))
    if not out[0] and not out[1]:
        return None
    return ForecastErrors(load=out[0], pv=out[1])
