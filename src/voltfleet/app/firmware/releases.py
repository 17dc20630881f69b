"""Firmware releases: upload (hash, and the signature where a key is configured), list with
filters and the NEW mark, statistics (devices running each), download. Services never commit."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from voltfleet.app import audit
from voltfleet.app.deps import Caller
from voltfleet.app.firmware import signing
from voltfleet.app.firmware.repository import FirmwareRepository, visible_releases
from voltfleet.app.orgs.repository import OrgRepository
from voltfleet.domain.access import Action, Kind
from voltfleet.domain.firmware import releases as fr
from voltfleet.store.firmware_models import DeviceFirmware, FirmwareFile, FirmwareRelease
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Org
from voltfleet.usecases.errors import Conflict, Rejected, TooLarge

SIGNATURE_TEXT = re.compile(r"^[A-Za-z0-9+/=_-]{1,200}$")


@dataclass(frozen=True)
class Upload:
    model: str
    firmware_type: str
    version: str
    description: str
    file_name: str
    content: bytes
    signature: str = ""
    org_id: str | None = None


@dataclass(frozen=True)
class ReleaseView:
    row: FirmwareRelease
    new: bool
    devices: int  # devices that report running this release's version


def _rejected(exc: fr.ReleaseError) -> Rejected:
    return Rejected(str(exc), [{"field": exc.field, "message": str(exc)}])


def upload(
    session: Session,
    caller: Caller,
    up: Upload,
    *,
    signing_key: signing.Ed25519PublicKey | None,
    now: datetime,
    max_bytes: int = fr.MAX_FILE_BYTES,
) -> FirmwareRelease:
    """A new release, refused with the reason when its type, version or signature is wrong."""
    caller.require(Kind.FIRMWARE, Action.CREATE)
    org: Org = caller.org
    if up.org_id and up.org_id != caller.org.id:
        org = OrgRepository(session, caller).get(up.org_id)
    model = up.model.strip()
    if not 1 <= len(model) <= 100 or not model.isprintable():
        raise Rejected(
            "model must be 1-100 printable characters", [{"field": "model", "message": "length"}]
        )
    signature = up.signature.strip()
    if signature and not SIGNATURE_TEXT.match(signature):
        raise Rejected(
            "the signature must be base64 or hex", [{"field": "signature", "message": "format"}]
        )
    try:
        kind = fr.device_kind_of(up.firmware_type)
        version = fr.check_version(up.version)
    except fr.ReleaseError as exc:
        raise _rejected(exc) from exc
    if not up.content:
        raise Rejected("the firmware file is empty", [{"field": "file", "message": "empty"}])
    if len(up.content) > max_bytes:
        raise TooLarge(f"the firmware file is larger than {max_bytes:,} bytes")
    signed = signing.check_signature(signing_key, up.content, up.signature)
    row = FirmwareRelease(
        org_id=org.id,
        org_path=org.path,
        device_kind=kind,
        model=model,
        firmware_type=up.firmware_type,
        version=version,
        description=up.description.replace("\x00", "").strip()[:2000],
        file_name=(up.file_name.replace("\x00", "") or f"{model}-{version}.bin")[-200:],
        size_bytes=len(up.content),
        sha256=signing.sha256_hex(up.content),
        signature=signature or None,
        signed=signed,
        created_at=now,
        created_by=caller.user.id,
        creator_name=caller.user.username or caller.user.email,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise Conflict(
            f"{model} already has {up.firmware_type} firmware {version}: give the new file "
            "another version"
        ) from None
    session.add(FirmwareFile(release_id=row.id, content=up.content))
    audit.record(
        session,
        actor=caller.user,
        action="firmware.release_uploaded",
        object_type="firmware_release",
        object_id=row.id,
        org_id=org.id,
        address=caller.address,
        detail={"model": model, "type": up.firmware_type, "version": version, "sha256": row.sha256},
    )
    session.flush()
    return row


def listing(
    session: Session,
    caller: Caller,
    *,
    device_kind: str | None = None,
    model: str | None = None,
    version: str | None = None,
    firmware_type: str | None = None,
) -> list[ReleaseView]:
    """Releases newest first, with the NEW mark (highest version per model and type among
    those the caller sees) and how many devices run each."""
    caller.require(Kind.FIRMWARE, Action.LIST)
    rows = list(
        session.scalars(visible_releases(caller).order_by(FirmwareRelease.created_at.desc()))
    )
    newest = fr.newest(fr.ReleaseRef(r.id, r.model, r.firmware_type, r.version) for r in rows)
    if device_kind:
        rows = [r for r in rows if r.device_kind == device_kind]
    if model:
        rows = [r for r in rows if model.lower() in r.model.lower()]
    if version:
        rows = [r for r in rows if version.lower() in r.version.lower()]
    if firmware_type:
        rows = [r for r in rows if r.firmware_type == firmware_type]
    counts = running_counts(session, rows)
    return [ReleaseView(r, r.id in newest, counts.get(r.id, 0)) for r in rows]


def running_counts(session: Session, rows: list[FirmwareRelease]) -> dict[str, int]:
    """Live devices of each release's model that report its type and version."""
    out: dict[str, int] = {}
    for r in rows:
        out[r.id] = int(
            session.scalar(
                select(func.count())
                .select_from(DeviceFirmware)
                .join(Device, Device.id == DeviceFirmware.device_id)
                .where(
                    Device.deleted_at.is_(None),
                    Device.model == r.model,
                    DeviceFirmware.firmware_type == r.firmware_type,
                    DeviceFirmware.version == r.version,
                )
            )
            or 0
        )
    return out


def view(session: Session, caller: Caller, release_id: str) -> ReleaseView:
    row = FirmwareRepository(session, caller).release(release_id)
    same = list(
        session.scalars(
            visible_releases(caller).where(
                FirmwareRelease.model == row.model,
                FirmwareRelease.firmware_type == row.firmware_type,
            )
        )
    )
    newest = fr.newest(fr.ReleaseRef(r.id, r.model, r.firmware_type, r.version) for r in same)
    return ReleaseView(row, row.id in newest, running_counts(session, [row])[row.id])


def content(session: Session, release_id: str) -> bytes:
    got = session.get(FirmwareFile, release_id)
    return got.content if got is not None else b""
