"""The fleet's key figures for the home page and ``GET /api/v1/fleet/kpis``.

Over the caller's own sites (sites shared to the caller are not in its statistics, as for the
status counts). A handful of statements whatever the fleet's size: the sites, the monthly and
daily PV/export roll-ups summed per site in SQL (each site's day, month and year in its own time
zone), the last 5-minute PV power, and the tariff prices of the sites that have tariffs.

Revenue (domain.telemetry.kpi.revenue): a site with tariffs is valued hour by hour with
``tariffs.service.rates``; a site without them (or a direction without one) at the default price
of the settings. The figures are per currency; the user's currency comes first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from voltfleet.app.deps import Caller
from voltfleet.app.errors import ApiError
from voltfleet.app.sites.repository import owned_sites
from voltfleet.app.tariffs import service as tariffs
from voltfleet.app.telemetry.read_service import counted, zone
from voltfleet.domain.fleet import DeviceKind
from voltfleet.domain.tariffs import to_us
from voltfleet.domain.telemetry import kpi
from voltfleet.domain.telemetry.energy import EXPORT, PV
from voltfleet.domain.telemetry.rollup import Resolution, floor, following
from voltfleet.settings import Settings
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site
from voltfleet.store.money_models import TariffVersion
from voltfleet.store.timeseries.queries import (
    first_start,
    instant,
    read_many,
    rollups,
    start_of,
)

POWER_POINT = "pv_power_w"
POWER_FRESH = timedelta(minutes=15)
TREND_MONTHS = 12


@dataclass(frozen=True)
class Calendar:
    """A zone's current day, month and year starts (UTC)."""

    day: datetime
    day_end: datetime
    month: datetime
    year: datetime
    months: tuple[datetime, ...]  # this month and the ones before it, newest first
    labels: tuple[str, ...]  # their YYYY-MM


def calendar(tz_name: str, now: datetime) -> Calendar:
    tz = zone(tz_name)
    day = floor(now, Resolution.DAY, tz)
    month = floor(now, Resolution.MONTH, tz)
    local = now.astimezone(tz)
    year = datetime(local.year, 1, 1, tzinfo=tz).astimezone(UTC)
    months = [month]
    while len(months) < TREND_MONTHS:
        months.append(floor(months[-1] - timedelta(hours=1), Resolution.MONTH, tz))
    labels = tuple(m.astimezone(tz).strftime("%Y-%m") for m in months)
    return Calendar(day, following(day, Resolution.DAY, tz), month, year, tuple(months), labels)


def counted_clause() -> object:
    """Devices in their site's statistical range (see read_service.counted)."""
    return and_(
        Device.deleted_at.is_(None),
        Device.in_statistics.is_(True),
        or_(
            Device.kind.not_in([DeviceKind.INVERTER.value, DeviceKind.METER.value]),
            and_(Device.kind == DeviceKind.INVERTER.value, Site.stats_inverters.is_(True)),
            and_(Device.kind == DeviceKind.METER.value, Site.stats_meters.is_(True)),
        ),
    )


def _per_zone(
    conn: Connection, zones: dict[str, Calendar], attr: str, fallback: datetime
) -> object:
    mapping = {tz: instant(conn, getattr(c, attr)) for tz, c in zones.items()}
    if len(set(mapping.values())) == 1:  # one zone (or zones that agree): a constant
        return literal(next(iter(mapping.values())))
    if not mapping:
        return literal(instant(conn, fallback))
    return case(mapping, value=Site.timezone, else_=instant(conn, fallback))


def _rows(conn: Connection, stmt: Any) -> list[Any]:
    """The driver's plain tuples (SQLAlchemy's row objects cost microseconds a row)."""
    result = conn.execute(stmt)
    try:
        return list(result.cursor.fetchall()) if result.cursor is not None else []
    finally:
        result.close()


