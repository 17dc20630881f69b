"""The site list with the manual's columns: status, name, type, region, online rate, capacity,
power now, yield today, active alarms and superior organisation, sortable by each.

One page costs a fixed number of queries, whatever the fleet's size: the count, the page of
sites in the chosen order, and one grouped query per figure for the page's sites only (devices,
active alarms, summaries, superiors). Sorting by a figure orders the whole filtered list by a
correlated subquery that reads one index entry per site (devices by site, active alarms by site,
the summary by its key), so 10,000 sites still answer quickly (benchmarks/bench_site_list.py).

Power now and yield today come from the site summaries ingest keeps (store/summaries.py): power
when measured within ``summary.POWER_WINDOW``, the day's yield when the summary's day is the
site's today in its own zone (a site silent since yesterday made 0 today).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, and_, case, cast, func, literal, select
from sqlalchemy.orm import Session

from voltfleet.app.deps import Caller
from voltfleet.app.pagination import PageParams, bad_sort, window
from voltfleet.app.sites.repository import SiteFilters, SiteRepository
from voltfleet.app.telemetry.fleet_revenue import calendar
from voltfleet.app.telemetry.total_yield import site_totals
from voltfleet.domain.fleet import UP
from voltfleet.domain.telemetry import summary as sm
from voltfleet.domain.telemetry.batch import to_us
from voltfleet.domain.telemetry.total_yield import TotalYield
from voltfleet.store.alarm_models import Alarm
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Org, Site
from voltfleet.store.telemetry_models import SiteSummary

# The sort keys a list takes (``-key`` for descending), beside the older names the API took.
SORT_KEYS = (
    "name",
    "status",
    "type",
    "region",
    "online_rate",
    "capacity",
    "power",
    "yield_today",
    "alarms",
    "superior",
    "created",
)
FIGURES = frozenset({"online_rate", "power", "yield_today", "alarms", "superior"})
ALIASES = {"created_at": "created", "capacity_kwp": "capacity", "country": "region"}
_UP = sorted(s.value for s in UP)


@dataclass(frozen=True)
class SiteFigures:
    """A site's figures in the list (None: nothing to show, such as no device or no reading)."""

    devices: int = 0
    online_rate: float | None = None  # devices up / devices, 0..1
    power_w: float | None = None
    yield_today_wh: float | None = None
    active_alarms: int = 0
    superior: str = ""
    total_yield: TotalYield | None = None  # lifetime counters, else since the site joined


def _zones_today(session: Session, stmt: Any, now: datetime) -> dict[str, int]:
    """The start of today (epoch µs) in each zone of the sites ``stmt`` selects."""
    sites = stmt.subquery()
    zones = session.scalars(select(sites.c.timezone).distinct())
    return {tz: to_us(calendar(tz, now).day) for tz in zones}


def _today(zones: dict[str, int], timezone: Any) -> ColumnElement[float]:
    """The summary's day yield when its day is today in the site's zone, else 0."""
    s = SiteSummary
    if not zones:
        return literal(0.0)
    return case(
        *[
            (and_(timezone == tz, s.day_us == day_us), s.pv_day)
            for tz, day_us in sorted(zones.items())
        ],
        else_=literal(0.0),
    )


def _sort_column(key: str, zones: dict[str, int], fresh_us: int, alarms: Any) -> Any:
    s = SiteSummary
    if key == "name":
        return Site.name_key
    if key == "status":
        return Site.status
    if key == "type":
        return Site.site_type
    if key == "capacity":
        return Site.capacity_kwp
    if key == "created":
        return Site.created_at
    if key == "superior":
        return select(Org.name).where(Org.id == Site.org_id).scalar_subquery()
    if key == "power":  # the summary is joined (page_of_sites)
        return case((s.power_us > fresh_us, s.power_w), else_=None)
    if key == "yield_today":
        return _today(zones, Site.timezone)
    if key == "alarms":  # active alarms are few: counted per site once, then joined
        return func.coalesce(alarms.c.n, 0)
    # online_rate
    up = func.sum(case((Device.status.in_(_UP), 1.0), else_=0.0))
    return (
        select(up / cast(func.count(), Float))
        .where(Device.site_id == Site.id, Device.deleted_at.is_(None))
        .scalar_subquery()
    )


def _active_alarms() -> Any:
    return (
        select(Alarm.site_id, func.count().label("n"))
        .where(Alarm.cleared_at.is_(None))
        .group_by(Alarm.site_id)
        .subquery("active_alarms")
    )


def parse_sort(sort: str) -> tuple[str, bool]:
    """(key, descending) of ``sort``; an unknown key is refused with the keys there are."""
    key = sort.lstrip("-")
    key = ALIASES.get(key, key)
    if key not in SORT_KEYS:
        raise bad_sort(sort, SORT_KEYS)
    return key, sort.startswith("-")


