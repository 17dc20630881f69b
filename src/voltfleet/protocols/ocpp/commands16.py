# ocpp ships no type information.
# mypy: disable-error-code="misc"
"""The commands the OCPP 1.6J central system sends a charger (mixed into ``CentralSystem16``)."""

from __future__ import annotations

from typing import Any

from ocpp.v16 import call  # type: ignore[import-untyped]

from voltfleet.domain.charging_limits import ChargingLimit, CompositeSchedule, Purpose
from voltfleet.protocols.ocpp.commands import (
    firmware_params,
    integer,
    limit_from_params,
    optional_int,
    send,
    send_built,
    text,
)
from voltfleet.protocols.ocpp.messages import CommandError, Reply
from voltfleet.protocols.ocpp.profiles import PURPOSE_16, composite, profile_16

# ChargingProfileStatus, the answer to SetChargingProfile (OCPP 1.6 section 7.13)
LIMIT_STATUSES_16 = frozenset({"Accepted", "Rejected", "NotSupported"})

TRIGGERS_16 = {
    "boot": "BootNotification",
    "heartbeat": "Heartbeat",
    "status": "StatusNotification",
    "meter_values": "MeterValues",
    "firmware_status": "FirmwareStatusNotification",
    "diagnostics_status": "DiagnosticsStatusNotification",
}


class Commands16:
    version = "1.6"

    async def set_limit(
        self, connector_id: int, limit: ChargingLimit, transaction_ref: str | None = None
    ) -> Reply:
        def build() -> Any:
            return call.SetChargingProfile(
                connector_id=connector_id,
                cs_charging_profiles=profile_16(limit, limit.transaction_id),
            )

        return await send_built(self, ("1.6", connector_id, limit), build, LIMIT_STATUSES_16)

    async def clear_limits(
        self,
        profile_id: int | None = None,
        connector_id: int | None = None,
        purpose: str | None = None,
        stack_level: int | None = None,
    ) -> Reply:
        wire = PURPOSE_16[Purpose(purpose)] if purpose else None
        payload = call.ClearChargingProfile(
            id=profile_id,
            connector_id=connector_id,
            charging_profile_purpose=wire,
            stack_level=stack_level,
        )
        return await send(self, payload)

    async def composite_schedule(
        self, connector_id: int, duration_s: int
    ) -> tuple[Reply, CompositeSchedule | None]:
        reply = await send(
            self,
            call.GetCompositeSchedule(
                connector_id=connector_id, duration=duration_s, charging_rate_unit="A"
            ),
        )
        schedule = dict(reply.result.get("charging_schedule") or {})
        if reply.result.get("schedule_start") and "start_schedule" not in schedule:
            schedule["start_schedule"] = reply.result["schedule_start"]
        return reply, composite(connector_id, schedule)

    async def command(self, action: str, params: dict[str, Any]) -> Reply:
        if action == "set_charging_profile":
            connector_id, limit = limit_from_params(params)
            return await self.set_limit(connector_id, limit)
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
                call.RemoteStartTransaction(
                    id_tag=text(params, "id_tag")[:20],
                    connector_id=optional_int(params, "connector_id"),
                ),
            )
        if action == "remote_stop":
            return await send(
                self, call.RemoteStopTransaction(transaction_id=integer(params, "transaction_id"))
            )
        if action == "change_availability":
            return await send(
                self,
                call.ChangeAvailability(
                    connector_id=integer(params, "connector_id", 0),
                    type="Operative" if params.get("operative", True) else "Inoperative",
                ),
            )
        if action == "reset":
            kind = "Hard" if params.get("hard") else "Soft"
            return await send(self, call.Reset(type=kind))
        if action == "unlock":
            return await send(
                self, call.UnlockConnector(connector_id=integer(params, "connector_id"))
            )
        if action == "get_configuration":
            keys = params.get("keys")
            if keys is not None and not (
                isinstance(keys, list) and all(isinstance(k, str) for k in keys)
            ):
                raise CommandError("keys is a list of configuration key names")
            return await send(self, call.GetConfiguration(key=keys or None))
        if action == "change_configuration":
            return await send(
                self,
                call.ChangeConfiguration(key=text(params, "key"), value=str(params.get("value"))),
            )
        if action == "trigger_message":
            message = TRIGGERS_16.get(str(params.get("message")))
            if message is None:
                raise CommandError("message is one of " + ", ".join(TRIGGERS_16))
            return await send(
                self,
                call.TriggerMessage(
                    requested_message=message, connector_id=optional_int(params, "connector_id")
                ),
            )
        if action == "update_firmware":
            return await send(self, call.UpdateFirmware(**firmware_params(params)))
        if action in ("get_variables", "set_variables"):
            raise CommandError(f"{action} is OCPP 2.0.1: use get/change_configuration for 1.6")
        raise CommandError(f"unknown command {action!r}")
