"""EV charging: what a charger's messages do to the platform, whatever door they come through
(OCPP 1.6J or 2.0.1 today; a job or the HTTP API tomorrow): the charger's identity and presence,
its connectors' status and faults, its charging sessions and its telemetry.

One function per thing a charger tells; each takes the ``ChargingRepository`` of the caller's
unit of work (implemented on the database in ``store/charging_repository.py``; the caller
commits) and the instant ``now``. The messages arrive version-free (the dataclasses below):
the wire engines in ``protocols/ocpp/`` translate their words into them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from voltfleet.domain.charging import ConnectorStatus, charger_status, session_energy_wh
from voltfleet.domain.device_status import StatusEvent, reported
from voltfleet.domain.fleet import DeviceStatus, normalise_serial
from voltfleet.domain.telemetry.quarantine import IncomingReading

log = logging.getLogger(__name__)

# ---- what a charger tells, in platform words ---------------------------------------------------


@dataclass(frozen=True)
class BootInfo:
    vendor: str
    model: str
    serial: str | None = None  # the serial number as the charger says (not its identity)
    firmware: str | None = None


@dataclass(frozen=True)
class StatusReport:
    connector_id: int  # 0: the charger as a whole (2.0.1: the EVSE id)
    status: ConnectorStatus
    error_code: str  # "NoError", or the fault as the charger names it (for people to read)
    timestamp: datetime | None
    info: str | None = None
    vendor_id: str | None = None
    vendor_error_code: str | None = None
    fault: bool = False  # the report raises a fault (a Faulted status or an error code)
    alarm_code: str | None = None  # the platform's alarm for it (domain.alarms), if it has one


@dataclass(frozen=True)
class MeterReport:
    """A charger's meter values: its readings (device "" is the charger itself; an instant or a
    value the wire engine could not read is passed on as text, for ingest to quarantine with its
    reason), and of the latest instant the energy register and the power, when sent."""

    readings: tuple[IncomingReading, ...] = ()
    register_wh: float | None = None
    power_w: float | None = None


class CardVerdict(StrEnum):
    """What the platform says of a card a charger shows: each protocol says it in its own words
    (OCPP 1.6 idTagInfo / 2.0.1 idTokenInfo status Accepted, Blocked, Invalid)."""

    ACCEPTED = "accepted"
    BLOCKED = "blocked"  # on the site's list, switched off by an installer
    UNKNOWN = "unknown"  # the site keeps a list and the card is not on it


@dataclass(frozen=True)
class StartRequest:
    connector_id: int
    id_tag: str
    meter_start_wh: int
    timestamp: datetime
    transaction_ref: str | None = None  # 2.0.1: the charger's own transaction id


@dataclass(frozen=True)
class StopRequest:
    transaction_id: int | None  # the platform's (1.6); None: find it by ``transaction_ref``
    meter_stop_wh: int | None  # None: the last register the platform has
    timestamp: datetime
    reason: str  # "Local" when the charger gave none (OCPP 1.6: the default)
    id_tag: str | None
    meter: MeterReport = field(default_factory=MeterReport)
    transaction_ref: str | None = None


# ---- what the use case needs of the store ------------------------------------------------------


class Charger(Protocol):
    """A charger device as the use case reads and changes it."""

    id: str
    site_id: str
    serial: str
    model: str
    fw_arm: str
    last_seen: datetime | None


class SessionRow(Protocol):
    """A charging session as the use case reads and changes it."""

    transaction_id: int
    started_at: datetime
    stopped_at: datetime | None
    meter_start_wh: float
    meter_stop_wh: float | None
    meter_last_wh: float | None
    energy_wh: float | None
    power_w: float | None
    stop_reason: str
    updated_at: datetime


class ChargingRepository(Protocol):
    """The charger's rows in the caller's unit of work (nothing is committed here)."""

    def presence(self, charger: Charger, event: StatusEvent, at: datetime) -> None:
        """Apply a presence event (domain.device_status) to the charger, recorded."""
        ...

    def connector_statuses(self, charger: Charger) -> dict[int, ConnectorStatus]: ...

    def set_connector_status(
        self, charger: Charger, connector_id: int, status: ConnectorStatus
    ) -> None:
        """Store a connector's status (the connector is made when the charger has more)."""
        ...

    def fault_raised(self, charger: Charger, report: StatusReport, now: datetime) -> None: ...

    def faults_cleared(
        self, charger: Charger, connector_id: int, at: datetime, now: datetime
    ) -> None: ...

    def session_by_transaction(
        self, charger: Charger, transaction_id: int
    ) -> SessionRow | None: ...

    def session_by_ref(self, charger: Charger, ref: str) -> SessionRow | None: ...

    def session_started(
        self, charger: Charger, connector_id: int, at: datetime, meter_start_wh: float
    ) -> SessionRow | None:
        """A session of the connector started at ``at`` with that register (sent again)."""
        ...

    def open_session(self, charger: Charger, connector_id: int) -> SessionRow | None: ...

    def new_session(self, charger: Charger, request: StartRequest, now: datetime) -> SessionRow:
        """A new session with a fresh random transaction id, added to the unit of work."""
        ...

    def ingest(self, charger: Charger, readings: Sequence[IncomingReading]) -> int:
        """The readings through the one ingest use case, the charger as its own root; how
        many were quarantined."""
        ...


