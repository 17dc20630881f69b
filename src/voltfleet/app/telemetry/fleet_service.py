"""The fleet's key figures for the home page and ``GET /api/v1/fleet/kpis``.

Over the caller's own sites (sites shared to the caller are not in its statistics, as for the
status counts), from the site summaries ingest keeps (one row a site: store/summaries.py).
The database does the adding up, so the cost hardly grows with the fleet: one statement sums the
summaries of the sites that share a currency, a time zone, the periods their summaries hold and
whether tariffs price them (a handful of groups for 10,000 sites), and two find the rankings'
top sites (by cumulative yield, the manual's ranking, and by this year's yield). Each group's
periods are then compared with the calendar of its zone, so a site's day, month and year are
those of its own time zone and a site silent since yesterday adds 0 to today
(domain.telemetry.kpi.fleet_of_groups). PV power is the sum of the summaries' power measured in
the last 15 minutes. The total yield is counted as the site list counts it
(fleet_total_yield.py: the inverters' lifetime counters where a site has them, else its yield
since it joined), and so are the green figures made from it.

Revenue (domain.telemetry.kpi.revenue): a site with tariffs is valued hour by hour with
``tariffs.service.rates`` (app/telemetry/fleet_revenue.py, one site at a time); the others at the
default price of the settings, summed in the database. The figures are per currency; the user's
currency comes first. Each site's own figures, for the CSV download, are in site_figures.py.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, select
from sqlalchemy.orm import Session

from voltfleet.app.deps import Caller
from voltfleet.app.sites.repository import owned_sites
from voltfleet.app.telemetry import fleet_total_yield
from voltfleet.app.telemetry.fleet_revenue import (
    Calendar,
    calendar,
    tariff_revenue,
    tariff_sites,
)
from voltfleet.app.telemetry.read_service import zone
from voltfleet.domain.tariffs import to_us
from voltfleet.domain.telemetry import kpi
from voltfleet.domain.telemetry import summary as sm
from voltfleet.domain.telemetry.batch import from_us
from voltfleet.settings import Settings
from voltfleet.store import summaries
from voltfleet.store.models import Site
from voltfleet.store.money_models import TariffVersion
from voltfleet.store.telemetry_models import SiteSummary

TREND_MONTHS = sm.TREND_MONTHS
Trend = list[tuple[str, float]]  # (local "YYYY-MM", value), oldest first


@dataclass(frozen=True)
class FleetFigures:
    """The fleet's figures, and the revenue of the months of the yield trend per currency (the
    same months as ``kpis.trend``)."""

    kpis: kpi.FleetKpis
    revenue_trend: dict[str, Trend]
    # How ``kpis.yield_wh.total`` was counted: lifetime counters, since joining, or mixed.
    total_yield: fleet_total_yield.FleetTotalYield


def _positive(x: Any) -> ColumnElement[float]:
    return case((x > 0, x), else_=0.0)


def _ensure_summaries(session: Session, caller: Caller) -> None:
    """Build the missing summaries of the caller's sites (after an upgrade, or a change to a
    site's statistical range) before they are summed."""
    missing = select(Site).where(
        Site.id.in_(
            owned_sites(caller)
            .with_only_columns(Site.id)
            .outerjoin(SiteSummary, SiteSummary.site_id == Site.id)
            .where(SiteSummary.site_id.is_(None))
        )
    )
    sites = list(session.scalars(missing))
    for k in range(0, len(sites), 5000):
        summaries.ensure(session, sites[k : k + 5000])


_KEY = 6  # (currency, timezone, day_us, month_us, year_us, priced) lead each group's row


