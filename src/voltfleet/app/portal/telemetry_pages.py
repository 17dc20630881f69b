"""Telemetry in the portal: a device's chart (data points, day/week/month, hover, CSV), a device's
data table for a time range (CSV), and a site's energy bars (day/month/year/total, CSV).

The pages read through the same services as the API (app.telemetry.read_service), so the same
scope rules apply; the CSV downloads here are the API's CSV, served under the portal's session.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from voltfleet.app.deps import DbSession
from voltfleet.app.devices.repository import DeviceRepository
from voltfleet.app.errors import ApiError
from voltfleet.app.portal.render import render
from voltfleet.app.portal.session import require_caller
from voltfleet.app.sites.repository import SiteRepository
from voltfleet.app.telemetry import read_service as rs
from voltfleet.app.telemetry.read_endpoints import csv_download
from voltfleet.domain.access import Action
from voltfleet.domain.telemetry.energy import Period
from voltfleet.domain.telemetry.points import CATALOGUE, GAUGES, PointKind
from voltfleet.domain.telemetry.rollup import Resolution
from voltfleet.store.models import Site

router = APIRouter()

# Zoom: how much one chart shows, and at which resolution.
SPANS = {
    "day": (timedelta(days=1), Resolution.FIVE_MIN),
    "week": (timedelta(days=7), Resolution.HOUR),
    "month": (timedelta(days=31), Resolution.HOUR),
}
CHARTABLE = [p for p in CATALOGUE.values() if p.kind is PointKind.ENERGY or p.kind in GAUGES]


def _day(text: str, tz_name: str) -> tuple[date, str | None]:
    today = datetime.now(UTC).astimezone(rs.zone(tz_name)).date()
    if not text.strip():
        return today, None
    try:
        return date.fromisoformat(text.strip()), None
    except ValueError:
        return today, f"'{text}' is not a date: use YYYY-MM-DD"


def _local_end(day: date, tz_name: str) -> datetime:
    """The end (UTC) of the local day ``day``: charts end with the chosen day."""
    tz = rs.zone(tz_name)
    nxt = day + timedelta(days=1)
    return datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz).astimezone(UTC)


def _chart_query(
    request: Request, session: DbSession, device_id: str, points: str, span: str, day: str
) -> tuple[Any, ...]:
    caller = require_caller(request, session)
    device = DeviceRepository(session, caller).get_for(device_id, Action.READ)
    site = session.get(Site, device.site_id)
    assert site is not None
    span = span if span in SPANS else "day"
    chosen_day, error = _day(day, site.timezone)
    length, resolution = SPANS[span]
    end = _local_end(chosen_day, site.timezone)
    start = end - length
    names = points or ",".join(rs.DEFAULT_POINTS)
    return caller, device, site, span, chosen_day, error, resolution, start, end, names


@router.get("/device/{device_id}/chart", response_class=HTMLResponse)
def device_chart(
    request: Request,
    session: DbSession,
    device_id: str,
    points: str = "",
    span: str = "day",
    day: str = "",
) -> HTMLResponse:
    caller, device, site, span, chosen_day, error, resolution, start, end, names = _chart_query(
        request, session, device_id, points, span, day
    )
    chart: dict[str, Any] = {"x": [], "tz": site.timezone, "series": []}
    chosen: list[str] = []
    try:
        s = rs.series(session, caller, device.id, names, resolution, start, end)
        chosen = [p.name for p in s.points]
        xs = sorted({r.start for rows in s.rows.values() for r in rows})
        if xs:  # the x axis spans the whole window (day, week, month), not just the data
            xs = sorted({start, *xs, end})
        index = {t: i for i, t in enumerate(xs)}
        chart["x"] = [t.timestamp() for t in xs]
        for p in s.points:
            values: list[float | None] = [None] * len(xs)
            for r in s.rows[p.name]:
                values[index[r.start]] = round(r.value, 4)
            label = f"{p.name} ({'energy' if p.kind is PointKind.ENERGY else 'mean'})"
            chart["series"].append({"label": label, "unit": p.unit, "values": values})
    except ApiError as exc:
        error = exc.message
    siblings = DeviceRepository(session, caller).of_site(device.site_id)
    return render(
        request,
        "portal/telemetry_chart.html",
        caller,
        device=device,
        site=site,
        siblings=siblings,
        catalogue=CHARTABLE,
        chosen=chosen or names.split(","),
        span=span,
        spans=list(SPANS),
        day=chosen_day,
        resolution=resolution.value,
        start=start,
        end=end,
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
    span: str = "day",
    day: str = "",
) -> Response:
    caller, device, _, span, chosen_day, _, resolution, start, end, names = _chart_query(
        request, session, device_id, points, span, day
    )
    s = rs.series(session, caller, device.id, names, resolution, start, end)
    return csv_download(rs.series_csv(s), f"chart-{device.serial}-{span}-{chosen_day}.csv")


def _table_window(start: str, end: str, tz_name: str) -> tuple[date, date, str | None]:
    first, error = _day(start, tz_name)
    last, error2 = _day(end, tz_name) if end.strip() else (first, None)
    error = error or error2
    if error is None and last < first:
        error = "the last day is before the first"
    return first, last, error


@router.get("/device/{device_id}/data", response_class=HTMLResponse)
def device_data(
    request: Request,
    session: DbSession,
    device_id: str,
    points: str = "",
    start: str = "",
    end: str = "",
) -> HTMLResponse:
    caller = require_caller(request, session)
    device = DeviceRepository(session, caller).get_for(device_id, Action.READ)
    site = session.get(Site, device.site_id)
    assert site is not None
    first, last, error = _table_window(start, end, site.timezone)
    names = points or ",".join(rs.DEFAULT_POINTS)
    rows: list[tuple[datetime, list[float | None]]] = []
    chosen: list[Any] = []
    if error is None:
        try:
            r = rs.readings(
                session,
                caller,
                device.id,
                names,
                _local_end(first - timedelta(days=1), site.timezone),
                _local_end(last, site.timezone),
            )
            chosen = r.points
            by_ts: dict[datetime, dict[str, float]] = {}
            for name, samples in r.samples.items():
                for smp in samples:
                    by_ts.setdefault(smp.ts, {})[name] = smp.value
            tz = rs.zone(site.timezone)
            rows = [
                (ts.astimezone(tz), [by_ts[ts].get(p.name) for p in chosen]) for ts in sorted(by_ts)
            ]
        except ApiError as exc:
            error = exc.message
    return render(
        request,
        "portal/telemetry_data.html",
        caller,
        device=device,
        site=site,
        catalogue=list(CATALOGUE.values()),
        chosen=[p.name for p in chosen] or names.split(","),
        points=chosen,
        rows=rows,
        first=first,
        last=last,
        query=f"points={names}&start={first.isoformat()}&end={last.isoformat()}",
        error=error,
        status_code=200 if error is None else 400,
    )


@router.get("/device/{device_id}/data.csv")
def device_data_csv(
    request: Request,
    session: DbSession,
    device_id: str,
    points: str = "",
    start: str = "",
    end: str = "",
) -> Response:
    caller = require_caller(request, session)
    device = DeviceRepository(session, caller).get_for(device_id, Action.READ)
    site = session.get(Site, device.site_id)
    assert site is not None
    first, last, error = _table_window(start, end, site.timezone)
    if error:
        raise ApiError(400, error, "bad_request")
    r = rs.readings(
        session,
        caller,
        device.id,
        points or None,
        _local_end(first - timedelta(days=1), site.timezone),
        _local_end(last, site.timezone),
    )
    return csv_download(rs.readings_csv(r), f"data-{device.serial}-{first}-{last}.csv")


def _energy(
    request: Request, session: DbSession, site_id: str, period: str, day: str
) -> tuple[Any, Site, rs.SiteEnergy | None, Period, date, str | None]:
    caller = require_caller(request, session)
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    chosen = Period(period) if period in Period.__members__.values() else Period.DAY
    chosen_day, error = _day(day, site.timezone)
    e = None if error else rs.energy_of(session, site, chosen, chosen_day)
    return caller, site, e, chosen, chosen_day, error


def _kwh(wh: float) -> float:
    return round(wh / 1000.0, 3)


@router.get("/site/{site_id}/energy", response_class=HTMLResponse)
def site_energy(
    request: Request, session: DbSession, site_id: str, period: str = "day", day: str = ""
) -> HTMLResponse:
    caller, site, e, chosen, chosen_day, error = _energy(request, session, site_id, period, day)
    chart: dict[str, list[Any]] = {
        "labels": [],
        "pv": [],
        "consumption": [],
        "grid_import": [],
        "grid_export": [],
    }
    if e is not None:
        chart = {
            "labels": [b.label for b in e.bars],
            "pv": [_kwh(b.balance.pv_wh) for b in e.bars],
            "consumption": [_kwh(b.balance.consumption_wh) for b in e.bars],
            "grid_import": [_kwh(b.balance.import_wh) for b in e.bars],
            "grid_export": [_kwh(b.balance.export_wh) for b in e.bars],
        }
    return render(
        request,
        "portal/site_energy.html",
        caller,
        site=site,
        energy=e,
        period=chosen,
        periods=[p.value for p in Period],
        day=chosen_day,
        chart_json=json.dumps(chart),
        kwh=_kwh,
        pct=lambda v: "-" if v is None else f"{100 * v:.1f} %",
        error=error,
        status_code=200 if error is None else 400,
    )


@router.get("/site/{site_id}/energy.csv")
def site_energy_csv(
    request: Request, session: DbSession, site_id: str, period: str = "day", day: str = ""
) -> Response:
    _, _, e, chosen, chosen_day, error = _energy(request, session, site_id, period, day)
    if e is None:
        raise ApiError(400, error or "bad request", "bad_request")
    return csv_download(rs.energy_csv(e), f"energy-{chosen.value}-{chosen_day}.csv")
