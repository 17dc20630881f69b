"""The metering use case (usecases/metering.py) for the HTTP and portal edges: the request's
records in the domain's words, repositories built from the session and the caller, the answer
in the API's shape. Never commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from voltfleet.app.deps import Caller
from voltfleet.app.metering.schemas import MeterBatchOut, MeterRecordIn, Refused
from voltfleet.app.sites.repository import visible_sites
from voltfleet.app.tariffs.repository import tariff_repository
from voltfleet.domain.accounting import (
    CostRates,
    CostReport,
    MeterColumns,
    MeterRecord,
    SavingsReport,
)
from voltfleet.store.meter_repository import SqlMeterRepository, meter_columns
from voltfleet.store.models import Site
from voltfleet.usecases import metering as usecase
from voltfleet.usecases.metering import MAX_BATCH

__all__ = ["MAX_BATCH", "cost_rates", "costs", "load_columns", "savings", "submit"]


def _repo(session: Session, caller: Caller) -> SqlMeterRepository:
    return SqlMeterRepository(session, visible_sites(caller).with_only_columns(Site.id))


def submit(
    session: Session, caller: Caller, records: list[MeterRecordIn], now: datetime
) -> MeterBatchOut:
    """Store a batch received ``now`` (usecases.metering.submit)."""
    out = usecase.submit(
        _repo(session, caller),
        caller,
        [
            MeterRecord(
                site_id=r.site_id,
                start=r.start_time,
                end=r.end_time,
                value=r.value,
                units=r.units,
                direction=r.direction,
                tariff_rate=r.tariff_rate,
                device_id=r.device_id,
                record_reference_id=r.record_reference_id,
                session_reference_id=r.session_reference_id,
            )
            for r in records
        ],
        now,
    )
    return MeterBatchOut(
        accepted=out.accepted,
        duplicates=out.duplicates,
        refused=[
            Refused(
                index=x.index,
                record_reference_id=x.record_reference_id,
                code=x.code,
                reason=x.reason,
            )
            for x in out.refused
        ],
    )


def load_columns(
    session: Session, site_id: str, start: datetime, end: datetime, device_id: str | None
) -> MeterColumns:
    """The site's intervals overlapping the window, as columns (the site is scope-checked)."""
    return meter_columns(session, site_id, start, end, device_id)


def cost_rates(
    session: Session, site: Site, columns: MeterColumns, start: datetime, end: datetime
) -> CostRates:
    """The price series the records need: a missing tariff is an error only when used."""
    return usecase.cost_rates(tariff_repository(session), site, columns, start, end)


def costs(
    session: Session,
    site: Site,
    start: datetime,
    end: datetime,
    aggregation: str,
    direction: str | None,
    tariff_rate: str | None,
    device_id: str | None,
) -> CostReport:
    """usecases.metering.costs over the site (already scope-checked)."""
    repo = SqlMeterRepository(session)
    return usecase.costs(
        repo, tariff_repository(session), site, start, end, aggregation, direction, tariff_rate,
        device_id,
    )  # fmt: skip


def savings(
    session: Session,
    site: Site,
    start: datetime,
    end: datetime,
    aggregation: str,
    device_id: str | None,
    stored_start_kwh: float | None,
    stored_end_kwh: float | None,
    stored_price: float | None,
) -> SavingsReport:
    """usecases.metering.savings over the site (already scope-checked)."""
    repo = SqlMeterRepository(session)
    return usecase.savings(
        repo, tariff_repository(session), site, start, end, aggregation, device_id,
        stored_start_kwh, stored_end_kwh, stored_price,
    )  # fmt: skip
