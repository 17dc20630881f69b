"""What a charger's OCPP messages do to the platform: the charger's device and connectors, its
charging sessions and its telemetry. Never commits: the caller (app.charging.link) commits each
message's unit of work before the charger gets its answer.

The charger's identity comes from its credential (checked when it connects), never from a
payload. Its readings go through the same ingest pipeline as a gateway's, with the charger as the
root of the devices it may speak for (itself).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.app.charging.alarm_hooks import charger_fault_cleared, charger_fault_raised
from voltfleet.app.telemetry.service import gateway_for_token
from voltfleet.app.telemetry.wiring import IngestWiring
from voltfleet.domain.charging import ConnectorStatus, charger_status, session_energy_wh
from voltfleet.domain.device_status import StatusEvent, reported
from voltfleet.domain.fleet import DeviceKind, DeviceStatus, normalise_serial
from voltfleet.domain.telemetry.quarantine import IncomingReading
from voltfleet.protocols.ocpp.messages import BootInfo, StartRequest, StatusReport, StopRequest
from voltfleet.protocols.ocpp.v16_words import (
    MeterSample,
    map_meter_value,
    parse_timestamp,
    power_w,
    register_wh,
)
from voltfleet.store.charging_models import ChargingSession
from voltfleet.store.device_status import apply_event
from voltfleet.store.fleet_models import Connector, Device
from voltfleet.usecases.errors import Unauthenticated

log = logging.getLogger(__name__)

MAX_TRANSACTION_ID = 2**31 - 1  # OCPP's transactionId is a (signed 32-bit) integer


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


# ---- status -------------------------------------------------------------------------------------


def _stored_status(text: str) -> ConnectorStatus:
    try:
        return ConnectorStatus(text)
    except ValueError:
        return ConnectorStatus.UNKNOWN


def _connectors(session: Session, device: Device) -> list[Connector]:
    return list(
        session.scalars(
            select(Connector)
            .where(Connector.charger_id == device.id)
            .order_by(Connector.connector_no)
        )
    )


def _seen(session: Session, device: Device, now: datetime) -> None:
    """The charger spoke (the presence rule: domain.device_status), and is seen now."""
    apply_event(session, device, StatusEvent.SPOKE, now)


def boot(session: Session, device: Device, info: BootInfo, *, now: datetime) -> None:
    """Remember what the charger says it is: vendor and model, and its firmware (kept as the
    device's ARM firmware, the field that holds a device's main firmware)."""
    model = f"{info.vendor} {info.model}".strip()
    if model:
        device.model = model[:100]
    if info.firmware:
        device.fw_arm = info.firmware[:40]
    if info.serial and normalise_serial(info.serial) != device.serial:
        log.info("charger %s reports serial %s in its boot", device.serial, info.serial)
    _seen(session, device, now)


def heartbeat(session: Session, device: Device, *, now: datetime) -> None:
    _seen(session, device, now)


def status(session: Session, device: Device, report: StatusReport, *, now: datetime) -> None:
    """A connector's status (or, for connector 0, the whole charger's): stored on the connector
    (made when the charger has more than it was bound with), the charger's device status derived
    from all of them, and a fault handed to the alarm hook."""
    wire = report.status
    connectors = _connectors(session, device)
    if report.connector_id > 0:
        row = next((c for c in connectors if c.connector_no == report.connector_id), None)
        if row is None:
            row = Connector(charger_id=device.id, connector_no=report.connector_id)
            session.add(row)
            connectors.append(row)
        row.status = wire.value
    station = wire if report.connector_id == 0 else None
    derived = charger_status((_stored_status(c.status) for c in connectors), station)
    apply_event(session, device, reported(derived), now)
    device.last_seen = now
    at = report.timestamp or now
    if report.fault:
        charger_fault_raised(
            session,
            device,
            connector_id=report.connector_id,
            error_code=report.error_code,
            alarm_code=report.alarm_code,
            info=report.info or "",
            vendor_error_code=report.vendor_error_code or "",
            at=at,
            now=now,
        )
    elif derived is not DeviceStatus.FAULT:  # another connector may still be faulted
        charger_fault_cleared(session, device, connector_id=report.connector_id, at=at, now=now)


def mark_offline(session: Session, device_id: str, *, now: datetime) -> None:
    """The charger's connection ended."""
    device = session.get(Device, device_id)
    if device is not None and device.deleted_at is None:
        apply_event(session, device, StatusEvent.DISCONNECTED, now)


