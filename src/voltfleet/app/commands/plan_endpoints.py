"""The battery's plan over HTTP: make one (the optimiser, from the site's prices and forecasts),
and read plan against actual."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from voltfleet.app.commands import plan_service, service
from voltfleet.app.commands.planning import STEP, planner_of
from voltfleet.app.commands.schemas import CommandOut
from voltfleet.app.deps import CallerDep, DbSession, NowDep, RuntimeDep
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
    reserve_soc: float = Field(default=0, ge=0, le=1, description="kept for backup, never used")
    annual_consumption_kwh: float = Field(
        default=4000,
        gt=0,
        le=1_000_000,
        description="scales the standard load profile when "
        "the site has too little history of its own",
    )
    wear_cost_per_kwh: float = Field(
        default=0.05, ge=0, le=10, description="battery wear per kWh discharged"
    )
    export_limit_w: float | None = Field(
        default=None, ge=0, description="default: no limit; 0 for a site that may not export"
    )
    follow_home: bool = Field(
        default=True,
        description="steps where the battery only serves the home become self_consumption "
        "commands, so it follows the real load and sun rather than the forecast's (a fixed "
        "setpoint exports what the home did not use: in a month of 20 simulated homes that "
        "cost more than plain self-consumption); false: the planned power as a setpoint",
    )


class PlanIntervalOut(BaseModel):
    start_time: datetime
    end_time: datetime
    mode: str
    battery_power_w: float
    price_per_kwh: float


class PlanStepOut(BaseModel):
    start_time: datetime
    import_price_per_kwh: float
    export_price_per_kwh: float
    pv_w: float = Field(description="PV forecast")
    load_w: float = Field(description="household load forecast")
    battery_power_w: float = Field(description="planned, > 0 charging")
    grid_power_w: float = Field(description="planned, > 0 import")
    soc: float = Field(description="planned state of charge at the step's end, 0..1")


class PlanOut(BaseModel):
    site_id: str
    device_id: str
    plan_id: str
    currency: str
    method: str = Field(description="highs-lp, highs-milp, or self_consumption (fallback)")
    fallback_reason: str | None = Field(description="why the optimiser's plan was not used")
    expected_cost: float = Field(description="the plan's cost over the horizon")
    cost_no_battery: float = Field(description="the same site without a battery")
    cost_self_consumption: float = Field(description="the battery in plain self-consumption")
    pv_source: str
    pv_note: str = Field(
        "", description="why the weather forecast was not used (the PV forecast is clear sky)"
    )
    load_source: str
    charge_kwh: float
    discharge_kwh: float
    intervals: list[PlanIntervalOut]
    steps: list[PlanStepOut]
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
    session: DbSession,
    caller: CallerDep,
    now: NowDep,
    runtime: RuntimeDep,
    site_id: str,
    body: PlanIn,
) -> PlanOut:
    """The cheapest plan for the site's battery over the next ``hours`` (15-minute steps): an
    exact linear program (HiGHS) over the site's import and export prices and its PV and load
    forecasts, within the battery's and the connection's limits; self-consumption, with the
    reason, when the solver fails. One ``battery_mode`` command per change of plan, due at the
    change; queued commands of an earlier plan are replaced. O&M engineers and administrators."""
    req = plan_service.PlanRequest(**body.model_dump())
    device, plan, rows = plan_service.make_plan(
        session, caller, site_id, req, now=now, planner=planner_of(runtime)
    )
    p, pb = plan.plan, plan.problem
    return PlanOut(
        site_id=device.site_id,
        device_id=device.id,
        plan_id=plan.row_id,
        currency=plan.currency,
        method=p.method,
        fallback_reason=p.fallback_reason,
        expected_cost=p.cost,
        cost_no_battery=plan.cost_no_battery,
        cost_self_consumption=plan.cost_self_consumption,
        pv_source=plan.pv_source,
        pv_note=plan.pv_note,
        load_source=plan.load_source,
        steps=[
            PlanStepOut(
                start_time=plan.start + i * STEP,
                import_price_per_kwh=pb.import_price_per_kwh[i],
                export_price_per_kwh=pb.export_price_per_kwh[i],
                pv_w=pb.pv_w[i],
                load_w=pb.load_w[i],
                battery_power_w=p.battery_power_w[i],
                grid_power_w=p.grid_power_w[i],
                soc=p.soc[i],
            )
            for i in range(p.steps)
        ],
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
