"""Savings pages: a site's savings (chart, table, CSV) and the fleet's savings (one row per site
the caller can see). Dates are local dates of the site; money is shown rounded, the CSV keeps four
decimals."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from voltfleet.app import formatting, i18n
from voltfleet.app.deps import DbSession, request_now
from voltfleet.app.errors import status_of
from voltfleet.app.i18n import gettext
from voltfleet.app.metering import service as metering
from voltfleet.app.pagination import PageParams, paginate
from voltfleet.app.portal.render import render
from voltfleet.app.portal.session import require_caller
from voltfleet.app.sites.repository import SiteFilters, SiteRepository
from voltfleet.app.tables import Column, Table, zoned
from voltfleet.app.tariffs.page_text import (
    decimal_text,
    money,
    num_text,
    script_json,
    site_midnight,
    site_today,
)
from voltfleet.domain.access import Action
from voltfleet.domain.accounting import SavingsLine
from voltfleet.store.models import Site
from voltfleet.usecases.errors import Conflict, Invalid

router = APIRouter()

N_ = i18n.gettext_noop
AGGREGATIONS = {"DAY": N_("Day"), "WEEK": N_("Week"), "MONTH": N_("Month"), "YEAR": N_("Year")}
FLEET_PAGE = 25
FLEET_TOTAL_LIMIT = 200  # sites priced for the fleet total; beyond it only the page is summed


@dataclass
class SavingsQuery:
    """A savings page's choices, read leniently: a bad value is reported, not a crash."""

    aggregation: str
    start: date
    end: date
    stored_start: float | None = None
    stored_end: float | None = None
    stored_price: float | None = None
    error: str | None = None

    def args(self) -> dict[str, str]:
        out = {
            "aggregation": self.aggregation,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
        }
        for key, value in (
            ("stored_start", self.stored_start),
            ("stored_end", self.stored_end),
            ("stored_price", self.stored_price),
        ):
            if value is not None:
                out[key] = num_text(value)
        return out

    def query(self) -> str:
        from urllib.parse import urlencode

        return urlencode(self.args())


def savings_query(
    today: date,
    aggregation: str,
    start: str,
    end: str,
    stored_start: str = "",
    stored_end: str = "",
    stored_price: str = "",
) -> SavingsQuery:
    errors: list[str] = []
    agg = aggregation.upper() if aggregation.upper() in AGGREGATIONS else "DAY"

    def day(text: str, default: date, label: str) -> date:
        if not text.strip():
            return default
        try:
            return date.fromisoformat(text.strip())
        except ValueError:
            errors.append(f"{label}: {text!r} is not a date (YYYY-MM-DD)")
            return default

    def number(text: str, label: str) -> float | None:
        if not text.strip():
            return None
        try:
            value = float(decimal_text(text))
        except ValueError:
            errors.append(f"{label}: {text!r} is not a number")
            return None
        if label != "stored energy price" and value < 0:
            errors.append(f"{label} cannot be negative")
            return None
        return value

    q = SavingsQuery(
        agg,
        day(start, today - timedelta(days=29), "from"),
        day(end, today, "to"),
        number(stored_start, "battery energy at the start"),
        number(stored_end, "battery energy at the end"),
        number(stored_price, "stored energy price"),
    )
    if q.end < q.start:
        errors.append("the end date is before the start date")
        q.start, q.end = q.end, q.start
    if (q.stored_start is None) != (q.stored_end is None):
        errors.append("give the battery energy at both the start and the end, or neither")
    q.error = "; ".join(errors) or None
    return q


def _savings_report(session: Session, site: Site, q: SavingsQuery) -> Any:
    return metering.savings(
        session,
        site,
        site_midnight(site, q.start),
        site_midnight(site, q.end + timedelta(days=1)),
        q.aggregation,
        None,
        q.stored_start,
        q.stored_end,
        q.stored_price,
    )


def _line_view(x: SavingsLine) -> dict[str, Any]:
    return {
        "imported_kwh": x.imported_kwh,
        "import_cost": x.import_cost,
        "supplied_kwh": x.supplied_kwh,
        "supplied_value": x.supplied_value,
        "exported_kwh": x.exported_kwh,
        "export_earnings": x.export_earnings,
        "savings": x.savings,
        "percent": None if x.savings_fraction is None else 100 * x.savings_fraction,
        "stored_change_kwh": x.stored_energy_change_kwh,
        "stored_change_value": x.stored_energy_change_value,
        "losses_kwh": x.round_trip_losses_kwh,
    }