# ---- sessions -----------------------------------------------------------------------------------


def _open_session(session: Session, device: Device, connector_id: int) -> ChargingSession | None:
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


def _new_transaction_id(session: Session) -> int:
    """A random transaction id not yet used (ids exposed outside are never sequential)."""
    while True:
        candidate = secrets.randbelow(MAX_TRANSACTION_ID) + 1
        taken = session.scalar(
            select(ChargingSession.id).where(ChargingSession.transaction_id == candidate)
        )
        if taken is None:
            return candidate


def start_transaction(
    session: Session, device: Device, ingest: IngestWiring, request: StartRequest, *, now: datetime
) -> int:
    """A new charging session; its transaction id for the charger.

    A StartTransaction sent again (the charger did not get the answer) gets the same id. A session
    still open on the connector (its StopTransaction was lost) is closed at this start, with what
    its last meter reading says. The register at the start is stored as the charger's energy
    counter."""
    if request.transaction_ref is not None:
        again = _by_ref(session, device, request.transaction_ref)
    else:
        again = session.scalar(
            select(ChargingSession).where(
                ChargingSession.device_id == device.id,
                ChargingSession.connector_id == request.connector_id,
                ChargingSession.started_at == request.timestamp,
                ChargingSession.meter_start_wh == float(request.meter_start_wh),
            )
        )
    if again is not None:
        return again.transaction_id
    stale = _open_session(session, device, request.connector_id)
    if stale is not None:
        _close(stale, request.timestamp, stale.meter_last_wh, "Other", now)
    row = ChargingSession(
        site_id=device.site_id,
        device_id=device.id,
        connector_id=request.connector_id,
        transaction_id=_new_transaction_id(session),
        transaction_ref=request.transaction_ref,
        id_tag=request.id_tag[:20],
        started_at=request.timestamp,
        meter_start_wh=float(request.meter_start_wh),
        meter_last_wh=float(request.meter_start_wh),
        updated_at=now,
    )
    session.add(row)
    start = _reading("ev_energy_wh", request.timestamp, request.meter_start_wh)
    _ingest(session, device, ingest, [start])
    return row.transaction_id


def meter_values(
    session: Session,
    device: Device,
    ingest: IngestWiring,
    connector_id: int,
    transaction_id: int | None,
    values: Sequence[MeterSample],
    transaction_ref: str | None = None,
    *,
    now: datetime,
) -> None:
    """Store the samples as the charger's telemetry, and follow the session's energy and power."""
    _ingest(session, device, ingest, _readings(values))
    row = None
    if transaction_id is not None:
        row = _by_transaction(session, device, transaction_id)
    elif transaction_ref is not None:
        row = _by_ref(session, device, transaction_ref)
    if row is None and connector_id > 0:
        row = _open_session(session, device, connector_id)
    if row is None or row.stopped_at is not None:
        return
    latest = _latest(values)
    if latest is not None:
        meter = register_wh(latest.samples)
        if meter is not None:
            row.meter_last_wh = meter
        power = power_w(latest.samples)
        if power is not None:
            row.power_w = power
        row.updated_at = now


