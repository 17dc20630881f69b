"""Which charger is speaking: the charger's identity comes from its credential (checked when it
connects), never from a payload; and the session running on a connector. What a charger's
messages do is the charging use case's (usecases/charging.py, on store/charging_repository.py,
wired in app.charging.link). Never commits."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.app.telemetry.service import gateway_for_token
from voltfleet.domain.fleet import DeviceKind, normalise_serial
from voltfleet.store.charging_models import ChargingSession
from voltfleet.store.fleet_models import Device
from voltfleet.usecases.errors import Unauthenticated

log = logging.getLogger(__name__)


class ChargerGone(Exception):
    """The charger was deleted or unbound while connected."""


# ---- identity -----------------------------------------------------------------------------------


def charger_for_credential(session: Session, charge_point_id: str, password: str) -> Device | None:
    """The live charger whose serial is ``charge_point_id`` and whose credential is
    ``password`` (a token from POST /api/v1/devices/{id}/token), or None."""
    try:
        device = gateway_for_token(session, password)  # the credential lookup of every device
    except Unauthenticated:
        return None
    if device.kind != DeviceKind.CHARGER or device.serial != normalise_serial(charge_point_id):
        return None
    return device


def charger_by_serial(session: Session, charge_point_id: str) -> Device | None:
    """The live charger bound to a site whose serial is ``charge_point_id``."""
    return session.scalar(
        select(Device).where(
            Device.serial == normalise_serial(charge_point_id),
            Device.kind == DeviceKind.CHARGER,
            Device.deleted_at.is_(None),
        )
    )


def live_charger(session: Session, device_id: str) -> Device:
    device = session.get(Device, device_id)
    if device is None or device.deleted_at is not None:
        raise ChargerGone(device_id)
    return device


def open_session(session: Session, device: Device, connector_id: int) -> ChargingSession | None:
    """The session running on a charger's connector, if any."""
    return session.scalar(
        select(ChargingSession)
        .where(
            ChargingSession.device_id == device.id,
            ChargingSession.connector_id == connector_id,
            ChargingSession.stopped_at.is_(None),
        )
        .order_by(ChargingSession.started_at.desc())
        .limit(1)
    )
