"""The fleet's key figures for the home page and ``GET /api/v1/fleet/kpis``.

Over the caller's own sites (sites shared to the caller are not in its statistics, as for the
status counts). Two statements whatever the fleet's size: the sites with their summaries (one
row each, kept up by ingest: app/telemetry/summaries.py), and the sites that have tariffs; the
figures are computed on columns (domain.telemetry.kpi.fleet_of). Each site's day, month and year
are those of its own time zone. PV power is the sum of the counted devices' newest samples, when
measured in the last 15 minutes.

Revenue (domain.telemetry.kpi.revenue): a site with tariffs is valued hour by hour with
``tariffs.service.rates``; a site without them (or a direction without one) at the default price
of the settings. The figures are per currency; the user's currency comes first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from voltfleet.app.deps import Caller
from voltfleet.app.errors import ApiError
from voltfleet.app.sites.repository import owned_sites
from voltfleet.app.tariffs import service as tariffs
from voltfleet.app.telemetry import summaries
from voltfleet.app.telemetry.read_service import counted, zone
from voltfleet.domain.tariffs import to_us
from voltfleet.domain.telemetry import kpi
from voltfleet.domain.telemetry import summary as sm
from voltfleet.domain.telemetry.batch import from_us
from voltfleet.domain.telemetry.energy import EXPORT, PV
from voltfleet.domain.telemetry.rollup import Resolution, floor, following
from voltfleet.settings import Settings
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site
from voltfleet.store.money_models import TariffVersion
from voltfleet.store.telemetry_models import SiteSummary
from voltfleet.store.timeseries.queries import (
    first_start,
    read_many,
)

POWER_FRESH = sm.POWER_WINDOW
TREND_MONTHS = 12


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


def _rows(conn: Connection, stmt: Any) -> list[Any]:
    """The driver's plain tuples (SQLAlchemy's row objects cost microseconds a row)."""
    result = conn.execute(stmt)
    try:
        return list(result.cursor.fetchall()) if result.cursor is not None else []
    finally:
        result.close()


_SUMMARY = [c for c in SiteSummary.__table__.columns if c.name != "site_id"]


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
    )
    rows = _rows(conn, stmt)
    missing = [r[0] for r in rows if r[5] is None]
    if not missing:
        return rows
    for k in range(0, len(missing), 5000):
        chunk = missing[k : k + 5000]
        summaries.ensure(session, list(session.scalars(select(Site).where(Site.id.in_(chunk)))))
    return _rows(conn, stmt)


Trend = list[tuple[str, float]]  # (local "YYYY-MM", value), oldest first


@dataclass(frozen=True)
class FleetFigures:
    """The fleet's figures, each site's (as columns), and the revenue of the months of the
    yield trend, per currency (the same months as ``kpis.trend``)."""

    kpis: kpi.FleetKpis
    columns: kpi.SiteColumns
    revenue_trend: dict[str, Trend]


def fleet_kpis(
    session: Session,
    caller: Caller,
    settings: Settings,
    now: datetime | None = None,
    *,
    ranking_size: int = 10,
) -> tuple[kpi.FleetKpis, kpi.SiteColumns]:
    """The fleet's figures and each site's (as columns; ``.figures()`` gives them as rows)."""
    f = fleet_figures(session, caller, settings, now, ranking_size=ranking_size)
    return f.kpis, f.columns


def fleet_figures(
    session: Session,
    caller: Caller,
    settings: Settings,
    now: datetime | None = None,
    *,
    ranking_size: int = 10,
) -> FleetFigures:
    """``fleet_kpis`` with the monthly revenue trend."""
    now = now or datetime.now(UTC)
    rows = _summaries(session, caller)
    cols = list(zip(*rows, strict=True)) if rows else [()] * (5 + len(_SUMMARY))
    ids, names, currencies, capacity, tz_names = (list(c) for c in cols[:5])
    column = dict(zip((c.name for c in _SUMMARY), cols[5:], strict=True))

    def floats(*names: str) -> list[np.ndarray]:
        return [np.asarray(column[n], dtype=np.float64) for n in names]

    day_us, month_us, year_us = (
        np.asarray(column[n], dtype=np.int64) for n in ("day_us", "month_us", "year_us")
    )
    pv = dict(zip(kpi.PERIODS, floats(*(f"pv_{p}" for p in kpi.PERIODS)), strict=True))
    ex = dict(zip(kpi.PERIODS, floats(*(f"export_{p}" for p in kpi.PERIODS)), strict=True))

    # Each site's figures for its own current day, month and year (a period the summary has no
    # data for shows 0): compare the summary's periods with the calendar of the site's zone.
    zones = {tz: calendar(tz, now) for tz in set(tz_names)}
    for key, stored in (("day", day_us), ("month", month_us), ("year", year_us)):
        of_zone = {tz: to_us(getattr(c, key)) for tz, c in zones.items()}
        current = np.asarray([of_zone[tz] for tz in tz_names], dtype=np.int64)
        same = stored == current
        pv[key] = np.where(same, pv[key], 0.0)
        ex[key] = np.where(same, ex[key], 0.0)
    months = [column[f"pv_m{k}"] for k in range(TREND_MONTHS)]
    trend = _trend(tz_names, month_us, months, now)
    # PV power now: a summary's power when measured in the last 15 minutes
    fresh = to_us(now - POWER_FRESH)
    measured = np.asarray([fresh if at is None else at for at in column["power_us"]], np.int64)
    power = np.where(
        measured > fresh,
        np.asarray([np.nan if w is None else w for w in column["power_w"]], np.float64),
        np.nan,
    )
    price = settings.default_price_per_kwh
    revenue = {p: kpi.revenue_at(pv[p], ex[p], price) for p in kpi.PERIODS}
    priced = np.zeros(len(ids), dtype=np.bool_)
    by_tariff = _tariff_sites(session, owned_sites(caller).with_only_columns(Site.id))
    labels = [m for m, _ in trend]
    money_trend: dict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(labels, 0.0))
    for i, site_id in enumerate(ids):
        if site_id in by_tariff:
            money, currencies[i], site_months = _tariff_revenue(
                session, site_id, zones[tz_names[i]], now, price, labels
            )
            for p in kpi.PERIODS:
                revenue[p][i] = getattr(money, p)
            for label, value in site_months.items():
                money_trend[currencies[i]][label] += value
            priced[i] = True
    # A site at the default price: each month's revenue is its yield x price.
    month_matrix = np.asarray(months, dtype=np.float64).reshape(TREND_MONTHS, len(ids))
    of_currency = np.asarray(currencies, dtype=object)
    for currency in sorted(set(currencies)):
        members = np.flatnonzero((of_currency == currency) & ~priced)
        if not len(members):
            continue
        zones_of = [tz_names[i] for i in members]
        kwh = _trend(zones_of, month_us[members], month_matrix[:, members], now)
        for label, wh in kwh:
            if label in money_trend[currency]:
                money_trend[currency][label] += wh / 1000.0 * price
    columns = kpi.SiteColumns(
        site_id=ids,
        name=names,
        currency=currencies,
        capacity_kwp=np.asarray([c or 0.0 for c in capacity], dtype=np.float64),
        power_w=power,
        yield_wh=pv,
        revenue=revenue,
        priced_by_tariff=priced,
    )
    factors = kpi.GreenFactors(
        settings.green_coal_kg_per_kwh,
        settings.green_co2_kg_per_kwh,
        settings.green_co2_kg_per_tree,
    )
    kpis = kpi.fleet_of(columns, factors, trend=trend, ranking_size=ranking_size)
    revenue_trend = {c: [(m, by[m]) for m in labels] for c, by in sorted(money_trend.items())}
    return FleetFigures(kpis, columns, revenue_trend)


def _trend(
    tz_names: list[str],
    month_us: np.ndarray,
    months: Sequence[Sequence[float]] | np.ndarray,
    now: datetime,
) -> list[tuple[str, float]]:
    """The fleet's PV of the last twelve months: each site's trend (the months up to its
    summary's month) added up by local month label."""
    matrix = np.asarray(months, dtype=np.float64).T  # one row per site, 12 months
    groups: dict[tuple[str, int], list[int]] = defaultdict(list)
    for i, key in enumerate(zip(tz_names, month_us.tolist(), strict=True)):
        groups[key].append(i)
    by_label: dict[str, float] = defaultdict(float)
    for (tz_name, month), members in groups.items():
        if month == 0:
            continue  # no month with data yet
        total = matrix[members].sum(axis=0)
        labels = sm.trend_labels(from_us(month), zone(tz_name))
        for label, wh in zip(labels, total.tolist(), strict=True):
            by_label[label] += wh
    shown = sorted(set(by_label) | set(_trend_labels(now)))[-TREND_MONTHS:]
    return [(m, by_label.get(m, 0.0)) for m in shown]


def _trend_labels(now: datetime) -> list[str]:
    year, month = now.year, now.month
    out = []
    for _ in range(TREND_MONTHS):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out[::-1]


def _tariff_sites(session: Session, scope: Any) -> set[str]:
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


def _tariff_revenue(
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
    except ApiError:
        return np.full(len(starts_us), default_price)
    if series.currency != site.currency:
        return np.full(len(starts_us), default_price)
    return np.asarray(series.prices_per_kwh[series.locate(starts_us)], dtype=np.float64)


def ordered_currencies(revenue: dict[str, kpi.Periods], mine: str) -> list[tuple[str, kpi.Periods]]:
    """The user's currency first (zero when no site uses it), then the others."""
    out = [(mine, revenue.get(mine, kpi.Periods()))]
    out += [(c, p) for c, p in revenue.items() if c != mine]
    return out


def figures_csv(columns: kpi.SiteColumns) -> str:
    """One row per site: yield (kWh) and revenue per period, capacity and current power."""
    figures = columns.figures()
    import csv
    import io

    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(
        ["site_id", "name", "capacity_kwp", "power_w"]
        + [f"yield_{p}_kwh" for p in ("day", "month", "year", "total")]
        + ["currency"]
        + [f"revenue_{p}" for p in ("day", "month", "year", "total")]
        + ["priced_by"]
    )
    for f in figures:
        y, m = f.yield_wh, f.revenue
        w.writerow(
            [
                f.site_id,
                f.name,
                f"{f.capacity_kwp:g}",
                "" if f.power_w is None else f"{f.power_w:.1f}",
            ]
            + [f"{v / 1000:.3f}" for v in (y.day, y.month, y.year, y.total)]
            + [f.currency]
            + [f"{v:.4f}" for v in (m.day, m.month, m.year, m.total)]
            + ["tariff" if f.priced_by_tariff else "default_price"]
        )
    return out.getvalue()


def trend_json(f: FleetFigures, currency: str) -> str:
    """The monthly yield (kWh) and revenue (in ``currency``) trends for the home page's chart."""
    import json

    money = dict(f.revenue_trend.get(currency, []))
    return json.dumps(
        {
            "labels": [m for m, _ in f.kpis.trend],
            "values": [round(v / 1000.0, 3) for _, v in f.kpis.trend],
            "revenue": [round(money.get(m, 0.0), 2) for m, _ in f.kpis.trend],
            "currency": currency,
        }
    )
