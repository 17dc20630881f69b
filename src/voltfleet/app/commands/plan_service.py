"""The battery's day plan as timed commands: PLACEHOLDER for the battery optimisation issue.

``make_plan`` turns the site's IMPORT prices into a plan (domain.plan.day_plan) and queues one
``battery_mode`` command per change of plan (source "plan"), each due at its interval's start
and expiring at its end, through the same path as a person's commands. A new plan replaces the
queued commands of the previous one (they end ``expired``, "replaced by a newer plan").
``plan_vs_actual`` reads back what was planned (the plan's commands and their states) and the
battery power the device reported (5-minute means).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.app import audit
from voltfleet.app.commands import service
from voltfleet.app.deps import Caller
from voltfleet.app.devices.repository import DeviceRepository
from voltfleet.app.sites.repository import SiteRepository
from voltfleet.app.tariffs import service as tariffs
from voltfleet.domain import commands as dc
from voltfleet.domain.access import Action, Kind
from voltfleet.domain.plan import BatteryParams, DayPlan, PlanError, day_plan
from voltfleet.domain.telemetry.rollup import Resolution, Rollup
from voltfleet.store.command_models import Command
from voltfleet.store.command_repository import target_of
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site
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
    target_soc: float = 0.95
    soc_min: float = 0.05
    max_charge_w: float | None = None
    max_discharge_w: float | None = None
    round_trip_efficiency: float = 0.9
    hours: float = 24.0
    start_time: datetime | None = None


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
    samples = store_for(session.connection()).read(
        device.id, "soc", now - timedelta(hours=6), now + timedelta(seconds=1)
    )
    return samples[-1].value / 100 if samples else None


def make_plan(
    session: Session, caller: Caller, site_id: str, req: PlanRequest, *, now: datetime
) -> tuple[Device, DayPlan, list[Command]]:
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    device = battery_of(session, caller, site, req.battery_id)
    caller.require(Kind.DEVICE, Action.UPDATE)
    if not 0 < req.hours <= MAX_HOURS:
        raise Invalid(f"hours must be > 0 and <= {MAX_HOURS}")
    start = req.start_time or now
    if start.tzinfo is None:
        raise Invalid("start_time needs a UTC offset")
    start = datetime.fromtimestamp(start.timestamp() // 900 * 900, start.tzinfo)
    end = start + timedelta(hours=req.hours)
    rates = tariffs.rates(session, site, "IMPORT", start, end, None)
    rated = device.rated_power_w or 0.0
    soc = req.soc_now if req.soc_now is not None else latest_soc(session, device, now)
    try:
        params = BatteryParams(
            capacity_wh=req.capacity_kwh * 1000,
            max_charge_w=req.max_charge_w or rated or 0.0,
            max_discharge_w=req.max_discharge_w or rated or 0.0,
            soc_now=0.5 if soc is None else min(max(soc, 0.0), 1.0),
            target_soc=req.target_soc,
            soc_min=req.soc_min,
            round_trip_efficiency=req.round_trip_efficiency,
        )
        plan = day_plan(rates, params)
    except PlanError as exc:
        raise Rejected(str(exc), code="invalid_plan") from exc
    limits = dc.DeviceLimits(device.kind, max(params.max_charge_w, params.max_discharge_w))
    # the previous plan's commands that have not gone out yet are replaced
    for old in session.scalars(
        select(Command).where(
            Command.device_id == device.id,
            Command.source == PLAN,
            Command.state == dc.CommandState.QUEUED.value,
        )
    ):
        old.state = dc.CommandState.EXPIRED.value
        old.message = "replaced by a newer plan"
    rows = []
    repo = service.repo(session)
    target = target_of(session, device)
    for it in plan.intervals:
        if it.end <= now:
            continue
        request = dc.validate(dc.CommandKind.BATTERY_MODE.value, it.command_params(), limits)
        begin = max(it.start, now)
        rows.append(
            queue_checked(
                repo,
                target,
                request,
                now=now,
                not_before=begin,
                ttl=max(it.end - begin, dc.MIN_TTL),
                source=PLAN,
                created_by=caller.user.id,
            )
        )
    audit.record(
        session,
        actor=caller.user,
        action="battery_plan.created",
        object_type="site",
        object_id=site.id,
        org_id=site.org_id,
        address=caller.address,
        detail={"device_id": device.id, "commands": len(rows), "start": start.isoformat()},
    )
    return device, plan, rows


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
