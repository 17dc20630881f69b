"""What a fleet's sites earned: the calendar of a site's zone, and the revenue of the sites that
have tariffs, valued hour by hour with their prices (``tariffs.service.rates``); the other sites
are valued at one default price where their figures are summed (fleet_service, site_figures)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from voltfleet.app.tariffs import service as tariffs
from voltfleet.app.telemetry.read_service import counted, zone
from voltfleet.domain.tariffs import to_us
from voltfleet.domain.telemetry import kpi
from voltfleet.domain.telemetry.energy import EXPORT, PV
from voltfleet.domain.telemetry.rollup import Resolution, floor, following
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site
from voltfleet.store.money_models import TariffVersion
from voltfleet.store.timeseries.queries import first_start, read_many
from voltfleet.usecases.errors import Conflict, Invalid


@dataclass(frozen=True)
class Calendar:
    """A zone's current day, month and year starts (UTC)."""

    day: datetime
    day_end: datetime
    month: datetime
    year: datetime


def calendar(tz_name: str, now: datetime) -> Calendar:
    tz = zone(tz_name)
    day = floor(now, Resolution.DAY, tz)
    month = floor(now, Resolution.MONTH, tz)
    local = now.astimezone(tz)
    year = datetime(local.year, 1, 1, tzinfo=tz).astimezone(UTC)
    return Calendar(day, following(day, Resolution.DAY, tz), month, year)


def tariff_sites(session: Session, scope: Any) -> set[str]:
    """The sites in scope with an import or export tariff."""
    return set(
        session.scalars(
            select(TariffVersion.site_id)
            .where(
                TariffVersion.site_id.in_(scope),
                TariffVersion.direction.in_(["IMPORT", "EXPORT"]),
            )
            .distinct()
        )
    )


def tariff_revenue(
    session: Session,
    site_id: str,
    cal: Calendar,
    now: datetime,
    default_price: float,
    months: Sequence[str] = (),
) -> tuple[kpi.Periods, str, dict[str, float]]:
    """Revenue of a site with tariffs, hour by hour: today, this month, this year; earlier years
    are valued the same way, one year at a time. Also the revenue of each of ``months`` (local
    "YYYY-MM" labels), for the trend."""
    site = session.get(Site, site_id)
    assert site is not None
    conn = session.connection()
    devices = [
        d
        for d in session.scalars(
            select(Device).where(Device.site_id == site_id, Device.deleted_at.is_(None))
        )
        if counted(site, d)
    ]
    ids = [d.id for d in devices]
    first = _first_hour(conn, ids)
    currency = site.currency
    tz = zone(site.timezone)
    end = following(floor(now, Resolution.HOUR, tz), Resolution.HOUR, tz)
    day = month = year = total = 0.0
    by_month = dict.fromkeys(months, 0.0)
    year_start = cal.year
    chunk_end = end
    while first is not None and chunk_end > first:
        local = (chunk_end - timedelta(microseconds=1)).astimezone(tz)
        chunk_start = datetime(local.year, 1, 1, tzinfo=tz).astimezone(UTC)
        lo = max(chunk_start, floor(first, Resolution.HOUR, tz))
        rows = read_many(conn, ids, [PV, EXPORT], Resolution.HOUR, lo, chunk_end)
        if rows:
            index = {at: i for i, at in enumerate(sorted({at for _, _, at, _ in rows}))}
            n = len(index)
            pv = np.zeros(n)
            ex = np.zeros(n)
            for _, point, at, value in rows:
                (pv if point == PV else ex)[index[at]] += value
            starts = np.array([to_us(at) for at in index], dtype=np.int64)
            xp = _prices(session, site, "EXPORT", lo, chunk_end, starts, default_price)
            ip = _prices(session, site, "IMPORT", lo, chunk_end, starts, default_price)
            values = np.array(
                [kpi.revenue(a, b, c, d) for a, b, c, d in zip(pv, ex, xp, ip, strict=True)]
            )
            total += float(values.sum())
            _add_by_month(by_month, values, starts, local.year, tz)
            if chunk_start == year_start:
                year += float(values.sum())
                month += float(values[starts >= to_us(cal.month)].sum())
                day += float(
                    values[(starts >= to_us(cal.day)) & (starts < to_us(cal.day_end))].sum()
                )
        chunk_end = chunk_start
    return kpi.Periods(day, month, year, total), currency, by_month


def _add_by_month(
    by_month: dict[str, float], values: np.ndarray, starts_us: np.ndarray, year: int, tz: Any
) -> None:
    """Add hourly ``values`` of one local year into the months of ``by_month`` they fall in."""
    edges = np.array(
        [to_us(datetime(year, m, 1, tzinfo=tz).astimezone(UTC)) for m in range(1, 13)],
        dtype=np.int64,
    )
    index = np.searchsorted(edges, starts_us, side="right") - 1
    for m in range(12):
        label = f"{year:04d}-{m + 1:02d}"
        if label in by_month:
            by_month[label] += float(values[index == m].sum())


def _first_hour(conn: Connection, ids: list[str]) -> datetime | None:
    return first_start(conn, ids, [PV], Resolution.HOUR)


def _prices(
    session: Session,
    site: Site,
    direction: str,
    start: datetime,
    end: datetime,
    starts_us: np.ndarray,
    default_price: float,
) -> np.ndarray:
    """The direction's price at each hour start, or the default where the site has no tariff
    (or one in another currency than the site's)."""
    try:
        series = tariffs.rates(session, site, direction, start, end, resolution=None)
    except (Conflict, Invalid):  # no tariff or prices missing; a stored tariff that is Rejected
        return np.full(len(starts_us), default_price)
    if series.currency != site.currency:
        return np.full(len(starts_us), default_price)
    return np.asarray(series.prices_per_kwh[series.locate(starts_us)], dtype=np.float64)
