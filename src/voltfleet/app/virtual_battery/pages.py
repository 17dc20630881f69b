"""Virtual batteries in the portal: the partner's configuration (list, add, edit, delete) and
the customer's view of one as a meter (battery symbol, level, live power, load profile, energy
per day/month/year, savings, CSV downloads)."""

from __future__ import annotations

from datetime import date, timedelta
from html import escape
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from voltfleet.app.deps import DbSession, request_now
from voltfleet.app.i18n import gettext
from voltfleet.app.portal import notices
from voltfleet.app.portal.notices import ErrorArg, NoticeArg
from voltfleet.app.portal.render import attempt, first_error, render
from voltfleet.app.portal.session import check_csrf, require_caller
from voltfleet.app.virtual_battery import ledger_views, service
from voltfleet.app.virtual_battery.schemas import VirtualBatteryIn, VirtualBatteryPatch
from voltfleet.domain.access import VIRTUAL_BATTERY_ORGS, Action, Kind, OrgType, Role
from voltfleet.domain.fleet import zone
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Org, Site, User
from voltfleet.store.virtual_battery_models import VirtualBatteryInterval
from voltfleet.usecases.errors import Invalid

router = APIRouter()
BASE = "/virtual-batteries"


def _choices(session: DbSession, org: Org) -> tuple[list[User], list[tuple[Device, Site, User]]]:
    """Customers (users of the partner's account) and their house meters, for the form."""
    orgs = select(Org.id).where(Org.path.startswith(org.path))
    users = list(session.scalars(select(User).where(User.org_id.in_(orgs)).order_by(User.email)))
    by_id = {u.id: u for u in users}
    meters = session.execute(
        select(Device, Site)
        .join(Site, Site.id == Device.site_id)
        .where(
            Device.kind == "meter",
            Device.deleted_at.is_(None),
            Site.deleted_at.is_(None),
            Site.org_id.in_(orgs),
            Site.owner_id.in_(list(by_id)),
        )
        .order_by(Site.name)
    ).all()
    return users, [(d, s, by_id[s.owner_id]) for d, s in meters if s.owner_id in by_id]


@router.get(BASE, response_class=HTMLResponse)
def battery_list(
    request: Request, session: DbSession, error: ErrorArg = None, notice: NoticeArg = None
) -> HTMLResponse:
    caller = require_caller(request, session)
    batteries = [service.view(session, b) for b in service.list_for(session, caller)]
    partner = caller.superuser or (
        OrgType(caller.org.type) in VIRTUAL_BATTERY_ORGS and caller.role is not Role.OWNER
    )
    customers, meters = _choices(session, caller.org) if partner else ([], [])
    return render(
        request,
        "portal/virtual_batteries.html",
        caller,
        batteries=batteries,
        partner=partner and caller.can(Kind.VIRTUAL_BATTERY, Action.CREATE),
        customers=customers,
        meters=meters,
        today=request_now(request).date().isoformat(),
        error=error,
        notice=notice,
    )


@router.post(BASE)
def battery_add(
    request: Request,
    session: DbSession,
    csrf: Annotated[str, Form()],
    name: Annotated[str, Form()] = "",
    meter: Annotated[str, Form()] = "",
    capacity_kwh: Annotated[str, Form()] = "0",
    start_date: Annotated[str, Form()] = "",
    reset_on: Annotated[str, Form()] = "",
    reset_yearly: Annotated[str, Form()] = "",
) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    customer_id, _, meter_id = meter.partition("/")
    try:
        data = VirtualBatteryIn(
            name=name,
            customer_id=customer_id,
            meter_id=meter_id,
            capacity_kwh=float(capacity_kwh or 0),
            start_date=date.fromisoformat(start_date),
            reset_on=date.fromisoformat(reset_on) if reset_on else None,
            reset_yearly=bool(reset_yearly),
        )
    except (ValidationError, ValueError) as exc:
        message = first_error(exc) if isinstance(exc, ValidationError) else str(exc)
        return battery_list(request, session, error=message)
    now = request_now(request)
    row, error = attempt(session, lambda: service.create(session, caller, data, now))
    if row is None:
        return battery_list(request, session, error=error)
    return RedirectResponse(f"{BASE}/{row.id}", 303)


def _period(period: str, day: str, today: date) -> tuple[str, date]:
    if period not in ("day", "month", "year"):
        period = "day"
    try:
        d = date.fromisoformat(day) if day else today
    except ValueError:
        raise Invalid(f"'{day}' is not a date (YYYY-MM-DD)") from None
    return period, d


