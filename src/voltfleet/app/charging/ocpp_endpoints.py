"""OCPP operations over HTTP: O&M send a connected charger any OCPP command and get its answer
(audited), read its message log; a site's id tags (RFID cards, tokens) its chargers accept."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from voltfleet.app.charging import ocpp_service
from voltfleet.app.charging.charger_link import charger_link
from voltfleet.app.charging.connections import registry
from voltfleet.app.charging.ocpp_schemas import (
    IdTagIn,
    IdTagOut,
    OcppCommandIn,
    OcppCommandOut,
    OcppLogOut,
    OcppMessageOut,
)
from voltfleet.app.deps import CallerDep, DbSession
from voltfleet.domain.access import Action
from voltfleet.usecases.errors import AppError, Unavailable

router = APIRouter(tags=["charging"])


@router.post(
    "/api/v1/devices/{device_id}/ocpp/commands",
    response_model=OcppCommandOut,
    summary="Send a connected charger an OCPP command and get its answer (O&M, audited)",
)
async def send_ocpp_command(
    request: Request, session: DbSession, caller: CallerDep, device_id: str, body: OcppCommandIn
) -> OcppCommandOut:
    """The command goes to the charger now, over its open OCPP connection (1.6J or 2.0.1: the
    same platform words for both), and the answer is the charger's. A charger that is not
    connected: 503. A command the charger's version does not have, or a parameter missing or
    wrong: 400. Every attempt is in the audit log, with the answer or the error."""
    runtime = request.app.state.runtime
    device = ocpp_service.charger_for(session, caller, device_id, Action.UPDATE)
    link = charger_link(runtime)
    version = link.version_of(device.id)
    params = dict(body.params)
    try:
        if version is None:
            raise Unavailable("the charger is not connected to the platform now")
        params = ocpp_service.resolve_params(session, device, version, body.action, params)
        answer = await ocpp_service.send(link, device, body.action, params)
    except AppError as exc:
        ocpp_service.record_command(session, caller, device, body.action, params, None, str(exc))
        session.commit()  # the attempt is audited although the request fails
        raise
    ocpp_service.record_command(session, caller, device, body.action, params, answer, None)
    return answer


@router.get(
    "/api/v1/devices/{device_id}/ocpp/messages",
    response_model=OcppLogOut,
    summary="A charger's OCPP message log: the last frames both ways, oldest first",
)
def ocpp_messages(
    request: Request, session: DbSession, caller: CallerDep, device_id: str
) -> OcppLogOut:
    device = ocpp_service.charger_for(session, caller, device_id, Action.READ)
    connections = registry(request.app.state.runtime)
    journal = connections.journal_if_any(device.id)
    entries = journal.entries() if journal is not None else []
    return OcppLogOut(
        connected=connections.get(device.id) is not None,
        version=ocpp_service.version_of(connections, device.id),
        messages=[OcppMessageOut(at=e.at, direction=e.direction, text=e.text) for e in entries],  # type: ignore[arg-type]
    )


@router.get(
    "/api/v1/sites/{site_id}/id-tags",
    response_model=list[IdTagOut],
    summary="The id tags (RFID cards, tokens) the site's chargers accept",
)
def list_id_tags(session: DbSession, caller: CallerDep, site_id: str) -> list[IdTagOut]:
    """A site without tags accepts every tag; with tags, only its active ones."""
    return ocpp_service.list_tags(session, caller, site_id)


@router.put(
    "/api/v1/sites/{site_id}/id-tags",
    response_model=IdTagOut,
    summary="Add an id tag to a site, or change one (label, active); audited",
)
def put_id_tag(session: DbSession, caller: CallerDep, site_id: str, body: IdTagIn) -> IdTagOut:
    return ocpp_service.put_tag(session, caller, site_id, body)


@router.delete(
    "/api/v1/sites/{site_id}/id-tags/{tag_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove an id tag from a site; audited",
)
def delete_id_tag(session: DbSession, caller: CallerDep, site_id: str, tag_id: str) -> Response:
    ocpp_service.delete_tag(session, caller, site_id, tag_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
