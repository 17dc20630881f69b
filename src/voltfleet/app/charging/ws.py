"""The OCPP 1.6J endpoint chargers connect to: ``ws(s)://<host>/ocpp/1.6/<charge point id>``.

Security profile 1 (profile 2 when served behind TLS): HTTP Basic with the charge point id as the
user name (the charger device's serial number) and the charger's token as the password (issued
like a gateway's, with POST /api/v1/devices/{id}/token). The subprotocol must be ``ocpp1.6``.
Everything is checked before the WebSocket is accepted: an unknown or removed charger, a wrong
password or a missing subprotocol get an HTTP error response and no connection.

Once open, the frames go through ``protocols.ocpp.connection.Channel`` (size, rate, form,
unsolicited results: see there) before the central system handles them; the connection is
closed when the charger's credential is revoked or rotated (``connections``, ``link``).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, WebSocket
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool
from websockets.exceptions import InvalidHeader
from websockets.headers import parse_authorization_basic

from voltfleet.app.charging import service
from voltfleet.app.charging.connections import connections
from voltfleet.app.charging.link import AppChargerLink, credential_id_for
from voltfleet.app.charging.socket import StarletteSocket
from voltfleet.app.runtime import Runtime
from voltfleet.app.security import sha256
from voltfleet.domain.fleet import normalise_serial
from voltfleet.protocols.ocpp.bounds import Bounds
from voltfleet.protocols.ocpp.central16 import SUBPROTOCOL, CentralSystem16
from voltfleet.protocols.ocpp.connection import CLOSE_POLICY, Channel, Disconnected

log = logging.getLogger(__name__)
router = APIRouter()

REALM = 'Basic realm="voltfleet OCPP", charset="UTF-8"'
REFUSED = (
    "unknown charger or wrong password: the user name is the charger's serial number (its charge "
    "point id) and the password its token (POST /api/v1/devices/{id}/token)"
)


async def _refuse(websocket: WebSocket, status: int, message: str) -> None:
    """Answer the upgrade request with an HTTP error instead of accepting it."""
    headers = {"WWW-Authenticate": REALM} if status == 401 else None
    try:
        await websocket.send_denial_response(
            PlainTextResponse(message, status_code=status, headers=headers)
        )
    except RuntimeError:  # a server without the denial-response extension: a plain refusal
        await websocket.close(code=1008, reason=message[:120])


def _authenticate(runtime: Runtime, charge_point_id: str, password: str) -> tuple[str, str] | None:
    """(device id, credential id) of the charger signing in with ``password``, or None."""
    with runtime.db.session() as s:
        device = service.charger_for_credential(s, charge_point_id, password)
        if device is None:
            return None
        credential_id = credential_id_for(s, device.id, sha256(password))
        return (device.id, credential_id) if credential_id is not None else None


def _offline(runtime: Runtime, device_id: str) -> None:
    with runtime.db.session() as s:
        service.mark_offline(s, device_id, now=runtime.clock.now())


@router.websocket("/ocpp/1.6/{charge_point_id}")
async def ocpp16(websocket: WebSocket, charge_point_id: str) -> None:
    runtime: Runtime = websocket.app.state.runtime
    if SUBPROTOCOL not in (websocket.scope.get("subprotocols") or []):
        await _refuse(websocket, 400, "offer the WebSocket subprotocol 'ocpp1.6'")
        return
    try:
        user, password = parse_authorization_basic(websocket.headers.get("authorization", ""))
    except InvalidHeader:
        await _refuse(websocket, 401, "send HTTP Basic credentials: " + REFUSED)
        return
    if normalise_serial(user) != normalise_serial(charge_point_id):
        await _refuse(websocket, 401, "the Basic user name must be the charge point id")
        return
    found = await run_in_threadpool(_authenticate, runtime, charge_point_id, password)
    if found is None:
        log.info("OCPP: refused charge point %r (credential)", charge_point_id[:64])
        await _refuse(websocket, 401, REFUSED)
        return

    device_id, credential_id = found

    await websocket.accept(subprotocol=SUBPROTOCOL)

    registry = connections(websocket.app)
    channel = Channel(StarletteSocket(websocket), registry.limits, registry.bucket(device_id))

    async def gone(reason: str) -> None:
        channel.close_after_next_send(CLOSE_POLICY, reason)

    link = AppChargerLink(runtime, device_id, credential_id, gone)
    bounds = Bounds(max_connector_id=runtime.settings.ocpp_max_connector_id)
    cp = CentralSystem16(charge_point_id, channel, link, bounds)
    await registry.attach(device_id, cp, channel, credential_id)
    log.info("OCPP: charger %s connected", charge_point_id)
    try:
        await channel.serve(cp)
    except Disconnected:
        pass
    except Exception as exc:  # a server shutting down ...
        log.info("OCPP: charger %s connection ended: %r", charge_point_id, exc)
    finally:
        if registry.detach(device_id, cp):
            await run_in_threadpool(_offline, runtime, device_id)
        counts = channel.counts
        log.info(
            "OCPP: charger %s disconnected (%d frames: %d calls, %d refused, %d dropped, "
            "%d over the rate limit)",
            charge_point_id, counts.received, counts.calls, counts.refused, counts.dropped,
            counts.rate_limited,
        )  # fmt: skip
