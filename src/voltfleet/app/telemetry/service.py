"""Gateway credentials and the ingest pipeline. Never commits: the request's unit of work does,
before the answer leaves, so an acknowledged reading is a committed one.

The pipeline for one batch from one gateway: resolve each reading's device *below that gateway*
(the identity comes from the credential, never from the payload), check it (domain.telemetry.
validate), check energy counters against what is stored, store the batch (duplicates once),
quarantine the rest with their reasons, recompute the roll-ups of the touched periods, and mark
the devices that spoke as seen.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from voltfleet.app import audit
from voltfleet.app.deps import Caller
from voltfleet.app.devices.repository import DeviceRepository
from voltfleet.app.devices.service import set_device_status
from voltfleet.app.errors import ApiError, bad_request
from voltfleet.app.security import sha256
from voltfleet.app.telemetry.rollups import refresh
from voltfleet.app.telemetry.schemas import ReadingIn
from voltfleet.domain.access import Action
from voltfleet.domain.fleet import UP, DeviceKind, DeviceStatus, normalise_serial
from voltfleet.domain.telemetry.points import CATALOGUE
from voltfleet.domain.telemetry.readings import Reading
from voltfleet.domain.telemetry.validate import (
    Limits,
    RawReading,
    Reason,
    Rejection,
    check,
    check_counter,
)
from voltfleet.ports import TimeSeriesStore
from voltfleet.protocols.mqtt import broker as mqtt_broker
from voltfleet.store.db import new_id, utcnow
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site
from voltfleet.store.telemetry_models import DeviceCredential, QuarantinedReading
from voltfleet.store.timeseries import store_for

TOKEN_PREFIX = "vfg_"
TOKEN_KINDS = frozenset({DeviceKind.GATEWAY.value})

# ---- credentials --------------------------------------------------------------------------------


def issue_token(session: Session, caller: Caller, device_id: str) -> tuple[DeviceCredential, str]:
    """A new ingest token for a gateway; the gateway's earlier tokens stop working."""
    device = DeviceRepository(session, caller).get_for(device_id, Action.UPDATE)
    if device.kind not in TOKEN_KINDS:
        raise bad_request(
            f"only gateways hold ingest tokens; {device.serial} is a {device.kind}: its readings "
            "come through its gateway"
        )
    now = utcnow()
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
    mqtt_broker.credential_issued(session, device.serial, cred, token)  # after commit, if set up
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


UNAUTHENTICATED = ApiError(
    401,
    "send the gateway's token as 'Authorization: Bearer <token>' (issued with "
    "POST /api/v1/devices/{id}/token)",
    "unauthenticated",
    headers={"WWW-Authenticate": "Bearer"},
)


def gateway_for_token(session: Session, token: str | None) -> Device:
    """The live gateway a token belongs to, or 401."""
    if not token or not token.startswith(TOKEN_PREFIX):
        raise UNAUTHENTICATED
    cred = session.scalar(
        select(DeviceCredential).where(
            DeviceCredential.token_hash == sha256(token), DeviceCredential.revoked_at.is_(None)
        )
    )
    device = session.get(Device, cred.device_id) if cred else None
    if cred is None or device is None or device.deleted_at is not None:
        raise UNAUTHENTICATED
    cred.last_used_at = utcnow()
    return device


# ---- ingest -------------------------------------------------------------------------------------


@dataclass
class IngestResult:
    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejections: list[Rejection] = field(default_factory=list)


def _family(session: Session, gateway: Device) -> tuple[dict[str, Device], dict[str, Device]]:
    """(devices below the gateway, itself included; other live devices of its site), each keyed
    by id and by serial."""
    site_devices = list(
        session.scalars(
            select(Device).where(Device.site_id == gateway.site_id, Device.deleted_at.is_(None))
        )
    )
    children: dict[str | None, list[Device]] = defaultdict(list)
    for d in site_devices:
        children[d.parent_id].append(d)
    below: dict[str, Device] = {}
    todo = [gateway]
    while todo:
        d = todo.pop()
        if d.id in below:
            continue
        below[d.id] = d
        todo.extend(children.get(d.id, []))
    mine = {**{d.serial: d for d in below.values()}, **below}
    others = {d.serial: d for d in site_devices if d.id not in below}
    others.update({d.id: d for d in site_devices if d.id not in below})
    return mine, others