def _group_rows(session: Session, caller: Caller, fresh_us: int) -> list[Any]:
    """The summaries of the caller's sites, summed per group (see the module's docstring)."""
    s = SiteSummary
    priced = Site.id.in_(
        select(TariffVersion.site_id).where(TariffVersion.direction.in_(["IMPORT", "EXPORT"]))
    )
    fresh = and_(s.power_us > fresh_us, s.power_w.is_not(None))
    sums: list[Any] = [
        func.count(),
        func.sum(func.coalesce(Site.capacity_kwp, 0.0)),
        func.sum(case((fresh, s.power_w), else_=0.0)),
        func.sum(case((fresh, 1), else_=0)),
    ]
    for p in kpi.PERIODS:
        pv = getattr(s, f"pv_{p}")
        sums += [func.sum(pv), func.sum(_positive(pv))]
    sums += [func.sum(getattr(s, f"pv_m{k}")) for k in range(TREND_MONTHS)]
    key = (Site.currency, Site.timezone, s.day_us, s.month_us, s.year_us, priced)
    stmt = (
        owned_sites(caller)
        .with_only_columns(*key, *sums)
        .outerjoin(s, s.site_id == Site.id)  # sites without a summary: a group of NULL periods
        .group_by(*key)
    )
    return list(session.execute(stmt))


def _ranking(
    session: Session,
    caller: Caller,
    zones: dict[str, Calendar],
    size: int,
    *,
    cumulative: bool = False,
) -> list[kpi.Ranked]:
    """The sites with the highest yield of their current year (or, ``cumulative``, of all
    time: the manual's yield ranking), ties by name (in code point order, as Python sorts)
    and id."""
    if size <= 0 or not zones:
        return []
    s = SiteSummary
    inv = fleet_total_yield.inverters()
    lifetime: Any = (
        case((fleet_total_yield.uses_lifetime(inv), True), else_=False)
        if cumulative
        else literal(None)
    )
    if cumulative:  # lifetime counters where every inverter reports one (fleet_total_yield)
        this_year: Any = fleet_total_yield.per_site(inv).label("this_year")
    else:
        this_year = case(
            *[
                (and_(Site.timezone == tz, s.year_us == to_us(c.year)), s.pv_year)
                for tz, c in sorted(zones.items())
            ],
            else_=literal(0.0),
        ).label("this_year")
    name = Site.name.collate("C") if session.get_bind().dialect.name == "postgresql" else Site.name
    stmt = (
        owned_sites(caller)
        .with_only_columns(Site.id, Site.name, Site.capacity_kwp, this_year, lifetime)
        .join(s, s.site_id == Site.id)
    )
    if cumulative:
        stmt = stmt.outerjoin(inv, inv.c.site_id == Site.id)
    stmt = stmt.order_by(this_year.desc(), name, Site.id).limit(size)
    out = []
    for site_id, site_name, capacity, wh, by_counters in session.execute(stmt):
        cap = float(capacity or 0.0)
        specific = float(wh or 0.0) / 1000.0 / cap if cap > 0 else None
        out.append(
            kpi.Ranked(
                site_id,
                site_name,
                float(wh or 0.0),
                cap,
                specific,
                lifetime=None if by_counters is None else bool(by_counters),
            )
        )
    return out


def _now_or_0(sums: Sequence[Any], k: int, current: dict[str, bool]) -> kpi.Periods:
    """The ``k``-th of each period's two sums (yield, positive yield), 0 for a period the
    summaries hold that is not the zone's current one."""
    return kpi.Periods(
        *(float(sums[2 * i + k] or 0.0) if current[p] else 0.0 for i, p in enumerate(kpi.PERIODS))
    )


