"""What a charger tells the central system, in the same shape for every OCPP version, and the
interface of the platform that receives it (``ChargerLink``: app/charging/link.py implements it).

``central16`` (OCPP 1.6J) and ``central201`` (OCPP 2.0.1) translate their own messages into these
dataclasses; the platform never sees a version's words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from voltfleet.domain.charging import ConnectorStatus
from voltfleet.domain.charging_limits import ChargingLimit, CompositeSchedule
from voltfleet.protocols.ocpp.v16_words import MeterSample


@dataclass(frozen=True)
class BootInfo:
    vendor: str
    model: str
    serial: str | None = None  # the serial number as the charger says (not its identity)
    firmware: str | None = None


@dataclass(frozen=True)
class StatusReport:
    connector_id: int  # 0: the charge point as a whole (2.0.1: the EVSE id)
    status: ConnectorStatus
    error_code: str  # "NoError", or the fault as the charger names it (for people to read)
    timestamp: datetime | None
    info: str | None = None
    vendor_id: str | None = None
    vendor_error_code: str | None = None
    fault: bool = False  # the report raises a fault (a Faulted status or an error code)
    alarm_code: str | None = None  # the platform's alarm for it (domain.alarms), if it has one


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
    transaction_data: tuple[MeterSample, ...]
    transaction_ref: str | None = None


class ChargerLink(Protocol):
    """What the platform does with one charger's messages; each returns after committing."""

    async def boot(self, info: BootInfo) -> int:
        """The heartbeat interval (s) the charger is to use."""
        ...

    async def heartbeat(self) -> None: ...

    async def status(self, report: StatusReport) -> None: ...

    async def authorize(self, id_tag: str) -> bool: ...

    async def start_transaction(self, request: StartRequest) -> int:
        """The platform's transaction id (1.6: the one the charger is to use)."""
        ...

    async def meter_values(
        self,
        connector_id: int,
        transaction_id: int | None,
        values: Sequence[MeterSample],
        transaction_ref: str | None = None,
    ) -> None: ...

    async def stop_transaction(self, request: StopRequest) -> None: ...


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
