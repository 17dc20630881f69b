"""The OCPP endpoint chargers connect to: ``ws(s)://<host>/ocpp/<charge point id>`` for OCPP 1.6J
and 2.0.1 alike (the WebSocket subprotocol the charger offers picks the version: ``ocpp2.0.1`` or
``ocpp1.6``; of several, the first the charger lists that the platform speaks).
``/ocpp/1.6/<charge point id>`` stays as an alias of the same endpoint.

Security profile 3 (``app.charging.tls``): a client certificate verified by the TLS handshake,
whose common name must be the charge point id (another charger's valid certificate is refused).
Security profile 1 (profile 2 over TLS), without a certificate: HTTP Basic with the charge point
id as the user name (the charger device's serial number) and the charger's password (its token,
issued like a gateway's with POST /api/v1/devices/{id}/token, stored hashed). Everything is
checked before the WebSocket is accepted: an unknown or removed charger, a wrong password or no
subprotocol the platform speaks get an HTTP error response and no connection. A second
connection of the same charger wins (it has authenticated): the old socket is closed, logged and
audited.

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
from voltfleet.app.charging.link import (
    CERTIFICATE,
    AppChargerLink,
    credential_id_for,
    mark_offline,
)
from voltfleet.app.charging.socket import StarletteSocket
from voltfleet.app.charging.tls import client_certificate_name
from voltfleet.app.runtime import Runtime
from voltfleet.app.security import sha256
from voltfleet.domain.fleet import normalise_serial
from voltfleet.protocols.ocpp.bounds import Bounds
from voltfleet.protocols.ocpp.central16 import SUBPROTOCOL as OCPP16_SUBPROTOCOL
from voltfleet.protocols.ocpp.central16 import CentralSystem16
from voltfleet.protocols.ocpp.central201 import SUBPROTOCOL as OCPP201_SUBPROTOCOL
from voltfleet.protocols.ocpp.central201 import CentralSystem201
from voltfleet.protocols.ocpp.connection import (
    CLOSE_POLICY,
    OCPP16,
    OCPP201,
    Channel,
    Dialect,
    Disconnected,
)
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import AuditEntry, Site

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


# subprotocol -> (central system, its CALLERROR dialect)
VERSIONS: dict[str, tuple[type[CentralSystem16] | type[CentralSystem201], Dialect]] = {
    OCPP201_SUBPROTOCOL: (CentralSystem201, OCPP201),
    OCPP16_SUBPROTOCOL: (CentralSystem16, OCPP16),
}


def pick_version(offered: list[str]) -> str | None:
    """The first subprotocol the charger offers that the platform speaks."""
    return next((p for p in offered if p in VERSIONS), None)


def _replaced(runtime: Runtime, device_id: str, charge_point_id: str, address: str) -> None:
    """Audit a second connection that replaced the charger's open one."""
    with runtime.db.session() as s:
        device = s.get(Device, device_id)
        site = s.get(Site, device.site_id) if device is not None else None
        s.add(
            AuditEntry(
                at=runtime.clock.now(),
                actor_id=None,
                actor_email="",
                org_id=site.org_id if site is not None else None,
                action="ocpp.connection_replaced",
                object_type="device",
                object_id=device_id,
                address=address[:64],
                detail={
                    "charge_point_id": charge_point_id[:64],
                    "why": "a new authenticated connection of the charger closed the open one",
                },
            )
        )
        s.commit()


def _by_certificate(runtime: Runtime, charge_point_id: str) -> tuple[str, str] | None:
    """(device id, CERTIFICATE) of the live charger whose serial is the certificate's name."""
    with runtime.db.session() as s:
        device = service.charger_by_serial(s, charge_point_id)
        return (device.id, CERTIFICATE) if device is not None else None


def _offline(runtime: Runtime, device_id: str) -> None:
    mark_offline(runtime, device_id)


@router.websocket("/ocpp/1.6/{charge_point_id}")
async def ocpp16(websocket: WebSocket, charge_point_id: str) -> None:
    """The OCPP 1.6J address of earlier releases: the same endpoint."""
    await ocpp(websocket, charge_point_id)


@router.websocket("/ocpp/{charge_point_id}")
async def ocpp(websocket: WebSocket, charge_point_id: str) -> None:
    runtime: Runtime = websocket.app.state.runtime
    version = pick_version(list(websocket.scope.get("subprotocols") or []))
    if version is None:
        await _refuse(websocket, 400, "offer the WebSocket subprotocol 'ocpp2.0.1' or 'ocpp1.6'")
        return
    certificate = client_certificate_name(websocket.scope)
    if certificate is not None:  # security profile 3: the certificate is the credential
        if normalise_serial(certificate) != normalise_serial(charge_point_id):
            log.warning(
                "OCPP: refused charge point %r: its certificate is %r's",
                charge_point_id[:64],
                certificate[:64],
            )
            await _refuse(websocket, 403, "the client certificate is another charger's")
            return
        found = await run_in_threadpool(_by_certificate, runtime, charge_point_id)
        if found is None:
            await _refuse(websocket, 403, "no charger on the platform has this certificate")
            return
    else:
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
    central, dialect = VERSIONS[version]

    await websocket.accept(subprotocol=version)

    registry = connections(websocket.app)
    journal = registry.journal(device_id)
    journal.add("event", f"connected (OCPP {central.version})")
    channel = Channel(
        StarletteSocket(websocket),
        registry.limits,
        registry.bucket(device_id),
        dialect=dialect,
        journal=journal,
    )

    async def gone(reason: str) -> None:
        channel.close_after_next_send(CLOSE_POLICY, reason)

    link = AppChargerLink(runtime, device_id, credential_id, gone)
    bounds = Bounds(max_connector_id=runtime.settings.ocpp_max_connector_id)
    cp = central(charge_point_id, channel, link, bounds)
    serial = normalise_serial(charge_point_id)
    if await registry.attach(device_id, cp, channel, credential_id, serial):
        journal.add("event", "replaced the previous connection")
        client = websocket.client
        address = client.host if client else ""
        await run_in_threadpool(_replaced, runtime, device_id, charge_point_id, address)
    log.info("OCPP: charger %s connected (OCPP %s)", charge_point_id, central.version)
    try:
        await channel.serve(cp)
    except Disconnected:
        pass
    except Exception as exc:  # a server shutting down ...
        log.info("OCPP: charger %s connection ended: %r", charge_point_id, exc)
    finally:
        journal.add("event", "disconnected")
        if registry.detach(device_id, cp):
            await run_in_threadpool(_offline, runtime, device_id)
        counts = channel.counts
        log.info(
            "OCPP: charger %s disconnected (%d frames: %d calls, %d refused, %d dropped, "
            "%d over the rate limit)",
            charge_point_id, counts.received, counts.calls, counts.refused, counts.dropped,
            counts.rate_limited,
        )  # fmt: skip
