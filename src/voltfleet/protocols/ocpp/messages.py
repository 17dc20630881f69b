"""What a charger tells the central system, in the same shape for every OCPP version (the
charging use case's dataclasses, usecases/charging.py), the interface of the platform that
receives it (``ChargerLink``: app/charging/link.py implements it), and what the central system
can ask a charger (``ChargePointCommands``).

``central16`` (OCPP 1.6J) and ``central201`` (OCPP 2.0.1) translate their own messages into these
dataclasses; the platform never sees a version's words.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from voltfleet.domain.charging_limits import ChargingLimit, CompositeSchedule
from voltfleet.domain.telemetry.quarantine import IncomingReading
from voltfleet.protocols.ocpp.v16_words import (
    MeterSample,
    map_meter_value,
    parse_timestamp,
    power_w,
    register_wh,
)
from voltfleet.usecases.charging import (
    BootInfo,
    CardVerdict,
    MeterReport,
    StartRequest,
    StatusReport,
    StopRequest,
)

__all__ = [
    "BootInfo",
    "CardVerdict",
    "ChargePointCommands",
    "ChargerLink",
    "CommandError",
    "MeterReport",
    "Reply",
    "StartRequest",
    "StatusReport",
    "StopRequest",
    "meter_report",
]
log = logging.getLogger(__name__)


def meter_report(values: Sequence[MeterSample]) -> MeterReport:
    """Meter samples (either version's, as ``v16_words`` / ``v201_words`` read them) as the
    use case's report: the readings of every sample that maps to a telemetry point (an instant
    that is not one is passed on as text, for ingest to quarantine with its reason), and the
    latest instant's register and power."""
    readings: list[IncomingReading] = []
    for mv in values:
        mapped, skipped = map_meter_value(mv.samples)
        for sk in skipped:
            log.debug("charger sample not stored: %s", sk.reason)
        at: datetime | str = parse_timestamp(mv.timestamp) or mv.timestamp
        readings.extend(IncomingReading("", m.point, at, m.value, m.unit) for m in mapped)
    dated = [(ts, mv) for mv in values if (ts := parse_timestamp(mv.timestamp)) is not None]
    latest = max(dated, key=lambda x: x[0])[1] if dated else None
    return MeterReport(
        tuple(readings),
        register_wh(latest.samples) if latest else None,
        power_w(latest.samples) if latest else None,
    )


@dataclass(frozen=True)
class ChargingNeeds:
    """What a car told its charging station (2.0.1 NotifyEVChargingNeeds, ISO 15118): when it
    leaves and how much energy it still wants (Wh); either may be unknown."""

    evse_id: int
    departure_at: datetime | None
    energy_wh: float | None


class ChargerLink(Protocol):
    """What the platform does with one charger's messages; each returns after committing."""

    async def boot(self, info: BootInfo) -> int:
        """The heartbeat interval (s) the charger is to use."""
        ...

    async def heartbeat(self) -> None: ...

    async def status(self, report: StatusReport) -> None: ...

    async def authorize(self, id_tag: str) -> CardVerdict: ...

    async def start_transaction(self, request: StartRequest) -> int:
        """The platform's transaction id (1.6: the one the charger is to use)."""
        ...

    async def meter_values(
        self,
        connector_id: int,
        transaction_id: int | None,
        report: MeterReport,
        transaction_ref: str | None = None,
    ) -> None: ...

    async def stop_transaction(self, request: StopRequest) -> None: ...

    async def card_later(self, connector_id: int, transaction_ref: str, id_tag: str) -> bool:
        """An accepted card shown after the transaction started (2.0.1 TransactionEvent
        Updated, E02/E03 cable plugin first): True when the session took it as its card."""
        ...

    async def firmware_status(self, status: str, request_id: int | None) -> None:
        """The charger's firmware status (OCPP's word, already checked against the schema) and,
        in 2.0.1, the UpdateFirmware request it is about."""
        ...

    async def charging_needs(self, needs: ChargingNeeds) -> bool:
        """A car's departure time and energy need (2.0.1); True when the platform takes them
        (a running session on that EVSE, a departure in the future)."""
        ...


@dataclass(frozen=True)
class Reply:
    """A charger's answer to a command: its status word (Accepted, Rejected, ...) and the
    whole result as sent (snake case)."""

    status: str
    result: dict[str, Any]

    @property
    def accepted(self) -> bool:
        return self.status == "Accepted"


class CommandError(Exception):
    """A command the central system cannot send as asked (a parameter missing or wrong, an
    action the charger's OCPP version does not have)."""


class ChargePointCommands(Protocol):
    """What the central system can ask a connected charger, in platform words; every OCPP
    version's central system implements it. Each raises when the charger does not answer in
    time or answers with a CallError."""

    id: str
    version: str

    async def set_limit(self, connector_id: int, limit: ChargingLimit) -> Reply: ...

    async def clear_limits(
        self,
        profile_id: int | None = None,
        connector_id: int | None = None,
        purpose: str | None = None,
        stack_level: int | None = None,
    ) -> Reply: ...

    async def composite_schedule(
        self, connector_id: int, duration_s: int
    ) -> tuple[Reply, CompositeSchedule | None]: ...

    async def command(self, action: str, params: dict[str, Any]) -> Reply:
        """Any other command by its platform name (see ``protocols.ocpp.commands.ACTIONS``)."""
        ...