def _per_zone_month(conn: Connection, zones: dict[str, Calendar], k: int, utc: Calendar) -> Any:
    """The start of the k-th month before this one, in each site's zone."""
    mapping = {tz: instant(conn, c.months[k]) for tz, c in zones.items()}
    if len(set(mapping.values())) == 1:
        return literal(next(iter(mapping.values())))
    if not mapping:
        return literal(instant(conn, utc.months[k]))
    return case(mapping, value=Site.timezone, else_=instant(conn, utc.months[k]))


def fleet_kpis(
    session: Session,
    caller: Caller,
    settings: Settings,
    now: datetime | None = None,
    *,
    ranking_size: int = 10,
) -> tuple[kpi.FleetKpis, list[kpi.SiteFigures]]:
    now = now or datetime.now(UTC)
    conn = session.connection()
    scope = owned_sites(caller).with_only_columns(Site.id)
    sites = list(
        session.execute(
            owned_sites(caller).with_only_columns(
                Site.id, Site.name, Site.currency, Site.capacity_kwp, Site.timezone
            )
        )
    )
    zones = {tz: calendar(tz, now) for tz in {s.timezone for s in sites}}
    utc = calendar("UTC", now)
    r = rollups(conn)
    start = start_of(r)
    base = (
        select()
        .select_from(Device)
        .join(Site, Site.id == Device.site_id)
        .join(r, r.c.device_id == Device.id)
        .where(Device.site_id.in_(scope), counted_clause())  # type: ignore[arg-type]
    )

    # One pass over the roll-ups, per device and point: monthly PV and export for all time, this
    # year and this month; today's daily roll-up; the mean 5-minute PV power of the last 15
    # minutes; and the last 12 months one by one for the trend (each site in its own zone).
    ys = _per_zone(conn, zones, "year", utc.year)
    ms = _per_zone(conn, zones, "month", utc.month)
    ds = _per_zone(conn, zones, "day", utc.day)
    back = [_per_zone_month(conn, zones, k, utc) for k in range(TREND_MONTHS)]
    is_month = r.c.resolution == Resolution.MONTH.value
    is_day = r.c.resolution == Resolution.DAY.value
    is_power = r.c.resolution == Resolution.FIVE_MIN.value
    first_day = min([c.day for c in zones.values()] + [utc.day])
    fresh = floor(now - POWER_FRESH, Resolution.FIVE_MIN)
    stmt = (
        base.add_columns(
            Device.site_id,
            Site.timezone,
            r.c.point,
            func.sum(case((is_month, r.c.value), else_=0.0)),
            func.sum(case((and_(is_month, start >= ys), r.c.value), else_=0.0)),
            func.sum(case((and_(is_month, start >= ms), r.c.value), else_=0.0)),
            func.sum(case((and_(is_day, start == ds), r.c.value), else_=0.0)),
            func.avg(case((is_power, r.c.value))),
            *[func.sum(case((and_(is_month, start == m), r.c.value), else_=0.0)) for m in back],
        )
        .where(
            r.c.point.in_([PV, EXPORT, POWER_POINT]),
            r.c.resolution.in_(
                [Resolution.MONTH.value, Resolution.DAY.value, Resolution.FIVE_MIN.value]
            ),
            or_(
                is_month,
                and_(is_day, start >= instant(conn, first_day)),
                and_(is_power, start >= instant(conn, fresh)),
            ),
        )
        .group_by(Device.id, Device.site_id, Site.timezone, r.c.point)
    )
    months: dict[tuple[str, str], list[float]] = {}
    days: dict[tuple[str, str], float] = defaultdict(float)
    power: dict[str, float] = defaultdict(float)
    trend: dict[str, float] = defaultdict(float)
    for site_id, tz_name, point, total, year, month, day, pw, *ks in _rows(conn, stmt):
        if point == POWER_POINT:
            if pw is not None:
                power[site_id] += float(pw)
            continue
        acc = months.setdefault((site_id, point), [0.0, 0.0, 0.0])
        acc[0] += float(total or 0)
        acc[1] += float(year or 0)
        acc[2] += float(month or 0)
        days[(site_id, point)] += float(day or 0)
        if point == PV:
            labels = zones.get(tz_name, utc).labels
            for k, value in enumerate(ks):
                if value:
                    trend[labels[k]] += float(value)
    shown = sorted(set(trend) | set(_trend_labels(now)))[-TREND_MONTHS:]
    trend_rows = [(m, trend.get(m, 0.0)) for m in shown]

    priced = _tariff_sites(session, [s.id for s in sites])
    price = settings.default_price_per_kwh
    figures: list[kpi.SiteFigures] = []
    for s in sites:
        total, year, month = months.get((s.id, PV), (0.0, 0.0, 0.0))
        x_total, x_year, x_month = months.get((s.id, EXPORT), (0.0, 0.0, 0.0))
        day = days.get((s.id, PV), 0.0)
        x_day = days.get((s.id, EXPORT), 0.0)
        yields = kpi.Periods(day, month, year, total)
        currency = s.currency
        by_tariff = s.id in priced
        if by_tariff:
            money, currency = _tariff_revenue(session, s.id, zones[s.timezone], now, price)
        else:
            money = kpi.Periods(
                kpi.revenue(day, x_day, price, price),
                kpi.revenue(month, x_month, price, price),
                kpi.revenue(year, x_year, price, price),
                kpi.revenue(total, x_total, price, price),
            )
        figures.append(
            kpi.SiteFigures(
                site_id=s.id,
                name=s.name,
                currency=currency,
                capacity_kwp=float(s.capacity_kwp or 0.0),
                power_w=power.get(s.id),
                yield_wh=yields,
                revenue=money,
                priced_by_tariff=by_tariff,
            )
        )
    factors = kpi.GreenFactors(
        settings.green_coal_kg_per_kwh,
        settings.green_co2_kg_per_kwh,
        settings.green_co2_kg_per_tree,
    )
    return kpi.fleet(figures, factors, trend=trend_rows, ranking_size=ranking_size), figures


