"""What a device's command page (Mode, gateway settings) reads first: the device in the
caller's scope, its site's zone, and its recent commands of the page's kinds after a sweep."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from sqlalchemy.orm import Session

from voltfleet.app.commands import service
from voltfleet.app.commands.repository import CommandRepository
from voltfleet.app.deps import Caller, request_now
from voltfleet.app.devices.repository import DeviceRepository
from voltfleet.app.formatting import site_time
from voltfleet.domain.access import Action
from voltfleet.store.models import Site

RECENT = 200  # commands read back to find the newest of each kind


def local_time(at: datetime | None, zone: ZoneInfo) -> str:
    """An instant in the site's zone with its offset (the one-clock rule), in the reader's
    date order and clock ("06.12.2026 14:05 +01:00"; "—" for none)."""
    return site_time(at, zone.key)


def device_commands(
    request: Request, session: Session, caller: Caller, device_id: str, kinds: Collection[str]
) -> tuple[Any, Site | None, ZoneInfo, list[Any]]:
    """The device (404 outside the caller's scope), its site, the site's zone, and its
    commands of ``kinds``, newest first, with the expired ones swept."""
    device = DeviceRepository(session, caller).get_for(device_id, Action.READ)
    site = session.get(Site, device.site_id)
    zone = ZoneInfo(site.timezone if site else "UTC")
    service.sweep(session, request_now(request), device_id=device.id)
    recent = session.scalars(
        CommandRepository(session, caller).of_device(device.id).limit(RECENT)
    ).all()
    return device, site, zone, [r for r in recent if r.kind in kinds]