def page_of_sites(
    session: Session,
    caller: Caller,
    filters: SiteFilters,
    sort: str,
    params: PageParams,
    now: datetime,
) -> tuple[list[Site], int]:
    """One page of the sites the caller sees, filtered and sorted, and how many there are."""
    key, descending = parse_sort(sort)
    stmt = SiteRepository(session, caller).query(filters).order_by(None)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    zones = _zones_today(session, stmt, now) if key == "yield_today" else {}
    alarms = _active_alarms()
    column = _sort_column(key, zones, to_us(now - sm.POWER_WINDOW), alarms)
    if key == "region":
        order = [Site.country, Site.region]
        if descending:
            order = [Site.country.desc(), Site.region.desc()]
    elif key in FIGURES:  # may be null (no reading, no device): those come last either way
        order = [(column.desc() if descending else column.asc()).nulls_last()]
    else:  # a column of its own: NULLS LAST would keep SQLite from walking its index
        order = [column.desc() if descending else column.asc()]
    if key != "name":
        order.append(Site.name_key)
    offset, size = window(params)
    # The order is found on ids alone (a sort of 10,000 short rows), then the page's sites read.
    ids = stmt.with_only_columns(Site.id)
    if key in ("power", "yield_today"):
        ids = ids.outerjoin(SiteSummary, SiteSummary.site_id == Site.id)
    elif key == "alarms":
        ids = ids.outerjoin(alarms, alarms.c.site_id == Site.id)
    ids = ids.order_by(*order, Site.id).limit(size).offset(offset)
    page = list(session.scalars(ids))
    found = (
        {x.id: x for x in session.scalars(select(Site).where(Site.id.in_(page)))} if page else {}
    )
    return [found[i] for i in page], int(total)


def figures(session: Session, sites: Sequence[Site], now: datetime) -> dict[str, SiteFigures]:
    """Each site's figures, in a few grouped queries over these sites only."""
    if not sites:
        return {}
    ids = [site.id for site in sites]
    devices = {
        site_id: (int(n), float(up or 0))
        for site_id, n, up in session.execute(
            select(
                Device.site_id,
                func.count(),
                func.sum(case((Device.status.in_(_UP), 1), else_=0)),
            )
            .where(Device.site_id.in_(ids), Device.deleted_at.is_(None))
            .group_by(Device.site_id)
        )
    }
    alarms = dict(
        session.execute(
            select(Alarm.site_id, func.count())
            .where(Alarm.site_id.in_(ids), Alarm.cleared_at.is_(None))
            .group_by(Alarm.site_id)
        ).all()
    )
    s = SiteSummary
    summaries = {
        row[0]: row[1:]
        for row in session.execute(
            select(s.site_id, s.power_w, s.power_us, s.pv_day, s.day_us).where(s.site_id.in_(ids))
        )
    }
    superiors = dict(
        session.execute(select(Org.id, Org.name).where(Org.id.in_({x.org_id for x in sites}))).all()
    )
    totals = site_totals(session, sites)
    fresh_us = to_us(now - sm.POWER_WINDOW)
    today = {tz: to_us(calendar(tz, now).day) for tz in {x.timezone for x in sites}}
    out = {}
    for site in sites:
        n, up = devices.get(site.id, (0, 0.0))
        power_w = power_us = pv_day = day_us = None
        if site.id in summaries:
            power_w, power_us, pv_day, day_us = summaries[site.id]
        fresh = power_w is not None and power_us is not None and power_us > fresh_us
        out[site.id] = SiteFigures(
            devices=n,
            online_rate=up / n if n else None,
            power_w=float(power_w) if fresh else None,
            yield_today_wh=(
                None
                if day_us is None
                else float(pv_day or 0.0)
                if day_us == today[site.timezone]
                else 0.0
            ),
            active_alarms=int(alarms.get(site.id, 0)),
            superior=superiors.get(site.org_id, ""),
            total_yield=totals.get(site.id),
        )
    return out


def with_figures(
    views: list[Any], sites: Sequence[Site], session: Session, now: datetime
) -> list[Any]:
    """The API's site views (``SiteOut``) with the list's figures filled in."""
    found = figures(session, sites, now)
    for view in views:
        f = found[view.id]
        view.online_rate = f.online_rate
        view.power_w = f.power_w
        view.yield_today_wh = f.yield_today_wh
        view.active_alarms = f.active_alarms
        if f.total_yield is not None:
            view.total_yield_wh = f.total_yield.wh
            view.total_yield_source = (
                "lifetime_counter" if f.total_yield.lifetime else "since_joined"
            )
            view.total_yield_since = f.total_yield.since
    return views
