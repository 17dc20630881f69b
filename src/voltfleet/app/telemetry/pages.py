"""Telemetry in the portal: a device's chart (model, serial number and data points; day, week or
month; hover; CSV) and its data table for a range of days (paged; CSV). A site's "Chart" opens
the chart of its first device with data. Energy bars are in ``telemetry.energy_pages``.

The pages read through the same services as the API (app.telemetry.read_service), so the same
scope rules apply; the CSV downloads here are the API's CSV, served under the portal's session.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from voltfleet.app.deps import Caller, DbSession, request_now
from voltfleet.app.devices.repository import DeviceRepository
from voltfleet.app.portal.render import render
from voltfleet.app.portal.session import require_caller
from voltfleet.app.sites.repository import SiteRepository
from voltfleet.app.telemetry import point_titles, read_tables
from voltfleet.app.telemetry import read_service as rs
from voltfleet.domain.access import Action
from voltfleet.domain.telemetry.points import CATALOGUE, GAUGES, Point, PointKind
from voltfleet.domain.telemetry.rollup import FIXED_SECONDS, Resolution
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site
from voltfleet.usecases.errors import Invalid, NotFound

router = APIRouter()

# Zoom: how much one chart shows, and at which resolution.
SPANS = {
    "day": (timedelta(days=1), Resolution.FIVE_MIN),
    "week": (timedelta(days=7), Resolution.HOUR),
    "month": (timedelta(days=31), Resolution.HOUR),
}
CHARTABLE = [p for p in CATALOGUE.values() if p.kind is PointKind.ENERGY or p.kind in GAUGES]
TABLE_ROWS = 500  # rows of the data table on one page; the CSV has them all
# Which device a site's chart opens first: the one most people look for.
FIRST_KINDS = ("inverter", "battery", "meter", "charger", "gateway")
PointsQuery = Annotated[
    list[str] | None, Query(description="one per chosen data point (checkboxes)")
]


def today(tz_name: str, now: datetime) -> date:
    """The local date in ``tz_name`` at the instant ``now``."""
    return now.astimezone(rs.zone(tz_name)).date()


def day_or_today(text: str, tz_name: str, now: datetime) -> tuple[date, str | None]:
    """The day asked for (today at ``now`` when empty), or today and why it was refused."""
    try:
        return rs.parse_day(text) or today(tz_name, now), None
    except Invalid as exc:
        return today(tz_name, now), exc.message


def local_end(day: date, tz_name: str) -> datetime:
    """The end (UTC) of the local day ``day``: charts end with the chosen day."""
    nxt = day + timedelta(days=1)
    return datetime(nxt.year, nxt.month, nxt.day, tzinfo=rs.zone(tz_name)).astimezone(UTC)


def shown(p: Point) -> tuple[str, float]:
    """The unit a person reads a point in, and the factor from the stored value: a state of
    charge is stored as a fraction and read in percent."""
    return ("%", 100.0) if p.unit == "fraction" else (p.unit, 1.0)


def _names(points: str, point: list[str] | None) -> str:
    """The chosen points as one comma-separated list: ``points=a,b`` (links) and the picker's
    ``point=a&point=b`` (checkboxes) together."""
    names = [n.strip() for n in [*points.split(","), *(point or [])] if n.strip()]
    return ",".join(dict.fromkeys(names))


@dataclass(frozen=True)
class Picker:
    """The data points offered for a device: those it has sent first, then the others."""

    reported: list[Point]
    others: list[Point]
    defaults: list[str]


def picker(session: Session, device: Device, offered: list[Point]) -> Picker:
    """Defaults: the usual power points among those the device sends, else the first four it
    sends, else the usual ones (which then show that there is no data)."""
    sent = {p.name for p in rs.reported_points(session, device)}
    reported = [p for p in offered if p.name in sent]
    others = [p for p in offered if p.name not in sent]
    defaults = [n for n in rs.DEFAULT_POINTS if n in sent] or [p.name for p in reported[:4]]
    return Picker(reported, others, defaults or list(rs.DEFAULT_POINTS))


def _device(request: Request, session: Session, device_id: str) -> tuple[Caller, Device, Site]:
    caller = require_caller(request, session)
    device = DeviceRepository(session, caller).get_for(device_id, Action.READ)
    site = session.get(Site, device.site_id)
    assert site is not None
    return caller, device, site


# ---- the chart ----------------------------------------------------------------------------------


@router.get("/site/{site_id}/chart")
def site_chart(request: Request, session: DbSession, site_id: str) -> Response:
    """A site's chart is its devices' charts: open the first device's (inverters first)."""
    caller = require_caller(request, session)
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    devices = DeviceRepository(session, caller).of_site(site.id)
    if not devices:
        raise NotFound(
            "device", f"{site.name} has no devices yet: bind one to see its chart", code="empty"
        )
    rank = {k: i for i, k in enumerate(FIRST_KINDS)}
    first = min(devices, key=lambda d: (rank.get(d.kind, len(rank)), d.serial))
    return RedirectResponse(f"/device/{first.id}/chart", 303)


