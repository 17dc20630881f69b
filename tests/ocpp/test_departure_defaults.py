"""Default departures at a session's start, through real OCPP clients: an OCPP 1.6 charger
starting with a card that has a default ("leaves at 07:30, needs 20 kWh") gets it as its
session's departure, the next 07:30 on the site's clock (Berlin); an OCPP 2.0.1 station whose
card has none gets its connector's default, and the car's own NotifyEVChargingNeeds then
overrides it; a card with no default on a connector with none starts with no departure."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from ocpp.v201 import call

from tests.ocpp.test_ev_fuse_e2e import jobs as jobs
from tests.support.world import World
from voltfleet.app.runtime import Runtime
from voltfleet.jobs.inprocess import InProcessJobs
from voltfleet.simulator.ocpp_charger import SimulatedCharger

pytestmark = pytest.mark.parametrize("runtime", ["sqlite"], indirect=True)
BERLIN = ZoneInfo("Europe/Berlin")


def _site(client: TestClient, world: World) -> dict[str, Any]:
    admin = world.accounts["admin@I1"].headers()
    om = world.accounts["om@I1"].headers()
    r = client.post(
        "/api/v1/sites", json={"name": "Depot", "timezone": "Europe/Berlin"}, headers=admin
    )
    assert r.status_code == 201, r.text
    site = r.json()["id"]
    for serial in ("DEP-16", "DEP-201"):
        d = {"kind": "charger", "serial": serial, "connectors": [{"connector_no": 1}]}
        r = client.post(f"/api/v1/sites/{site}/devices", json=d, headers=admin)
        assert r.status_code == 201, r.text
    devices = client.get("/api/v1/devices", params={"site_id": site}, headers=admin).json()
    ids = {d["serial"]: d["id"] for d in devices["items"]}
    tokens = {
        s: client.post(f"/api/v1/devices/{ids[s]}/token", headers=om).json()["token"] for s in ids
    }
    tags = {}
    for tag in ("CARD-7", "CARD-X"):
        r = client.put(f"/api/v1/sites/{site}/id-tags", json={"tag": tag}, headers=om)
        assert r.status_code == 200, r.text
        tags[tag] = r.json()["id"]
    return {"site": site, "ids": ids, "tokens": tokens, "tags": tags, "om": om}


def _departure(client: TestClient, om: dict[str, str], site: str, serial: str) -> dict[str, Any]:
    sessions = client.get(
        "/api/v1/charging/sessions", params={"site_id": site, "active": True}, headers=om
    ).json()["items"]
    [sid] = [s["id"] for s in sessions if s["charger_serial"] == serial]
    r = client.get(f"/api/v1/charging/sessions/{sid}/departure", headers=om)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_session_starts_with_its_cards_default_else_its_connectors(
    client: TestClient, world: World, runtime: Runtime, base_url: str, jobs: InProcessJobs
) -> None:
    loc = _site(client, world)
    site, om = loc["site"], loc["om"]
    url = f"/api/v1/sites/{site}/id-tags/{loc['tags']['CARD-7']}/departure-default"
    r = client.put(url, json={"departure_time": "07:30", "energy_need_kwh": 20}, headers=om)
    assert r.status_code == 200, r.text
    c16 = SimulatedCharger(base_url, "DEP-16", loc["tokens"]["DEP-16"], id_tag="CARD-7")
    c201 = SimulatedCharger(
        base_url, "DEP-201", loc["tokens"]["DEP-201"], version="2.0.1", id_tag="CARD-X"
    )
    car_leaves = (datetime.now(UTC) + timedelta(hours=5)).replace(microsecond=0)

    async def plug_in(sim: SimulatedCharger) -> None:
        await sim.connect()
        await sim.step(datetime.now(UTC), 1, True, 0.0)

    async def the_car_says(sim: SimulatedCharger) -> str:
        needs = call.NotifyEVChargingNeeds(
            evse_id=1,
            charging_needs={
                "requested_energy_transfer": "AC_three_phase",
                "departure_time": car_leaves.isoformat().replace("+00:00", "Z"),
                "ac_charging_parameters": {
                    "energy_amount": 12_000,
                    "ev_min_current": 6,
                    "ev_max_current": 16,
                    "ev_max_voltage": 400,
                },
            },
        )
        return str((await sim._send(needs)).status)

    async def run() -> str:
        try:
            await plug_in(c16)
            # no default on CARD-X: the 2.0.1 station's first session starts without one
            await plug_in(c201)
            return "ok"
        finally:
            await c16.close()
            await c201.close()

    assert asyncio.run(run()) == "ok"
    got = _departure(client, om, site, "DEP-16")
    at = datetime.fromisoformat(got["departure_at"])
    started = datetime.now(UTC)
    assert at.astimezone(BERLIN).time() == time(7, 30)
    assert started - timedelta(minutes=1) < at <= started + timedelta(hours=24)
    assert got["energy_need_kwh"] == 20.0
    assert _departure(client, om, site, "DEP-201")["departure_at"] is None

    # the connector's default, for sessions whose card has none: a new session takes it
    connector = client.get(f"/api/v1/devices/{loc['ids']['DEP-201']}", headers=om).json()
    conn_id = connector["connectors"][0]["id"]
    r = client.put(
        f"/api/v1/sites/{site}/connectors/{conn_id}/departure-default",
        json={"departure_time": "17:00", "energy_need_kwh": 8},
        headers=om,
    )
    assert r.status_code == 200, r.text
    c201b = SimulatedCharger(
        base_url, "DEP-201", loc["tokens"]["DEP-201"], version="2.0.1", id_tag="CARD-X"
    )

    async def again() -> str:
        try:
            await c201b.connect()
            await c201b.step(datetime.now(UTC), 1, False, 0.0)  # (nothing open there)
            await c201b.step(datetime.now(UTC), 1, True, 0.0)
            return "ok"
        finally:
            await c201b.close()

    # the earlier session on the 2.0.1 connector is still open: a new start closes it
    assert asyncio.run(again()) == "ok"
    got = _departure(client, om, site, "DEP-201")
    at = datetime.fromisoformat(got["departure_at"])
    assert at.astimezone(BERLIN).time() == time(17, 0) and got["energy_need_kwh"] == 8.0
    assert got["source"] == "connector_default"
    assert _departure(client, om, site, "DEP-16")["source"] == "tag_default"

    # the car's own needs override the default
    c201c = SimulatedCharger(
        base_url, "DEP-201", loc["tokens"]["DEP-201"], version="2.0.1", id_tag="CARD-X"
    )
    c201c.transaction_ref = c201b.transaction_ref
    c201c.transaction_id = c201b.transaction_id

    async def car() -> str:
        try:
            await c201c.connect()
            return await the_car_says(c201c)
        finally:
            await c201c.close()

    assert asyncio.run(car()) == "Accepted"
    got = _departure(client, om, site, "DEP-201")
    assert datetime.fromisoformat(got["departure_at"]) == car_leaves
    assert got["energy_need_kwh"] == 12.0 and got["source"] == "car"
