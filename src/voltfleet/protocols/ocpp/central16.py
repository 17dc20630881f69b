# ocpp ships no type information: its ChargePoint and @on decorator are untyped.
# mypy: disable-error-code="misc,untyped-decorator"
"""The OCPP 1.6J central system's side of one charger connection.

``CentralSystem16`` is the ``ocpp`` library's ChargePoint (one per WebSocket) with a handler per
message a charger sends. The handlers only translate: wire payloads (already checked against the
OCPP JSON schemas by the library, which answers a malformed one with a CallError) into the
dataclasses below, and the platform's answers back into OCPP results. What a message means for
the platform is the ``ChargerLink``'s; each of its calls returns only after the platform has
committed, so an answered message is a stored one. Any exception in a handler becomes an OCPP
CallError (InternalError, or the OCPPError raised), never a dropped connection.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ocpp.exceptions import PropertyConstraintViolationError  # type: ignore[import-untyped]
from ocpp.routing import on  # type: ignore[import-untyped]
from ocpp.v16 import ChargePoint, call_result  # type: ignore[import-untyped]
from ocpp.v16.datatypes import IdTagInfo  # type: ignore[import-untyped]
from ocpp.v16.enums import Action, AuthorizationStatus, RegistrationStatus  # type: ignore[import-untyped]

from voltfleet.protocols.ocpp.bounds import INT32_MAX, Bounds, check_range
from voltfleet.protocols.ocpp.commands16 import Commands16
from voltfleet.protocols.ocpp.fastpath import CallsFast
from voltfleet.protocols.ocpp.faults import alarm_code, is_fault
from voltfleet.protocols.ocpp.messages import (
    BootInfo,
    CardVerdict,
    ChargerLink,
    StartRequest,
    StatusReport,
    StopRequest,
    meter_report,
)
from voltfleet.protocols.ocpp.v16_words import (
    MeterSample,
    Sample,
    connector_status,
    parse_timestamp,
)

__all__ = ["BootInfo", "ChargerLink", "StartRequest", "StatusReport", "StopRequest"]

log = logging.getLogger(__name__)

# the platform's verdict on a card in 1.6's AuthorizationStatus (a card not on the list: Invalid)
_STATUS = {
    CardVerdict.ACCEPTED: AuthorizationStatus.accepted,
    CardVerdict.BLOCKED: AuthorizationStatus.blocked,
    CardVerdict.UNKNOWN: AuthorizationStatus.invalid,
}
SUBPROTOCOL = "ocpp1.6"


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _when(text: str, field: str) -> datetime:
    ts = parse_timestamp(text)
    if ts is None:
        raise PropertyConstraintViolationError(
            details={"cause": f"{field} '{text}' is not an ISO 8601 time with an offset (Z)"}
        )
    return ts


def meter_samples(meter_value: Sequence[Mapping[str, Any]] | None) -> tuple[MeterSample, ...]:
    """MeterValue payloads (snake case, as the library hands them over) as domain samples."""
    out = []
    for mv in meter_value or ():
        samples = tuple(
            Sample(
                value=str(sv.get("value", "")),
                measurand=sv.get("measurand"),
                unit=sv.get("unit"),
                phase=sv.get("phase"),
                context=sv.get("context"),
                format=sv.get("format"),
                location=sv.get("location"),
            )
            for sv in mv.get("sampled_value") or ()
        )
        out.append(MeterSample(str(mv.get("timestamp", "")), samples))
    return tuple(out)


class CentralSystem16(Commands16, CallsFast, ChargePoint):
    """One connected charger, as seen by the central system (OCPP 1.6J)."""

    def __init__(
        self,
        charge_point_id: str,
        connection: Any,
        link: ChargerLink,
        bounds: Bounds | None = None,
        response_timeout_s: float = 30.0,
    ) -> None:
        super().__init__(
            charge_point_id, connection, logger=log, response_timeout=response_timeout_s
        )
        self.link = link
        self.bounds = bounds or Bounds()

    def _connector(self, connector_id: int, lo: int = 0) -> int:
        return check_range(connector_id, "connectorId", lo, self.bounds.max_connector_id)

    def _meter(self, wh: int, field: str) -> int:
        return check_range(wh, field, 0, self.bounds.max_meter_wh)

    @on(Action.boot_notification)
    async def on_boot_notification(
        self,
        charge_point_vendor: str,
        charge_point_model: str,
        charge_point_serial_number: str | None = None,
        firmware_version: str | None = None,
        **_: Any,
    ) -> call_result.BootNotification:
        interval = await self.link.boot(
            BootInfo(
                charge_point_vendor,
                charge_point_model,
                charge_point_serial_number,
                firmware_version,
            )
        )
        return call_result.BootNotification(
            current_time=_now(), interval=interval, status=RegistrationStatus.accepted
        )

    @on(Action.heartbeat)
    async def on_heartbeat(self) -> call_result.Heartbeat:
        await self.link.heartbeat()
        return call_result.Heartbeat(current_time=_now())

    @on(Action.firmware_status_notification)
    async def on_firmware_status_notification(
        self, status: str
    ) -> call_result.FirmwareStatusNotification:
        await self.link.firmware_status(status, None)
        return call_result.FirmwareStatusNotification()

    @on(Action.status_notification)
    async def on_status_notification(
        self,
        connector_id: int,
        error_code: str,
        status: str,
        timestamp: str | None = None,
        info: str | None = None,
        vendor_id: str | None = None,
        vendor_error_code: str | None = None,
    ) -> call_result.StatusNotification:
        self._connector(connector_id)
        ts = _when(timestamp, "timestamp") if timestamp else None
        stored = connector_status(status)
        await self.link.status(
            StatusReport(
                connector_id,
                stored,
                error_code,
                ts,
                info,
                vendor_id,
                vendor_error_code,
                fault=is_fault(stored, error_code),
                alarm_code=alarm_code(error_code),
            )
        )
        return call_result.StatusNotification()

    @on(Action.authorize)
    async def on_authorize(self, id_tag: str) -> call_result.Authorize:
        verdict = await self.link.authorize(id_tag)
        return call_result.Authorize(id_tag_info=IdTagInfo(status=_STATUS[verdict]))

    @on(Action.start_transaction)
    async def on_start_transaction(
        self,
        connector_id: int,
        id_tag: str,
        meter_start: int,
        timestamp: str,
        reservation_id: int | None = None,
    ) -> call_result.StartTransaction:
        self._connector(connector_id, lo=1)
        self._meter(meter_start, "meterStart")
        request = StartRequest(connector_id, id_tag, meter_start, _when(timestamp, "timestamp"))
        transaction_id = await self.link.start_transaction(request)
        verdict = await self.link.authorize(id_tag)  # recorded either way; a refused tag stops it
        return call_result.StartTransaction(
            transaction_id=transaction_id, id_tag_info=IdTagInfo(status=_STATUS[verdict])
        )

    @on(Action.meter_values)
    async def on_meter_values(
        self,
        connector_id: int,
        meter_value: list[dict[str, Any]],
        transaction_id: int | None = None,
    ) -> call_result.MeterValues:
        self._connector(connector_id)
        if transaction_id is not None:
            check_range(transaction_id, "transactionId", -INT32_MAX - 1, INT32_MAX)
        await self.link.meter_values(
            connector_id, transaction_id, meter_report(meter_samples(meter_value))
        )
        return call_result.MeterValues()

    @on(Action.stop_transaction)
    async def on_stop_transaction(
        self,
        meter_stop: int,
        timestamp: str,
        transaction_id: int,
        reason: str | None = None,
        id_tag: str | None = None,
        transaction_data: list[dict[str, Any]] | None = None,
    ) -> call_result.StopTransaction:
        self._meter(meter_stop, "meterStop")
        check_range(transaction_id, "transactionId", -INT32_MAX - 1, INT32_MAX)
        await self.link.stop_transaction(
            StopRequest(
                transaction_id,
                meter_stop,
                _when(timestamp, "timestamp"),
                reason or "Local",
                id_tag,
                meter_report(meter_samples(transaction_data)),
            )
        )
        info = IdTagInfo(status=AuthorizationStatus.accepted) if id_tag else None
        return call_result.StopTransaction(id_tag_info=info)

    @on(Action.data_transfer)
    async def on_data_transfer(
        self, vendor_id: str, message_id: str | None = None, data: str | None = None
    ) -> call_result.DataTransfer:
        """No vendor extensions are known: UnknownVendorId (OCPP 1.6, 6.18), logged."""
        log.info("charger %s: DataTransfer from vendor %r not handled", self.id, vendor_id[:64])
        return call_result.DataTransfer(status="UnknownVendorId")
