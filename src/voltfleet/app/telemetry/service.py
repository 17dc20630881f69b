"""Gateway credentials, and ingest for callers that hold a session but no runtime (tests,
benchmarks). The pipeline itself is the use case usecases.ingest.ingest; the application's paths
call it through ``Runtime.ingest`` (app/telemetry/wiring.py). Never commits: the request's unit
of work does, before the answer leaves, so an acknowledged reading is a committed one.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from voltfleet.app import audit, mqtt_broker_files
from voltfleet.app.deps import Caller
from voltfleet.app.devices.repository import DeviceRepository
from voltfleet.app.security import sha256
from voltfleet.domain.access import Action
from voltfleet.domain.fleet import DeviceKind
from voltfleet.domain.telemetry.validate import Limits
from voltfleet.ports import TimeSeriesStore
from voltfleet.protocols.mqtt.broker import BrokerFiles
from voltfleet.store.db import session_now
from voltfleet.store.fleet_models import Device
from voltfleet.store.ingest_repository import SqlIngestRepository
from voltfleet.store.models import Site
from voltfleet.store.telemetry_models import DeviceCredential
from voltfleet.usecases import ingest as usecase
from voltfleet.usecases.errors import Invalid, Unauthenticated
from voltfleet.usecases.ingest import IngestResult, ReadingLike

TOKEN_PREFIX = "vfg_"
TOKEN_KINDS = frozenset({DeviceKind.GATEWAY.value, DeviceKind.CHARGER.value})  # chargers: OCPP

# ---- credentials --------------------------------------------------------------------------------


def issue_token(
    session: Session,
    caller: Caller,
    device_id: str,
    broker_files: BrokerFiles | None = None,
    *,
    now: datetime,
) -> tuple[DeviceCredential, str]:
    """A new ingest token for a gateway, issued ``now``; the gateway's earlier tokens stop
    working (on the MQTT broker too, through ``broker_files`` when the deployment has them)."""
    device = DeviceRepository(session, caller).get_for(device_id, Action.UPDATE)
    if device.kind not in TOKEN_KINDS:
        raise Invalid(
            f"only gateways hold ingest tokens; {device.serial} is a {device.kind}: its readings "
            "come through its gateway"
        )
    session.execute(
        update(DeviceCredential)
        .where(DeviceCredential.device_id == device.id, DeviceCredential.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    cred = DeviceCredential(
        device_id=device.id,
        prefix=token[:12],
        token_hash=sha256(token),
        created_at=now,
        created_by=caller.user.id,
    )
    session.add(cred)
    mqtt_broker_files.credential_issued(session, broker_files, device.serial, cred, token)
    site = session.get(Site, device.site_id)
    audit.record(
        session,
        actor=caller.user,
        action="device.token_issued",
        object_type="device",
        object_id=device.id,
        org_id=site.org_id if site else None,
        address=caller.address,
        detail={"serial": device.serial, "prefix": cred.prefix},
    )
    return cred, token


def unauthenticated_gateway() -> Unauthenticated:
    """A new refusal each time: an exception object raised again keeps every earlier traceback
    (a module-level one grew with each unauthenticated request)."""
    return Unauthenticated(
        "send the gateway's token as 'Authorization: Bearer <token>' (issued with "
        "POST /api/v1/devices/{id}/token)"
    )


def gateway_for_token(session: Session, token: str | None, now: datetime | None = None) -> Device:
    """The live gateway a token belongs to, or 401; the token was last used ``now`` (by default
    the instant of the clock wired to the session's database)."""
    if not token or not token.startswith(TOKEN_PREFIX):
        raise unauthenticated_gateway()
    cred = session.scalar(
        select(DeviceCredential).where(
            DeviceCredential.token_hash == sha256(token), DeviceCredential.revoked_at.is_(None)
        )
    )
    device = session.get(Device, cred.device_id) if cred else None
    if cred is None or device is None or device.deleted_at is not None:
        raise unauthenticated_gateway()
    cred.last_used_at = now or session_now(session)
    return device


# ---- ingest -------------------------------------------------------------------------------------


def ingest(
    session: Session,
    gateway: Device,
    readings: Sequence[ReadingLike],
    *,
    now: datetime | None = None,
    limits: Limits | None = None,
    store: TimeSeriesStore | None = None,
    replay: bool = False,
) -> IngestResult:
    """usecases.ingest.ingest in ``session``'s transaction, with the default limits unless
    given (the application passes the deployment's: app/telemetry/wiring.py)."""
    return usecase.ingest(
        SqlIngestRepository(session, store),
        gateway,
        readings,
        now=now or session_now(session),
        limits=limits or Limits(),
        replay=replay,
    )