def stop_transaction(
    session: Session, device: Device, ingest: IngestWiring, request: StopRequest, *, now: datetime
) -> None:
    """Close the session with the register at its stop; the transaction's meter values, the
    register at the stop and a charging power of 0 from then on go to telemetry. A StopTransaction
    sent again changes nothing; one for a transaction the platform does not know is stored as
    telemetry only (OCPP: the central system accepts it anyway)."""
    readings = _readings(request.transaction_data)
    at = request.timestamp
    have = {(r.point, r.ts) for r in readings}
    if ("ev_energy_wh", at) not in have and request.meter_stop_wh is not None:
        readings.append(_reading("ev_energy_wh", at, request.meter_stop_wh))
    if ("ev_power_w", at) not in have:
        readings.append(_reading("ev_power_w", at, 0.0, "W"))
    _ingest(session, device, ingest, readings)
    if request.transaction_id is not None:
        row = _by_transaction(session, device, request.transaction_id)
    else:
        row = _by_ref(session, device, request.transaction_ref or "")
    if row is None:
        log.warning(
            "charger %s stopped unknown transaction %s",
            device.serial,
            request.transaction_id
            if request.transaction_id is not None
            else request.transaction_ref,
        )
        return
    if row.stopped_at is None:
        stop_wh = request.meter_stop_wh
        meter = float(stop_wh) if stop_wh is not None else row.meter_last_wh
        _close(row, at, meter, request.reason, now)


def _close(
    row: ChargingSession, at: datetime, meter_wh: float | None, reason: str, now: datetime
) -> None:
    row.stopped_at = max(at, row.started_at)
    row.meter_stop_wh = meter_wh
    if meter_wh is not None:
        row.meter_last_wh = meter_wh
        row.energy_wh = session_energy_wh(row.meter_start_wh, meter_wh)
    row.power_w = 0.0
    row.stop_reason = reason[:20]
    row.updated_at = now


def _by_ref(session: Session, device: Device, ref: str) -> ChargingSession | None:
    """The session of the charger's own transaction id (OCPP 2.0.1)."""
    return session.scalar(
        select(ChargingSession).where(
            ChargingSession.device_id == device.id, ChargingSession.transaction_ref == ref
        )
    )


def open_session(session: Session, device: Device, connector_id: int) -> ChargingSession | None:
    """The session running on a charger's connector, if any."""
    return _open_session(session, device, connector_id)


def _by_transaction(
    session: Session, device: Device, transaction_id: int
) -> ChargingSession | None:
    return session.scalar(
        select(ChargingSession).where(
            ChargingSession.transaction_id == transaction_id,
            ChargingSession.device_id == device.id,
        )
    )


# ---- telemetry ----------------------------------------------------------------------------------


def _reading(point: str, at: datetime, value: float, unit: str = "Wh") -> IncomingReading:
    return IncomingReading(device="", point=point, ts=at, value=value, unit=unit)


def _readings(values: Sequence[MeterSample]) -> list[IncomingReading]:
    """The charger's readings (device "" is the charger itself), with the instant parsed when it
    is one (otherwise the text as sent, which ingest quarantines with its reason); a sample that
    cannot be converted keeps its text and unit, so ingest quarantines it with the reason."""
    out: list[IncomingReading] = []
    for mv in values:
        mapped, skipped = map_meter_value(mv.samples)
        for s in skipped:
            log.debug("charger sample not stored: %s", s.reason)
        at: datetime | str = parse_timestamp(mv.timestamp) or mv.timestamp
        out.extend(IncomingReading("", m.point, at, m.value, m.unit) for m in mapped)
    return out


def _latest(values: Sequence[MeterSample]) -> MeterSample | None:
    dated = [(ts, mv) for mv in values if (ts := parse_timestamp(mv.timestamp)) is not None]
    return max(dated, key=lambda x: x[0])[1] if dated else None


def _ingest(
    session: Session, device: Device, ingest: IngestWiring, readings: list[IncomingReading]
) -> None:
    """The gateway pipeline with the charger as its own root. A faulted charger stays faulted
    while it sends data (the presence rule): its fault ends with its StatusNotification."""
    if not readings:
        return
    result = ingest(session, device, readings)  # the use case, as wired (Runtime.ingest)
    if result.rejections:
        log.info(
            "charger %s: %d readings quarantined (first: %s)",
            device.serial,
            len(result.rejections),
            result.rejections[0].detail,
        )
