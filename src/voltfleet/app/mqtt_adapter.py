"""The MQTT bridge's ``BridgeService`` on the database: what a gateway's message does, through
the same use cases as HTTP (ingest through ``Runtime.ingest``, alarm events, command replies, the
presence rule). The bridge (protocols/mqtt/bridge.py) knows no database; the CLI wires this.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from voltfleet.app.alarms import service as alarms
from voltfleet.app.commands.service import wire_body
from voltfleet.app.discovery import service as discovery
from voltfleet.app.errors import database_unavailable
from voltfleet.app.firmware import progress as firmware_progress
from voltfleet.app.runtime import Runtime
from voltfleet.app.telemetry.decode import decode_lenient
from voltfleet.app.telemetry.wiring import IngestWiring
from voltfleet.domain.device_status import StatusEvent
from voltfleet.domain.fleet import DeviceKind
from voltfleet.domain.telemetry.quarantine import BAD_PAYLOAD, QuarantineEntry, of_raw
from voltfleet.ports import Clock
from voltfleet.protocols.mqtt.bridge import BridgeConfig
from voltfleet.settings import Settings
from voltfleet.store.command_repository import SqlCommandRepository
from voltfleet.store.db import Database
from voltfleet.store.device_status import apply_event
from voltfleet.store.fleet_models import Device
from voltfleet.usecases import commands
from voltfleet.usecases.errors import Invalid, NotFound


class _Unit:
    """One batch's transaction (protocols.mqtt.bridge.GatewayUnit)."""

    def __init__(self, ingest: IngestWiring, session: Session) -> None:
        self.ingest = ingest
        self.session = session
        self._gateways: dict[str, Device | None] = {}

    def _gateway(self, serial: str) -> Device | None:
        if serial not in self._gateways:
            self._gateways[serial] = self.session.scalar(
                select(Device).where(
                    Device.serial == serial,
                    Device.deleted_at.is_(None),
                    Device.kind == DeviceKind.GATEWAY.value,
                )
            )
        return self._gateways[serial]

    def known(self, serial: str) -> bool:
        return self._gateway(serial) is not None

    def telemetry(self, serial: str, payload: bytes, now: datetime) -> int:
        gateway = self._gateway(serial)
        if gateway is None:
            return 0
        readings, bad = decode_lenient(payload)
        ingest = self.ingest
        if bad:
            entries = [of_raw(raw, BAD_PAYLOAD, why) for raw, why in bad]
            ingest.quarantine(self.session, gateway, entries, now)
        if readings:
            ingest(self.session, gateway, readings, now=now, source="mqtt")
        return len(readings) + len(bad)

    def alarms(self, serial: str, events: list[object], now: datetime) -> None:
        gateway = self._gateway(serial)
        if gateway is not None:
            alarms.ingest_alarms(self.session, gateway, events, now=now)

    def presence(self, serial: str, online: bool, now: datetime) -> None:
        gateway = self._gateway(serial)
        if gateway is not None:
            # Every bridge of a shared group receives every status. Writing the gateway's row
            # first takes its lock (PostgreSQL: the row; SQLite: the database) for the rest of
            # the transaction, and the status read after it is the latest committed one: the
            # second bridge finds the change made and records nothing.
            self.session.flush()
            self.session.execute(
                update(Device).where(Device.id == gateway.id).values(status=Device.status)
            )
            self.session.refresh(gateway)
            event = StatusEvent.SPOKE if online else StatusEvent.DISCONNECTED
            apply_event(self.session, gateway, event, now)

    def reply(self, serial: str, command_id: str, reply: object, now: datetime) -> str | None:
        gateway = self._gateway(serial)
        if gateway is None:
            return "no such gateway"
        try:
            got = commands.record_reply(
                SqlCommandRepository(self.session), gateway.id, command_id, reply, now
            )
        except (NotFound, Invalid) as exc:
            return exc.message
        return got.reason or None  # an ignored reply is logged by the bridge, not an error

    def inventory(self, serial: str, body: object, now: datetime) -> str | None:
        gateway = self._gateway(serial)
        if gateway is None:
            return "no such gateway"
        try:
            discovery.apply(self.session, gateway, body, now)
        except Invalid as exc:
            return exc.message
        return None

    def quarantine(self, serial: str, entries: Sequence[QuarantineEntry], now: datetime) -> None:
        gateway = self._gateway(serial)
        if gateway is not None:
            self.ingest.quarantine(self.session, gateway, entries, now)

    def firmware(self, serial: str, report: object, now: datetime) -> str | None:
        gateway = self._gateway(serial)
        if gateway is None:
            return "no such gateway"
        return firmware_progress.refused(self.session, gateway, report, now)


def bridge_config(settings: Settings) -> BridgeConfig:
    """The bridge's broker connection from the settings."""
    return BridgeConfig.from_url(
        settings.mqtt_url,
        settings.mqtt_username,
        settings.mqtt_password,
        settings.mqtt_client_id,
        settings.mqtt_shared_group,
    )


class MqttBridgeService:
    """protocols.mqtt.bridge.BridgeService on a database and the ingest wiring (its clock)."""

    def __init__(self, db: Database, ingest: IngestWiring) -> None:
        self.db = db
        self.ingest = ingest

    @classmethod
    def of(cls, runtime: Runtime) -> MqttBridgeService:
        return cls(runtime.db, runtime.ingest)

    @property
    def clock(self) -> Clock:
        return self.ingest.clock

    @contextmanager
    def unit(self) -> Iterator[_Unit]:
        with self.db.session() as s:
            yield _Unit(self.ingest, s)

    def claim_commands(self, serials: set[str], now: datetime) -> list[tuple[str, str, Any]]:
        with self.db.session() as s:
            due = commands.claim_for_serials(SqlCommandRepository(s), serials, now)
            return [(serial, d.command.id, wire_body(d)) for serial, d in due]

    def unclaim(self, command_ids: list[str]) -> None:
        with self.db.session() as s:
            commands.unclaim(SqlCommandRepository(s), command_ids)

    def unavailable(self, exc: BaseException) -> bool:
        return database_unavailable(exc)
