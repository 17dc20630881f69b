"""A site's tariff setting: export and import prices, customised or automatic, the history of
versions, a preview of the next days' prices. The editor's state is in ``tariff_form``; savings
are in ``savings_pages``.

The page calls the same services as the money API, so a tariff saved here is checked exactly as
one sent to ``PUT /api/v1/sites/{id}/tariffs/{direction}``; a refusal is shown next to the period
and slot at fault. Dates are local dates of the site; prices are shown rounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from voltfleet.app.deps import Caller, DbSession, request_now
from voltfleet.app.i18n import gettext as _
from voltfleet.app.i18n import gettext_noop as N_
from voltfleet.app.i18n import ngettext
from voltfleet.app.portal.render import render
from voltfleet.app.portal.session import check_csrf, require_caller
from voltfleet.app.sites.repository import SiteRepository
from voltfleet.app.tariffs import market_status
from voltfleet.app.tariffs import repository as tariff_repo
from voltfleet.app.tariffs import service as tariffs
from voltfleet.app.tariffs.convert import from_definition
from voltfleet.app.tariffs.page_text import (
    num_text,
    price_text,
    script_json,
    site_midnight,
    site_today,
)
from voltfleet.app.tariffs.schemas import TariffIn
from voltfleet.app.tariffs.set_by import SetBy, setters, tariff_site
from voltfleet.app.tariffs.tariff_form import (
    KINDS,
    SLOT_LISTS,
    PeriodForm,
    SlotForm,
    TariffForm,
    body_of,
    form_from_post,
    form_from_tariff,
    new_form,
    place_schema_errors,
    place_tariff_issues,
    site_area,
    whole_day,
)
from voltfleet.app.tariffs.tomorrow import missing_tomorrow
from voltfleet.domain.access import Action, Kind
from voltfleet.domain.fleet import zone
from voltfleet.market import AREAS
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

DIRECTIONS = {"EXPORT": N_("Export price"), "IMPORT": N_("Import price")}  # tab labels
SOURCES = {
    "entsoe": "ENTSO-E day-ahead",
    "awattar": "aWATTar",
    "nordpool": "Nord Pool day-ahead",
    "octopus": "Octopus Agile",
}
PREVIEW_DAYS = 3
PREVIEW_STEP = timedelta(minutes=15)
DONE = {"saved": "Tariff saved.", "deleted": "Tariff version deleted."}


def _sources_for(area: str | None, current: str) -> dict[str, str]:
    keys = list(AREAS[area].sources) if area in AREAS else []
    out = {k: SOURCES.get(k, k) for k in keys}
    if current and current not in out:
        out[current] = SOURCES.get(current, f"{current} (as stored)")
    return out


def summary(body: TariffIn) -> str:
    """One line about a tariff version, for the history and the read-only view, in the reader's
    language."""
    if body.kind == "fixed" and body.price_per_kwh is not None:
        return f"{price_text(body.price_per_kwh)} {body.currency}/kWh"
    if body.kind == "market":
        f = body.formula
        parts = [f"{SOURCES.get(body.source or '', body.source)} {body.area}"]
        if f is not None:
            if f.multiplier != 1:
                parts.append(f"x {num_text(f.multiplier)}")
            if f.markup_per_kwh:
                parts.append(_("+ %(price)s markup") % {"price": price_text(f.markup_per_kwh)})
            if f.grid_fee_per_kwh:
                parts.append(_("+ %(price)s grid fee") % {"price": price_text(f.grid_fee_per_kwh)})
            if f.vat_rate:
                vat = num_text(round(f.vat_rate * 100, 6))
                parts.append(_("+ %(rate)s %% VAT") % {"rate": vat})
        return " ".join(parts) + f" ({body.currency}/kWh)"
    prices = [
        s.price_per_kwh
        for p in body.periods or []
        for s in (p.slots or []) + (p.weekday_slots or []) + (p.weekend_slots or [])
    ]
    n = len(body.periods or [])
    text = ngettext("%(num)s period", "%(num)s periods", n) % {"num": n}
    if prices:
        text += _(", %(low)s to %(high)s %(currency)s/kWh") % {
            "low": price_text(min(prices)),
            "high": price_text(max(prices)),
            "currency": body.currency,
        }
    return text


@dataclass
class VersionView:
    id: str
    valid_from: date
    kind: str
    summary: str
    status: str  # "in force", "upcoming" or "past"
    created_at: datetime
    body: TariffIn
    set_by: SetBy | None = None  # who saved it (None: a job, or a deleted user)
    created_by: str | None = None


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
                r.id,
                r.valid_from,
                KINDS[body.kind],
                summary(body),
                status,
                r.created_at,
                body,
                created_by=r.created_by,
            )
        )
    return sorted(out, key=lambda v: v.valid_from, reverse=True)


def preview(session: Session, site: Site, today: date) -> dict[str, Any]:
    """Import and export prices for today and the next days, on a 15-minute grid (epoch seconds),
    for the chart; a day without prices (no tariff, market prices not yet known) is a gap and a
    note says why."""
    days = [today + timedelta(days=i) for i in range(PREVIEW_DAYS + 1)]
    edges = [site_midnight(site, d) for d in days]
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
    confirm_missing: date | None = None,
) -> HTMLResponse:
    today = site_today(site, request_now(request))
    rows = tariff_repo.tariff_rows(session, site.id, direction)
    versions = _versions(rows, today)
    by = setters(session, rows)
    for v in versions:
        v.set_by = by.get(v.created_by or "")
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
    area = site_area(site)
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
        can_edit=caller.can(Kind.TARIFF, Action.UPDATE),
        can_delete=caller.can(Kind.TARIFF, Action.DELETE),
        site_zone=zone(site.timezone),
        automatic=bool(area) or form.kind == "market",
        area=area or "",
        area_name=AREAS[area].name if area in AREAS else "",
        sources=_sources_for(area, form.source),
        areas=sorted(AREAS),
        preview=prices,
        preview_json=script_json(prices),
        preview_days=PREVIEW_DAYS,
        blank_period=PeriodForm(lists={name: whole_day() for name in SLOT_LISTS}),
        blank_slot=SlotForm(),
        price_text=price_text,
        error=error,
        notice=notice,
        confirm_missing=confirm_missing,
        fetches=market_status.statuses(session, area) if area else [],
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
    site = tariff_site(session, caller, site_id, Action.UPDATE)
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
    now = request_now(request)
    if body.kind == "market" and data.get("confirm_missing") != "yes":
        tomorrow = missing_tomorrow(session, site, body.source or "", body.area or "", now)
        if tomorrow is not None:
            return _tariff_page(
                request,
                session,
                caller,
                site,
                direction,
                form,
                confirm_missing=tomorrow,
                status_code=409,
            )
    try:
        tariffs.set_tariff(session, caller, site, direction, body, now)
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
    site = tariff_site(session, caller, site_id, Action.DELETE)
    direction = direction.upper()
    if direction not in DIRECTIONS:
        raise NotFound("tariff direction")
    try:
        tariffs.delete_tariff(session, caller, site, tariff_id, request_now(request))
    except NotFound as exc:
        session.rollback()
        return _tariff_page(request, session, caller, site, direction, error=exc.message)
    return RedirectResponse(
        f"/sites/{site.id}/tariff?direction={direction}&done=deleted", status_code=303
    )
