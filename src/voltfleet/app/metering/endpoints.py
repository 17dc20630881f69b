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
    SavingsDayOut,
    SavingsLineOut,
    SavingsOut,
    SavingsProvenanceOut,
    SavingsSource,
    WindowIn,
)
from voltfleet.app.metering.telemetry_report import DATA, LIMIT, TelemetryReport, telemetry_report
from voltfleet.app.sites.repository import SiteRepository
from voltfleet.app.tariffs.endpoints import EndTime, StartTime
from voltfleet.app.tariffs.schemas import Direction
from voltfleet.domain.access import Action
from voltfleet.domain.accounting import CostLine, SavingsLine
from voltfleet.usecases.errors import Conflict
from voltfleet.usecases.tariffs import check_window

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


METER_DATA = (
    "the metered intervals uploaded with PUT /api/v1/meters/interval (IMPORT and EXPORT records "
    "of the storage system), each priced at its tariff_rate"
)
METER_LIMIT = (
    "only uploaded records count; the energy left in the battery and the round-trip losses "
    "are separate lines only when stored_energy_start_kwh and stored_energy_end_kwh are given"
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
    source: SavingsSource = "auto",
) -> SavingsOut:
    """``source=meter_records``: from device-level records: import cost (direction IMPORT),
    value of energy supplied from storage (EXPORT valued at IMPORT or LOCAL), export earnings
    (EXPORT at EXPORT). Give the battery's stored energy at the window's start and end to see
    the energy left in it and the round-trip losses as separate lines.
    ``source=telemetry``: from the site's own telemetry, what the home paid with its battery
    against what it would have paid without it, per local day, the figures of the portal's
    Savings tab, with each day's provenance (measured quarter hours, the stored-energy
    ledger's origin of the energy delivered). ``auto`` (default): the meter records when the
    window has any, else the telemetry of a site with a battery. ``provenance`` says which
    method and data were used and what the method leaves out."""
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    check_window(start_time, end_time)  # both sources: not reversed, at most 400 days
    if source != "telemetry":
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
        t = report.total
        empty = t.imported_kwh == 0 and t.supplied_kwh == 0 and t.exported_kwh == 0
        if source == "meter_records" or not empty:
            return SavingsOut(
                site_id=site.id,
                currency=report.currency,
                aggregation=aggregation,
                start_time=report.start,
                end_time=report.end,
                total=_savings(report.total),
                buckets=[
                    SavingsBucketOut(
                        start_time=b.start,
                        end_time=b.end,
                        label=b.label,
                        savings=_savings(b.savings),
                    )
                    for b in report.buckets
                ],
                provenance=SavingsProvenanceOut(
                    method="meter_records", data=METER_DATA, limit=METER_LIMIT
                ),
            )
    got = telemetry_report(session, site, start_time, end_time, aggregation)
    if got is None:
        if source == "auto":  # no records, no battery: the (empty) meter report
            return savings(
                session, caller, site_id, start_time, end_time, aggregation, device_id,
                stored_energy_start_kwh, stored_energy_end_kwh, stored_energy_price_per_kwh,
                "meter_records",
            )  # fmt: skip
        raise Conflict("the site has no battery: no savings from telemetry", code="no_battery")
    return _telemetry_out(site.id, aggregation, got)


def _telemetry_out(site_id: str, aggregation: Aggregation, got: TelemetryReport) -> SavingsOut:
    return SavingsOut(
        site_id=site_id,
        currency=got.currency,
        aggregation=aggregation,
        start_time=got.start,
        end_time=got.end,
        total=_savings(got.total),
        buckets=[
            SavingsBucketOut(
                start_time=b.start, end_time=b.end, label=b.label, savings=_savings(b.line)
            )
            for b in got.buckets
        ],
        provenance=SavingsProvenanceOut(
            method="telemetry", data=DATA.format(grid=got.grid_from or "grid_power_w"), limit=LIMIT
        ),
        days=[
            SavingsDayOut(
                day=d.day,
                steps=d.steps,
                steps_in_day=d.steps_in_day,
                imported_kwh=d.imported_kwh,
                exported_kwh=d.exported_kwh,
                charged_kwh=d.charged_kwh,
                discharged_kwh=d.discharged_kwh,
                import_cost=d.import_cost,
                export_earnings=d.export_earnings,
                cost_with_battery=d.cost_with_battery,
                cost_without_battery=d.cost_without_battery,
                savings=d.savings,
                delivered_kwh=d.delivered_kwh,
                losses_kwh=d.losses_kwh,
            )
            for d in got.days
        ],
        reason=got.reason,
    )
