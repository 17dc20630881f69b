"""Money pages: a site's tariff setting (export and import prices, customised or automatic, the
history of versions, a preview of the next days' prices), a site's savings (chart, table, CSV) and
the fleet's savings (one row per site the caller can see).

The pages call the same services as the money API, so a tariff saved here is checked exactly as
one sent to ``PUT /api/v1/sites/{id}/tariffs/{direction}``; a refusal is shown next to the period
and slot at fault. Dates on these pages are local dates of the site; prices and money are shown
rounded, the CSV keeps four decimals.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from voltfleet.app.deps import Caller, DbSession
from voltfleet.app.errors import status_of
from voltfleet.app.metering import service as metering
from voltfleet.app.pagination import PageParams, paginate
from voltfleet.app.portal.render import render
from voltfleet.app.portal.session import check_csrf, require_caller
from voltfleet.app.sites.repository import SiteFilters, SiteRepository
from voltfleet.app.tariffs import repository as tariff_repo
from voltfleet.app.tariffs import service as tariffs
from voltfleet.app.tariffs.convert import from_definition
from voltfleet.app.tariffs.schemas import SlotIn, TariffIn
from voltfleet.domain.access import Action, Kind
from voltfleet.domain.accounting import SavingsLine
from voltfleet.domain.tariffs.local_time import local_midnight_us
from voltfleet.domain.tariffs.series import from_us
from voltfleet.market import AREAS, market_area
from voltfleet.store.models import Site
from voltfleet.store.money_models import TariffVersion as TariffRow
from voltfleet.usecases.errors import Conflict, Invalid, NotFound

router = APIRouter()
Csrf = Annotated[str, Form()]


async def _form_fields(request: Request) -> dict[str, str]:
    """A posted form as a dict (the tariff editor's field names are made by the browser)."""
    data = await request.form()
    return {k: v for k, v in data.items() if isinstance(v, str)}


FormFields = Annotated[dict[str, str], Depends(_form_fields)]

DIRECTIONS = {"EXPORT": "Export price", "IMPORT": "Import price"}
KINDS = {
    "fixed": "Fixed tariff",
    "tou": "Time of use (TOU)",
    "tou_weekday_weekend": "TOU (weekday + weekend)",
    "market": "Automatic (market price)",
}
SOURCES = {
    "entsoe": "ENTSO-E day-ahead",
    "awattar": "aWATTar",
    "nordpool": "Nord Pool day-ahead",
    "octopus": "Octopus Agile",
}
SLOT_LISTS = {"all": "slots", "weekday": "weekday_slots", "weekend": "weekend_slots"}
DAY_KIND_LIST = {"ALL": "all", "WEEKDAY": "weekday", "WEEKEND": "weekend"}
AGGREGATIONS = {"DAY": "Day", "WEEK": "Week", "MONTH": "Month", "YEAR": "Year"}
PREVIEW_DAYS = 3
PREVIEW_STEP = timedelta(minutes=15)
FLEET_PAGE = 25
FLEET_TOTAL_LIMIT = 200  # sites priced for the fleet total; beyond it only the page is summed
DONE = {"saved": "Tariff saved.", "deleted": "Tariff version deleted."}


# --- shared helpers ------------------------------------------------------------------------------


def _today(site: Site) -> date:
    return datetime.now(UTC).astimezone(ZoneInfo(site.timezone)).date()


def _midnight(site: Site, day: date) -> datetime:
    """The first instant of a local date of the site (DST-safe), in UTC."""
    return from_us(local_midnight_us(ZoneInfo(site.timezone), day))


def _num(value: float | None) -> str:
    """A number as a form field shows it (no float noise, no exponent for prices)."""
    if value is None:
        return ""
    text = f"{value:.10f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _clock(value: time) -> str:
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")


def _decimal(text: str) -> str:
    """Accept a decimal comma (0,32) as people in most of Europe write it."""
    return text.strip().replace(",", ".")


def _script_json(data: Any) -> str:
    """JSON to put inside a <script> element (no "</script>" can end it early)."""
    return json.dumps(data).replace("<", "\\u003c")


def money(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def price_text(value: float) -> str:
    """A price per kWh: at least two decimals, at most five."""
    text = f"{value:.5f}".rstrip("0")
    head, _, tail = text.partition(".")
    return f"{head}.{tail.ljust(2, '0')}"


# --- the tariff editor's state -------------------------------------------------------------------


@dataclass
class SlotForm:
    start: str = ""
    end: str = ""
    price: str = ""
    error: str | None = None
    fault: bool = False


@dataclass
class PeriodForm:
    name: str = ""
    start: str = ""
    end: str = ""
    lists: dict[str, list[SlotForm]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@dataclass
class TariffForm:
    """What the editor shows: a stored version, a new one, or what was posted (with its errors)."""

    direction: str
    valid_from: str
    kind: str = "fixed"
    currency: str = "EUR"
    price: str = ""
    periods: list[PeriodForm] = field(default_factory=list)
    holiday_country: str = ""
    holiday_subdivision: str = ""
    source: str = ""
    area: str = ""
    multiplier: str = "1"
    markup: str = "0"
    grid_fee: str = "0"
    vat_percent: str = "0"
    errors: list[str] = field(default_factory=list)

    @property
    def manner(self) -> str:
        return "automatic" if self.kind == "market" else "customised"


def _whole_day() -> list[SlotForm]:
    return [SlotForm("00:00", "00:00", "")]


def _default_period() -> PeriodForm:
    return PeriodForm("All year", "01-01", "12-31", {name: _whole_day() for name in SLOT_LISTS}, [])


def _slot_forms(slots: list[SlotIn] | None) -> list[SlotForm]:
    return [SlotForm(_clock(s.start), _clock(s.end), _num(s.price_per_kwh)) for s in slots or []]


def form_from_tariff(direction: str, body: TariffIn, valid_from: date) -> TariffForm:
    """The editor filled with a stored version. The slot lists the kind does not use are filled
    from the ones it does, so switching between TOU and TOU weekday+weekend keeps the prices."""
    form = TariffForm(direction, valid_from.isoformat(), body.kind, body.currency)
    form.price = _num(body.price_per_kwh)
    for p in body.periods or []:
        lists = {
            "all": _slot_forms(p.slots),
            "weekday": _slot_forms(p.weekday_slots),
            "weekend": _slot_forms(p.weekend_slots),
        }
        if not lists["all"]:
            lists["all"] = [SlotForm(s.start, s.end, s.price) for s in lists["weekday"]]
        for name in ("weekday", "weekend"):
            if not lists[name]:
                lists[name] = [SlotForm(s.start, s.end, s.price) for s in lists["all"]]
        form.periods.append(PeriodForm(p.name, p.start, p.end, lists))
    form.holiday_country = body.holiday_country or ""
    form.holiday_subdivision = body.holiday_subdivision or ""
    form.source = body.source or ""
    form.area = body.area or ""
    if body.formula is not None:
        form.multiplier = _num(body.formula.multiplier)
        form.markup = _num(body.formula.markup_per_kwh)
        form.grid_fee = _num(body.formula.grid_fee_per_kwh)
        form.vat_percent = _num(round(body.formula.vat_rate * 100, 8))
    return form


def new_form(site: Site, direction: str, today: date) -> TariffForm:
    return TariffForm(
        direction,
        today.isoformat(),
        currency=site.currency or "EUR",
        periods=[_default_period()],
        holiday_country=site.country or "",
        source="",
        area=_site_area(site) or "",
    )


_PERIOD_FIELD = re.compile(r"^p(\d+)_(name|start|end)$")
_SLOT_FIELD = re.compile(r"^p(\d+)_(all|weekday|weekend)_(\d+)_(start|end|price)$")


def form_from_post(direction: str, data: Mapping[str, str]) -> TariffForm:
    """The editor's state from a posted form. Periods and slots are named ``p{i}_...`` and
    ``p{i}_{list}_{j}_...``; the browser may leave gaps in the numbers (removed rows)."""
    manner = data.get("manner", "customised")
    kind = "market" if manner == "automatic" else data.get("kind", "fixed")
    form = TariffForm(
        direction,
        data.get("valid_from", "").strip(),
        kind if kind in KINDS else "fixed",
        data.get("currency", "").strip().upper(),
        _decimal(data.get("price", "")),
        holiday_country=data.get("holiday_country", "").strip().upper(),
        holiday_subdivision=data.get("holiday_subdivision", "").strip().upper(),
        source=data.get("source", "").strip(),
        area=data.get("area", "").strip().upper(),
        multiplier=_decimal(data.get("multiplier", "1")) or "1",
        markup=_decimal(data.get("markup", "0")) or "0",
        grid_fee=_decimal(data.get("grid_fee", "0")) or "0",
        vat_percent=_decimal(data.get("vat_percent", "0")) or "0",
    )
    periods: dict[int, dict[str, str]] = {}
    slots: dict[tuple[int, str, int], dict[str, str]] = {}
    for key, value in data.items():
        if m := _PERIOD_FIELD.match(key):
            periods.setdefault(int(m[1]), {})[m[2]] = value.strip()
        elif m := _SLOT_FIELD.match(key):
            slots.setdefault((int(m[1]), m[2], int(m[3])), {})[m[4]] = value.strip()
    for i in sorted(periods):
        p = periods[i]
        lists: dict[str, list[SlotForm]] = {name: [] for name in SLOT_LISTS}
        for (pi, name, _), s in sorted(slots.items()):
            if pi == i:
                lists[name].append(
                    SlotForm(s.get("start", ""), s.get("end", ""), _decimal(s.get("price", "")))
                )
        form.periods.append(
            PeriodForm(p.get("name", ""), p.get("start", ""), p.get("end", ""), lists)
        )
    return form


def _vat_rate(percent: str) -> float | str:
    try:
        return float(percent) / 100
    except ValueError:
        return percent  # refused by the schema with the field named


def body_of(form: TariffForm) -> dict[str, Any]:
    """The API body (``TariffIn``) the form stands for; only the fields of its kind."""
    body: dict[str, Any] = {
        "valid_from": form.valid_from,
        "kind": form.kind,
        "currency": form.currency,
    }
    if form.kind == "fixed":
        body["price_per_kwh"] = form.price or None
    elif form.kind == "market":
        body.update(
            source=form.source or None,
            area=form.area or None,
            formula={
                "multiplier": form.multiplier,
                "markup_per_kwh": form.markup,
                "grid_fee_per_kwh": form.grid_fee,
                "vat_rate": _vat_rate(form.vat_percent),
            },
        )
    else:
        names = ["all"] if form.kind == "tou" else ["weekday", "weekend"]
        body["periods"] = [
            {
                "name": p.name,
                "start": p.start,
                "end": p.end,
                **{
                    SLOT_LISTS[name]: [
                        {"start": s.start, "end": s.end, "price_per_kwh": s.price}
                        for s in p.lists.get(name, [])
                    ]
                    for name in names
                },
            }
            for p in form.periods
        ]
        if form.kind == "tou_weekday_weekend":
            body["holiday_country"] = form.holiday_country or None
            body["holiday_subdivision"] = form.holiday_subdivision or None
    return body


_FIELD_LABELS = {
    "price_per_kwh": "price",
    "valid_from": "valid from",
    "markup_per_kwh": "markup",
    "grid_fee_per_kwh": "grid fee",
    "vat_rate": "VAT",
    "multiplier": "multiplier",
    "currency": "currency",
}


def place_schema_errors(form: TariffForm, exc: ValidationError) -> None:
    """Put each field error of the schema next to the period or slot it is about."""
    list_of = {v: k for k, v in SLOT_LISTS.items()}
    for e in exc.errors():
        loc = list(e.get("loc", ()))
        what = str(loc[-1]) if loc else "tariff"
        message = f"{_FIELD_LABELS.get(what, what)}: {e.get('msg', 'invalid')}"
        if len(loc) >= 2 and loc[0] == "periods" and isinstance(loc[1], int):
            if loc[1] >= len(form.periods):
                form.errors.append(message)
                continue
            period = form.periods[loc[1]]
            if len(loc) >= 4 and loc[2] in list_of and isinstance(loc[3], int):
                slot_list = period.lists.get(list_of[str(loc[2])], [])
                if loc[3] < len(slot_list):
                    slot = slot_list[loc[3]]
                    slot.error = f"{slot.error}; {message}" if slot.error else message
                    slot.fault = True
                    continue
            period.errors.append(message)
        else:
            form.errors.append(message)


def place_tariff_issues(form: TariffForm, issues: list[dict[str, Any]]) -> None:
    """Put each validation issue of the service next to its period and slot."""
    positions: dict[str, int] = {}
    for i, p in enumerate(form.periods):
        positions.setdefault(p.name, i)
    for issue in issues:
        message = str(issue.get("message", ""))
        index = positions.get(str(issue.get("period")))
        if index is None:
            form.errors.append(message)
            continue
        period = form.periods[index]
        slot_index = issue.get("slot_index")
        name = DAY_KIND_LIST.get(str(issue.get("day_kind")), "all")
        slot_list = period.lists.get(name, [])
        if isinstance(slot_index, int) and slot_index < len(slot_list):
            slot = slot_list[slot_index]
            slot.error = f"{slot.error}; {message}" if slot.error else message
            slot.fault = True
            other = issue.get("other_slot_index")
            if isinstance(other, int) and other < len(slot_list):
                slot_list[other].fault = True
        else:
            period.errors.append(message)


# --- tariff page ---------------------------------------------------------------------------------


def _site_area(site: Site) -> str | None:
    """The day-ahead market area of the site, if any source covers it."""
    try:
        return market_area(site.country or "", site.region or None).code
    except Exception:
        return None


def _sources_for(area: str | None, current: str) -> dict[str, str]:
    keys = list(AREAS[area].sources) if area in AREAS else []
    out = {k: SOURCES.get(k, k) for k in keys}
    if current and current not in out:
        out[current] = SOURCES.get(current, f"{current} (as stored)")
    return out


def summary(body: TariffIn) -> str:
    """One line about a tariff version, for the history and the read-only view."""
    if body.kind == "fixed" and body.price_per_kwh is not None:
        return f"{price_text(body.price_per_kwh)} {body.currency}/kWh"
    if body.kind == "market":
        f = body.formula
        parts = [f"{SOURCES.get(body.source or '', body.source)} {body.area}"]
        if f is not None:
            if f.multiplier != 1:
                parts.append(f"x {_num(f.multiplier)}")
            if f.markup_per_kwh:
                parts.append(f"+ {price_text(f.markup_per_kwh)} markup")
            if f.grid_fee_per_kwh:
                parts.append(f"+ {price_text(f.grid_fee_per_kwh)} grid fee")
            if f.vat_rate:
                parts.append(f"+ {_num(round(f.vat_rate * 100, 6))} % VAT")
        return " ".join(parts) + f" ({body.currency}/kWh)"
    prices = [
        s.price_per_kwh
        for p in body.periods or []
        for s in (p.slots or []) + (p.weekday_slots or []) + (p.weekend_slots or [])
    ]
    n = len(body.periods or [])
    span = ""
    if prices:
        span = f", {price_text(min(prices))} to {price_text(max(prices))} {body.currency}/kWh"
    return f"{n} period{'s' if n != 1 else ''}{span}"


@dataclass
class VersionView:
    id: str
    valid_from: date
    kind: str
    summary: str
    status: str  # "in force", "upcoming" or "past"
    created_at: datetime
    body: TariffIn


def _versions(rows: list[TariffRow], today: date) -> list[VersionView]:
    in_force = max((r.valid_from for r in rows if r.valid_from <= today), default=None)
    out = []
    for r in rows:
        body = from_definition(r.valid_from, r.definition)
        status = (
            "in force"
            if r.valid_from == in_force
            else "upcoming"
            if r.valid_from > today
            else "past"
        )
        out.append(
            VersionView(
                r.id, r.valid_from, KINDS[body.kind], summary(body), status, r.created_at, body
            )
        )
    return sorted(out, key=lambda v: v.valid_from, reverse=True)


def preview(session: Session, site: Site, today: date) -> dict[str, Any]:
    """Import and export prices for today and the next days, on a 15-minute grid (epoch seconds),
    for the chart; a day without prices (no tariff, market prices not yet known) is a gap and a
    note says why."""
    days = [today + timedelta(days=i) for i in range(PREVIEW_DAYS + 1)]
    edges = [_midnight(site, d) for d in days]
    series: dict[str, dict[int, float]] = {"IMPORT": {}, "EXPORT": {}}
    notes: list[str] = []
    currency = site.currency
    for direction in series:
        for day, start, end in zip(days, edges, edges[1:], strict=False):
            try:
                rates = tariffs.rates(session, site, direction, start, end, PREVIEW_STEP)
            except (Conflict, Invalid) as exc:  # no tariff, missing prices, a broken tariff
                if exc.code == "no_tariff":
                    notes.append(f"No {direction.lower()} tariff is set.")
                    break
                notes.append(f"{DIRECTIONS[direction]} on {day.isoformat()}: {exc.message}")
                continue
            currency = rates.currency
            for a, p in zip(rates.starts_us, rates.prices_per_kwh, strict=True):
                series[direction][int(a) // 1_000_000] = float(p)
    start_s, end_s = int(edges[0].timestamp()), int(edges[-1].timestamp())
    step = int(PREVIEW_STEP.total_seconds())
    xs = list(range(start_s, end_s, step))
    data: dict[str, Any] = {"x": [*xs, end_s], "tz": site.timezone, "currency": currency}
    for direction, values in series.items():
        column = [values.get(x) for x in xs]
        data[direction] = [*column, column[-1] if column else None]
    data["notes"] = notes
    data["empty"] = not any(series.values())
    return data


def _tariff_page(
    request: Request,
    session: Session,
    caller: Caller,
    site: Site,
    direction: str,
    form: TariffForm | None = None,
    version_id: str = "",
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    today = _today(site)
    rows = tariff_repo.tariff_rows(session, site.id, direction)
    versions = _versions(rows, today)
    current = next((v for v in versions if v.status == "in force"), None)
    if form is None:
        chosen = next((v for v in versions if v.id == version_id), None)
        if chosen is not None:
            form = form_from_tariff(direction, chosen.body, chosen.valid_from)
        elif versions:
            latest = versions[0]  # newest first: edit it as a new version from today
            form = form_from_tariff(direction, latest.body, max(latest.valid_from, today))
        else:
            form = new_form(site, direction, today)
    area = _site_area(site)
    prices = preview(session, site, today)
    return render(
        request,
        "portal/tariff.html",
        caller,
        status_code=status_code,
        site=site,
        direction=direction,
        directions=DIRECTIONS,
        kinds={k: v for k, v in KINDS.items() if k != "market"},
        form=form,
        versions=versions,
        current=current,
        today=today,
        can_edit=caller.can(Kind.SITE, Action.UPDATE),
        automatic=bool(area) or form.kind == "market",
        area=area or "",
        area_name=AREAS[area].name if area in AREAS else "",
        sources=_sources_for(area, form.source),
        areas=sorted(AREAS),
        preview=prices,
        preview_json=_script_json(prices),
        preview_days=PREVIEW_DAYS,
        blank_period=PeriodForm(lists={name: _whole_day() for name in SLOT_LISTS}),
        blank_slot=SlotForm(),
        price_text=price_text,
        error=error,
        notice=notice,
    )


@router.get("/sites/{site_id}/tariff", response_class=HTMLResponse)
def tariff_page(
    request: Request,
    session: DbSession,
    site_id: str,
    direction: str = "EXPORT",
    version: str = "",
    done: str = "",
) -> HTMLResponse:
    caller = require_caller(request, session)
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    direction = direction.upper() if direction.upper() in DIRECTIONS else "EXPORT"
    return _tariff_page(
        request, session, caller, site, direction, version_id=version, notice=DONE.get(done)
    )


@router.post("/sites/{site_id}/tariff/{direction}", response_class=HTMLResponse)
def save_tariff(
    request: Request, session: DbSession, data: FormFields, site_id: str, direction: str
) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, data.get("csrf", ""))
    site = SiteRepository(session, caller).get_for(site_id, Action.UPDATE)
    direction = direction.upper()
    if direction not in DIRECTIONS:
        raise NotFound("tariff direction")
    form = form_from_post(direction, data)
    try:
        body = TariffIn.model_validate(body_of(form))
    except ValidationError as exc:
        place_schema_errors(form, exc)
        error = "Not saved: correct the fields marked below."
        if form.errors:
            error = "Not saved: " + "; ".join(form.errors)
            form.errors = []
        return _tariff_page(
            request, session, caller, site, direction, form, error=error, status_code=422
        )
    try:
        tariffs.set_tariff(session, caller, site, direction, body)
    except Invalid as exc:
        session.rollback()
        if exc.code == "invalid_tariff":
            place_tariff_issues(form, exc.errors)
            error = "Not saved: the periods and slots marked below have gaps or overlaps."
            if form.errors:
                error = "Not saved: " + "; ".join(form.errors)
                form.errors = []
        else:
            error = f"Not saved: {exc.message}"
        return _tariff_page(
            request, session, caller, site, direction, form, error=error, status_code=422
        )
    return RedirectResponse(
        f"/sites/{site.id}/tariff?direction={direction}&done=saved", status_code=303
    )


@router.post("/sites/{site_id}/tariff/{direction}/{tariff_id}/delete", response_class=HTMLResponse)
def delete_tariff(
    request: Request, session: DbSession, site_id: str, direction: str, tariff_id: str, csrf: Csrf
) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    site = SiteRepository(session, caller).get_for(site_id, Action.UPDATE)
    direction = direction.upper()
    if direction not in DIRECTIONS:
        raise NotFound("tariff direction")
    try:
        tariffs.delete_tariff(session, caller, site, tariff_id)
    except NotFound as exc:
        session.rollback()
        return _tariff_page(request, session, caller, site, direction, error=exc.message)
    return RedirectResponse(
        f"/sites/{site.id}/tariff?direction={direction}&done=deleted", status_code=303
    )


# --- savings -------------------------------------------------------------------------------------


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
                out[key] = _num(value)
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
            value = float(_decimal(text))
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
        _midnight(site, q.start),
        _midnight(site, q.end + timedelta(days=1)),
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
    q = savings_query(_today(site), aggregation, start, end, stored_start, stored_end, stored_price)
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
        total=_line_view(report.total) if report else None,
        currency=chart["currency"],
        chart_json=_script_json(chart),
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
    q = savings_query(_today(site), aggregation, start, end, stored_start, stored_end, stored_price)
    if q.error:
        return Response(q.error + "\n", status_code=422, media_type="text/plain")
    try:
        report = _savings_report(session, site, q)
    except (Conflict, Invalid) as exc:
        return Response(exc.message + "\n", status_code=status_of(exc), media_type="text/plain")
    columns = CSV_COLUMNS + (CSV_HONEST if q.stored_start is not None else [])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["bucket", "start_time", "end_time", "currency"]
        + [CSV_HEADINGS.get(name, name) for name, _ in columns]
    )
    zone = ZoneInfo(site.timezone)
    lines = [(b.label, b.start, b.end, b.savings) for b in report.buckets]
    lines.append(("total", report.start, report.end, report.total))
    for label, a, b, line in lines:
        view = _line_view(line)
        writer.writerow(
            [
                label,
                a.astimezone(zone).isoformat(),
                b.astimezone(zone).isoformat(),
                report.currency,
            ]
            + [_csv_value(view[name], digits) for name, digits in columns]
        )
    name = re.sub(r"[^A-Za-z0-9]+", "-", site.name).strip("-").lower() or "site"
    filename = (
        f"savings-{name}-{q.start.isoformat()}-{q.end.isoformat()}-{q.aggregation.lower()}.csv"
    )
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


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
    today = datetime.now(UTC).date()
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
