"""Commands over HTTP: people send and follow them; gateways without MQTT fetch theirs and
answer with their own token (``Authorization: Bearer <gateway token>``, as for ingest)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, status
from sqlalchemy.orm import Session

from voltfleet.app.commands import service
from voltfleet.app.commands.repository import CommandRepository
from voltfleet.app.commands.schemas import CommandIn, CommandOut, GatewayCommandsOut, ReplyIn
from voltfleet.app.deps import CallerDep, DbSession, NowDep
from voltfleet.app.devices.repository import DeviceRepository
from voltfleet.app.pagination import Page, Paging, paginate
from voltfleet.app.telemetry.service import gateway_for_token
from voltfleet.domain.access import Action
from voltfleet.store.command_models import Command
from voltfleet.store.fleet_models import Device
from voltfleet.usecases import commands as uc
from voltfleet.usecases.errors import Conflict

router = APIRouter(tags=["commands"])


@router.post(
    "/api/v1/devices/{device_id}/commands",
    response_model=CommandOut,
    status_code=status.HTTP_201_CREATED,
    summary="Send a command to a battery or hybrid inverter (O&M engineers and administrators)",
)
def send_command(
    session: DbSession, caller: CallerDep, now: NowDep, device_id: str, body: CommandIn
) -> CommandOut:
    """The command is queued for the gateway above the device, which gets it over MQTT (when
    connected to the broker) or at its next ``GET /api/v1/gateway/commands``. Follow its state
    with ``GET /api/v1/commands/{id}``: queued -> sent -> acknowledged | failed, or expired when
    not delivered within ``ttl_s``. Audited."""
    return service.to_out(service.create(session, caller, device_id, body, now=now))


@router.get(
    "/api/v1/devices/{device_id}/commands",
    response_model=Page[CommandOut],
    summary="A device's commands, newest first",
)
def list_commands(
    session: DbSession, caller: CallerDep, now: NowDep, device_id: str, paging: Paging
) -> Page[CommandOut]:
    device = DeviceRepository(session, caller).get_for(device_id, Action.READ)
    service.sweep(session, now, device_id=device.id)
    rows, total = paginate(session, CommandRepository(session, caller).of_device(device.id), paging)
    return Page(
        items=[service.to_out(r) for r in rows],
        total=total,
        page=paging.page,
        page_size=paging.page_size,
    )


@router.get("/api/v1/commands/{command_id}", response_model=CommandOut, summary="One command")
def get_command(session: DbSession, caller: CallerDep, now: NowDep, command_id: str) -> CommandOut:
    return service.to_out(service.get(session, caller, command_id, now=now))


def _gateway(session: Session, authorization: str | None) -> Device:
    token = None
    if authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    return gateway_for_token(session, token)


@router.get(
    "/api/v1/gateway/commands",
    response_model=GatewayCommandsOut,
    summary="The commands waiting for the calling gateway (gateway token); marks them sent",
)
def gateway_commands(
    session: DbSession, now: NowDep, authorization: Annotated[str | None, Header()] = None
) -> GatewayCommandsOut:
    """For gateways without MQTT: poll every few seconds. Each command names the ``device``
    (serial number below the gateway) and its ``params``; apply it and answer with
    ``POST /api/v1/gateway/commands/{id}/reply``. A command not yet answered is handed out
    again at the next poll (recognise repeats by id) until it expires."""
    gateway = _gateway(session, authorization)
    got = uc.claim(service.repo(session), gateway.id, now, uc.HTTP, resend=True)
    return GatewayCommandsOut.model_validate({"commands": [service.wire_body(d) for d in got]})


@router.post(
    "/api/v1/gateway/commands/{command_id}/reply",
    response_model=CommandOut,
    summary="The calling gateway's answer to one of its commands (gateway token)",
)
def gateway_reply(
    session: DbSession,
    now: NowDep,
    command_id: str,
    body: ReplyIn,
    authorization: Annotated[str | None, Header()] = None,
) -> CommandOut:
    """``{"status": "acknowledged" | "failed", "message": "...", "details": {...}}``. A
    command of another gateway does not exist for the caller (404); answering again with the
    same status is harmless; a different answer to a finished command changes nothing (the
    command is applied at most once) and is answered 409, so the gateway knows it was not
    taken."""
    gateway = _gateway(session, authorization)
    reply = {"status": body.status, "message": body.message, **body.details}
    got = uc.record_reply(service.repo(session), gateway.id, command_id, reply, now)
    if got.outcome is uc.ReplyOutcome.IGNORED:
        raise Conflict(got.reason)
    assert isinstance(got.command, Command)
    return service.to_out(got.command)