# ---- the operations -----------------------------------------------------------------------------


def boot(repo: ChargingRepository, charger: Charger, info: BootInfo, *, now: datetime) -> None:
    """Remember what the charger says it is: vendor and model, and its firmware (kept as the
    device's ARM firmware, the field that holds a device's main firmware)."""
    model = f"{info.vendor} {info.model}".strip()
    if model:
        charger.model = model[:100]
    if info.firmware:
        charger.fw_arm = info.firmware[:40]
    if info.serial and normalise_serial(info.serial) != charger.serial:
        log.info("charger %s reports serial %s in its boot", charger.serial, info.serial)
    repo.presence(charger, StatusEvent.SPOKE, now)


def heartbeat(repo: ChargingRepository, charger: Charger, *, now: datetime) -> None:
    repo.presence(charger, StatusEvent.SPOKE, now)


def status(
    repo: ChargingRepository, charger: Charger, report: StatusReport, *, now: datetime
) -> None:
    """A connector's status (or, for connector 0, the whole charger's): stored on the connector,
    the charger's device status derived from all of them, and a fault raised or cleared."""
    statuses = repo.connector_statuses(charger)
    if report.connector_id > 0:
        repo.set_connector_status(charger, report.connector_id, report.status)
        statuses[report.connector_id] = report.status
    station = report.status if report.connector_id == 0 else None
    derived = charger_status(statuses.values(), station)
    repo.presence(charger, reported(derived), now)
    charger.last_seen = now
    at = report.timestamp or now
    if report.fault:
        repo.fault_raised(charger, report, now)
    elif derived is not DeviceStatus.FAULT:  # another connector may still be faulted
        repo.faults_cleared(charger, report.connector_id, at, now)


def mark_offline(repo: ChargingRepository, charger: Charger, *, now: datetime) -> None:
    """The charger's connection ended."""
    repo.presence(charger, StatusEvent.DISCONNECTED, now)


