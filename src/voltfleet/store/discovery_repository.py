"""``usecases.discovery.DiscoveryRepository`` on SQLAlchemy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.domain.fleet import DeviceKind, DeviceStatus, family, live_data
from voltfleet.store.db import new_id
from voltfleet.store.discovery_models import DiscoveredDevice
from voltfleet.store.fleet_models import Device
from voltfleet.usecases.discovery import Found, Placed


def _placed(d: Device) -> Placed:
    return Placed(d.id, d.serial, d.kind, d.site_id, d.parent_id, d.model, d.fw_arm, d.comm_address)


class SqlDiscoveryRepository:
    def __init__(self, session: Session, gateway: Device) -> None:
        self.session = session
        self.gateway = gateway

    def _site_devices(self) -> list[Device]:
        return list(
            self.session.scalars(
                select(Device).where(
                    Device.site_id == self.gateway.site_id, Device.deleted_at.is_(None)
                )
            )
        )

    def below(self, gateway_id: str) -> Sequence[Placed]:
        mine, _ = family(self.gateway, self._site_devices())
        return [_placed(d) for k, d in mine.items() if k == d.id and d.id != gateway_id]

    def bound(self, serials: Sequence[str]) -> Mapping[str, Placed]:
        if not serials:
            return {}
        rows = self.session.scalars(
            select(Device).where(Device.serial.in_(list(serials)), Device.deleted_at.is_(None))
        )
        return {d.serial: _placed(d) for d in rows}

    def add(self, gateway_id: str, found: Found, now: datetime) -> str:
        gw = self.gateway
        device = Device(
            id=new_id(),
            site_id=gw.site_id,
            parent_id=gw.id,
            kind=DeviceKind(found.kind).value,
            subtype=found.subtype,
            serial=found.serial,
            name=found.serial,
            model=found.model_name,
            fw_arm=found.firmware,
            comm_address=found.unit_id,
            status=DeviceStatus.UNKNOWN.value,
            created_at=now,
        )
        device.live_data = live_data(
            device.kind, device.subtype, device.fw_arm, (gw.subtype, gw.fw_arm)
        ).value
        self.session.add(device)
        self.session.flush()
        return device.id

    def update(self, device_id: str, found: Found) -> None:
        d = self.session.get(Device, device_id)
        if d is None:
            return
        d.model = found.model_name or d.model
        d.fw_arm = found.firmware or d.fw_arm
        d.comm_address = found.unit_id

    def record(self, gateway_id: str, found: Found, state: str, reason: str, now: datetime) -> None:
        row = self.session.scalar(
            select(DiscoveredDevice).where(
                DiscoveredDevice.gateway_id == gateway_id, DiscoveredDevice.serial == found.serial
            )
        )
        if row is None:
            row = DiscoveredDevice(gateway_id=gateway_id, serial=found.serial)
            self.session.add(row)
        row.unit_id = found.unit_id
        row.kind = found.kind
        row.manufacturer = found.manufacturer
        row.model = found.model
        row.firmware = found.firmware
        row.sunspec_models = list(found.sunspec_models)
        row.state = state
        row.reason = reason[:300]
        row.seen_at = now


def inventory_of(session: Session, gateway_id: str) -> list[DiscoveredDevice]:
    return list(
        session.scalars(
            select(DiscoveredDevice)
            .where(DiscoveredDevice.gateway_id == gateway_id)
            .order_by(DiscoveredDevice.unit_id, DiscoveredDevice.serial)
        )
    )