@router.get("/sites/{site_id}/savings", response_class=HTMLResponse)
def savings_page(
    request: Request,
    session: DbSession,
    site_id: str,
    aggregation: str = "DAY",
    start: str = "",
    end: str = "",
    stored_start: str = "",
    stored_end: str = "",
    stored_price: str = "",
) -> HTMLResponse:
    caller = require_caller(request, session)
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    today = site_today(site, request_now(request))
    q = savings_query(today, aggregation, start, end, stored_start, stored_end, stored_price)
    report, error, code = None, q.error, ""
    if error is None:
        try:
            report = _savings_report(session, site, q)
        except (Conflict, Invalid) as exc:
            error, code = exc.message, exc.code
    rows = [(b.label, _line_view(b.savings)) for b in report.buckets] if report else []
    chart = {
        "labels": [label for label, _ in rows],
        "import_cost": [r["import_cost"] for _, r in rows],
        "supplied_value": [r["supplied_value"] for _, r in rows],
        "export_earnings": [r["export_earnings"] for _, r in rows],
        "savings": [r["savings"] for _, r in rows],
        "currency": report.currency if report else site.currency,
    }
    return render(
        request,
        "portal/savings.html",
        caller,
        status_code=200 if report or q.error is None else 422,
        site=site,
        q=q,
        aggregations=AGGREGATIONS,
        rows=rows,
        table=savings_table(report, ZoneInfo(site.timezone), False) if report else None,
        total=_line_view(report.total) if report else None,
        # no metered energy at all in the window: a message, not a table of zeros
        metered=report is not None and report.total.has_energy,
        currency=chart["currency"],
        chart_json=script_json(chart),
        money=money,
        error=error,
        no_tariff=code in ("no_tariff", "missing_prices"),
    )


CSV_COLUMNS = [
    ("imported_kwh", 3),
    ("import_cost", 4),
    ("supplied_kwh", 3),
    ("supplied_value", 4),
    ("exported_kwh", 3),
    ("export_earnings", 4),
    ("savings", 4),
    ("percent", 1),
]
CSV_HONEST = [("stored_change_kwh", 3), ("stored_change_value", 4), ("losses_kwh", 3)]
CSV_HEADINGS = {
    "percent": "savings_percent",
    "stored_change_kwh": "stored_energy_change_kwh",
    "stored_change_value": "stored_energy_change_value",
    "losses_kwh": "round_trip_losses_kwh",
}