def start_transaction(
    repo: ChargingRepository, charger: Charger, request: StartRequest, *, now: datetime
) -> int:
    """A new charging session; its transaction id (1.6: the one the charger is to use).

    A start sent again (the charger did not get the answer) gets the same session. A session
    still open on the connector (its stop was lost) is closed at this start, with what its last
    meter reading says. The register at the start is stored as the charger's energy counter."""
    if request.transaction_ref is not None:
        again = repo.session_by_ref(charger, request.transaction_ref)
    else:
        again = repo.session_started(
            charger, request.connector_id, request.timestamp, float(request.meter_start_wh)
        )
    if again is not None:
        return again.transaction_id
    stale = repo.open_session(charger, request.connector_id)
    if stale is not None:
        close_session(stale, request.timestamp, stale.meter_last_wh, "Other", now)
    row = repo.new_session(charger, request, now)
    start = IncomingReading("", "ev_energy_wh", request.timestamp, request.meter_start_wh, "Wh")
    _ingest(repo, charger, [start])
    return row.transaction_id


def meter_values(
    repo: ChargingRepository,
    charger: Charger,
    connector_id: int,
    transaction_id: int | None,
    report: MeterReport,
    transaction_ref: str | None = None,
    *,
    now: datetime,
) -> None:
    """Store the readings as the charger's telemetry, and follow the session's energy and
    power."""
    _ingest(repo, charger, report.readings)
    row = None
    if transaction_id is not None:
        row = repo.session_by_transaction(charger, transaction_id)
    elif transaction_ref is not None:
        row = repo.session_by_ref(charger, transaction_ref)
    if row is None and connector_id > 0:
        row = repo.open_session(charger, connector_id)
    if row is None or row.stopped_at is not None:
        return
    if report.register_wh is not None:
        row.meter_last_wh = report.register_wh
    if report.power_w is not None:
        row.power_w = report.power_w
    if report.register_wh is not None or report.power_w is not None:
        row.updated_at = now


def stop_transaction(
    repo: ChargingRepository, charger: Charger, request: StopRequest, *, now: datetime
) -> None:
    """Close the session with the register at its stop; the transaction's meter values, the
    register at the stop and a charging power of 0 from then on go to telemetry. A stop sent
    again changes nothing; one for a transaction the platform does not know is stored as
    telemetry only (OCPP: the central system accepts it anyway)."""
    readings = list(request.meter.readings)
    at = request.timestamp
    have = {(r.point, r.ts) for r in readings}
    if ("ev_energy_wh", at) not in have and request.meter_stop_wh is not None:
        readings.append(IncomingReading("", "ev_energy_wh", at, request.meter_stop_wh, "Wh"))
    if ("ev_power_w", at) not in have:
        readings.append(IncomingReading("", "ev_power_w", at, 0.0, "W"))
    _ingest(repo, charger, readings)
    if request.transaction_id is not None:
        row = repo.session_by_transaction(charger, request.transaction_id)
    else:
        row = repo.session_by_ref(charger, request.transaction_ref or "")
    if row is None:
        which = (
            request.transaction_ref if request.transaction_id is None else request.transaction_id
        )
        log.warning("charger %s stopped unknown transaction %s", charger.serial, which)
        return
    if row.stopped_at is None:
        stop_wh = request.meter_stop_wh
        meter = float(stop_wh) if stop_wh is not None else row.meter_last_wh
        close_session(row, at, meter, request.reason, now)


def close_session(
    row: SessionRow, at: datetime, meter_wh: float | None, reason: str, now: datetime
) -> None:
    row.stopped_at = max(at, row.started_at)
    row.meter_stop_wh = meter_wh
    if meter_wh is not None:
        row.meter_last_wh = meter_wh
        row.energy_wh = session_energy_wh(row.meter_start_wh, meter_wh)
    row.power_w = 0.0
    row.stop_reason = reason[:20]
    row.updated_at = now


def _ingest(
    repo: ChargingRepository, charger: Charger, readings: Sequence[IncomingReading]
) -> None:
    """The gateway pipeline with the charger as its own root. A faulted charger stays faulted
    while it sends data (the presence rule): its fault ends with its status report."""
    if not readings:
        return
    quarantined = repo.ingest(charger, readings)
    if quarantined:
        log.info("charger %s: %d readings quarantined", charger.serial, quarantined)
