"""The battery's day plan over HTTP (PLACEHOLDER for the battery optimisation issue): make one
from the site's prices, and read plan against actual."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from voltfleet.app.commands import plan_service, service
from voltfleet.app.commands.schemas import CommandOut
from voltfleet.app.deps import CallerDep, DbSession, NowDep
from voltfleet.app.instants import Instant
from voltfleet.app.tariffs.service import check_window

router = APIRouter(tags=["commands"])


class PlanIn(BaseModel):
    capacity_kwh: float = Field(gt=0, le=1000, description="usable battery capacity")
    battery_id: str | None = Field(default=None, description="default: the site's battery")
    soc_now: float | None = Field(
        default=None, ge=0, le=1, description="default: the last reported state of charge"
    )
    target_soc: float = Field(default=0.95, ge=0, le=1)
    soc_min: float = Field(default=0.05, ge=0, le=1)
    max_charge_w: float | None = Field(default=None, gt=0, description="default: rated power")
    max_discharge_w: float | None = Field(default=None, gt=0, description="default: rated power")
    round_trip_efficiency: float = Field(default=0.9, gt=0, le=1)
    hours: float = Field(default=24, gt=0, le=48)
    start_time: Instant | None = Field(default=None, description="default: now")


class PlanIntervalOut(BaseModel):
    start_time: datetime
    end_time: datetime
    mode: str
    battery_power_w: float
    price_per_kwh: float


class PlanOut(BaseModel):
    site_id: str
    device_id: str
    currency: str
    charge_kwh: float
    discharge_kwh: float
    intervals: list[PlanIntervalOut]
    commands: list[CommandOut]


class ActualOut(BaseModel):
    start_time: datetime
    battery_power_w: float


class PlanVsActualOut(BaseModel):
    site_id: str
    device_id: str | None
    start_time: datetime
    end_time: datetime
    commands: list[CommandOut] = Field(description="the plan's commands, each an interval")
    actual: list[ActualOut] = Field(description="reported battery power, 5-minute means")


@router.post(
    "/api/v1/sites/{site_id}/battery-plan",
    response_model=PlanOut,
    status_code=status.HTTP_201_CREATED,
    summary="Plan the battery's day from the site's prices and queue it as timed commands",
)
def create_plan(
    session: DbSession, caller: CallerDep, now: NowDep, site_id: str, body: PlanIn
) -> PlanOut:
    """A placeholder until the battery optimiser: charge in the cheapest hours up to
    ``target_soc``, discharge in the dearest, self-consumption otherwise. One ``battery_mode``
    command per change of plan, due at the change; queued commands of an earlier plan are
    replaced. O&M engineers and administrators."""
    req = plan_service.PlanRequest(**body.model_dump())
    device, plan, rows = plan_service.make_plan(session, caller, site_id, req, now=now)
    return PlanOut(
        site_id=device.site_id,
        device_id=device.id,
        currency=plan.currency,
        charge_kwh=plan.charge_kwh,
        discharge_kwh=plan.discharge_kwh,
        intervals=[
            PlanIntervalOut(
                start_time=i.start,
                end_time=i.end,
                mode=i.mode.value,
                battery_power_w=i.battery_power_w,
                price_per_kwh=i.price_per_kwh,
            )
            for i in plan.intervals
        ],
        commands=[service.to_out(r) for r in rows],
    )


@router.get(
    "/api/v1/sites/{site_id}/battery-plan",
    response_model=PlanVsActualOut,
    summary="The battery's planned commands and its reported power",
)
def get_plan(
    session: DbSession,
    caller: CallerDep,
    now: NowDep,
    site_id: str,
    start_time: Annotated[Instant | None, Query(description="default: 12 hours ago")] = None,
    end_time: Annotated[Instant | None, Query(description="default: 12 hours on")] = None,
) -> PlanVsActualOut:
    start = start_time or now - timedelta(hours=12)
    end = end_time or now + timedelta(hours=12)
    check_window(start, end, timedelta(days=3))
    got = plan_service.plan_vs_actual(session, caller, site_id, start, end, now=now)
    return PlanVsActualOut(
        site_id=site_id,
        device_id=got.device.id if got else None,
        start_time=start,
        end_time=end,
        commands=[service.to_out(c) for c in got.commands] if got else [],
        actual=[ActualOut(start_time=r.start, battery_power_w=r.value) for r in got.actual]
        if got
        else [],
    )
