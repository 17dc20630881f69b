"""Price slots and energy-by-deadline schedules over a site's tariff."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from voltfleet.app.deps import CallerDep, DbSession
from voltfleet.app.instants import Instant
from voltfleet.app.sites.repository import SiteRepository
from voltfleet.app.tariffs.endpoints import EndTime, StartTime
from voltfleet.app.tariffs.repository import tariff_repository
from voltfleet.app.tariffs.schemas import Direction
from voltfleet.domain.access import Action
from voltfleet.domain.slots import SlotSelection
from voltfleet.usecases import slots

router = APIRouter(prefix="/api/v1/sites/{site_id}", tags=["slots and schedules"])

SegmentParam = Annotated[Literal["HIGH", "LOW"], Query(description="dear (HIGH) or cheap (LOW)")]


class SlotOut(BaseModel):
    start_time: datetime
    end_time: datetime
    price_per_kwh: float


class RangeOut(BaseModel):
    start_time: datetime
    end_time: datetime
    min_price_per_kwh: float
    max_price_per_kwh: float
    mean_price_per_kwh: float


class SlotsOut(BaseModel):
    site_id: str
    direction: Direction
    segment: Literal["HIGH", "LOW"]
    currency: str
    threshold_per_kwh: float | None
    duration_minutes: float
    mean_price_per_kwh: float | None
    slots: list[SlotOut] = Field(description="the selected price intervals")
    ranges: list[RangeOut] = Field(description="the same, adjacent ones merged")


def _slots_out(site_id: str, direction: str, currency: str, sel: SlotSelection) -> SlotsOut:
    return SlotsOut(
        site_id=site_id,
        direction=direction,
        segment=sel.segment.value,  # type: ignore[arg-type]
        currency=currency,
        threshold_per_kwh=sel.threshold_per_kwh,
        duration_minutes=sel.duration / timedelta(minutes=1),
        mean_price_per_kwh=sel.mean_price_per_kwh,
        slots=[
            SlotOut(start_time=s.start, end_time=s.end, price_per_kwh=s.price_per_kwh)
            for s in sel.slots
        ],
        ranges=[
            RangeOut(
                start_time=r.start,
                end_time=r.end,
                min_price_per_kwh=r.min_price_per_kwh,
                max_price_per_kwh=r.max_price_per_kwh,
                mean_price_per_kwh=r.mean_price_per_kwh,
            )
            for r in sel.ranges
        ],
    )


@router.get(
    "/slots/threshold",
    response_model=SlotsOut,
    summary="Slots in the top (HIGH) or bottom (LOW) part of the price range",
)
def slots_threshold(
    session: DbSession,
    caller: CallerDep,
    site_id: str,
    start_time: StartTime,
    end_time: EndTime,
    segment: SegmentParam,
    direction: Direction = "IMPORT",
    relative: Annotated[float | None, Query(ge=0, le=1, description="share of the range")] = None,
    absolute: Annotated[float | None, Query(description="price per kWh")] = None,
) -> SlotsOut:
    """`relative=0.5` with `segment=HIGH` gives the slots in the top half of the window's range;
    `absolute=0.30` with `LOW` gives the slots at or below 0.30 per kWh. Give exactly one."""
    slots.check_threshold(relative, absolute)  # before the site: a bad request is a bad request
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    sel, currency = slots.threshold_slots(
        tariff_repository(session), site, direction, start_time, end_time, segment,
        relative=relative, absolute=absolute,
    )  # fmt: skip
    return _slots_out(site.id, direction, currency, sel)


@router.get(
    "/slots/time",
    response_model=SlotsOut,
    summary="The cheapest (LOW) or dearest (HIGH) N minutes of the window",
)
def slots_time(
    session: DbSession,
    caller: CallerDep,
    site_id: str,
    start_time: StartTime,
    end_time: EndTime,
    segment: SegmentParam,
    duration_minutes: Annotated[int, Query(gt=0, le=60 * 24 * 31)],
    direction: Direction = "IMPORT",
    continuous: Annotated[bool, Query(description="one block instead of the best set")] = False,
) -> SlotsOut:
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    sel, currency = slots.time_slots(
        tariff_repository(session), site, direction, start_time, end_time, segment,
        timedelta(minutes=duration_minutes), continuous=continuous,
    )  # fmt: skip
    return _slots_out(site.id, direction, currency, sel)


class ScheduleIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "direction": "IMPORT",
                    "start_time": "2026-03-02T18:00:00Z",
                    "end_time": "2026-03-03T04:00:00Z",
                    "energy_kwh": 5.3,
                    "max_power_kw": 1.5,
                }
            ]
        }
    )

    direction: Direction
    start_time: Instant
    end_time: Instant
    energy_kwh: float = Field(ge=0, allow_inf_nan=False)
    max_power_kw: float = Field(gt=0, allow_inf_nan=False)
    continuous: bool = False


class ScheduleSlotOut(BaseModel):
    start_time: datetime
    end_time: datetime
    power_kw: float
    energy_kwh: float
    price_per_kwh: float
    cost: float | None = Field(description="IMPORT: what the energy costs")
    earnings: float | None = Field(description="EXPORT: what the energy earns")


class ScheduleOut(BaseModel):
    site_id: str
    direction: Direction
    currency: str
    start_time: datetime | None = Field(description="first slot's start (null when empty)")
    end_time: datetime | None
    energy_kwh: float
    cost: float | None
    earnings: float | None
    mean_price_per_kwh: float | None
    slots: list[ScheduleSlotOut]


@router.post(
    "/schedules",
    response_model=ScheduleOut,
    summary="When to import (cheapest) or export (most lucrative) an amount of energy",
)
def schedule(session: DbSession, caller: CallerDep, site_id: str, body: ScheduleIn) -> ScheduleOut:
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    plan = slots.schedule(
        tariff_repository(session), site, body.direction, body.start_time, body.end_time,
        body.energy_kwh, body.max_power_kw, continuous=body.continuous,
    )  # fmt: skip
    return ScheduleOut(
        site_id=site.id,
        direction=body.direction,
        currency=plan.currency,
        start_time=plan.start,
        end_time=plan.end,
        energy_kwh=plan.energy_kwh,
        cost=plan.cost,
        earnings=plan.earnings,
        mean_price_per_kwh=plan.mean_price_per_kwh,
        slots=[
            ScheduleSlotOut(
                start_time=s.start,
                end_time=s.end,
                power_kw=s.power_kw,
                energy_kwh=s.energy_kwh,
                price_per_kwh=s.price_per_kwh,
                cost=s.cost,
                earnings=s.earnings,
            )
            for s in plan.slots
        ],
    )