@dataclass(frozen=True)
class ChartQuery:
    span: str
    day: date
    resolution: Resolution
    start: datetime
    end: datetime
    error: str | None
    rolling: bool = False  # the last 24 hours up to now, not a calendar day


def _chart_query(site: Site, span: str, day: str, now: datetime) -> ChartQuery:
    """The chart's window. A day's chart opened without a day shows the last 24 hours up to now
    (issue 19): just after local midnight "today" would be all but empty."""
    chosen_day, error = day_or_today(day, site.timezone, now)
    if span not in SPANS:
        error = error or f"zoom '{span}' is not one of {', '.join(SPANS)}"
        span = "day"
    length, resolution = SPANS[span]
    if span == "day" and not day.strip() and error is None:
        step = FIXED_SECONDS[resolution]
        end = datetime.fromtimestamp((int(now.timestamp()) // step + 1) * step, UTC)
        return ChartQuery(span, chosen_day, resolution, end - length, end, None, rolling=True)
    end = local_end(chosen_day, site.timezone)
    return ChartQuery(span, chosen_day, resolution, end - length, end, error)


def _chart_data(s: rs.DeviceSeries, q: ChartQuery, tz_name: str) -> dict[str, Any]:
    """The uPlot columns: one x axis over the whole window (not just the data), one series per
    point in the unit a person reads."""
    chart: dict[str, Any] = {"x": [], "tz": tz_name, "series": []}
    xs = sorted({r.start for rows in s.rows.values() for r in rows})
    if xs:
        xs = sorted({q.start, *xs, q.end})
    index = {t: i for i, t in enumerate(xs)}
    chart["x"] = [t.timestamp() for t in xs]
    for p in s.points:
        unit, factor = point_titles.unit_of(p)
        values: list[float | None] = [None] * len(xs)
        for r in s.rows[p.name]:
            values[index[r.start]] = round(r.value * factor, 6)
        chart["series"].append(
            {
                "label": point_titles.label(p),
                "point": p.name,
                "energy": p.kind is PointKind.ENERGY,
                "unit": unit,
                "values": values,
            }
        )
    return chart


@router.get("/device/{device_id}/chart", response_class=HTMLResponse)
def device_chart(
    request: Request,
    session: DbSession,
    device_id: str,
    points: str = "",
    point: PointsQuery = None,
    span: str = "day",
    day: str = "",
) -> HTMLResponse:
    caller, device, site = _device(request, session, device_id)
    now = request_now(request)
    q = _chart_query(site, span, day, now)
    offer = picker(session, device, CHARTABLE)
    names = _names(points, point) or ",".join(offer.defaults)
    chart: dict[str, Any] = {"x": [], "tz": site.timezone, "series": []}
    chosen: list[str] = names.split(",")
    error = q.error
    if error is None:
        try:
            s = rs.series(session, caller, device.id, names, q.resolution, q.start, q.end, now=now)
            chosen = [p.name for p in s.points]
            chart = _chart_data(s, q, site.timezone)
        except Invalid as exc:
            error = exc.message
    step = SPANS[q.span][0]
    siblings = DeviceRepository(session, caller).of_site(device.site_id)
    return render(
        request,
        "portal/telemetry_chart.html",
        caller,
        device=device,
        site=site,
        siblings=siblings,
        models=sorted({d.model or "" for d in siblings}),
        picker=offer,
        point_title=point_titles.title,
        chosen=chosen,
        span=q.span,
        spans=list(SPANS),
        day=q.day,
        earlier=q.day - step,
        later=min(q.day + step, today(site.timezone, now))
        if q.day < today(site.timezone, now)
        else None,
        resolution=q.resolution.value,
        rolling=q.rolling,
        chart_json=json.dumps(chart),
        samples=len(chart["x"]),
        error=error,
        status_code=200 if error is None else 400,
    )


@router.get("/device/{device_id}/chart.csv")
def device_chart_csv(
    request: Request,
    session: DbSession,
    device_id: str,
    points: str = "",
    point: PointsQuery = None,
    span: str = "day",
    day: str = "",
) -> Response:
    caller, device, site = _device(request, session, device_id)
    now = request_now(request)
    q = _chart_query(site, span, day, now)
    if q.error:
        raise Invalid(q.error)
    names = _names(points, point) or ",".join(picker(session, device, CHARTABLE).defaults)
    s = rs.series(session, caller, device.id, names, q.resolution, q.start, q.end, now=now)
    return read_tables.series_table(s).download(f"chart-{device.serial}-{q.span}-{q.day}.csv")


# ---- the data table -----------------------------------------------------------------------------


def _table_window(
    start: str, end: str, tz_name: str, now: datetime
) -> tuple[date, date, str | None]:
    first, error = day_or_today(start, tz_name, now)
    last, error2 = day_or_today(end, tz_name, now) if end.strip() else (first, None)
    error = error or error2
    if error is None and last < first:
        error = f"the last day ({last}) is before the first ({first})"
    return first, last, error


def _readings(
    session: Session,
    caller: Caller,
    device: Device,
    site: Site,
    names: str,
    a: date,
    b: date,
    now: datetime,
) -> rs.DeviceReadings:
    """The raw readings of the local days ``a`` to ``b`` (inclusive)."""
    start = local_end(a - timedelta(days=1), site.timezone)
    end = local_end(b, site.timezone)
    return rs.readings(session, caller, device.id, names, start, end, now=now)


@router.get("/device/{device_id}/data", response_class=HTMLResponse)
def device_data(
    request: Request,
    session: DbSession,
    device_id: str,
    points: str = "",
    point: PointsQuery = None,
    start: str = "",
    end: str = "",
    page: int = 1,
) -> HTMLResponse:
    caller, device, site = _device(request, session, device_id)
    now = request_now(request)
    first, last, error = _table_window(start, end, site.timezone, now)
    offer = picker(session, device, list(CATALOGUE.values()))
    names = _names(points, point) or ",".join(offer.defaults)
    rows: list[tuple[datetime, list[float | None]]] = []
    chosen: list[Point] = []
    if error is None:
        try:
            r = _readings(session, caller, device, site, names, first, last, now)
            chosen = r.points
            by_ts: dict[datetime, dict[str, float]] = {}
            for name, samples in r.samples.items():
                for smp in samples:
                    by_ts.setdefault(smp.ts, {})[name] = smp.value
            tz = rs.zone(site.timezone)
            factors = [(p.name, shown(p)[1]) for p in chosen]
            rows = [
                (ts.astimezone(tz), [_times(by_ts[ts].get(n), f) for n, f in factors])
                for ts in sorted(by_ts)
            ]
        except Invalid as exc:
            error = exc.message
    pages = max(1, -(-len(rows) // TABLE_ROWS))
    page = min(max(page, 1), pages)
    offset = (page - 1) * TABLE_ROWS
    names = ",".join(p.name for p in chosen) or names
    query = f"points={names}&start={first.isoformat()}&end={last.isoformat()}"
    return render(
        request,
        "portal/telemetry_data.html",
        caller,
        device=device,
        site=site,
        picker=offer,
        point_title=point_titles.title,
        chosen=names.split(","),
        points=chosen,
        units=[shown(p)[0] for p in chosen],
        rows=rows[offset : offset + TABLE_ROWS],
        total=len(rows),
        offset=offset,
        page=page,
        pages=pages,
        first=first,
        last=last,
        query=query,
        error=error,
        status_code=200 if error is None else 400,
    )


def _times(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


@router.get("/device/{device_id}/data.csv")
def device_data_csv(
    request: Request,
    session: DbSession,
    device_id: str,
    points: str = "",
    point: PointsQuery = None,
    start: str = "",
    end: str = "",
) -> Response:
    caller, device, site = _device(request, session, device_id)
    now = request_now(request)
    first, last, error = _table_window(start, end, site.timezone, now)
    if error:
        raise Invalid(error)
    names = _names(points, point) or ",".join(
        picker(session, device, list(CATALOGUE.values())).defaults
    )
    r = _readings(session, caller, device, site, names, first, last, now)
    return read_tables.readings_table(r).download(f"data-{device.serial}-{first}-{last}.csv")
