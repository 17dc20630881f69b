"""Portal: the OCPP card on a charger's page: its connection (version), a form to send it any
OCPP command and see the answer (audited), its message log, and the id tags of its site."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from voltfleet.app.charging import departure_defaults, id_tags, ocpp_service
from voltfleet.app.charging.charger_link import charger_link
from voltfleet.app.charging.connections import registry
from voltfleet.app.charging.ocpp_schemas import IdTagIn, OcppCommandOut
from voltfleet.app.deps import DbSession
from voltfleet.app.portal.render import render
from voltfleet.app.portal.session import check_csrf, require_caller
from voltfleet.domain.access import Action, Kind
from voltfleet.protocols.ocpp.commands import ACTIONS
from voltfleet.usecases.errors import AppError, Unavailable

router = APIRouter(include_in_schema=False)


def _card(
    request: Request,
    session: Session,
    device_id: str,
    *,
    answer: OcppCommandOut | None = None,
    error: str | None = None,
    notice: str | None = None,
    action: str = "",
    params: str = "{}",
) -> HTMLResponse:
    caller = require_caller(request, session)
    device = ocpp_service.charger_for(session, caller, device_id, Action.READ)
    connections = registry(request.app.state.runtime)
    journal = connections.journal_if_any(device.id)
    return render(
        request,
        "portal/_charger_ocpp.html",
        caller,
        device=device,
        version=ocpp_service.version_of(connections, device.id),
        messages=list(reversed(journal.entries() if journal else []))[:50],
        actions=ACTIONS,
        can_command=caller.can(Kind.DEVICE, Action.UPDATE),
        can_edit_tags=caller.can(Kind.SITE, Action.UPDATE),
        tags=id_tags.of_site(session, device.site_id),
        tag_defaults=departure_defaults.tag_defaults(session, device.site_id),
        answer=json.dumps(answer.model_dump(), indent=2) if answer else None,
        error=error,
        notice=notice,
        action=action,
        params=params,
    )


@router.get("/device/{device_id}/ocpp", response_class=HTMLResponse)
def charger_ocpp(request: Request, session: DbSession, device_id: str) -> HTMLResponse:
    return _card(request, session, device_id)


@router.post("/device/{device_id}/ocpp", response_class=HTMLResponse)
async def send_from_portal(
    request: Request,
    session: DbSession,
    device_id: str,
    csrf: Annotated[str, Form()],
    action: Annotated[str, Form()],
    params: Annotated[str, Form()] = "{}",
) -> HTMLResponse:
    """The command form: an action and its parameters as JSON (platform words)."""
    check_csrf(request, csrf)
    caller = require_caller(request, session)
    answer = error = None
    try:
        device = ocpp_service.charger_for(session, caller, device_id, Action.UPDATE)
        try:
            parsed: Any = json.loads(params or "{}")
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            error = 'the parameters are a JSON object, e.g. {"connector_id": 1}'
        elif action not in ACTIONS:
            error = f"unknown command {action!r}"
        else:
            link = charger_link(request.app.state.runtime)
            version = link.version_of(device.id)
            try:
                if version is None:
                    raise Unavailable("the charger is not connected to the platform now")
                parsed = ocpp_service.resolve_params(session, device, version, action, parsed)
                answer = await ocpp_service.send(link, device, action, parsed)
            except AppError as exc:
                error = exc.message
            ocpp_service.record_command(session, caller, device, action, parsed, answer, error)
            session.commit()
    except AppError as exc:
        session.rollback()
        error = exc.message
    return _card(
        request, session, device_id, answer=answer, error=error, action=action, params=params
    )


@router.post("/device/{device_id}/ocpp/id-tags", response_class=HTMLResponse)
def save_tag_from_portal(
    request: Request,
    session: DbSession,
    device_id: str,
    csrf: Annotated[str, Form()],
    tag: Annotated[str, Form()],
    label: Annotated[str, Form()] = "",
    active: Annotated[str, Form()] = "",
    departure_time: Annotated[str, Form()] = "",
    energy_need_kwh: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Add or change an id tag of the charger's site, with its default departure (both fields
    empty: none)."""
    check_csrf(request, csrf)
    caller = require_caller(request, session)
    error = notice = None
    try:
        device = ocpp_service.charger_for(session, caller, device_id, Action.READ)
        body = IdTagIn(tag=tag[:36] or " ", label=label[:100], active=bool(active))
        default = departure_defaults.form_default(departure_time, energy_need_kwh)
        saved = ocpp_service.put_tag(session, caller, device.site_id, body)
        departure_defaults.put_or_clear_tag_default(
            session, caller, device.site_id, saved.id, default
        )
        session.commit()
        notice = f"id tag {tag} saved"
    except AppError as exc:
        session.rollback()
        error = exc.message
    except ValueError:
        error = "an id tag is 1 to 36 characters"
    return _card(request, session, device_id, error=error, notice=notice)
