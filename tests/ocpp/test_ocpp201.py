"""OCPP 2.0.1, one test per use case built (provisioning B01/B02/B03 boot, B05/B06 get/set
variables, B11/B12 reset; authorization C01; transactions E01-E07 TransactionEvent Started /
Updated / Ended with meter values, F01/F03 remote start/stop, F05 unlock, F06 trigger message;
smart charging K01 SetChargingProfile with ChargingStationMaxProfile / TxDefaultProfile /
TxProfile, K10 clear, K08 GetCompositeSchedule), driven by an independent charging station built
on the ``ocpp`` package over a real socket at the one URL ``/ocpp/{id}``."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from ocpp.v201 import call
from sqlalchemy import select

from tests.ocpp.stations import command, iso, station
from tests.support.world import World
from voltfleet.app.charging.charger_link import charger_link
from voltfleet.app.runtime import Runtime
from voltfleet.store.charging_models import ChargingSession
from voltfleet.store.fleet_models import Connector, Device
from voltfleet.store.timeseries import store_for

pytestmark = pytest.mark.parametrize("runtime", ["sqlite"], indirect=True)

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)


def meter(at: datetime, wh: float, multiplier: int = 0, power_w: float | None = None) -> dict:
    values: list[dict[str, Any]] = [
        {
            "value": wh / 10**multiplier,
            "measurand": "Energy.Active.Import.Register",
            "unit_of_measure": {"unit": "Wh", "multiplier": multiplier},
        }
    ]
    if power_w is not None:
        values.append(
            {"value": power_w, "measurand": "Power.Active.Import", "unit_of_measure": {"unit": "W"}}
        )
    return {"timestamp": iso(at), "sampled_value": values}


def tx_event(kind: str, seq: int, at: datetime, ref: str, **kw: Any) -> call.TransactionEvent:
    return call.TransactionEvent(
        event_type=kind,
        timestamp=iso(at),
        trigger_reason=kw.pop(
            "trigger", "Authorized" if kind == "Started" else "MeterValuePeriodic"
        ),
        seq_no=seq,
        transaction_info={"transaction_id": ref, **kw.pop("info", {})},
        evse={"id": 1, "connector_id": 1},
        **kw,
    )


def test_b01_cold_boot_charging_station(
    base_url: str, charger: dict[str, str], runtime: Runtime
) -> None:
    async def run() -> Any:
        async with station(
            base_url, charger["serial"], charger["token"], "2.0.1", boot=False
        ) as cp:
            return await cp.call(
                call.BootNotification(
                    charging_station={
                        "vendor_name": "ACME",
                        "model": "Station 22",
                        "firmware_version": "4.0",
                        "serial_number": "X1",
                    },
                    reason="PowerUp",
                ),
                suppress=False,
            )

    got = asyncio.run(run())
    assert got.status == "Accepted" and got.interval == runtime.settings.ocpp_heartbeat_s
    with runtime.db.session() as s:
        device = s.get(Device, charger["charger"])
        assert device is not None and device.model == "ACME Station 22" and device.fw_arm == "4.0"


def test_g02_heartbeat(base_url: str, charger: dict[str, str]) -> None:
    async def run() -> Any:
        async with station(base_url, charger["serial"], charger["token"], "2.0.1") as cp:
            return await cp.call(call.Heartbeat(), suppress=False)

    assert asyncio.run(run()).current_time.endswith("Z")


def test_g01_status_notification_per_evse(
    base_url: str, charger: dict[str, str], runtime: Runtime
) -> None:
    async def run() -> None:
        async with station(base_url, charger["serial"], charger["token"], "2.0.1") as cp:
            for evse, status in ((1, "Occupied"), (2, "Faulted")):
                await cp.call(
                    call.StatusNotification(
                        timestamp=iso(T0), connector_status=status, evse_id=evse, connector_id=1
                    ),
                    suppress=False,
                )

    asyncio.run(run())
    with runtime.db.session() as s:
        got = dict(
            s.execute(
                select(Connector.connector_no, Connector.status).where(
                    Connector.charger_id == charger["charger"]
                )
            ).all()
        )
        assert got == {1: "preparing", 2: "faulted"}
        device = s.get(Device, charger["charger"])
        assert device is not None and device.status in ("fault", "offline")


def test_c01_authorization_with_id_token(
    base_url: str, charger: dict[str, str], client: TestClient, world: World
) -> None:
    admin = world.accounts["admin@I1"].headers()
    r = client.put(
        f"/api/v1/sites/{charger['site']}/id-tags", json={"tag": "RFID-1"}, headers=admin
    )
    assert r.status_code == 200

    async def run() -> list[str]:
        out = []
        async with station(base_url, charger["serial"], charger["token"], "2.0.1") as cp:
            for tag in ("RFID-1", "RFID-2"):
                got = await cp.call(
                    call.Authorize(id_token={"id_token": tag, "type": "ISO14443"}), suppress=False
                )
                out.append(got.id_token_info["status"])
        return out

    assert asyncio.run(run()) == ["Accepted", "Invalid"]


def test_c01_a_card_switched_off_by_the_installer_is_blocked(
    base_url: str, charger: dict[str, str], client: TestClient, world: World
) -> None:
    admin = world.accounts["admin@I1"].headers()
    tags = f"/api/v1/sites/{charger['site']}/id-tags"
    assert client.put(tags, json={"tag": "RFID-OFF", "active": False}, headers=admin).is_success
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)

    async def run() -> list[Any]:
        async with station(base_url, charger["serial"], charger["token"], "2.0.1") as cp:
            token = {"id_token": "RFID-OFF", "type": "ISO14443"}
            authorized = await cp.call(call.Authorize(id_token=token), suppress=False)
            started = await cp.call(
                tx_event("Started", 0, at, "tx-blocked", id_token=token), suppress=False
            )
            return [authorized.id_token_info, started.id_token_info]

    assert asyncio.run(run()) == [{"status": "Blocked"}, {"status": "Blocked"}]


def test_e01_e06_transaction_started_updated_ended_feeds_telemetry(
    base_url: str, charger: dict[str, str], runtime: Runtime
) -> None:
    ref = "tx-0b7e-201"
    t = [T0 + timedelta(minutes=k) for k in range(4)]

    async def run() -> list[Any]:
        answers = []
        async with station(base_url, charger["serial"], charger["token"], "2.0.1") as cp:
            started = tx_event(
                "Started", 0, t[0], ref,
                info={"charging_state": "Charging"},
                id_token={"id_token": "RFID-7", "type": "ISO14443"},
                meter_value=[meter(t[0], 5000)],
            )  # fmt: skip
            answers.append(await cp.call(started, suppress=False))
            answers.append(await cp.call(started, suppress=False))  # sent again: the same session
            with runtime.db.session() as s:
                device = s.get(Device, charger["charger"])
                answers.append(device.status if device else None)
            await cp.call(
                tx_event("Updated", 1, t[1], ref, meter_value=[meter(t[1], 6500, 3, 7400.0)]),
                suppress=False,
            )
            await cp.call(
                call.MeterValues(evse_id=1, meter_value=[meter(t[2], 7000)]), suppress=False
            )
            await cp.call(
                tx_event(
                    "Ended", 2, t[3], ref,
                    trigger="EVCommunicationLost",
                    info={"stopped_reason": "EVDisconnected"},
                    meter_value=[meter(t[3], 7500)],
                ),
                suppress=False,
            )  # fmt: skip
        return answers

    first, again, status = asyncio.run(run())
    assert (
        first.id_token_info == {"status": "Accepted"}
        and again.id_token_info["status"] == "Accepted"
    )
    assert status == "running"
    with runtime.db.session() as s:
        rows = list(s.scalars(select(ChargingSession)))
        assert len(rows) == 1
        row = rows[0]
        assert row.transaction_ref == ref and row.id_tag == "RFID-7"
        assert row.meter_start_wh == 5000 and row.meter_stop_wh == 7500
        assert row.energy_wh == 2500 and row.stop_reason == "EVDisconnected"
        energy = store_for(s.connection()).read(
            charger["charger"], "ev_energy_wh", t[0], t[3] + timedelta(seconds=1)
        )
        assert [x.value for x in energy] == [5000.0, 6500.0, 7000.0, 7500.0]  # multiplier applied
        power = store_for(s.connection()).read(
            charger["charger"], "ev_power_w", t[1], t[1] + timedelta(seconds=1)
        )
        assert [x.value for x in power] == [7400.0]


async def _with_command(
    base_url: str, charger: dict[str, str], om: dict[str, str], action: str, **params: Any
) -> tuple[Any, list[tuple[str, dict[str, Any]]]]:
    async with station(base_url, charger["serial"], charger["token"], "2.0.1") as cp:
        r = await command(base_url, om, charger["charger"], action, **params)
        return r, cp.received


def test_b06_get_variables(base_url: str, charger: dict[str, str], om: dict[str, str]) -> None:
    r, _ = asyncio.run(
        _with_command(
            base_url, charger, om, "get_variables",
            variables=[{"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval"}],
        )
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["version"] == "2.0.1"
    result = r.json()["result"]["get_variable_result"][0]
    assert result["attribute_status"] == "Accepted" and result["attribute_value"] == "120"


def test_b05_set_variables(base_url: str, charger: dict[str, str], om: dict[str, str]) -> None:
    r, got = asyncio.run(
        _with_command(
            base_url, charger, om, "set_variables",
            variables=[
                {"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval", "value": 60}
            ],
        )
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert got[0][1]["data"][0]["attribute_value"] == "60"


def test_b11_reset(base_url: str, charger: dict[str, str], om: dict[str, str]) -> None:
    r, got = asyncio.run(_with_command(base_url, charger, om, "reset", hard=True))
    assert r.status_code == 200 and got == [("Reset", {"type": "Immediate"})]


def test_f01_remote_start_transaction(
    base_url: str, charger: dict[str, str], om: dict[str, str]
) -> None:
    r, got = asyncio.run(
        _with_command(base_url, charger, om, "remote_start", connector_id=1, id_tag="APP-1")
    )
    assert r.status_code == 200 and r.json()["status"] == "Accepted"
    assert got[0][0] == "RequestStartTransaction"
    assert got[0][1]["id_token"] == {"id_token": "APP-1", "type": "Central"}


def test_f03_remote_stop_transaction(
    base_url: str, charger: dict[str, str], om: dict[str, str]
) -> None:
    async def run() -> tuple[Any, list[Any]]:
        async with station(base_url, charger["serial"], charger["token"], "2.0.1") as cp:
            await cp.call(
                tx_event("Started", 0, T0, "tx-stop-me", meter_value=[meter(T0, 100)]),
                suppress=False,
            )
            r = await command(base_url, om, charger["charger"], "remote_stop", connector_id=1)
            return r, cp.received

    r, got = asyncio.run(run())
    assert r.status_code == 200, r.text
    assert got == [("RequestStopTransaction", {"transaction_id": "tx-stop-me"})]


def test_g03_change_availability(
    base_url: str, charger: dict[str, str], om: dict[str, str]
) -> None:
    r, got = asyncio.run(
        _with_command(base_url, charger, om, "change_availability", connector_id=1, operative=False)
    )
    assert r.status_code == 200 and r.json()["status"] == "Accepted"
    assert got == [("ChangeAvailability", {"operational_status": "Inoperative", "evse": {"id": 1}})]


def test_p01_data_transfer_is_answered_unknown_vendor(
    base_url: str, charger: dict[str, str]
) -> None:
    async def run() -> Any:
        async with station(base_url, charger["serial"], charger["token"], "2.0.1") as cp:
            return await cp.call(call.DataTransfer(vendor_id="com.acme"), suppress=False)

    assert asyncio.run(run()).status == "UnknownVendorId"


def test_f05_unlock_connector(base_url: str, charger: dict[str, str], om: dict[str, str]) -> None:
    r, got = asyncio.run(_with_command(base_url, charger, om, "unlock", connector_id=1))
    assert r.json()["status"] == "Unlocked"
    assert got == [("UnlockConnector", {"evse_id": 1, "connector_id": 1})]


def test_f06_trigger_message(base_url: str, charger: dict[str, str], om: dict[str, str]) -> None:
    r, got = asyncio.run(
        _with_command(base_url, charger, om, "trigger_message", message="heartbeat")
    )
    assert r.status_code == 200 and got == [("TriggerMessage", {"requested_message": "Heartbeat"})]


def test_k01_tx_default_profile_through_the_charger_link(
    base_url: str, charger: dict[str, str], runtime: Runtime
) -> None:
    link = charger_link(runtime)

    async def run() -> list[Any]:
        async with station(base_url, charger["serial"], charger["token"], "2.0.1") as cp:
            assert await link.set_current_limit(charger["serial"], 1, 13.0, 3)
            assert await link.set_current_limit(charger["serial"], 0, 32.0, 3)
            return [cp.profiles[1], cp.profiles[0]]

    evse, station_max = asyncio.run(run())
    assert evse[0]["charging_profile_purpose"] == "TxDefaultProfile"
    schedule = evse[0]["charging_schedule"][0]
    assert schedule["charging_rate_unit"] == "A"
    assert schedule["charging_schedule_period"] == [
        {"start_period": 0, "limit": 13.0, "number_phases": 3}
    ]
    assert station_max[0]["charging_profile_purpose"] == "ChargingStationMaxProfile"


def test_k01_tx_profile_for_the_running_transaction(
    base_url: str, charger: dict[str, str], om: dict[str, str]
) -> None:
    async def run() -> tuple[Any, list[Any]]:
        async with station(base_url, charger["serial"], charger["token"], "2.0.1") as cp:
            await cp.call(
                tx_event("Started", 0, T0, "tx-limit-me", meter_value=[meter(T0, 100)]),
                suppress=False,
            )
            r = await command(
                base_url, om, charger["charger"], "set_charging_profile",
                connector_id=1, purpose="tx", limit_a=6, phases=1, stack_level=3,
            )  # fmt: skip
            return r, cp.profiles[1]

    r, kept = asyncio.run(run())
    assert r.status_code == 200 and r.json()["status"] == "Accepted", r.text
    assert kept[0]["charging_profile_purpose"] == "TxProfile"
    assert kept[0]["transaction_id"] == "tx-limit-me" and kept[0]["stack_level"] == 3


def test_k08_get_composite_schedule_and_k10_clear(
    base_url: str, charger: dict[str, str], om: dict[str, str]
) -> None:
    async def run() -> list[Any]:
        out = []
        async with station(base_url, charger["serial"], charger["token"], "2.0.1"):
            for params in (
                {"connector_id": 1, "purpose": "tx_default", "limit_a": 16},
                {"connector_id": 0, "purpose": "station_max", "limit_a": 11},
            ):
                await command(base_url, om, charger["charger"], "set_charging_profile", **params)
            for action, params in (
                ("get_composite_schedule", {"connector_id": 1, "duration_s": 900}),
                ("clear_charging_profile", {"purpose": "station_max"}),
                ("get_composite_schedule", {"connector_id": 1, "duration_s": 900}),
            ):
                out.append(
                    (await command(base_url, om, charger["charger"], action, **params)).json()
                )
        return out

    capped, cleared, uncapped = asyncio.run(run())
    assert capped["result"]["schedule"]["charging_schedule_period"][0]["limit"] == 11.0
    assert cleared["status"] == "Accepted"
    assert uncapped["result"]["schedule"]["charging_schedule_period"][0]["limit"] == 16.0


def test_the_16_alias_url_still_serves_16(base_url: str, charger: dict[str, str]) -> None:
    async def run() -> Any:
        async with station(
            base_url, charger["serial"], charger["token"], "1.6", path="/ocpp/1.6/"
        ) as cp:
            return cp.received

    assert asyncio.run(run()) == []