def _parse_ts(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _as_float(value: float | str | None) -> float | None:
    if isinstance(value, float | int):
        return float(value)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def ingest(
    session: Session,
    gateway: Device,
    readings: Sequence[ReadingIn],
    *,
    now: datetime | None = None,
    limits: Limits = Limits(),
    store: TimeSeriesStore | None = None,
) -> IngestResult:
    now = now or utcnow()
    store = store or store_for(session.connection())
    mine, others = _family(session, gateway)
    result = IngestResult(received=len(readings))
    rejected: list[tuple[Rejection, ReadingIn, str | None, datetime | None]] = []
    series: dict[tuple[str, str], list[tuple[int, Reading]]] = defaultdict(list)

    def reject(i: int, r: ReadingIn, reason: Reason, detail: str, dev: str | None = None) -> None:
        rejected.append((Rejection(i, reason, detail), r, dev, None))

    resolved: dict[str, tuple[Device, str] | None] = {}  # device ref -> (device, its id)
    for i, r in enumerate(readings):
        ref = r.device
        if ref in resolved:
            hit = resolved[ref]
        else:
            key = ref.strip()
            found = (mine.get(key) or mine.get(normalise_serial(key))) if key else gateway
            hit = resolved[ref] = (found, found.id) if found is not None else None
        if hit is None:
            ref = ref.strip()
            other = others.get(ref) or others.get(normalise_serial(ref))
            if other is not None:
                reject(
                    i,
                    r,
                    Reason.FOREIGN_DEVICE,
                    f"{other.serial} is not below gateway {gateway.serial}",
                    other.id,
                )
            else:
                reject(
                    i,
                    r,
                    Reason.UNKNOWN_DEVICE,
                    f"no device '{ref}' below gateway {gateway.serial}: bind it first",
                )
            continue
        device_id = hit[1]
        ts = _parse_ts(r.ts)
        if ts is None:
            reject(i, r, Reason.BAD_TIMESTAMP, f"'{r.ts}' is not an ISO 8601 timestamp", device_id)
            continue
        value = _as_float(r.value)
        if value is None:
            reject(i, r, Reason.NOT_A_NUMBER, f"'{r.value}' is not a number", device_id)
            continue
        outcome = check(RawReading(i, device_id, r.point, ts, value, r.unit), now, limits)
        if isinstance(outcome, Rejection):
            rejected.append((outcome, r, device_id, ts if ts.tzinfo else None))
        else:
            series[(device_id, outcome.point)].append((i, outcome))

    accepted: list[Reading] = []
    by_index = dict(enumerate(readings))
    for (device_id, name), items in series.items():
        if CATALOGUE[name].counter:
            times = [r.ts for _, r in items]
            stored = store.around(device_id, name, min(times), max(times))
            items[:], bad = check_counter(items, stored)
            for rej in bad:
                rejected.append((rej, by_index[rej.index], device_id, None))
        accepted.extend(r for _, r in items)

    stored_now = store.write(accepted)
    result.accepted = stored_now
    result.duplicates = len(accepted) - stored_now
    result.rejections = sorted((rej for rej, *_ in rejected), key=lambda x: x.index)
    _quarantine(session, gateway, rejected, now)

    if stored_now:
        site = session.get(Site, gateway.site_id)
        tz = _zone(site.timezone if site else "UTC")
        for (device_id, name), items in series.items():
            if items:
                times = [r.ts for _, r in items]
                refresh(store, device_id, CATALOGUE[name], min(times), max(times), tz)

    spoke = {gateway.id} | {device_id for device_id, _ in series}
    for device_id in spoke:
        device = mine[device_id]
        status = DeviceStatus(device.status)
        set_device_status(session, device, status if status in UP else DeviceStatus.ONLINE, now)
    return result


def _text(value: object, limit: int) -> str:
    return str(value)[:limit]


def _quarantine(
    session: Session,
    gateway: Device,
    rejected: list[tuple[Rejection, ReadingIn, str | None, datetime | None]],
    now: datetime,
) -> None:
    if not rejected:
        return
    session.execute(
        insert(QuarantinedReading),
        [
            {
                "id": new_id(),
                "received_at": now,
                "site_id": gateway.site_id,
                "gateway_id": gateway.id,
                "device_id": device_id,
                "device_ref": r.device[:64],
                "point": r.point[:64],
                "ts": ts,
                "ts_text": r.ts[:64],
                "value_text": _text(r.value, 64),
                "unit": r.unit[:16],
                "reason": rej.reason.value,
                "detail": rej.detail,
            }
            for rej, r, device_id, ts in rejected
        ],
    )