def _trend_labels(now: datetime) -> list[str]:
    year, month = now.year, now.month
    out = []
    for _ in range(TREND_MONTHS):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out[::-1]


def _tariff_sites(session: Session, site_ids: Iterable[str]) -> set[str]:
    ids = list(site_ids)
    if not ids:
        return set()
    found: set[str] = set()
    for i in range(0, len(ids), 900):
        chunk = ids[i : i + 900]
        found.update(
            session.scalars(
                select(TariffVersion.site_id)
                .where(
                    TariffVersion.site_id.in_(chunk),
                    TariffVersion.direction.in_(["IMPORT", "EXPORT"]),
                )
                .distinct()
            )
        )
    return found


def _tariff_revenue(
    session: Session, site_id: str, cal: Calendar, now: datetime, default_price: float
) -> tuple[kpi.Periods, str]:
    """Revenue of a site with tariffs, hour by hour: today, this month, this year; earlier years
    are valued the same way, one year at a time."""
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
            if chunk_start == year_start:
                year += float(values.sum())
                month += float(values[starts >= to_us(cal.month)].sum())
                day += float(
                    values[(starts >= to_us(cal.day)) & (starts < to_us(cal.day_end))].sum()
                )
        chunk_end = chunk_start
    return kpi.Periods(day, month, year, total), currency


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


def figures_csv(figures: list[kpi.SiteFigures]) -> str:
    """One row per site: yield (kWh) and revenue per period, capacity and current power."""
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


def trend_json(k: kpi.FleetKpis) -> str:
    """The monthly yield trend for the home page's chart (kWh)."""
    import json

    return json.dumps(
        {"labels": [m for m, _ in k.trend], "values": [round(v / 1000.0, 3) for _, v in k.trend]}
    )
