"""Each site's key figures, for the download of ``GET /api/v1/fleet/kpis?format=csv``: one row per
site of the caller's own (not those shared to it), from the site summaries that ingest keeps
(app/telemetry/summaries.py) and computed on columns (domain.telemetry.kpi.SiteColumns). Each
site's day, month and year are those of its own time zone; revenue is from its tariffs, or at the
default price of the settings. The home page sums the same figures in the database instead
(fleet_service); a test holds the two to the same totals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from voltfleet.app.deps import Caller
from voltfleet.app.sites.repository import owned_sites
from voltfleet.app.tables import Column, Table
from voltfleet.app.telemetry.fleet_revenue import calendar, tariff_revenue, tariff_sites
from voltfleet.domain.tariffs import to_us
from voltfleet.domain.telemetry import kpi
from voltfleet.domain.telemetry import summary as sm
from voltfleet.settings import Settings
from voltfleet.store import summaries
from voltfleet.store.models import Site
from voltfleet.store.telemetry_models import SiteSummary

FigureColumn = Column[kpi.SiteFigures]
_SUMMARY = [c for c in SiteSummary.__table__.columns if c.name != "site_id"]


def _rows(conn: Connection, stmt: Any) -> list[Any]:
    """The driver's plain tuples (SQLAlchemy's row objects cost microseconds a row)."""
    result = conn.execute(stmt)
    try:
        return list(result.cursor.fetchall()) if result.cursor is not None else []
    finally:
        result.close()


def _summaries(session: Session, caller: Caller) -> list[Any]:
    """(id, name, currency, capacity, timezone, *summary columns) of the caller's own sites;
    the missing summaries are built first (after an upgrade, or a change to a site's range)."""
    conn = session.connection()
    stmt = (
        owned_sites(caller)
        .with_only_columns(
            Site.id, Site.name, Site.currency, Site.capacity_kwp, Site.timezone, *_SUMMARY
        )
        .outerjoin(SiteSummary, SiteSummary.site_id == Site.id)
        .order_by(Site.name, Site.id)
    )
    rows = _rows(conn, stmt)
    missing = [r[0] for r in rows if r[5] is None]
    if not missing:
        return rows
    for k in range(0, len(missing), 5000):
        chunk = missing[k : k + 5000]
        summaries.ensure(session, list(session.scalars(select(Site).where(Site.id.in_(chunk)))))
    return _rows(conn, stmt)


def site_columns(
    session: Session, caller: Caller, settings: Settings, now: datetime
) -> kpi.SiteColumns:
    """Every own site's figures at ``now``, by name."""
    rows = _summaries(session, caller)
    cols = list(zip(*rows, strict=True)) if rows else [()] * (5 + len(_SUMMARY))
    ids, names, currencies, capacity, tz_names = (list(c) for c in cols[:5])
    column = dict(zip((c.name for c in _SUMMARY), cols[5:], strict=True))

    def floats(name: str) -> np.ndarray:
        return np.asarray(column[name], dtype=np.float64)

    pv = {p: floats(f"pv_{p}") for p in kpi.PERIODS}
    ex = {p: floats(f"export_{p}") for p in kpi.PERIODS}
    # Each site's figures for its own current day, month and year (a period the summary has no
    # data for shows 0): compare the summary's periods with the calendar of the site's zone.
    zones = {tz: calendar(tz, now) for tz in set(tz_names)}
    for key in ("day", "month", "year"):
        stored = np.asarray(column[f"{key}_us"], dtype=np.int64)
        of_zone = {tz: to_us(getattr(c, key)) for tz, c in zones.items()}
        same = stored == np.asarray([of_zone[tz] for tz in tz_names], dtype=np.int64)
        pv[key] = np.where(same, pv[key], 0.0)
        ex[key] = np.where(same, ex[key], 0.0)
    # PV power now: a summary's power when measured in the last 15 minutes
    fresh = to_us(now - sm.POWER_WINDOW)
    measured = np.asarray([fresh if at is None else at for at in column["power_us"]], np.int64)
    power = np.where(
        measured > fresh,
        np.asarray([np.nan if w is None else w for w in column["power_w"]], np.float64),
        np.nan,
    )
    price = settings.default_price_per_kwh
    revenue = {p: kpi.revenue_at(pv[p], ex[p], price) for p in kpi.PERIODS}
    priced = np.zeros(len(ids), dtype=np.bool_)
    by_tariff = tariff_sites(session, owned_sites(caller).with_only_columns(Site.id))
    for i, site_id in enumerate(ids):
        if site_id in by_tariff:
            money, currencies[i], _missing = tariff_revenue(
                session, site_id, zones[tz_names[i]], now, price
            )
            for p in kpi.PERIODS:
                revenue[p][i] = getattr(money, p)
            priced[i] = True
    return kpi.SiteColumns(
        site_id=ids,
        name=names,
        currency=currencies,
        capacity_kwp=np.asarray([c or 0.0 for c in capacity], dtype=np.float64),
        power_w=power,
        yield_wh=pv,
        revenue=revenue,
        priced_by_tariff=priced,
    )


def _periods(prefix: str, suffix: str, of: str, scale: float, digits: int) -> list[FigureColumn]:
    def column(p: str) -> FigureColumn:
        return Column(
            f"{prefix}{p}{suffix}", lambda f: f"{getattr(getattr(f, of), p) / scale:.{digits}f}"
        )

    return [column(p) for p in kpi.PERIODS]


FIGURE_COLUMNS: list[FigureColumn] = [
    Column("site_id", lambda f: f.site_id),
    Column("name", lambda f: f.name),
    Column("capacity_kwp", lambda f: f"{f.capacity_kwp:g}"),
    Column("power_w", lambda f: None if f.power_w is None else f"{f.power_w:.1f}"),
    *_periods("yield_", "_kwh", "yield_wh", 1000, 3),
    Column("currency", lambda f: f.currency),
    *_periods("revenue_", "", "revenue", 1, 4),
    Column("priced_by", lambda f: "tariff" if f.priced_by_tariff else "default_price"),
]


def figures_table(columns: kpi.SiteColumns) -> Table[kpi.SiteFigures]:
    """One row per site: capacity, current power, yield (kWh) and revenue per period."""
    return Table(FIGURE_COLUMNS, columns.figures())
