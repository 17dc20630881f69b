"""The charging use case's repository (usecases.charging.ChargingRepository) on the database:
the charger's device row, its connectors, its sessions, inside the caller's session (nothing is
committed here). The ingest pipeline and the alarm pipeline are handed in (they are wired by the
application: ``app/charging/link.py``)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.domain.charging import ConnectorStatus
from voltfleet.domain.device_status import StatusEvent
from voltfleet.domain.telemetry.quarantine import IncomingReading
from voltfleet.store.charging_models import ID_TOKEN_CHARS, ChargingSession
from voltfleet.store.device_status import apply_event
from voltfleet.store.fleet_models import Connector, Device
from voltfleet.usecases.charging import StartRequest, StatusReport

MAX_TRANSACTION_ID = 2**31 - 1  # OCPP's transactionId is a (signed 32-bit) integer

# (session, charger, readings) -> how many were quarantined
Ingest = Callable[[Session, Device, Sequence[IncomingReading]], int]
# (session, charger, report, now) and (session, charger, connector id, at, now)
FaultRaised = Callable[[Session, Device, StatusReport, datetime], None]
FaultsCleared = Callable[[Session, Device, int, datetime, datetime], None]


def _status(text: str) -> ConnectorStatus:
    try:
        return ConnectorStatus(text)
    except ValueError:
        return ConnectorStatus.UNKNOWN


class SqlChargingRepository:
    def __init__(
        self,
        session: Session,
        ingest: Ingest,
        fault_raised: FaultRaised,
        faults_cleared: FaultsCleared,
    ) -> None:
        self.session = session
        self._ingest = ingest
        self._raised = fault_raised
        self._cleared = faults_cleared

    def presence(self, charger: Any, event: StatusEvent, at: datetime) -> None:
        apply_event(self.session, charger, event, at)

    def _connectors(self, charger: Any) -> list[Connector]:
        return list(
            self.session.scalars(
                select(Connector)
                .where(Connector.charger_id == charger.id)
                .order_by(Connector.connector_no)
            )
        )

    def connector_statuses(self, charger: Any) -> dict[int, ConnectorStatus]:
        return {c.connector_no: _status(c.status) for c in self._connectors(charger)}

    def set_connector_status(
        self, charger: Any, connector_id: int, status: ConnectorStatus
    ) -> None:
        row = next((c for c in self._connectors(charger) if c.connector_no == connector_id), None)
        if row is None:
            row = Connector(charger_id=charger.id, connector_no=connector_id)
            self.session.add(row)
        row.status = status.value

    def fault_raised(self, charger: Any, report: StatusReport, now: datetime) -> None:
        self._raised(self.session, charger, report, now)

    def faults_cleared(self, charger: Any, connector_id: int, at: datetime, now: datetime) -> None:
        self._cleared(self.session, charger, connector_id, at, now)

    def session_by_transaction(self, charger: Any, transaction_id: int) -> ChargingSession | None:
        return self.session.scalar(
            select(ChargingSession).where(
                ChargingSession.transaction_id == transaction_id,
                ChargingSession.device_id == charger.id,
            )
        )

    def session_by_ref(self, charger: Any, ref: str) -> ChargingSession | None:
        return self.session.scalar(
            select(ChargingSession).where(
                ChargingSession.device_id == charger.id, ChargingSession.transaction_ref == ref
            )
        )

    def session_started(
        self, charger: Any, connector_id: int, at: datetime, meter_start_wh: float
    ) -> ChargingSession | None:
        return self.session.scalar(
            select(ChargingSession).where(
                ChargingSession.device_id == charger.id,
                ChargingSession.connector_id == connector_id,
                ChargingSession.started_at == at,
                ChargingSession.meter_start_wh == meter_start_wh,
            )
        )

    def open_session(self, charger: Any, connector_id: int) -> ChargingSession | None:
        return self.session.scalar(
            select(ChargingSession)
            .where(
                ChargingSession.device_id == charger.id,
                ChargingSession.connector_id == connector_id,
                ChargingSession.stopped_at.is_(None),
            )
            .order_by(ChargingSession.started_at.desc())
            .limit(1)
        )

    def _new_transaction_id(self) -> int:
        """A random transaction id not yet used (ids exposed outside are never sequential)."""
        while True:
            candidate = secrets.randbelow(MAX_TRANSACTION_ID) + 1
            taken = self.session.scalar(
                select(ChargingSession.id).where(ChargingSession.transaction_id == candidate)
            )
            if taken is None:
                return candidate

    def new_session(self, charger: Any, request: StartRequest, now: datetime) -> ChargingSession:
        row = ChargingSession(
            site_id=charger.site_id,
            device_id=charger.id,
            connector_id=request.connector_id,
            transaction_id=self._new_transaction_id(),
            transaction_ref=request.transaction_ref,
            id_tag=request.id_tag[:ID_TOKEN_CHARS],
            started_at=request.timestamp,
            meter_start_wh=float(request.meter_start_wh),
            meter_last_wh=float(request.meter_start_wh),
            updated_at=now,
        )
        self.session.add(row)
        return row

    def ingest(self, charger: Any, readings: Sequence[IncomingReading]) -> int:
        return self._ingest(self.session, charger, readings)
