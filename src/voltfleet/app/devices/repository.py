"""Devices as the caller may see them: the live devices of the sites in the caller's scope."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from voltfleet.app.deps import Caller
from voltfleet.app.pagination import bad_sort
from voltfleet.app.sites.repository import visible_sites
from voltfleet.domain.access import Action, Kind
from voltfleet.domain.fleet import LiveData, normalise_serial
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site
from voltfleet.usecases.errors import Invalid, NotFound

SORTS = {
    "serial": Device.serial,
    "name": Device.name,
    "kind": Device.kind,
    "status": Device.status,
    "model": Device.model,
    "created_at": Device.created_at,
    "last_seen": Device.last_seen,
}


def visible_devices(caller: Caller) -> Select[tuple[Device]]:
    site_ids = visible_sites(caller).with_only_columns(Site.id)
    return select(Device).where(Device.deleted_at.is_(None), Device.site_id.in_(site_ids))


@dataclass
class DeviceFilters:
    kind: str | None = None
    subtype: str | None = None
    status: str | None = None
    model: str | None = None  # part of the model name
    firmware: str | None = None  # part of any firmware version (DSP, LCD, ARM)
    serial: str | None = None  # part of the serial number
    site_id: str | None = None
    q: str | None = None  # part of the name or serial
    live_data: str | None = None  # supported | not_supported | enabled | a reason


class DeviceRepository:
    def __init__(self, session: Session, caller: Caller) -> None:
        self.session = session
        self.caller = caller

    def get(self, device_id: str) -> Device:
        device = self.session.scalar(visible_devices(self.caller).where(Device.id == device_id))
        if device is None:
            raise NotFound("device")
        return device

    def get_for(self, device_id: str, action: Action) -> Device:
        device = self.get(device_id)
        self.caller.require(Kind.DEVICE, action)
        return device

    def query(
        self, filters: DeviceFilters | None = None, sort: str = "serial"
    ) -> Select[tuple[Device]]:
        f = filters or DeviceFilters()
        stmt = visible_devices(self.caller)
        if f.kind:
            stmt = stmt.where(Device.kind == f.kind)
        if f.subtype:
            stmt = stmt.where(Device.subtype == f.subtype)
        if f.status:
            stmt = stmt.where(Device.status == f.status)
        if f.model:
            stmt = stmt.where(Device.model.ilike(f"%{_esc(f.model)}%", escape="\\"))
        if f.firmware:
            like = f"%{_esc(f.firmware.strip())}%"
            stmt = stmt.where(
                Device.fw_dsp.ilike(like, escape="\\")
                | Device.fw_lcd.ilike(like, escape="\\")
                | Device.fw_arm.ilike(like, escape="\\")
            )
        if f.serial:
            stmt = stmt.where(
                Device.serial.like(f"%{_esc(normalise_serial(f.serial))}%", escape="\\")
            )
        if f.site_id:
            stmt = stmt.where(Device.site_id == f.site_id)
        if f.q:
            like = f"%{_esc(f.q.strip())}%"
            stmt = stmt.where(
                Device.name.ilike(like, escape="\\") | Device.serial.ilike(like, escape="\\")
            )
        if f.live_data:
            stmt = stmt.where(*_live_data_filter(f.live_data))
        key = sort.lstrip("-")
        if key not in SORTS:
            raise bad_sort(sort, SORTS)
        column = SORTS[key]
        return stmt.order_by(column.desc() if sort.startswith("-") else column.asc(), Device.id)

    def of_site(self, site_id: str) -> list[Device]:
        return list(
            self.session.scalars(
                select(Device)
                .where(Device.site_id == site_id, Device.deleted_at.is_(None))
                .order_by(Device.kind, Device.comm_address, Device.serial)
            )
        )


def _live_data_filter(value: str) -> list[object]:
    if value == "enabled":
        return [Device.live_data_enabled.is_(True)]
    if value == "not_supported":
        return [Device.live_data != LiveData.SUPPORTED.value]
    try:
        return [Device.live_data == LiveData(value).value]
    except ValueError:
        choices = ", ".join(["enabled", "not_supported", *(v.value for v in LiveData)])
        raise Invalid(f"live_data must be one of {choices}") from None


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
