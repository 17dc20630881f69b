"""Metering in, costs and savings out (the money API's second half)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from voltfleet.app.deps import CallerDep, DbSession, NowDep
from voltfleet.app.metering import service
from voltfleet.app.metering.schemas import (
    Aggregation,
    CostBucketOut,
    CostLineOut,
    CostReportOut,
    MeterBatchOut,
    MeterRecordIn,
    Rate,
    SavingsBucketOut,
    SavingsLineOut,
    SavingsOut,
    WindowIn,
)
from voltfleet.app.sites.repository import SiteRepository
from voltfleet.app.tariffs.endpoints import EndTime, StartTime
from voltfleet.app.tariffs.schemas import Direction
from voltfleet.domain.access import Action
from voltfleet.domain.accounting import CostLine, SavingsLine

router = APIRouter(prefix="/api/v1", tags=["metering, costs and savings"])


@router.put(
    "/meters/interval", response_model=MeterBatchOut, summary="Submit a batch of metered intervals"
)
def submit_intervals(
    session: DbSession, caller: CallerDep, now: NowDep, records: list[MeterRecordIn]
) -> MeterBatchOut:
    """Answers how many were accepted, how many were duplicates of a known
    `record_reference_id` (stored once), and each refused record with its reason."""
    return service.submit(session, caller, records, now)


def _line(x: CostLine) -> CostLineOut:
    return CostLineOut(
        direction=x.direction.value,
        tariff_rate=x.tariff_rate.value,  # type: ignore[arg-type]
        energy_kwh=x.energy_kwh,
        cost=x.cost,
    )


@router.post(
    "/costs/interval/{site_id}",
    response_model=CostReportOut,
    summary="Energy and cost per local calendar bucket",
)
def costs(
    session: DbSession,
    caller: CallerDep,
    site_id: str,
    body: WindowIn,
    direction: Direction | None = None,
    tariff_rate: Rate | None = None,
    aggregation: Aggregation = "DAY",
    device_id: Annotated[str | None, Query(description="only this device's records")] = None,
) -> CostReportOut:
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    report = service.costs(
        session,
        site,
        body.start_time,
        body.end_time,
        aggregation,
        direction,
        tariff_rate,
        device_id,
    )
    return CostReportOut(
        site_id=site.id,
        device_id=device_id,
        currency=report.currency,
        aggregation=aggregation,
        start_time=report.start,
        end_time=report.end,
        energy_kwh=report.energy_kwh,
        cost=report.cost,
        lines=[_line(x) for x in report.lines],
        buckets=[
            CostBucketOut(
                start_time=b.start,
                end_time=b.end,
                label=b.label,
                energy_kwh=b.energy_kwh,
                cost=b.cost,
                lines=[_line(x) for x in b.lines],
            )
            for b in report.buckets
        ],
    )


def _savings(x: SavingsLine) -> SavingsLineOut:
    return SavingsLineOut(
        imported_kwh=x.imported_kwh,
        import_cost=x.import_cost,
        supplied_kwh=x.supplied_kwh,
        supplied_value=x.supplied_value,
        exported_kwh=x.exported_kwh,
        export_earnings=x.export_earnings,
        savings=x.savings,
        savings_percent=None if x.savings_fraction is None else 100 * x.savings_fraction,
        stored_energy_start_kwh=x.stored_energy_start_kwh,
        stored_energy_end_kwh=x.stored_energy_end_kwh,
        stored_energy_change_kwh=x.stored_energy_change_kwh,
        stored_energy_change_value=x.stored_energy_change_value,
        round_trip_losses_kwh=x.round_trip_losses_kwh,
    )


@router.get(
    "/sites/{site_id}/savings",
    response_model=SavingsOut,
    summary="What the storage system saved, and what the simple method leaves out",
)
def savings(
    session: DbSession,
    caller: CallerDep,
    site_id: str,
    start_time: StartTime,
    end_time: EndTime,
    aggregation: Aggregation = "DAY",
    device_id: str | None = None,
    stored_energy_start_kwh: Annotated[float | None, Query(ge=0)] = None,
    stored_energy_end_kwh: Annotated[float | None, Query(ge=0)] = None,
    stored_energy_price_per_kwh: float | None = None,
) -> SavingsOut:
    """From device-level records: import cost (direction IMPORT), value of energy supplied
    from storage (EXPORT valued at IMPORT or LOCAL), export earnings (EXPORT at EXPORT).
    Give the battery's stored energy at the window's start and end to see the energy left in
    it and the round-trip losses as separate lines."""
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    report = service.savings(
        session,
        site,
        start_time,
        end_time,
        aggregation,
        device_id,
        stored_energy_start_kwh,
        stored_energy_end_kwh,
        stored_energy_price_per_kwh,
    )
    return SavingsOut(
        site_id=site.id,
        currency=report.currency,
        aggregation=aggregation,
        start_time=report.start,
        end_time=report.end,
        total=_savings(report.total),
        buckets=[
            SavingsBucketOut(
                start_time=b.start, end_time=b.end, label=b.label, savings=_savings(b.savings)
            )
            for b in report.buckets
        ],
    )
