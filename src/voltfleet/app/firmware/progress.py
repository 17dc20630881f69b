"""A gateway's firmware progress reports, over MQTT (``voltfleet/v1/<gw>/firmware``) or HTTP
(``POST /api/v1/gateway/firmware-status``): ``{"device", "release_id", "state", "version",
"message"}``. The device is named by its serial and must be the gateway itself or below it (the
gateway's identity comes from its credential, never from the payload)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.store.command_repository import gateway_of
from voltfleet.store.firmware_models import FirmwareRelease
from voltfleet.store.firmware_repository import SqlFirmwareRepository
from voltfleet.store.fleet_models import Device
from voltfleet.usecases import firmware as uc
from voltfleet.usecases.errors import Invalid, NotFound


def _text(body: dict[str, Any], key: str, limit: int) -> str:
    value = body.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid(f"{key} must be a string", [{"field": key, "message": "not a string"}])
    return value.strip()[:limit]


def record(session: Session, gateway: Device, body: Any, now: datetime) -> str | None:
    """Apply one report; the task it moved (None when no task waited for it). ``Invalid`` or
    ``NotFound`` with the reason for a report that cannot be taken."""
    if not isinstance(body, dict):
        raise Invalid('a firmware report is a JSON object {"device", "release_id", "state", ...}')
    serial = _text(body, "device", 64) or gateway.serial
    release_id = _text(body, "release_id", 36)
    state = _text(body, "state", 20).lower()
    version = _text(body, "version", 40)
    message = _text(body, "message", 500)
    device = session.scalar(
        select(Device).where(
            Device.serial == serial, Device.deleted_at.is_(None), Device.site_id == gateway.site_id
        )
    )
    if device is None or (device.id != gateway.id and _above(session, device) != gateway.id):
        raise NotFound("device", f"no device {serial!r} below this gateway")
    release = session.get(FirmwareRelease, release_id) if release_id else None
    return uc.report_progress(
        SqlFirmwareRepository(session),
        device.id,
        release.id if release else "",
        state,
        version,
        message,
        now,
        firmware_type=release.firmware_type if release else None,
    )


def _above(session: Session, device: Device) -> str | None:
    gw = gateway_of(session, device)
    return gw.id if gw is not None else None


def refused(session: Session, gateway: Device, body: Any, now: datetime) -> str | None:
    """``record`` for the MQTT bridge: the reason when the report was refused, else None."""
    try:
        with session.begin_nested():
            record(session, gateway, body, now)
    except (Invalid, NotFound) as exc:
        return exc.message
    return None
