"""1p/3p switching over real OCPP (issue 13): a simulated charger (OCPP 1.6J and 2.0.1) with a
three-phase car, on a connector that can switch phases, in solar only. With 3 kW of surplus (below
3 x 6 A x 230 V) the platform's charging profile says ``numberPhases`` 1 and the car draws its
current on one line; with 7 kW it says 3 and the car draws on three. The meter reports through
the real ingest path; jobs run in-process as `voltfleet serve` runs them."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.ocpp.test_ev_fuse_e2e import jobs as jobs
from tests.support.world import World
from voltfleet.app.runtime import Runtime
from voltfleet.jobs.inprocess import InProcessJobs
from voltfleet.simulator.ocpp_charger import SimulatedCharger
from voltfleet.store.fleet_models import Connector

pytestmark = pytest.mark.parametrize("runtime", ["sqlite"], indirect=True)

VOLTS = 230.0
WAIT_S = 20.0


def _h(world: World, who: str) -> dict[str, str]:
    return world.accounts[who].headers()


def _location(client: TestClient, world: World, runtime: Runtime, serial: str) -> dict[str, Any]:
    admin, om = _h(world, "admin@I1"), _h(world, "om@I1")
    r = client.post(
        "/api/v1/sites",
        json={"name": "Solar 1p3p", "timezone": "Europe/Berlin", "gateway": {"serial": "P13-GW"}},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    site = r.json()["id"]
    for d in (
        {"kind": "meter", "serial": "P13-MTR", "parent_serial": "P13-GW"},
        {"kind": "charger", "serial": serial,
         "connectors": [{"connector_no": 1, "max_current_a": 16}]},
    ):  # fmt: skip
        r = client.post(f"/api/v1/sites/{site}/devices", json=d, headers=admin)
        assert r.status_code == 201, r.text
    ids = {
        d["serial"]: d["id"]
        for d in client.get("/api/v1/devices", params={"site_id": site}, headers=admin).json()[
            "items"
        ]
    }
    tokens = {
        s: client.post(f"/api/v1/devices/{ids[s]}/token", headers=om).json()["token"]
        for s in ("P13-GW", serial)
    }
    base = f"/api/v1/sites/{site}/power"
    setup = {"grid_type": "3x400", "main_fuse_a": 35, "meter_device_id": ids["P13-MTR"]}
    r = client.put(base, json=setup, headers=admin)
    assert r.status_code == 200, r.text
    root = r.json()["groups"][0]["id"]
    with runtime.db.session() as s:
        connector = s.scalar(select(Connector.id).where(Connector.charger_id == ids[serial]))
    r = client.put(f"{base}/connectors/{connector}", json={"group_id": root}, headers=om)
    assert r.status_code == 200, r.text
    r = client.patch(f"{base}/settings", json={"mode": "solar_only", "raise_hold_s": 0}, headers=om)
    assert r.status_code == 200, r.text
    # short timers (theirs is the pure tests' subject); the up delay outlasts the moment a
    # meter reading taken before the car switched makes the surplus look larger than it is
    body = {"enabled": True, "up_delay_s": 3, "down_delay_s": 0, "min_interval_s": 0}
    r = client.put(f"{base}/connectors/{connector}/phase-switching", json=body, headers=om)
    assert r.status_code == 200, r.text
    return {"site": site, "tokens": tokens}


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_the_profile_says_one_phase_below_three_phases_minimum_and_the_car_follows(
    client: TestClient,
    world: World,
    runtime: Runtime,
    base_url: str,
    jobs: InProcessJobs,
    version: str,
) -> None:
    serial = f"P13-{version.replace('.', '')}"
    loc = _location(client, world, runtime, serial)
    sim = SimulatedCharger(
        base_url, serial, loc["tokens"][serial], version=version, car_phases=3, all_lines=True
    )
    numbers: list[int | None] = []  # numberPhases of every profile the charger receives
    keep = sim.profiles.set

    def noting(connector_id: int, wire: dict[str, Any]) -> str:
        schedule = wire.get("charging_schedule")
        if isinstance(schedule, list):
            schedule = schedule[0]
        live = wire.get("charging_profile_purpose") == "TxDefaultProfile" and wire["stack_level"]
        if live and schedule:  # a live limit (the fallback limit is on stack level 0)
            numbers.append(schedule["charging_schedule_period"][0].get("number_phases"))
        return keep(connector_id, wire)

    sim.profiles.set = noting  # type: ignore[method-assign]
    state = {"pv_w": 3000.0, "now": datetime.now(UTC).replace(microsecond=0)}

    async def step(http: httpx.AsyncClient) -> None:
        state["now"] += timedelta(seconds=1)
        await sim.step(state["now"], 1, True, 16 * VOLTS * 3)
        grid_w = sim.drawn_w - state["pv_w"]  # no house load: the car less the sun
        ts = state["now"].isoformat().replace("+00:00", "Z")
        per_line = round(grid_w / (3 * VOLTS), 2)
        body = {"readings": [
            {"device": "P13-MTR", "point": f"grid_current_l{n}_a", "ts": ts, "value": per_line,
             "unit": "A"} for n in (1, 2, 3)
        ]}  # fmt: skip
        token = loc["tokens"]["P13-GW"]
        r = await http.post(
            "/api/v1/ingest", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert r.status_code == 200, r.text

    async def until(http: httpx.AsyncClient, phases: int) -> tuple[float, int]:
        """Steps until the car draws on ``phases`` lines with the limit in force."""
        deadline = time.monotonic() + WAIT_S
        while True:
            await step(http)
            await asyncio.sleep(0.3)
            limit, told = sim.profiles.limit(1, True)
            if told == phases and sim.phases_used() == phases and (limit or 0) >= 6:
                await step(http)  # the car draws what it is now allowed
                return sim.drawn_w / (VOLTS * sim.phases_used()), sim.phases_used()
            assert time.monotonic() < deadline, (phases, limit, told, numbers)

    async def run() -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            await sim.connect()
            try:
                one = await until(http, 1)
                seen_one = list(numbers)
                state["pv_w"] = 7000.0
                three = await until(http, 3)
                return {"one": one, "three": three, "seen_one": seen_one, "numbers": numbers}
            finally:
                await sim.close()

    out = asyncio.run(run())
    print(
        f"\nnumberPhases received: {out['numbers']}; 3 kW -> {out['one']}, 7 kW -> {out['three']}"
    )
    amps, used = out["one"]
    assert used == 1 and 12.0 <= amps <= 13.1  # 3 kW on one phase: 13 A
    assert 1 in out["seen_one"]
    amps, used = out["three"]
    assert used == 3 and 6.0 <= amps <= 10.2  # 7 kW on three phases: 10.1 A
    assert out["numbers"][-1] == 3