def fleet_figures(
    session: Session,
    caller: Caller,
    settings: Settings,
    now: datetime,
    *,
    ranking_size: int = 10,
) -> FleetFigures:
    """The fleet's key figures at ``now`` and its monthly revenue trend (see the module's
    docstring)."""
    rows = _group_rows(session, caller, to_us(now - sm.POWER_WINDOW))
    if any(r[2] is None for r in rows):  # summaries missing: build them, then sum again
        _ensure_summaries(session, caller)
        rows = _group_rows(session, caller, to_us(now - sm.POWER_WINDOW))
    zones = {tz: calendar(tz, now) for tz in {r[1] for r in rows}}
    price = settings.default_price_per_kwh
    groups: list[kpi.Group] = []
    months: list[tuple[str, int, list[float], str, bool]] = []  # zone, month, trend, currency
    for row in rows:
        currency, tz, day_us, month_us, year_us, priced = row[:_KEY]
        n, capacity, power, reporting = row[_KEY : _KEY + 4]
        sums = row[_KEY + 4 : _KEY + 4 + 2 * len(kpi.PERIODS)]
        cal = zones[tz]
        current = {
            "day": day_us == to_us(cal.day),
            "month": month_us == to_us(cal.month),
            "year": year_us == to_us(cal.year),
            "total": True,
        }
        groups.append(
            kpi.Group(
                currency=currency,
                sites=int(n),
                capacity_kwp=float(capacity or 0.0),
                power_w=float(power or 0.0),
                reporting=int(reporting or 0),
                yield_wh=_now_or_0(sums, 0, current),
                pv_positive_wh=_now_or_0(sums, 1, current),
                revenue_by_tariff=kpi.Periods() if priced else None,  # added below, per site
            )
        )
        trend = [float(v or 0.0) for v in row[_KEY + 4 + 2 * len(kpi.PERIODS) :]]
        months.append((tz, int(month_us), trend, currency, bool(priced)))

    trend_of = _trend([(tz, m, t) for tz, m, t, _, _ in months], now)
    labels = [m for m, _ in trend_of]
    money_trend: dict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(labels, 0.0))
    for currency in sorted({c for *_, c, priced in months if not priced}):
        mine = [(tz, m, t) for tz, m, t, c, priced in months if c == currency and not priced]
        for label, wh in _trend(mine, now):  # at the default price: yield x price
            if label in money_trend[currency]:
                money_trend[currency][label] += wh / 1000.0 * price

    # Sites with tariffs: valued one at a time, their revenue added to their currency's.
    by_tariff = tariff_sites(session, owned_sites(caller).with_only_columns(Site.id))
    for site_id, tz in session.execute(
        select(Site.id, Site.timezone).where(Site.id.in_(sorted(by_tariff)))
    ):
        money, currency, by_month = tariff_revenue(
            session, site_id, zones.get(tz) or calendar(tz, now), now, price, labels
        )
        groups.append(kpi.Group(currency, 0, 0.0, 0.0, 0, kpi.Periods(), revenue_by_tariff=money))
        for label, value in by_month.items():
            money_trend[currency][label] += value

    # The total as the site list and the site pages count it (lifetime counters where every
    # counted inverter of a site reports one), not only the yield since each site joined.
    total = fleet_total_yield.fleet_total(session, caller)
    factors = kpi.GreenFactors(
        settings.green_coal_kg_per_kwh,
        settings.green_co2_kg_per_kwh,
        settings.green_co2_kg_per_tree,
    )
    kpis = kpi.fleet_of_groups(
        groups,
        factors,
        price,
        ranking=_ranking(session, caller, zones, ranking_size),
        trend=trend_of,
        ranking_cumulative=_ranking(session, caller, zones, ranking_size, cumulative=True),
        total_wh=total.wh,
    )
    revenue_trend = {c: [(m, by[m]) for m in labels] for c, by in sorted(money_trend.items())}
    return FleetFigures(kpis, revenue_trend, total)


def _trend(groups: Sequence[tuple[str, int, Sequence[float]]], now: datetime) -> Trend:
    """PV of the last twelve months, from (zone, the summaries' month, their twelve months up
    to it) of groups of sites, added up by local month label."""
    by_label: dict[str, float] = defaultdict(float)
    for tz_name, month, values in groups:
        if month == 0:
            continue  # no month with data yet
        labels = sm.trend_labels(from_us(month), zone(tz_name))
        for label, wh in zip(labels, values, strict=True):
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


def ordered_currencies(revenue: dict[str, kpi.Periods], mine: str) -> list[tuple[str, kpi.Periods]]:
    """The user's currency first (zero when no site uses it), then the others."""
    out = [(mine, revenue.get(mine, kpi.Periods()))]
    out += [(c, p) for c, p in revenue.items() if c != mine]
    return out


def trend_json(f: FleetFigures, currency: str) -> str:
    """The monthly yield (kWh) and revenue (in ``currency``) trends for the home page's chart."""
    money = dict(f.revenue_trend.get(currency, []))
    return json.dumps(
        {
            "labels": [m for m, _ in f.kpis.trend],
            "values": [round(v / 1000.0, 3) for _, v in f.kpis.trend],
            "revenue": [round(money.get(m, 0.0), 2) for m, _ in f.kpis.trend],
            "currency": currency,
        }
    )
