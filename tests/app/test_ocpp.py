"""The OCPP 1.6J central system, through a real charge point: the ``ocpp`` library's ChargePoint
over a ``websockets`` client to voltfleet served by uvicorn on 127.0.0.1 (on SQLite and on
PostgreSQL). Boot, status, a whole transaction with meter values, faults, refused credentials and
malformed messages; then what was stored: the session, the telemetry, the quarantine, alarms."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from ocpp.exceptions import OCPPError, PropertyConstraintViolationError
from ocpp.v16 import ChargePoint, call
from ocpp.v16.datatypes import MeterValue, SampledValue
from sqlalchemy import select
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus
from websockets.headers import build_authorization_basic
from websockets.typing import Subprotocol

from tests.support.live_server import live_server
from tests.support.world import PASSWORD, World, build_world
from voltfleet.app.runtime import Runtime
from voltfleet.store.charging_models import ChargingSession
from voltfleet.store.fleet_models import Connector, Device
from voltfleet.store.telemetry_models import QuarantinedReading
from voltfleet.store.timeseries import store_for

SERIAL = "EVC-OCPP-1"


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


@pytest.fixture
def base_url(app: FastAPI) -> Iterator[str]:
    with live_server(app) as url:
        yield url


def h(world: World, who: str) -> dict[str, str]:
    return world.accounts[who].headers()


def make_charger(client: TestClient, world: World, serial: str = SERIAL) -> dict[str, str]:
    """A site of I1 with a gateway and a charger (directly at the site); the charger's token."""
    r = client.post(
        "/api/v1/sites",
        json={"name": "EV home", "timezone": "Europe/Berlin", "gateway": {"serial": serial + "G"}},
        headers=h(world, "admin@I1"),
    )
    assert r.status_code == 201, r.text
    site_id = r.json()["id"]
    r = client.post(
        f"/api/v1/sites/{site_id}/devices",
        json={"kind": "charger", "serial": serial, "subtype": "ac"},
        headers=h(world, "admin@I1"),
    )
    assert r.status_code == 201, r.text
    charger_id = r.json()["id"]
    r = client.post(f"/api/v1/devices/{charger_id}/token", headers=h(world, "om@I1"))
    assert r.status_code == 201, r.text
    return {"site": site_id, "charger": charger_id, "token": r.json()["token"]}


def ws_url(base: str, cp_id: str) -> str:
    return base.replace("http://", "ws://") + f"/ocpp/1.6/{cp_id}"


@asynccontextmanager
async def charge_point(
    base: str, cp_id: str, password: str, subprotocol: str | None = "ocpp1.6"
) -> AsyncIterator[tuple[ChargePoint, ClientConnection]]:
    ws = await connect(
        ws_url(base, cp_id),
        subprotocols=[Subprotocol(subprotocol)] if subprotocol else None,
        additional_headers={"Authorization": build_authorization_basic(cp_id, password)},
        open_timeout=10,
    )
    cp = ChargePoint(cp_id, ws, response_timeout=15)
    reader = asyncio.create_task(cp.start())
    try:
        yield cp, ws
    finally:
        reader.cancel()
        await ws.close()
        with suppress(asyncio.CancelledError, Exception):
            await reader


def wait_status(client: TestClient, world: World, device_id: str, want: str) -> str:
    """The device's status once it is ``want`` (the server handles a disconnect a moment after
    the client closed), or what it is after 10 s."""
    deadline = time.monotonic() + 10
    while True:
        got = client.get(f"/api/v1/devices/{device_id}", headers=h(world, "om@I1")).json()["status"]
        if got == want or time.monotonic() > deadline:
            return str(got)
        time.sleep(0.05)


