"""Portal: the departure card on a charger's page. Each connector's running session with its
departure, energy need and outlook, a form to set or clear it (who may update chargers: as the
API), and the connector's default departure for sessions whose tag has none. An htmx fragment;
a form answers with the card again (422 for bad input, unless htmx asks: it swaps only 2xx)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.app.charging import departure_defaults, ocpp_service
from voltfleet.app.charging.departure_defaults_schemas import DepartureDefaultIn
from voltfleet.app.deps import DbSession, request_now
from voltfleet.app.i18n import gettext
from voltfleet.app.portal.render import first_error, render
from voltfleet.app.portal.session import check_csrf, require_caller
from voltfleet.app.power import ev_modes
from voltfleet.app.power.ev_modes_schemas import DepartureIn
from voltfleet.domain.access import Action, Kind
from voltfleet.store.charging_models import ChargingSession
from voltfleet.store.fleet_models import Connector
from voltfleet.store.models import Site
from voltfleet.usecases.errors import AppError, NotFound

router = APIRouter(include_in_schema=False)


def _card(
    request: Request,
    session: Session,
    device_id: str,
    *,
    error: str | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    caller = require_caller(request, session)
    device = ocpp_service.charger_for(session, caller, device_id, Action.READ)
    site = session.get(Site, device.site_id)
    assert site is not None
    now = request_now(request)
    running = {
        d.connector_no: d
        for d in ev_modes.departures(session, site, now, only_set=False)
        if d.charger_serial == device.serial
    }
    connectors = list(
        session.scalars(
            select(Connector)
            .where(Connector.charger_id == device.id)
            .order_by(Connector.connector_no)
        )
    )
    failed = error is not None and request.headers.get("hx-request") != "true"
    return render(
        request,
        "portal/_charger_departure.html",
        caller,
        status_code=422 if failed else 200,
        device=device,
        site=site,
        connectors=connectors,
        running=running,
        defaults=departure_defaults.connector_defaults(session, site.id, device.id),
        can_set=caller.can(Kind.DEVICE, Action.UPDATE),
        error=error,
        notice=notice,
    )


def _not_saved(reason: str) -> str:
    return gettext("Not saved: %(error)s") % {"error": reason}


def _local(text: str, zone: str) -> datetime:
    """A ``datetime-local`` field (the site's clock) as an aware instant."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


@router.get("/device/{device_id}/departure", response_class=HTMLResponse)
def charger_departure(request: Request, session: DbSession, device_id: str) -> HTMLResponse:
    return _card(request, session, device_id)


def _attempt(session: Session, run: Any) -> str | None:
    try:
        run()
        session.commit()
        return None
    except AppError as exc:
        session.rollback()
        return str(exc.message)


@router.post("/device/{device_id}/departure/{session_id}", response_class=HTMLResponse)
def post_session_departure(
    request: Request,
    session: DbSession,
    device_id: str,
    session_id: str,
    csrf: Annotated[str, Form()],
    departure_at: Annotated[str, Form()] = "",
    energy_need_kwh: Annotated[str, Form()] = "",
    clear: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Set (or clear) the departure of the session running on one of this charger's
    connectors; the time is on the site's clock."""
    check_csrf(request, csrf)
    caller = require_caller(request, session)
    device = ocpp_service.charger_for(session, caller, device_id, Action.READ)
    row = session.get(ChargingSession, session_id)
    if row is None or row.device_id != device.id:
        raise NotFound("charging session")
    site = session.get(Site, device.site_id)
    assert site is not None
    now = request_now(request)
    if clear:
        error = _attempt(session, lambda: ev_modes.clear_departure(session, caller, row.id))
        notice = gettext("Departure time cleared.")
    else:
        try:
            body = DepartureIn(
                departure_at=_local(departure_at, site.timezone or "UTC"),
                energy_need_kwh=float(energy_need_kwh or "nan"),
            )
        except (ValidationError, ValueError) as exc:
            return _card(request, session, device_id, error=_not_saved(_reason(exc)))
        error = _attempt(
            session,
            lambda: ev_modes.set_departure(session, caller, row.id, body, now, "portal"),
        )
        notice = gettext("Departure time saved.")
    if error:
        return _card(request, session, device_id, error=_not_saved(error))
    return _card(request, session, device_id, notice=notice)


@router.post("/device/{device_id}/departure-default/{connector_id}", response_class=HTMLResponse)
def post_connector_default(
    request: Request,
    session: DbSession,
    device_id: str,
    connector_id: str,
    csrf: Annotated[str, Form()],
    departure_time: Annotated[str, Form()] = "",
    energy_need_kwh: Annotated[str, Form()] = "",
    clear: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """A connector's default departure (for sessions whose tag has none), or none."""
    check_csrf(request, csrf)
    caller = require_caller(request, session)
    device = ocpp_service.charger_for(session, caller, device_id, Action.READ)
    conn = session.get(Connector, connector_id)
    if conn is None or conn.charger_id != device.id:
        raise NotFound("connector")
    if clear:
        error = _attempt(
            session,
            lambda: departure_defaults.clear_connector_default(
                session, caller, device.site_id, conn.id
            ),
        )
        notice = gettext("Default departure cleared.")
    else:
        try:
            body = DepartureDefaultIn(
                departure_time=departure_time, energy_need_kwh=float(energy_need_kwh or "nan")
            )
        except (ValidationError, ValueError) as exc:
            return _card(request, session, device_id, error=_not_saved(_reason(exc)))
        error = _attempt(
            session,
            lambda: departure_defaults.set_connector_default(
                session, caller, device.site_id, conn.id, body
            ),
        )
        notice = gettext("Default departure saved.")
    if error:
        return _card(request, session, device_id, error=_not_saved(error))
    return _card(request, session, device_id, notice=notice)


def _reason(exc: ValueError) -> str:
    if isinstance(exc, ValidationError):
        return first_error(exc)
    return gettext("a departure is a date and time, and an energy need in kWh")
