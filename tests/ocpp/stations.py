"""Independent charge points for the conformance suite, built on the ``ocpp`` package (not on the
platform's code): an OCPP 1.6J charge point and an OCPP 2.0.1 charging station over a
``websockets`` client, each answering what the central system asks with what a simple charger
would (it keeps the charging profiles it gets and reports the one in force as its composite
schedule, by its own reading of the specification), and recording every call it received."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime
from typing import Any

import httpx
from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.headers import build_authorization_basic
from websockets.typing import Subprotocol


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def now_iso() -> str:
    return iso(datetime.now(UTC).replace(microsecond=0))


def url(base: str, cp_id: str, path: str = "/ocpp/") -> str:
    return base.replace("http://", "ws://").replace("https://", "wss://") + path + cp_id


def _in_force(profiles: list[dict[str, Any]], purposes: tuple[str, ...]) -> dict[str, Any] | None:
    """Of the profiles kept, the one in force: the max profile caps the default/tx one; of one
    purpose the highest stack level wins. Returns its first period (A), as the composite."""
    best: dict[str, dict[str, Any]] = {}
    for p in profiles:
        purpose = p["charging_profile_purpose"]
        if purpose in purposes and (
            purpose not in best or p["stack_level"] > best[purpose]["stack_level"]
        ):
            best[purpose] = p
    limits = []
    for p in best.values():
        schedule = p["charging_schedule"]
        schedule = schedule[0] if isinstance(schedule, list) else schedule
        limits.append(schedule["charging_schedule_period"][0])
    if not limits:
        return None
    chosen = dict(min(limits, key=lambda period: period["limit"]))
    chosen["limit"] = float(chosen["limit"])  # the library reads numbers as Decimal
    return chosen


class Station16(ChargePoint16):
    """An OCPP 1.6J charge point with one or two connectors."""

    def __init__(self, cp_id: str, ws: ClientConnection) -> None:
        super().__init__(cp_id, ws, response_timeout=15)
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.profiles: dict[int, list[dict[str, Any]]] = {}
        self.configuration = {"HeartbeatInterval": "120", "MeterValueSampleInterval": "60"}

    def _got(self, action: str, **payload: Any) -> None:
        self.received.append((action, payload))

    async def boot(self) -> Any:
        return await self.call(
            call16.BootNotification(charge_point_vendor="Conformance", charge_point_model="16"),
            suppress=False,
        )

    @on("SetChargingProfile")
    def on_set_charging_profile(
        self, connector_id: int, cs_charging_profiles: dict[str, Any]
    ) -> result16.SetChargingProfile:
        self._got("SetChargingProfile", connector_id=connector_id, profile=cs_charging_profiles)
        kept = self.profiles.setdefault(connector_id, [])
        kept[:] = [
            p
            for p in kept
            if p["charging_profile_id"] != cs_charging_profiles["charging_profile_id"]
        ]
        kept.append(cs_charging_profiles)
        return result16.SetChargingProfile(status="Accepted")

    @on("ClearChargingProfile")
    def on_clear_charging_profile(self, **kw: Any) -> result16.ClearChargingProfile:
        self._got("ClearChargingProfile", **kw)
        removed = False
        for kept in self.profiles.values():
            before = len(kept)
            kept[:] = [
                p
                for p in kept
                if not (
                    ("id" not in kw or p["charging_profile_id"] == kw["id"])
                    and (
                        "charging_profile_purpose" not in kw
                        or p["charging_profile_purpose"] == kw["charging_profile_purpose"]
                    )
                    and ("stack_level" not in kw or p["stack_level"] == kw["stack_level"])
                )
            ]
            removed = removed or len(kept) < before
        return result16.ClearChargingProfile(status="Accepted" if removed else "Unknown")

    @on("GetCompositeSchedule")
    def on_get_composite_schedule(
        self, connector_id: int, duration: int, charging_rate_unit: str = "A"
    ) -> result16.GetCompositeSchedule:
        self._got("GetCompositeSchedule", connector_id=connector_id, duration=duration)
        kept = self.profiles.get(0, []) + self.profiles.get(connector_id, [])
        period = _in_force(kept, ("ChargePointMaxProfile", "TxDefaultProfile", "TxProfile"))
        if period is None:
            return result16.GetCompositeSchedule(status="Rejected")
        return result16.GetCompositeSchedule(
            status="Accepted",
            connector_id=connector_id,
            schedule_start=now_iso(),
            charging_schedule={
                "duration": duration,
                "charging_rate_unit": "A",
                "charging_schedule_period": [period],
            },
        )

    @on("RemoteStartTransaction")
    def on_remote_start(self, id_tag: str, **kw: Any) -> result16.RemoteStartTransaction:
        self._got("RemoteStartTransaction", id_tag=id_tag, **kw)
        return result16.RemoteStartTransaction(status="Accepted")

    @on("RemoteStopTransaction")
    def on_remote_stop(self, transaction_id: int) -> result16.RemoteStopTransaction:
        self._got("RemoteStopTransaction", transaction_id=transaction_id)
        return result16.RemoteStopTransaction(status="Accepted")

    @on("Reset")
    def on_reset(self, type: str) -> result16.Reset:
        self._got("Reset", type=type)
        return result16.Reset(status="Accepted")

    @on("UnlockConnector")
    def on_unlock(self, connector_id: int) -> result16.UnlockConnector:
        self._got("UnlockConnector", connector_id=connector_id)
        return result16.UnlockConnector(status="Unlocked")

    @on("GetConfiguration")
    def on_get_configuration(self, key: list[str] | None = None) -> result16.GetConfiguration:
        self._got("GetConfiguration", key=key)
        keys = key or list(self.configuration)
        return result16.GetConfiguration(
            configuration_key=[
                {"key": k, "readonly": False, "value": self.configuration[k]}
                for k in keys
                if k in self.configuration
            ],
            unknown_key=[k for k in keys if k not in self.configuration] or None,
        )

    @on("ChangeConfiguration")
    def on_change_configuration(self, key: str, value: str) -> result16.ChangeConfiguration:
        self._got("ChangeConfiguration", key=key, value=value)
        if key not in self.configuration:
            return result16.ChangeConfiguration(status="NotSupported")
        self.configuration[key] = value
        return result16.ChangeConfiguration(status="Accepted")

    @on("TriggerMessage")
    def on_trigger(self, requested_message: str, **kw: Any) -> result16.TriggerMessage:
        self._got("TriggerMessage", requested_message=requested_message, **kw)
        return result16.TriggerMessage(status="Accepted")

    @on("ChangeAvailability")
    def on_change_availability(self, connector_id: int, type: str) -> Any:
        self._got("ChangeAvailability", connector_id=connector_id, type=type)
        return result16.ChangeAvailability(status="Accepted")

    @on("UpdateFirmware")
    def on_update_firmware(self, **kw: Any) -> result16.UpdateFirmware:
        self._got("UpdateFirmware", **kw)
        return result16.UpdateFirmware()


class Station201(ChargePoint201):
    """An OCPP 2.0.1 charging station with one EVSE."""

    def __init__(self, cp_id: str, ws: ClientConnection) -> None:
        super().__init__(cp_id, ws, response_timeout=15)
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.profiles: dict[int, list[dict[str, Any]]] = {}
        self.variables = {("OCPPCommCtrlr", "HeartbeatInterval"): "120"}

    def _got(self, action: str, **payload: Any) -> None:
        self.received.append((action, payload))

    async def boot(self) -> Any:
        return await self.call(
            call201.BootNotification(
                charging_station={"vendor_name": "Conformance", "model": "201"},
                reason="PowerUp",
            ),
            suppress=False,
        )

    @on("SetChargingProfile")
    def on_set_charging_profile(
        self, evse_id: int, charging_profile: dict[str, Any], **_: Any
    ) -> result201.SetChargingProfile:
        self._got("SetChargingProfile", evse_id=evse_id, profile=charging_profile)
        kept = self.profiles.setdefault(evse_id, [])
        kept[:] = [p for p in kept if p["id"] != charging_profile["id"]]
        kept.append(charging_profile)
        return result201.SetChargingProfile(status="Accepted")

    @on("ClearChargingProfile")
    def on_clear_charging_profile(self, **kw: Any) -> result201.ClearChargingProfile:
        self._got("ClearChargingProfile", **kw)
        criteria = kw.get("charging_profile_criteria") or {}
        removed = False
        for evse, kept in self.profiles.items():
            before = len(kept)
            kept[:] = [
                p
                for p in kept
                if not (
                    ("charging_profile_id" not in kw or p["id"] == kw["charging_profile_id"])
                    and ("evse_id" not in criteria or evse == criteria["evse_id"])
                    and (
                        "charging_profile_purpose" not in criteria
                        or p["charging_profile_purpose"] == criteria["charging_profile_purpose"]
                    )
                )
            ]
            removed = removed or len(kept) < before
        return result201.ClearChargingProfile(status="Accepted" if removed else "Unknown")

    @on("GetCompositeSchedule")
    def on_get_composite_schedule(
        self, duration: int, evse_id: int, **_: Any
    ) -> result201.GetCompositeSchedule:
        self._got("GetCompositeSchedule", evse_id=evse_id, duration=duration)
        kept = self.profiles.get(0, []) + self.profiles.get(evse_id, [])
        period = _in_force(kept, ("ChargingStationMaxProfile", "TxDefaultProfile", "TxProfile"))
        if period is None:
            return result201.GetCompositeSchedule(status="Rejected")
        return result201.GetCompositeSchedule(
            status="Accepted",
            schedule={
                "evse_id": evse_id,
                "duration": duration,
                "schedule_start": now_iso(),
                "charging_rate_unit": "A",
                "charging_schedule_period": [period],
            },
        )

    @on("RequestStartTransaction")
    def on_request_start(self, id_token: dict[str, Any], remote_start_id: int, **kw: Any) -> Any:
        self._got("RequestStartTransaction", id_token=id_token, **kw)
        return result201.RequestStartTransaction(status="Accepted")

    @on("RequestStopTransaction")
    def on_request_stop(self, transaction_id: str, **_: Any) -> Any:
        self._got("RequestStopTransaction", transaction_id=transaction_id)
        return result201.RequestStopTransaction(status="Accepted")

    @on("Reset")
    def on_reset(self, type: str, **_: Any) -> result201.Reset:
        self._got("Reset", type=type)
        return result201.Reset(status="Accepted")

    @on("UnlockConnector")
    def on_unlock(self, evse_id: int, connector_id: int, **_: Any) -> Any:
        self._got("UnlockConnector", evse_id=evse_id, connector_id=connector_id)
        return result201.UnlockConnector(status="Unlocked")

    @on("GetVariables")
    def on_get_variables(self, get_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        self._got("GetVariables", data=get_variable_data)
        out = []
        for d in get_variable_data:
            key = (d["component"]["name"], d["variable"]["name"])
            found = key in self.variables
            item: dict[str, Any] = {
                "attribute_status": "Accepted" if found else "UnknownVariable",
                "component": d["component"],
                "variable": d["variable"],
            }
            if found:
                item["attribute_value"] = self.variables[key]
            out.append(item)
        return result201.GetVariables(get_variable_result=out)

    @on("SetVariables")
    def on_set_variables(self, set_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        self._got("SetVariables", data=set_variable_data)
        out = []
        for d in set_variable_data:
            key = (d["component"]["name"], d["variable"]["name"])
            self.variables[key] = d["attribute_value"]
            out.append(
                {
                    "attribute_status": "Accepted",
                    "component": d["component"],
                    "variable": d["variable"],
                }
            )
        return result201.SetVariables(set_variable_result=out)

    @on("TriggerMessage")
    def on_trigger(self, requested_message: str, **kw: Any) -> result201.TriggerMessage:
        self._got("TriggerMessage", requested_message=requested_message, **kw)
        return result201.TriggerMessage(status="Accepted")

    @on("ChangeAvailability")
    def on_change_availability(self, operational_status: str, **kw: Any) -> Any:
        self._got("ChangeAvailability", operational_status=operational_status, **kw)
        return result201.ChangeAvailability(status="Accepted")

    @on("UpdateFirmware")
    def on_update_firmware(self, **kw: Any) -> result201.UpdateFirmware:
        self._got("UpdateFirmware", **kw)
        return result201.UpdateFirmware(status="Accepted")


@asynccontextmanager
async def station(
    base: str,
    cp_id: str,
    password: str,
    version: str = "1.6",
    path: str = "/ocpp/",
    boot: bool = True,
    **connect_kw: Any,
) -> AsyncIterator[Any]:
    """A connected station of ``version`` (its reader running) until the block ends; with
    ``boot``, it has sent its BootNotification and had the answer."""
    subprotocol = "ocpp2.0.1" if version == "2.0.1" else "ocpp1.6"
    ws = await connect(
        url(base, cp_id, path),
        subprotocols=[Subprotocol(subprotocol)],
        additional_headers={"Authorization": build_authorization_basic(cp_id, password)},
        open_timeout=10,
        **connect_kw,
    )
    cp = (Station201 if version == "2.0.1" else Station16)(cp_id, ws)
    reader = asyncio.create_task(cp.start())
    try:
        if boot:
            await cp.boot()
        yield cp
    finally:
        failed = reader.exception() if reader.done() and not reader.cancelled() else None
        if failed is not None and not isinstance(failed, ConnectionClosed):
            raise AssertionError("the station's reader failed") from failed
        reader.cancel()
        await ws.close()
        with suppress(asyncio.CancelledError, Exception):
            await reader


async def command(
    base: str, headers: dict[str, str], device_id: str, action: str, **params: Any
) -> httpx.Response:
    """O&M's command to the charger through the platform's HTTP API (async: the station must
    keep answering while the request waits)."""
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
        return await http.post(
            f"/api/v1/devices/{device_id}/ocpp/commands",
            json={"action": action, "params": params},
        )
