# ocpp ships no type information: its ChargePoint and @on decorator are untyped.
# mypy: disable-error-code="misc,untyped-decorator"
"""The OCPP 2.0.1 central system's side of one charging station connection.

Like ``central16``: handlers translate the station's messages (already checked against the OCPP
2.0.1 schemas by the library) into the version-free dataclasses of ``messages`` and hand them to
the same ``ChargerLink``; the EVSE id plays the part of 1.6's connector id (a station with one
connector per EVSE, as home and workplace chargers are). TransactionEvent Started / Updated /
Ended become a session's start, meter values and stop; the transaction id is the station's own
(a string), kept by the platform beside its own session id.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from ocpp.exceptions import PropertyConstraintViolationError  # type: ignore[import-untyped]
from ocpp.routing import on  # type: ignore[import-untyped]
from ocpp.v201 import ChargePoint, call, call_result  # type: ignore[import-untyped]

from voltfleet.domain.charging_limits import ChargingLimit, CompositeSchedule, Purpose
from voltfleet.protocols.ocpp.bounds import Bounds, check_range
from voltfleet.protocols.ocpp.commands import (
    firmware_params,
    integer,
    limit_from_params,
    optional_int,
    send,
    send_built,
    text,
)
from voltfleet.protocols.ocpp.fastpath import CallsFast
from voltfleet.protocols.ocpp.faults import is_fault
from voltfleet.protocols.ocpp.messages import (
    BootInfo,
    CardVerdict,
    ChargerLink,
    ChargingNeeds,
    CommandError,
    Reply,
    StartRequest,
    StatusReport,
    StopRequest,
    meter_report,
)
from voltfleet.protocols.ocpp.profiles import PURPOSE_201, composite, profile_201
from voltfleet.protocols.ocpp.v16_words import parse_timestamp
from voltfleet.protocols.ocpp.v201_words import (
    SUBPROTOCOL,
    charging_state,
    connector_status,
    last_register_wh,
    meter_samples,
    stop_reason,
)

# ChargingProfileStatusEnumType, the answer to SetChargingProfile (OCPP 2.0.1)
LIMIT_STATUSES_201 = frozenset({"Accepted", "Rejected"})

log = logging.getLogger(__name__)
__all__ = ["SUBPROTOCOL", "CentralSystem201"]

TRIGGERS_201 = {
    "boot": "BootNotification",
    "heartbeat": "Heartbeat",
    "status": "StatusNotification",
    "meter_values": "MeterValues",
    "transaction_event": "TransactionEvent",
    "firmware_status": "FirmwareStatusNotification",
    "log_status": "LogStatusNotification",
}


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _when(text_: str, field: str) -> datetime:
    ts = parse_timestamp(text_)
    if ts is None:
        raise PropertyConstraintViolationError(
            details={"cause": f"{field} '{text_}' is not an ISO 8601 time with an offset (Z)"}
        )
    return ts


# 2.0.1's AuthorizationStatusEnumType; "Invalid" for a card not on the list, as in 1.6
# ("Unknown" would say the same, but stations display Invalid more widely)
_STATUS = {
    CardVerdict.ACCEPTED: "Accepted",
    CardVerdict.BLOCKED: "Blocked",
    CardVerdict.UNKNOWN: "Invalid",
}


def _id_token_info(verdict: CardVerdict) -> dict[str, Any]:
    return {"status": _STATUS[verdict]}


class CentralSystem201(CallsFast, ChargePoint):
    """One connected charging station, as seen by the central system (OCPP 2.0.1)."""

    version = "2.0.1"

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
        self._charging: dict[int, Any] = {}  # EVSE id -> its transaction's connector status

    def _evse(self, evse_id: int, lo: int = 0) -> int:
        return check_range(evse_id, "evseId", lo, self.bounds.max_connector_id)

    # ---- what the station sends ----------------------------------------------------------------

    @on("BootNotification")
    async def on_boot_notification(
        self, charging_station: dict[str, Any], reason: str, **_: Any
    ) -> call_result.BootNotification:
        interval = await self.link.boot(
            BootInfo(
                charging_station.get("vendor_name", ""),
                charging_station.get("model", ""),
                charging_station.get("serial_number"),
                charging_station.get("firmware_version"),
            )
        )
        return call_result.BootNotification(
            current_time=_now(), interval=interval, status="Accepted"
        )

    @on("Heartbeat")
    async def on_heartbeat(self, **_: Any) -> call_result.Heartbeat:
        await self.link.heartbeat()
        return call_result.Heartbeat(current_time=_now())

    @on("FirmwareStatusNotification")
    async def on_firmware_status_notification(
        self, status: str, request_id: int | None = None, **_: Any
    ) -> call_result.FirmwareStatusNotification:
        await self.link.firmware_status(status, request_id)
        return call_result.FirmwareStatusNotification()

    @on("StatusNotification")
    async def on_status_notification(
        self, timestamp: str, connector_status: str, evse_id: int, connector_id: int, **_: Any
    ) -> call_result.StatusNotification:
        self._evse(evse_id)
        stored = self._status(evse_id, connector_status)
        await self.link.status(
            StatusReport(
                evse_id,
                stored,
                "Faulted" if connector_status == "Faulted" else "NoError",
                _when(timestamp, "timestamp"),
                fault=is_fault(stored, "NoError"),
            )
        )
        return call_result.StatusNotification()

    def _status(self, evse_id: int, wire: str) -> Any:
        stored = connector_status(wire)
        if wire == "Occupied" and evse_id in self._charging:
            return self._charging[evse_id]
        return stored

    @on("Authorize")
    async def on_authorize(self, id_token: dict[str, Any], **_: Any) -> call_result.Authorize:
        verdict = await self.link.authorize(str(id_token.get("id_token", "")))
        return call_result.Authorize(id_token_info=_id_token_info(verdict))

    @on("MeterValues")
    async def on_meter_values(
        self, evse_id: int, meter_value: list[dict[str, Any]], **_: Any
    ) -> call_result.MeterValues:
        self._evse(evse_id)
        await self.link.meter_values(evse_id, None, meter_report(meter_samples(meter_value)))
        return call_result.MeterValues()

    @on("TransactionEvent")
    async def on_transaction_event(
        self,
        event_type: str,
        timestamp: str,
        trigger_reason: str,
        seq_no: int,
        transaction_info: dict[str, Any],
        meter_value: list[dict[str, Any]] | None = None,
        evse: dict[str, Any] | None = None,
        id_token: dict[str, Any] | None = None,
        **_: Any,
    ) -> call_result.TransactionEvent:
        at = _when(timestamp, "timestamp")
        ref = str(transaction_info["transaction_id"])
        evse_id = self._evse(int((evse or {}).get("id", 1)), lo=1)
        samples = meter_samples(meter_value)
        report = meter_report(samples)
        tag = str(id_token.get("id_token", "")) if id_token else None
        info = None
        if tag:  # any event carrying an idToken is answered with its idTokenInfo (E01-E03)
            verdict = await self.link.authorize(tag)
            info = _id_token_info(verdict)
            if event_type == "Updated":
                await self._card_later(
                    evse_id, ref, tag, verdict is CardVerdict.ACCEPTED, trigger_reason
                )
        state = charging_state(transaction_info.get("charging_state"))
        if event_type == "Started":
            register = last_register_wh(samples) or 0
            check_range(register, "meterValue", 0, self.bounds.max_meter_wh)
            await self.link.start_transaction(
                StartRequest(evse_id, tag or "", register, at, transaction_ref=ref)
            )
            if samples:
                await self.link.meter_values(evse_id, None, report, transaction_ref=ref)
        elif event_type == "Updated":
            if samples:
                await self.link.meter_values(evse_id, None, report, transaction_ref=ref)
        elif event_type == "Ended":
            self._charging.pop(evse_id, None)
            await self.link.stop_transaction(
                StopRequest(
                    None,
                    last_register_wh(samples),
                    at,
                    stop_reason(transaction_info.get("stopped_reason")),
                    tag,
                    report,
                    transaction_ref=ref,
                )
            )
            state = None
        if state is not None:
            self._charging[evse_id] = state
            await self.link.status(StatusReport(evse_id, state, "NoError", at))
        return call_result.TransactionEvent(id_token_info=info)

    async def _card_later(
        self, evse_id: int, ref: str, tag: str, ok: bool, trigger_reason: str
    ) -> None:
        """A card shown after the start (E02/E03, cable plugin first): an accepted one goes on
        the session; a refused one is only logged (stopping is the station's business)."""
        if not ok:
            log.info(
                "station %s: card %r refused in TransactionEvent Updated (transaction %r, %s)",
                self.id,
                tag[:36],
                ref,
                trigger_reason,
            )
            return
        await self.link.card_later(evse_id, ref, tag)

    @on("NotifyEVChargingNeeds")
    async def on_notify_ev_charging_needs(
        self, charging_needs: dict[str, Any], evse_id: int, **_: Any
    ) -> call_result.NotifyEVChargingNeeds:
        """The car's departure time and energy amount (AC or DC parameters) become its
        session's departure (docs/power-management.md); the platform plans the current itself,
        so it answers Accepted or Rejected, never Processing."""
        evse_id = self._evse(evse_id, lo=1)
        departure_text = charging_needs.get("departure_time")
        departure = _when(departure_text, "departureTime") if departure_text else None
        params = (
            charging_needs.get("ac_charging_parameters")
            or charging_needs.get("dc_charging_parameters")
            or {}
        )
        amount = params.get("energy_amount")
        energy_wh = float(amount) if isinstance(amount, int | float) and amount >= 0 else None
        handler = getattr(self.link, "charging_needs", None)
        ok = False
        if handler is not None and departure is not None and energy_wh is not None:
            ok = bool(await handler(ChargingNeeds(evse_id, departure, energy_wh)))
        return call_result.NotifyEVChargingNeeds(status="Accepted" if ok else "Rejected")

    @on("DataTransfer")
    async def on_data_transfer(self, vendor_id: str, **_: Any) -> call_result.DataTransfer:
        """No vendor extensions are known: UnknownVendorId, logged."""
        log.info("station %s: DataTransfer from vendor %r not handled", self.id, vendor_id[:64])
        return call_result.DataTransfer(status="UnknownVendorId")

    # ---- what the central system asks ----------------------------------------------------------

    async def set_limit(
        self, connector_id: int, limit: ChargingLimit, transaction_ref: str | None = None
    ) -> Reply:
        if limit.purpose is Purpose.TX and transaction_ref is None:
            raise CommandError("a TxProfile needs the station's transaction id")

        def build() -> Any:
            return call.SetChargingProfile(
                evse_id=connector_id, charging_profile=profile_201(limit, transaction_ref)
            )

        key = ("2.0.1", connector_id, limit, transaction_ref)
        return await send_built(self, key, build, LIMIT_STATUSES_201)

    async def clear_limits(
        self,
        profile_id: int | None = None,
        connector_id: int | None = None,
        purpose: str | None = None,
        stack_level: int | None = None,
    ) -> Reply:
        criteria: dict[str, Any] = {}
        if connector_id is not None:
            criteria["evse_id"] = connector_id
        if purpose:
            criteria["charging_profile_purpose"] = PURPOSE_201[Purpose(purpose)]
        if stack_level is not None:
            criteria["stack_level"] = stack_level
        payload = call.ClearChargingProfile(
            charging_profile_id=profile_id, charging_profile_criteria=criteria or None
        )
        return await send(self, payload)

    async def composite_schedule(
        self, connector_id: int, duration_s: int
    ) -> tuple[Reply, CompositeSchedule | None]:
        reply = await send(
            self,
            call.GetCompositeSchedule(
                duration=duration_s, evse_id=connector_id, charging_rate_unit="A"
            ),
        )
        return reply, composite(connector_id, reply.result.get("schedule"))

    async def command(self, action: str, params: dict[str, Any]) -> Reply:
        if action == "set_charging_profile":
            connector_id, limit = limit_from_params(params)
            ref = params.get("transaction_ref")
            return await self.set_limit(connector_id, limit, str(ref) if ref else None)
        if action == "clear_charging_profile":
            return await self.clear_limits(
                optional_int(params, "profile_id"),
                optional_int(params, "connector_id"),
                params.get("purpose"),
                optional_int(params, "stack_level"),
            )
        if action == "get_composite_schedule":
            reply, _ = await self.composite_schedule(
                integer(params, "connector_id"), integer(params, "duration_s", 3600)
            )
            return reply
        if action == "remote_start":
            return await send(
                self,
                call.RequestStartTransaction(
                    id_token={"id_token": text(params, "id_tag")[:36], "type": "Central"},
                    remote_start_id=integer(params, "remote_start_id", 1),
                    evse_id=optional_int(params, "connector_id"),
                ),
            )
        if action == "remote_stop":
            return await send(
                self, call.RequestStopTransaction(transaction_id=text(params, "transaction_ref"))
            )
        if action == "change_availability":
            evse_id = optional_int(params, "connector_id")
            return await send(
                self,
                call.ChangeAvailability(
                    operational_status="Operative"
                    if params.get("operative", True)
                    else "Inoperative",
                    evse={"id": evse_id} if evse_id else None,
                ),
            )
        if action == "reset":
            kind = "Immediate" if params.get("hard") else "OnIdle"
            return await send(self, call.Reset(type=kind))
        if action == "unlock":
            return await send(
                self,
                call.UnlockConnector(
                    evse_id=integer(params, "connector_id"),
                    connector_id=integer(params, "plug", 1),
                ),
            )
        if action == "get_variables":
            return await send(self, call.GetVariables(get_variable_data=_variables(params, False)))
        if action == "set_variables":
            return await send(self, call.SetVariables(set_variable_data=_variables(params, True)))
        if action == "trigger_message":
            message = TRIGGERS_201.get(str(params.get("message")))
            if message is None:
                raise CommandError("message is one of " + ", ".join(TRIGGERS_201))
            evse_id = optional_int(params, "connector_id")
            evse = {"id": evse_id} if evse_id else None
            return await send(self, call.TriggerMessage(requested_message=message, evse=evse))
        if action == "update_firmware":
            return await send(self, _update_firmware(params))
        if action in ("get_configuration", "change_configuration"):
            raise CommandError(f"{action} is OCPP 1.6: use get/set_variables for 2.0.1")
        raise CommandError(f"unknown command {action!r}")


def _update_firmware(params: dict[str, Any]) -> Any:
    """2.0.1 UpdateFirmware: the request id the station's FirmwareStatusNotifications carry, and
    the firmware with its signing certificate and signature when the release is signed."""
    got = firmware_params(params)
    firmware: dict[str, Any] = {
        "location": got["location"],
        "retrieve_date_time": got["retrieve_date"],
    }
    for name, limit in (("signing_certificate", 5500), ("signature", 800)):
        value = params.get(name)
        if value:
            if not isinstance(value, str) or len(value) > limit:
                raise CommandError(f"{name} is text of at most {limit} characters (OCPP)")
            firmware[name] = value
    return call.UpdateFirmware(
        request_id=integer(params, "request_id"),
        firmware=firmware,
        retries=got["retries"],
        retry_interval=got["retry_interval"],
    )


def _variables(params: dict[str, Any], with_value: bool) -> list[dict[str, Any]]:
    """``variables``: [{component, variable[, value]}] as 2.0.1 Get/SetVariableData."""
    raw = params.get("variables")
    if not isinstance(raw, list) or not raw:
        raise CommandError(
            "variables is a list of {component, variable" + (", value}" if with_value else "}")
        )
    out = []
    for item in raw:
        if not isinstance(item, dict):
            raise CommandError("each variable is an object")
        data: dict[str, Any] = {
            "component": {"name": text(item, "component")},
            "variable": {"name": text(item, "variable")},
        }
        if with_value:
            data["attribute_value"] = str(item.get("value", ""))
        out.append(data)
    return out