@router.get(BASE + "/{battery_id}", response_class=HTMLResponse)
def battery_page(
    request: Request,
    session: DbSession,
    battery_id: str,
    period: str = "day",
    day: str = "",
    error: ErrorArg = None,
    notice: NoticeArg = None,
) -> HTMLResponse:
    caller = require_caller(request, session)
    row = service.get(session, caller, battery_id, Action.READ)
    tz = service.site_zone_name(session, row)
    now = request_now(request)
    today = now.astimezone(zone(tz)).date()
    period, d = _period(period, day, today)
    energy = ledger_views.energy(session, row, period, d)
    start, end = ledger_views.period_window("day", d, tz)
    profile = ledger_views.intervals(session, row, start, end)
    live = service.live(session, row)
    steps = {"day": timedelta(days=1), "month": timedelta(days=31), "year": timedelta(days=366)}
    return render(
        request,
        "portal/virtual_battery.html",
        caller,
        b=service.view(session, row),
        live=live,
        energy=energy,
        period=period,
        day=d,
        prev_day=(d - steps[period]).isoformat(),
        next_day=(d + steps[period]).isoformat(),
        profile=profile,
        profile_svg=_svg(profile, row.capacity_wh),
        tz=tz,
        zone=zone(tz),
        start_of=ledger_views.start_of,
        csv_window=f"start_time={start.isoformat().replace('+00:00', 'Z')}"
        f"&end_time={end.isoformat().replace('+00:00', 'Z')}",
        can_edit=caller.can(Kind.VIRTUAL_BATTERY, Action.UPDATE),
        can_delete=caller.can(Kind.VIRTUAL_BATTERY, Action.DELETE),
        error=error,
        notice=notice,
    )


def _svg(
    rows: list[VirtualBatteryInterval], capacity_wh: float, width: int = 480, height: int = 120
) -> str:
    """The day's level as a polyline (the load profile's shape at a glance)."""
    if not rows:
        return ""
    top = max(capacity_wh, max(r.level_wh for r in rows), 1.0)
    step = width / max(len(rows) - 1, 1)
    points = " ".join(
        f"{k * step:.1f},{height - r.level_wh / top * (height - 4):.1f}" for k, r in enumerate(rows)
    )
    return (
        # as wide as the phone allows (was a fixed 480 px: wider than a 390 px screen's box)
        f'<svg id="level-chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'style="max-width:100%;height:auto" role="img" '
        f'aria-label="{escape(gettext("level over the day"))}"><polyline fill="none" stroke="#2a7" '
        f'stroke-width="2" points="{points}"/></svg>'
    )


@router.get(BASE + "/{battery_id}/live", response_class=HTMLResponse)
def battery_live(request: Request, session: DbSession, battery_id: str) -> HTMLResponse:
    """The live panel (the page reloads it every 10 seconds)."""
    caller = require_caller(request, session)
    row = service.get(session, caller, battery_id, Action.READ)
    return render(
        request,
        "portal/_virtual_battery_live.html",
        caller,
        b=service.view(session, row),
        live=service.live(session, row),
        tz=service.site_zone_name(session, row),  # one clock: the site's, as the ledger's hours
    )


@router.get(BASE + "/{battery_id}/intervals.csv")
def battery_intervals_csv(
    request: Request, session: DbSession, battery_id: str, start_time: str, end_time: str
) -> Response:
    from datetime import datetime

    caller = require_caller(request, session)
    row = service.get(session, caller, battery_id, Action.READ)
    try:
        start = datetime.fromisoformat(start_time.replace("Z", "+00:00"))
        end = datetime.fromisoformat(end_time.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid("start_time and end_time must be ISO 8601 instants") from None
    rows = ledger_views.intervals(session, row, start, end)
    tz = service.site_zone_name(session, row)
    if request.query_params.get("per") == "day":
        table = ledger_views.day_table(ledger_views.grouped(rows, "month", tz), tz)
        return table.download(f"virtual-battery-{row.id}-days.csv")
    return ledger_views.interval_table(rows).download(f"virtual-battery-{row.id}.csv")


@router.post(BASE + "/{battery_id}")
def battery_edit(
    request: Request,
    session: DbSession,
    battery_id: str,
    csrf: Annotated[str, Form()],
    name: Annotated[str, Form()] = "",
    capacity_kwh: Annotated[str, Form()] = "",
    start_date: Annotated[str, Form()] = "",
    reset_on: Annotated[str, Form()] = "",
    reset_yearly: Annotated[str, Form()] = "",
) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    try:
        data = VirtualBatteryPatch(
            name=name or None,
            capacity_kwh=float(capacity_kwh) if capacity_kwh else None,
            start_date=date.fromisoformat(start_date) if start_date else None,
            reset_on=date.fromisoformat(reset_on) if reset_on else None,
            reset_yearly=bool(reset_yearly),
            clear_reset=not reset_on,
        )
    except (ValidationError, ValueError) as exc:
        message = first_error(exc) if isinstance(exc, ValidationError) else str(exc)
        return battery_page(request, session, battery_id, error=message)
    now = request_now(request)
    row, error = attempt(session, lambda: service.update(session, caller, battery_id, data, now))
    if row is None:
        return battery_page(request, session, battery_id, error=error)
    return battery_page(
        request, session, battery_id, notice=gettext("Saved; the ledger was recomputed.")
    )


@router.post(BASE + "/{battery_id}/delete")
def battery_delete(
    request: Request, session: DbSession, battery_id: str, csrf: Annotated[str, Form()]
) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    _done, error = attempt(session, lambda: service.delete(session, caller, battery_id))
    if error:
        return battery_page(request, session, battery_id, error=error)
    return notices.redirect(request, BASE, notice="deleted")
