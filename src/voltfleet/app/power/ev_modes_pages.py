"""The power screen's departure times (each running session: its departure and energy need, and
whether it will be ready) and 1p/3p switching (each connector in the tree), as forms."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from voltfleet.app.deps import DbSession, request_now
from voltfleet.app.i18n import gettext, gettext_noop
from voltfleet.app.portal.render import attempt, first_error
from voltfleet.app.portal.session import check_csrf, require_caller
from voltfleet.app.power import ev_modes
from voltfleet.app.power.ev_modes_schemas import DepartureIn, PhaseSwitchingIn
from voltfleet.app.power.pages import DONE, Fields, _page
from voltfleet.app.sites.repository import SiteRepository
from voltfleet.domain.access import Action

router = APIRouter(include_in_schema=False)
DONE.update(
    {
        "departure": gettext_noop("Departure time saved."),
        "departure_cleared": gettext_noop("Departure time cleared."),
        "phase_switching": gettext_noop("Phase switching saved."),
    }
)


def _not_saved(reason: str) -> str:
    return gettext("Not saved: %(error)s") % {"error": reason}


def _local(text: str, zone: str) -> datetime:
    """A ``datetime-local`` field (the site's clock) as an aware instant."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


@router.post("/sites/{site_id}/power/departures/{session_id}")
def post_departure(
    request: Request, session: DbSession, site_id: str, session_id: str, f: Fields
) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, f.get("csrf", ""))
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    now = request_now(request)
    if f.get("clear"):
        run: Any = lambda: ev_modes.clear_departure(session, caller, session_id)  # noqa: E731
        done = "departure_cleared"
    else:
        try:
            body = DepartureIn(
                departure_at=_local(f.get("departure_at", ""), site.timezone or "UTC"),
                energy_need_kwh=float(f.get("energy_need_kwh", "") or "nan"),
            )
        except (ValidationError, ValueError) as exc:
            return _page(request, session, caller, site,
                         error=_not_saved(first_error(exc)), status_code=422)  # fmt: skip
        run = lambda: ev_modes.set_departure(session, caller, session_id, body, now, "portal")  # noqa: E731
        done = "departure"
    _done, error = attempt(session, run)
    if error:
        return _page(request, session, caller, site, error=_not_saved(error), status_code=422)
    return RedirectResponse(f"/sites/{site.id}/power?done={done}", status_code=303)


@router.post("/sites/{site_id}/power/connectors/{connector_id}/phase-switching")
def post_phase_switching(
    request: Request, session: DbSession, site_id: str, connector_id: str, f: Fields
) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, f.get("csrf", ""))
    site = SiteRepository(session, caller).get_for(site_id, Action.UPDATE)
    try:
        raw: dict[str, Any] = {"enabled": bool(f.get("enabled"))}
        for name in ("up_delay_s", "down_delay_s", "min_interval_s"):
            if f.get(name, "").strip():
                raw[name] = f[name]
        body = PhaseSwitchingIn.model_validate(raw)
    except ValidationError as exc:
        return _page(request, session, caller, site,
                     error=_not_saved(first_error(exc)), status_code=422)  # fmt: skip
    _done, error = attempt(
        session, lambda: ev_modes.set_phase_switching(session, caller, site, connector_id, body)
    )
    if error:
        return _page(request, session, caller, site, error=_not_saved(error), status_code=422)
    return RedirectResponse(f"/sites/{site.id}/power?done=phase_switching", status_code=303)
