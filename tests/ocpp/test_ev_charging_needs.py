"""OCPP 2.0.1 NotifyEVChargingNeeds (ISO 15118): the car's departure time and energy amount
become its running session's departure (source "car"), which the API and the power screen then
show; a departure already gone, or no running session, is Rejected."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from ocpp.v201 import call

from tests.ocpp.test_ev_fuse_e2e import jobs as jobs
from tests.ocpp.test_phase_switching import _location
from tests.support.world import World
from voltfleet.app.runtime import Runtime
from voltfleet.jobs.inprocess import InProcessJobs
from voltfleet.simulator.ocpp_charger import SimulatedCharger

pytestmark = pytest.mark.parametrize("runtime", ["sqlite"], indirect=True)


def _needs(departure: datetime, energy_wh: int) -> Any:
    return call.NotifyEVChargingNeeds(
        evse_id=1,
        charging_needs={
            "requested_energy_transfer": "AC_three_phase",
            "departure_time": departure.isoformat().replace("+00:00", "Z"),
            "ac_charging_parameters": {
                "energy_amount": energy_wh,
                "ev_min_current": 6,
                "ev_max_current": 16,
                "ev_max_voltage": 400,
            },
        },
    )


def test_the_cars_charging_needs_become_its_sessions_departure(
    client: TestClient,
    world: World,
    runtime: Runtime,
    base_url: str,
    jobs: InProcessJobs,
) -> None:
    serial = "P13-NEEDS"
    loc = _location(client, world, runtime, serial)
    sim = SimulatedCharger(base_url, serial, loc["tokens"][serial], version="2.0.1", car_phases=3)
    departure = (datetime.now(UTC) + timedelta(hours=3)).replace(microsecond=0)

    async def run() -> list[str]:
        await sim.connect()
        try:
            before = await sim._send(_needs(departure, 18_000))  # no session yet
            await sim.step(datetime.now(UTC), 1, True, 0.0)  # the car plugs in: a transaction
            ok = await sim._send(_needs(departure, 18_000))
            gone = await sim._send(_needs(datetime.now(UTC) - timedelta(minutes=5), 18_000))
            return [before.status, ok.status, gone.status]
        finally:
            await sim.close()

    assert asyncio.run(run()) == ["Rejected", "Accepted", "Rejected"]
    om = world.accounts["om@I1"].headers()
    sessions = client.get(
        "/api/v1/charging/sessions", params={"site_id": loc["site"], "active": True}, headers=om
    ).json()["items"]
    [session] = sessions
    r = client.get(f"/api/v1/charging/sessions/{session['id']}/departure", headers=om)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["energy_need_kwh"] == 18.0 and body["remaining_kwh"] == 18.0
    assert datetime.fromisoformat(body["departure_at"]) == departure