def portal(client: TestClient, who: str, path: str) -> tuple[int, str]:
    """A portal page as the person ``who`` (e.g. "owner@I1") sees it."""
    client.cookies.clear()
    email = f"{who.split('@')[0]}.{who.split('@')[1].lower()}@example.com"
    r = client.post("/login", data={"email": email, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303, r.text
    r = client.get(path)
    return r.status_code, r.text


def iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def sv(value: str, measurand: str, unit: str, phase: str | None = None, **kw: Any) -> SampledValue:
    return SampledValue(value=value, measurand=measurand, unit=unit, phase=phase, **kw)  # type: ignore[arg-type]


T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)


def test_refused_before_the_websocket_opens(
    client: TestClient, world: World, runtime: Runtime, base_url: str
) -> None:
    ids = make_charger(client, world)

    async def status_of(cp_id: str, password: str, subprotocol: str | None = "ocpp1.6") -> int:
        try:
            async with charge_point(base_url, cp_id, password, subprotocol):
                return 101
        except InvalidStatus as exc:
            return exc.response.status_code

    async def run() -> dict[str, int]:
        return {
            "wrong password": await status_of(SERIAL, "vfg_not-the-token"),
            "unknown charger": await status_of("NOBODY-1", ids["token"]),
            "no subprotocol": await status_of(SERIAL, ids["token"], None),
            "right": await status_of(SERIAL, ids["token"]),
        }

    got = asyncio.run(run())
    assert got == {
        "wrong password": 401,
        "unknown charger": 401,
        "no subprotocol": 400,
        "right": 101,
    }

    # A gateway's token does not open a charger's connection, nor the gateway's own id.
    r = client.get("/api/v1/devices", params={"site_id": ids["site"]}, headers=h(world, "om@I1"))
    gateway = next(d for d in r.json()["items"] if d["kind"] == "gateway")
    r = client.post(f"/api/v1/devices/{gateway['id']}/token", headers=h(world, "om@I1"))
    gw_token = r.json()["token"]

    async def gw() -> tuple[int, int]:
        return await status_of(SERIAL, gw_token), await status_of(gateway["serial"], gw_token)

    assert asyncio.run(gw()) == (401, 401)

    # A rotated token stops working; a deleted charger cannot connect.
    r = client.post(f"/api/v1/devices/{ids['charger']}/token", headers=h(world, "om@I1"))
    assert asyncio.run(status_of(SERIAL, ids["token"])) == 401
    new_token = r.json()["token"]
    assert asyncio.run(status_of(SERIAL, new_token)) == 101
    r = client.delete(f"/api/v1/devices/{ids['charger']}", headers=h(world, "admin@I1"))
    assert r.status_code in (200, 204), r.text
    assert asyncio.run(status_of(SERIAL, new_token)) == 401


def test_a_charging_session_end_to_end(
    client: TestClient, world: World, runtime: Runtime, base_url: str
) -> None:
    ids = make_charger(client, world)
    t = [T0 + timedelta(minutes=k) for k in range(6)]

    async def run() -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with charge_point(base_url, SERIAL, ids["token"]) as (cp, _):
            boot = await cp.call(
                call.BootNotification(
                    charge_point_vendor="ACME",
                    charge_point_model="Wallbox 11",
                    firmware_version="2.4.1",
                ),
                suppress=False,
            )
            out["boot"] = (boot.status, boot.interval)
            out["heartbeat"] = (await cp.call(call.Heartbeat(), suppress=False)).current_time
            await cp.call(
                call.StatusNotification(
                    connector_id=1, error_code="NoError", status="Preparing", timestamp=iso(t[0])
                ),
                suppress=False,
            )
            auth = await cp.call(call.Authorize(id_tag="CARD-42"), suppress=False)
            out["authorize"] = auth.id_tag_info["status"]
            start = call.StartTransaction(
                connector_id=1, id_tag="CARD-42", meter_start=1000, timestamp=iso(t[0])
            )
            res = await cp.call(start, suppress=False)
            again = await cp.call(start, suppress=False)  # the answer was lost: sent again
            out["tx"], out["tx_again"] = res.transaction_id, again.transaction_id
            out["tx_status"] = res.id_tag_info["status"]
            await cp.call(
                call.StatusNotification(connector_id=1, error_code="NoError", status="Charging"),
                suppress=False,
            )
            tx = res.transaction_id
            out["charging"] = wait_status(client, world, ids["charger"], "running")
            await cp.call(
                call.MeterValues(
                    connector_id=1,
                    transaction_id=tx,
                    meter_value=[
                        MeterValue(
                            timestamp=iso(t[1]),
                            sampled_value=[
                                sv("1.1", "Energy.Active.Import.Register", "kWh"),
                                sv("7.2", "Power.Active.Import", "kW"),
                                *(sv("10.4", "Current.Import", "A", p) for p in ("L1", "L2", "L3")),
                                sv("231.5", "Voltage", "V", "L1-N"),
                                sv("55", "SoC", "Percent", location="EV"),
                                sv("31", "Temperature", "Celsius"),  # not stored
                            ],
                        )
                    ],
                ),
                suppress=False,
            )
            # per-phase power only: summed; a reading that is not a number: quarantined
            await cp.call(
                call.MeterValues(
                    connector_id=1,
                    transaction_id=tx,
                    meter_value=[
                        MeterValue(
                            timestamp=iso(t[2]),
                            sampled_value=[
                                sv("1250", "Energy.Active.Import.Register", "Wh"),
                                *(
                                    sv("2300", "Power.Active.Import", "W", p)
                                    for p in ("L1", "L2", "L3")
                                ),
                                sv("n/a", "Current.Import", "A", "L1"),
                            ],
                        )
                    ],
                ),
                suppress=False,
            )
            r = client.get(
                "/api/v1/charging/sessions",
                params={"active": True},
                headers=h(world, "om@I1"),
            )
            out["running"] = r.json()
            out["card"] = portal(client, "om@I1", f"/site/{ids['site']}/chargers")
            out["page"] = portal(client, "om@I1", f"/site/{ids['site']}")
            out["foreign"] = portal(client, "admin@I2", f"/site/{ids['site']}/chargers")
            client.cookies.clear()
            # malformed messages: CallErrors, and the connection goes on
            for bad in (
                call.MeterValues(connector_id=1, meter_value=[{"timestamp": iso(t[2])}]),
                call.StartTransaction(
                    connector_id=1, id_tag="X", meter_start=1, timestamp="yesterday"
                ),
            ):
                try:
                    await cp.call(bad, suppress=False, skip_schema_validation=True)
                    out.setdefault("errors", []).append(None)
                except OCPPError as exc:
                    out.setdefault("errors", []).append(type(exc))
            stop = await cp.call(
                call.StopTransaction(
                    meter_stop=1300,
                    timestamp=iso(t[3]),
                    transaction_id=tx,
                    reason="EVDisconnected",
                    id_tag="CARD-42",
                ),
                suppress=False,
            )
            out["stop"] = stop.id_tag_info["status"]
            await cp.call(
                call.StatusNotification(connector_id=1, error_code="NoError", status="Available"),
                suppress=False,
            )
            out["after"] = (await cp.call(call.Heartbeat(), suppress=False)) is not None
            out["available"] = wait_status(client, world, ids["charger"], "online")
        return out

    out = asyncio.run(run())
    assert out["boot"] == ("Accepted", runtime.settings.ocpp_heartbeat_s)
    assert out["authorize"] == out["tx_status"] == out["stop"] == "Accepted"
    assert isinstance(out["tx"], int) and out["tx"] > 0 and out["tx_again"] == out["tx"]
    running = out["running"]
    assert running["total"] == 1, running
    assert running["items"][0]["energy_wh"] == 250 and running["items"][0]["power_w"] == 6900
    assert out["errors"][0] is not None and issubclass(out["errors"][0], OCPPError)
    assert out["errors"][1] is PropertyConstraintViolationError
    assert out["after"]
    assert (out["charging"], out["available"]) == ("running", "online")
    # the site page's charger card: the connector charging, the energy so far and the power
    status, card = out["card"]
    assert status == 200 and SERIAL in card and "charging" in card
    assert "0.25 kWh" in card and "6.90 kW" in card
    assert out["page"][0] == 200 and 'id="chargers"' in out["page"][1]
    assert out["foreign"][0] == 404
    assert wait_status(client, world, ids["charger"], "offline") == "offline"  # disconnected

    with runtime.db.session() as s:
        device = s.get(Device, ids["charger"])
        assert device is not None
        assert (device.model, device.fw_arm) == ("ACME Wallbox 11", "2.4.1")
        connector = s.scalar(select(Connector).where(Connector.charger_id == device.id))
        assert connector is not None and connector.status == "available"
        row = s.scalar(select(ChargingSession))
        assert row is not None and s.query(ChargingSession).count() == 1
        assert (row.transaction_id, row.id_tag, row.connector_id) == (out["tx"], "CARD-42", 1)
        assert (row.meter_start_wh, row.meter_stop_wh, row.energy_wh) == (1000, 1300, 300)
        assert row.started_at == t[0] and row.stopped_at == t[3]
        assert row.stop_reason == "EVDisconnected" and row.site_id == ids["site"]
        store = store_for(s.connection())
        lo, hi = t[0] - timedelta(minutes=1), t[5]

        def values(point: str) -> list[float]:
            return [x.value for x in store.read(ids["charger"], point, lo, hi)]

        assert values("ev_energy_wh") == [1000, 1100, 1250, 1300]
        assert values("ev_power_w") == [7200, 6900, 0]
        assert values("ev_current_l1_a") == [10.4]  # the "n/a" one is quarantined
        assert values("ev_current_l2_a") == values("ev_current_l3_a") == [10.4]
        assert values("ev_voltage_l1_v") == [231.5]
        assert values("ev_soc") == [pytest.approx(0.55)]
        quarantined = list(s.scalars(select(QuarantinedReading)))
        assert [(q.point, q.reason, q.value_text) for q in quarantined] == [
            ("ev_current_l1_a", "not_a_number", "n/a")
        ]

    # The session through the API: its owner's people see it, another installer does not.
    r = client.get("/api/v1/charging/sessions", headers=h(world, "owner@I1"))
    assert r.status_code == 200
    r = client.get("/api/v1/charging/sessions", headers=h(world, "admin@I1"))
    [item] = r.json()["items"]
    assert item["energy_wh"] == 300 and not item["active"] and item["charger_serial"] == SERIAL
    assert (
        client.get(f"/api/v1/charging/sessions/{item['id']}", headers=h(world, "om@I1")).json()[
            "transaction_id"
        ]
        == out["tx"]
    )
    assert (
        client.get("/api/v1/charging/sessions", headers=h(world, "admin@I2")).json()["total"] == 0
    )
    r = client.get(f"/api/v1/charging/sessions/{item['id']}", headers=h(world, "admin@I2"))
    assert r.status_code == 404
    r = client.get(
        "/api/v1/charging/sessions",
        params={"format": "csv", "device_id": ids["charger"]},
        headers=h(world, "om@I1"),
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = r.text.strip().splitlines()
    assert lines[0].startswith("id,site_id,charger_serial") and len(lines) == 2
    header = lines[0].split(",")  # its instants are UTC, and the headers say so
    assert "started_at (UTC)" in header and "stopped_at (UTC)" in header
    assert ",EVDisconnected" in lines[1] and ",300.0," in lines[1]


def test_a_fault_is_a_device_status_and_an_alarm(
    client: TestClient, world: World, runtime: Runtime, base_url: str
) -> None:
    ids = make_charger(client, world)
    now = datetime.now(UTC).replace(microsecond=0)

    async def run() -> None:
        async with charge_point(base_url, SERIAL, ids["token"]) as (cp, _):
            await cp.call(
                call.StatusNotification(
                    connector_id=1,
                    error_code="GroundFailure",
                    status="Faulted",
                    info="RCD tripped",
                    timestamp=iso(now - timedelta(minutes=2)),
                ),
                suppress=False,
            )
            # data while faulted does not hide the fault
            await cp.call(
                call.MeterValues(
                    connector_id=1,
                    meter_value=[
                        MeterValue(
                            timestamp=iso(now - timedelta(minutes=1)),
                            sampled_value=[sv("5", "Energy.Active.Import.Register", "Wh")],
                        )
                    ],
                ),
                suppress=False,
            )
            r = client.get(f"/api/v1/devices/{ids['charger']}", headers=h(world, "om@I1"))
            assert r.json()["status"] == "fault"
            r = client.get("/api/v1/alarms", params={"status": "active"}, headers=h(world, "om@I1"))
            assert [a["code"] for a in r.json()["items"]] == ["EVC_RESIDUAL_CURRENT"]
            assert "RCD tripped" in r.json()["items"][0]["message"]
            await cp.call(
                call.StatusNotification(
                    connector_id=1, error_code="NoError", status="Available", timestamp=iso(now)
                ),
                suppress=False,
            )

    asyncio.run(run())
    assert wait_status(client, world, ids["charger"], "offline") == "offline"
    r = client.get("/api/v1/alarms", params={"status": "active"}, headers=h(world, "om@I1"))
    assert r.json()["total"] == 0
    r = client.get("/api/v1/alarms", params={"status": "cleared"}, headers=h(world, "om@I1"))
    assert [a["code"] for a in r.json()["items"]] == ["EVC_RESIDUAL_CURRENT"]


def test_a_charger_removed_while_connected_is_told_and_disconnected(
    client: TestClient, world: World, runtime: Runtime, base_url: str
) -> None:
    ids = make_charger(client, world)

    async def run() -> tuple[type[OCPPError] | None, bool]:
        async with charge_point(base_url, SERIAL, ids["token"]) as (cp, ws):
            await cp.call(call.Heartbeat(), suppress=False)
            r = client.delete(f"/api/v1/devices/{ids['charger']}", headers=h(world, "admin@I1"))
            assert r.status_code in (200, 204), r.text
            error = None
            try:
                await cp.call(call.Heartbeat(), suppress=False)
            except OCPPError as exc:
                error = type(exc)
            with suppress(Exception):
                await asyncio.wait_for(ws.wait_closed(), 5)
            return error, ws.state.name == "CLOSED"

    error, closed = asyncio.run(run())
    assert error is not None and error.__name__ == "SecurityError" and closed


def test_a_faulted_charger_sending_meter_values_stays_faulted_with_one_history_row(
    client: TestClient, world: World, runtime: Runtime, base_url: str
) -> None:
    """20 MeterValues from a faulted charger: the fault stays, and its status history holds one
    row for it (none flipping to online and back per message)."""
    from voltfleet.store.fleet_models import DeviceStatusChange

    ids = make_charger(client, world)
    now = datetime.now(UTC).replace(microsecond=0)

    async def run() -> None:
        async with charge_point(base_url, SERIAL, ids["token"]) as (cp, _):
            await cp.call(
                call.StatusNotification(
                    connector_id=1,
                    error_code="GroundFailure",
                    status="Faulted",
                    timestamp=iso(now - timedelta(minutes=30)),
                ),
                suppress=False,
            )
            for k in range(20):
                await cp.call(
                    call.MeterValues(
                        connector_id=1,
                        meter_value=[
                            MeterValue(
                                timestamp=iso(now - timedelta(minutes=20 - k)),
                                sampled_value=[
                                    sv(str(100 + k), "Energy.Active.Import.Register", "Wh")
                                ],
                            )
                        ],
                    ),
                    suppress=False,
                )
            r = client.get(f"/api/v1/devices/{ids['charger']}", headers=h(world, "om@I1"))
            assert r.json()["status"] == "fault"

    asyncio.run(run())
    with runtime.db.session() as s:
        history = list(
            s.scalars(
                select(DeviceStatusChange.status)
                .where(DeviceStatusChange.device_id == ids["charger"])
                .order_by(DeviceStatusChange.at)
            )
        )
        stored = store_for(s.connection()).read(
            ids["charger"], "ev_energy_wh", now - timedelta(hours=1), now
        )
    assert history.count("fault") == 1, history
    assert "online" not in history[history.index("fault") :], history
    assert len(stored) == 20
