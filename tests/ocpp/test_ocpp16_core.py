"""OCPP 1.6J Core profile, one test per use case, driven by an independent charge point built on
the ``ocpp`` package (tests/ocpp/stations.py) against the platform on a real socket."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from ocpp.v16 import call
from sqlalchemy import select

from tests.ocpp.stations import command, iso, station
from tests.support.world import World
from voltfleet.app.runtime import Runtime
from voltfleet.store.charging_models import ChargingSession
from voltfleet.store.fleet_models import Connector, Device
from voltfleet.store.models import AuditEntry

pytestmark = pytest.mark.parametrize("runtime", ["sqlite"], indirect=True)

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)


def energy(value_wh: float) -> dict[str, Any]:
    return {
        "timestamp": iso(T0 + timedelta(minutes=2)),
        "sampled_value": [
            {"value": str(value_wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"}
        ],
    }


def test_boot_notification(base_url: str, charger: dict[str, str], runtime: Runtime) -> None:
    async def run() -> Any:
        async with station(base_url, charger["serial"], charger["token"]) as cp:
            return await cp.call(
                call.BootNotification(
                    charge_point_vendor="ACME", charge_point_model="W11", firmware_version="1.2"
                ),
                suppress=False,
            )

    got = asyncio.run(run())
    assert got.status == "Accepted" and got.interval == runtime.settings.ocpp_heartbeat_s
    with runtime.db.session() as s:
        device = s.get(Device, charger["charger"])
        assert device is not None and device.model == "ACME W11" and device.fw_arm == "1.2"


def test_heartbeat(base_url: str, charger: dict[str, str]) -> None:
    async def run() -> Any:
        async with station(base_url, charger["serial"], charger["token"]) as cp:
            return await cp.call(call.Heartbeat(), suppress=False)

    got = asyncio.run(run())
    assert abs(datetime.fromisoformat(got.current_time) - datetime.now(UTC)) < timedelta(seconds=30)


def test_status_notification(base_url: str, charger: dict[str, str], runtime: Runtime) -> None:
    async def run() -> str:
        async with station(base_url, charger["serial"], charger["token"]) as cp:
            await cp.call(
                call.StatusNotification(connector_id=2, error_code="NoError", status="Charging"),
                suppress=False,
            )
            with runtime.db.session() as s:
                return str(s.get(Device, charger["charger"]).status)  # type: ignore[union-attr]

    assert asyncio.run(run()) == "running"
    with runtime.db.session() as s:
        got = s.scalar(select(Connector.status).where(Connector.connector_no == 2))
    assert got == "charging"


def test_authorize_against_the_sites_id_tags(
    base_url: str, charger: dict[str, str], client: TestClient, world: World
) -> None:
    admin = world.accounts["admin@I1"].headers()
    tags = f"/api/v1/sites/{charger['site']}/id-tags"

    async def authorize(tag: str) -> str:
        async with station(base_url, charger["serial"], charger["token"]) as cp:
            got = await cp.call(call.Authorize(id_tag=tag), suppress=False)
            return str(got.id_tag_info["status"])

    assert asyncio.run(authorize("ANY-CARD")) == "Accepted"  # a site without a list
    assert (
        client.put(tags, json={"tag": "CARD-1", "label": "Anna"}, headers=admin).status_code == 200
    )
    assert (
        client.put(tags, json={"tag": "CARD-2", "active": False}, headers=admin).status_code == 200
    )
    assert asyncio.run(authorize("CARD-1")) == "Accepted"
    assert asyncio.run(authorize("CARD-2")) == "Blocked"  # on the list, switched off
    assert asyncio.run(authorize("ANY-CARD")) == "Invalid"  # not on the list
    assert [t["tag"] for t in client.get(tags, headers=admin).json()] == ["CARD-1", "CARD-2"]


def test_start_and_stop_transaction_with_meter_values(
    base_url: str, charger: dict[str, str], runtime: Runtime
) -> None:
    async def run() -> int:
        async with station(base_url, charger["serial"], charger["token"]) as cp:
            started = await cp.call(
                call.StartTransaction(
                    connector_id=1, id_tag="CARD", meter_start=1000, timestamp=iso(T0)
                ),
                suppress=False,
            )
            tx = int(started.transaction_id)
            await cp.call(
                call.MeterValues(connector_id=1, transaction_id=tx, meter_value=[energy(1500)]),
                suppress=False,
            )
            await cp.call(
                call.StopTransaction(
                    meter_stop=2200,
                    timestamp=iso(T0 + timedelta(minutes=5)),
                    transaction_id=tx,
                    reason="EVDisconnected",
                ),
                suppress=False,
            )
            return tx

    tx = asyncio.run(run())
    with runtime.db.session() as s:
        row = s.scalar(select(ChargingSession).where(ChargingSession.transaction_id == tx))
        assert row is not None and row.energy_wh == 1200 and row.stop_reason == "EVDisconnected"


async def _with_command(
    base_url: str, charger: dict[str, str], om: dict[str, str], action: str, **params: Any
) -> tuple[httpx.Response, list[tuple[str, dict[str, Any]]]]:
    async with station(base_url, charger["serial"], charger["token"]) as cp:
        r = await command(base_url, om, charger["charger"], action, **params)
        return r, cp.received


def test_remote_start_transaction(
    base_url: str, charger: dict[str, str], om: dict[str, str]
) -> None:
    r, got = asyncio.run(
        _with_command(base_url, charger, om, "remote_start", connector_id=1, id_tag="CARD-9")
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "Accepted" and r.json()["version"] == "1.6"
    assert got == [("RemoteStartTransaction", {"id_tag": "CARD-9", "connector_id": 1})]


def test_remote_stop_transaction(
    base_url: str, charger: dict[str, str], om: dict[str, str]
) -> None:
    async def run() -> tuple[int, httpx.Response, list[Any]]:
        async with station(base_url, charger["serial"], charger["token"]) as cp:
            started = await cp.call(
                call.StartTransaction(
                    connector_id=1, id_tag="CARD", meter_start=0, timestamp=iso(T0)
                ),
                suppress=False,
            )
            r = await command(base_url, om, charger["charger"], "remote_stop", connector_id=1)
            return int(started.transaction_id), r, cp.received

    tx, r, got = asyncio.run(run())
    assert r.status_code == 200, r.text
    assert got == [("RemoteStopTransaction", {"transaction_id": tx})]


def test_remote_stop_without_a_session_is_a_conflict(
    base_url: str, charger: dict[str, str], om: dict[str, str]
) -> None:
    r, got = asyncio.run(_with_command(base_url, charger, om, "remote_stop", connector_id=1))
    assert r.status_code == 409 and "no session" in r.json()["detail"]
    assert got == []


def test_reset(base_url: str, charger: dict[str, str], om: dict[str, str]) -> None:
    r, got = asyncio.run(_with_command(base_url, charger, om, "reset", hard=True))
    assert r.status_code == 200 and got == [("Reset", {"type": "Hard"})]


def test_unlock_connector(base_url: str, charger: dict[str, str], om: dict[str, str]) -> None:
    r, got = asyncio.run(_with_command(base_url, charger, om, "unlock", connector_id=1))
    assert r.status_code == 200 and r.json()["status"] == "Unlocked"
    assert got == [("UnlockConnector", {"connector_id": 1})]


def test_get_configuration(base_url: str, charger: dict[str, str], om: dict[str, str]) -> None:
    r, _ = asyncio.run(
        _with_command(
            base_url, charger, om, "get_configuration", keys=["HeartbeatInterval", "Nope"]
        )
    )
    assert r.status_code == 200, r.text
    result = r.json()["result"]
    assert result["configuration_key"] == [
        {"key": "HeartbeatInterval", "readonly": False, "value": "120"}
    ]
    assert result["unknown_key"] == ["Nope"]


def test_change_configuration(base_url: str, charger: dict[str, str], om: dict[str, str]) -> None:
    r, got = asyncio.run(
        _with_command(
            base_url, charger, om, "change_configuration", key="HeartbeatInterval", value=300
        )
    )
    assert r.status_code == 200 and r.json()["status"] == "Accepted"
    assert got == [("ChangeConfiguration", {"key": "HeartbeatInterval", "value": "300"})]


def test_trigger_message(base_url: str, charger: dict[str, str], om: dict[str, str]) -> None:
    r, got = asyncio.run(
        _with_command(base_url, charger, om, "trigger_message", message="status", connector_id=1)
    )
    assert r.status_code == 200
    assert got == [
        ("TriggerMessage", {"requested_message": "StatusNotification", "connector_id": 1})
    ]


def test_change_availability(base_url: str, charger: dict[str, str], om: dict[str, str]) -> None:
    r, got = asyncio.run(
        _with_command(base_url, charger, om, "change_availability", connector_id=1, operative=False)
    )
    assert r.status_code == 200 and r.json()["status"] == "Accepted"
    assert got == [("ChangeAvailability", {"connector_id": 1, "type": "Inoperative"})]


def test_data_transfer_from_the_charger_is_answered_unknown_vendor(
    base_url: str, charger: dict[str, str]
) -> None:
    async def run() -> Any:
        async with station(base_url, charger["serial"], charger["token"]) as cp:
            return await cp.call(call.DataTransfer(vendor_id="com.acme", data="x"), suppress=False)

    assert asyncio.run(run()).status == "UnknownVendorId"


def test_commands_are_audited_and_in_the_message_log(
    base_url: str, charger: dict[str, str], om: dict[str, str], runtime: Runtime, client: TestClient
) -> None:
    r, _ = asyncio.run(_with_command(base_url, charger, om, "reset"))
    assert r.status_code == 200
    with runtime.db.session() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "ocpp.command"))
        assert entry is not None and entry.object_id == charger["charger"]
        assert entry.detail["action"] == "reset" and entry.detail["status"] == "Accepted"
    log = client.get(f"/api/v1/devices/{charger['charger']}/ocpp/messages", headers=om).json()
    texts = [m["text"] for m in log["messages"]]
    assert any('"Reset"' in t for t in texts) and any('"Accepted"' in t for t in texts)
    assert log["messages"][-1]["direction"] == "event"  # disconnected


def test_a_command_to_a_charger_not_connected_is_unavailable(
    client: TestClient, charger: dict[str, str], om: dict[str, str]
) -> None:
    r = client.post(
        f"/api/v1/devices/{charger['charger']}/ocpp/commands",
        json={"action": "reset", "params": {}},
        headers=om,
    )
    assert r.status_code == 503 and "not connected" in r.json()["detail"]


def test_a_command_of_the_other_version_is_refused(
    base_url: str, charger: dict[str, str], om: dict[str, str]
) -> None:
    r, got = asyncio.run(
        _with_command(
            base_url, charger, om, "get_variables", variables=[{"component": "A", "variable": "B"}]
        )
    )
    assert r.status_code == 400 and "2.0.1" in r.json()["detail"] and got == []


def test_the_owner_may_not_send_commands(
    base_url: str, charger: dict[str, str], world: World
) -> None:
    owner = world.accounts["owner@I1"].headers()
    r, got = asyncio.run(_with_command(base_url, charger, owner, "reset"))
    assert r.status_code in (403, 404) and got == []