def _csv_value(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


# A savings table's row: the bucket's label, its start and end (local), and its figures.
SavingsRow = tuple[str, datetime, datetime, dict[str, Any]]

# How the page shows each figure the CSV holds (the honest lines have a section of their own).
PAGE_FIGURES: dict[str, tuple[str, Callable[[Any], str]]] = {
    "imported_kwh": (N_("Imported kWh"), lambda v: formatting.number(v, 2)),
    "import_cost": (N_("Import cost"), money),
    "supplied_kwh": (N_("Supplied kWh"), lambda v: formatting.number(v, 2)),
    "supplied_value": (N_("Supplied value"), money),
    "exported_kwh": (N_("Exported kWh"), lambda v: formatting.number(v, 2)),
    "export_earnings": (N_("Export earnings"), money),
    "savings": (N_("Savings"), money),
    "percent": ("%", lambda v: "\u2013" if v is None else formatting.number(v, 1)),
}


def _negative(value: float | None) -> str:
    return "neg" if value is not None and value < 0 else ""


def _figure(name: str, digits: int) -> Column[SavingsRow]:
    heading, show = PAGE_FIGURES.get(name, (name, str))
    return Column(
        CSV_HEADINGS.get(name, name),
        lambda row: row[3][name],
        lambda value: _csv_value(value, digits),
        heading=heading,
        show=show,
        num=True,
        css=_negative if name == "savings" else None,
        page=name in PAGE_FIGURES,
    )


def savings_table(report: Any, zone: ZoneInfo, honest: bool) -> Table[SavingsRow]:
    """One row per bucket and a total row; money in the site's currency with four decimals,
    energy in kWh with three (the page: two, money as money), the honest lines (stored
    energy, losses) when asked for."""

    def label(text: str) -> str:
        """A bucket as its reader writes it: a day "02.03.2026", a month "03.2026" in German; an
        ISO week ("2026-W10") as it is."""
        if text == "total":
            return gettext("Total (%(currency)s)") % {"currency": report.currency}
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return formatting.local_date(date.fromisoformat(text))
        if re.fullmatch(r"\d{4}-\d{2}", text):
            return formatting.current().month_text(date.fromisoformat(f"{text}-01"))
        return text

    def local(instant: datetime) -> str:
        return instant.astimezone(zone).isoformat()

    columns: list[Column[SavingsRow]] = [
        Column("bucket", itemgetter(0), heading="Period", show=label),
        Column(zoned("start_time", zone.key), lambda row: local(row[1]), page=False),
        Column(zoned("end_time", zone.key), lambda row: local(row[2]), page=False),
        Column("currency", lambda row: report.currency, page=False),
    ]
    columns += [_figure(n, d) for n, d in CSV_COLUMNS + (CSV_HONEST if honest else [])]
    return Table(
        columns,
        [(b.label, b.start, b.end, _line_view(b.savings)) for b in report.buckets],
        footer=[("total", report.start, report.end, _line_view(report.total))],
        row_attrs=lambda row: (
            {"class": "total", "data-bucket": "total"}
            if row[0] == "total"
            else {"data-bucket": row[0]}
        ),
    )


@router.get("/sites/{site_id}/savings.csv")
def savings_csv(
    request: Request,
    session: DbSession,
    site_id: str,
    aggregation: str = "DAY",
    start: str = "",
    end: str = "",
    stored_start: str = "",
    stored_end: str = "",
    stored_price: str = "",
) -> Response:
    """The savings table as CSV: one row per bucket and a total row; money in the site's
    currency with four decimals, energy in kWh with three."""
    caller = require_caller(request, session)
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    today = site_today(site, request_now(request))
    q = savings_query(today, aggregation, start, end, stored_start, stored_end, stored_price)
    if q.error:
        return Response(q.error + "\n", status_code=422, media_type="text/plain")
    try:
        report = _savings_report(session, site, q)
    except (Conflict, Invalid) as exc:
        return Response(exc.message + "\n", status_code=status_of(exc), media_type="text/plain")
    table = savings_table(report, ZoneInfo(site.timezone), q.stored_start is not None)
    name = re.sub(r"[^A-Za-z0-9]+", "-", site.name).strip("-").lower() or "site"
    filename = (
        f"savings-{name}-{q.start.isoformat()}-{q.end.isoformat()}-{q.aggregation.lower()}.csv"
    )
    return table.download(filename)


# --- fleet savings -------------------------------------------------------------------------------


@dataclass
class FleetRow:
    site: Site
    line: dict[str, Any] | None
    currency: str
    error: str | None


def _fleet_row(session: Session, site: Site, start: date, end: date) -> FleetRow:
    q = SavingsQuery("YEAR", start, end)
    try:
        report = _savings_report(session, site, q)
    except (Conflict, Invalid) as exc:
        return FleetRow(site, None, site.currency, exc.message)
    return FleetRow(site, _line_view(report.total), report.currency, None)


_SUMMED = ["imported_kwh", "import_cost", "supplied_value", "export_earnings", "savings"]


def _totals(rows: list[FleetRow]) -> list[dict[str, Any]]:
    """Sums per currency (sites in different currencies are not added up)."""
    by_currency: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r.line is None:
            continue
        t = by_currency.setdefault(r.currency, {k: 0.0 for k in _SUMMED} | {"sites": 0})
        t["sites"] += 1
        for k in _SUMMED:
            t[k] += r.line[k]
    out = []
    for currency, t in sorted(by_currency.items()):
        avoided = t["supplied_value"] + t["export_earnings"]
        t["percent"] = 100 * t["savings"] / avoided if avoided > 0 else None
        t["currency"] = currency
        out.append(t)
    return out


@router.get("/savings", response_class=HTMLResponse)
def fleet_savings(
    request: Request,
    session: DbSession,
    start: str = "",
    end: str = "",
    q: str = "",
    page: int = 1,
) -> HTMLResponse:
    caller = require_caller(request, session)
    today = request_now(request).date()
    query = savings_query(today, "YEAR", start, end)
    page = max(page, 1)
    stmt = SiteRepository(session, caller).query(SiteFilters(q=q.strip() or None), "name")
    sites, count = paginate(session, stmt, PageParams(page=page, page_size=FLEET_PAGE))
    rows: list[FleetRow] = []
    fleet_totals: list[dict[str, Any]] | None = None
    if query.error is None:
        rows = [_fleet_row(session, s, query.start, query.end) for s in sites]
        if count <= len(sites):
            fleet_totals = _totals(rows)
        elif count <= FLEET_TOTAL_LIMIT:
            every = session.scalars(stmt).all()
            shown = {r.site.id: r for r in rows}
            fleet_totals = _totals(
                [shown.get(s.id) or _fleet_row(session, s, query.start, query.end) for s in every]
            )
    return render(
        request,
        "portal/fleet_savings.html",
        caller,
        status_code=200 if query.error is None else 422,
        rows=rows,
        count=count,
        page=page,
        page_size=FLEET_PAGE,
        page_totals=_totals(rows),
        fleet_totals=fleet_totals,
        total_limit=FLEET_TOTAL_LIMIT,
        q=q,
        start=query.start,
        end=query.end,
        money=money,
        error=query.error,
    )
