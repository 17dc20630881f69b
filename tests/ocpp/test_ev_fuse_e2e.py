"""End to end (issue 13, "Done when"): a location with a 3 x 25 A main fuse, a meter and four
simulated chargers (real OCPP clients, two on 1.6J and two on 2.0.1, each drawing what its
composite schedule allows on its car's phases, wired with different phase rotations). The house
load steps up; the meter's reading arrives through the real ingest path (HTTP, the gateway's
token); every charger's applied composite schedule (GetCompositeSchedule through the O&M API) is
lowered, so the phase currents the meter measures stay under 25 A.

The platform runs as it does in production on one process: uvicorn on loopback, jobs in-process
(the power-recompute job on the meter's reading, the 5 s cycle). The time from the reading to
the last charger's new profile is printed (the target is 250 ms; on the shared 2-core test
machine it is reported, not asserted: the test waits up to 10 s and asserts the limits).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.ocpp.stations import command
from tests.support.world import World
from voltfleet.app.runtime import Runtime
from voltfleet.jobs.inprocess import InProcessJobs
from voltfleet.jobs.platform import platform_jobs
from voltfleet.simulator.ocpp_charger import SimulatedCharger
from voltfleet.store.fleet_models import Connector

pytestmark = pytest.mark.parametrize("runtime", ["sqlite"], indirect=True)

FUSE_A = 25.0
VOLTS = 230.0
# serial, OCPP version, the car's phases, rotation (the grid phase of the charger's L1 L2 L3)
CHARGERS = [
    ("E2E-A", "1.6", 3, "123"),
    ("E2E-B", "2.0.1", 3, "231"),
    ("E2E-C", "1.6", 1, "123"),  # one-phase car on grid phase 1
    ("E2E-D", "2.0.1", 1, "312"),  # one-phase car on grid phase 3
]
HOUSE_BEFORE_A = 0.0  # the cars plug in: 4 x 6 A fit before their phases are known
HOUSE_AFTER_A = 6.0
WAIT_S = 10.0


@pytest.fixture
def jobs(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[InProcessJobs]:
    """The jobs running in this process, as `voltfleet serve` runs them."""
    runner = InProcessJobs(
        platform_jobs(runtime.db, runtime.settings, runtime.power), runtime.clock
    )
    monkeypatch.setattr(runtime, "jobs", runner)
    runner.start()
    try:
        yield runner
    finally:
        runner.stop()


def _h(world: World, who: str) -> dict[str, str]:
    return world.accounts[who].headers()


def _location(client: TestClient, world: World, runtime: Runtime) -> dict[str, Any]:
    """A site of I1: a gateway, its meter and four chargers; the power-management tree (3x400,
    25 A main fuse metered, every connector on it with its rotation); the tokens."""
    admin, om = _h(world, "admin@I1"), _h(world, "om@I1")
    r = client.post(
        "/api/v1/sites",
        json={"name": "Fuse e2e", "timezone": "Europe/Berlin", "gateway": {"serial": "E2E-GW"}},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    site = r.json()["id"]
    devices: list[dict[str, Any]] = [
        {"kind": "meter", "serial": "E2E-MTR", "parent_serial": "E2E-GW"}
    ]
    devices += [
        {"kind": "charger", "serial": s, "connectors": [{"connector_no": 1, "max_current_a": 32}]}
        for s, *_ in CHARGERS
    ]
    for d in devices:
        r = client.post(f"/api/v1/sites/{site}/devices", json=d, headers=admin)
        assert r.status_code == 201, r.text
    r = client.get("/api/v1/devices", params={"site_id": site}, headers=admin)
    ids = {d["serial"]: d["id"] for d in r.json()["items"]}
    tokens = {
        serial: client.post(f"/api/v1/devices/{ids[serial]}/token", headers=om).json()["token"]
        for serial in ["E2E-GW", *(s for s, *_ in CHARGERS)]
    }
    base = f"/api/v1/sites/{site}/power"
    setup = {"grid_type": "3x400", "main_fuse_a": FUSE_A, "meter_device_id": ids["E2E-MTR"]}
    r = client.put(base, json=setup, headers=admin)
    assert r.status_code == 200, r.text
    root = r.json()["groups"][0]["id"]
    for serial, _, _, rotation in CHARGERS:
        with runtime.db.session() as s:
            connector = s.scalar(select(Connector.id).where(Connector.charger_id == ids[serial]))
        r = client.put(
            f"{base}/connectors/{connector}",
            json={"group_id": root, "rotation": rotation, "max_current_a": 32},
            headers=om,
        )
        assert r.status_code == 200, r.text
    # no hold before a raise, so the cars settle quickly once their phases are known (a cut is
    # immediate whatever the hold time)
    r = client.patch(f"{base}/settings", json={"raise_hold_s": 0}, headers=om)
    assert r.status_code == 200, r.text
    return {"site": site, "ids": ids, "tokens": tokens}


class Building:
    """The house, the four simulated chargers and the meter at the main fuse."""

    def __init__(self, base_url: str, loc: dict[str, Any]) -> None:
        self.base_url = base_url
        self.gateway_token = loc["tokens"]["E2E-GW"]
        self.house_a = HOUSE_BEFORE_A
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.sims: list[tuple[SimulatedCharger, tuple[int, ...]]] = []
        self.profile_at: dict[str, list[float]] = {}  # serial -> perf_counter of each profile
        for serial, version, car_phases, rotation in CHARGERS:
            sim = SimulatedCharger(
                base_url,
                serial,
                loc["tokens"][serial],
                version=version,
                car_phases=car_phases,
                all_lines=True,
            )
            self._watch(sim)
            self.sims.append((sim, tuple(int(ch) - 1 for ch in rotation)))

    def _watch(self, sim: SimulatedCharger) -> None:
        seen = self.profile_at.setdefault(sim.serial, [])
        keep = sim.profiles.set

        def set_and_note(connector_id: int, wire: dict[str, Any]) -> str:
            seen.append(time.perf_counter())
            return keep(connector_id, wire)

        sim.profiles.set = set_and_note  # type: ignore[method-assign]

    def phase_currents(self, amps_of: dict[str, float] | None = None) -> list[float]:
        """What the meter measures per grid phase: the house plus each car's current (what it
        drew in the last step, or ``amps_of``) on the grid phases its charger's lines are wired
        to."""
        out = [self.house_a] * 3
        for sim, rotation in self.sims:
            used = sim.phases_used()
            amps = sim.drawn_w / (VOLTS * used) if amps_of is None else amps_of[sim.serial]
            for line in range(used):
                out[rotation[line]] += amps
        return out

    def allowed_a(self) -> dict[str, float]:
        """What each car would draw per phase now: its 32 A, or less as its limit allows."""
        return {
            sim.serial: min(32.0, sim.allowed_w() / (VOLTS * sim.phases_used()))
            for sim, _ in self.sims
        }

    def limits(self) -> dict[str, float | None]:
        """Each charger's composite limit now (A per phase), as the charger applies it."""
        return {sim.serial: sim.profiles.limit(1, True)[0] for sim, _ in self.sims}

    async def step(self, http: httpx.AsyncClient) -> list[float]:
        """One second: every car draws what its limit allows (and reports it), then the meter
        reports the building's currents through the ingest API."""
        self.now += timedelta(seconds=1)
        for sim, _ in self.sims:
            full_w = 32 * VOLTS * sim.car_phases
            await sim.step(self.now, 1, True, full_w)
        return await self.meter(http)

    async def meter(self, http: httpx.AsyncClient) -> list[float]:
        currents = self.phase_currents()
        ts = self.now.isoformat().replace("+00:00", "Z")
        body = {
            "readings": [
                {"device": "E2E-MTR", "point": f"grid_current_l{n + 1}_a", "ts": ts,
                 "value": round(a, 2), "unit": "A"}
                for n, a in enumerate(currents)
            ]
        }  # fmt: skip
        r = await http.post(
            "/api/v1/ingest", json=body, headers={"Authorization": f"Bearer {self.gateway_token}"}
        )
        assert r.status_code == 200 and r.json()["accepted"] == 3, r.text
        return currents


def test_house_load_steps_up_and_every_charger_is_lowered_under_the_main_fuse(
    client: TestClient,
    world: World,
    runtime: Runtime,
    base_url: str,
    jobs: InProcessJobs,
) -> None:
    loc = _location(client, world, runtime)
    om = _h(world, "om@I1")
    building = Building(base_url, loc)

    async def composite(serial: str) -> float:
        r = await command(
            base_url, om, loc["ids"][serial], "get_composite_schedule", connector_id=1,
            duration_s=300,
        )  # fmt: skip
        body = r.json()
        assert r.status_code == 200 and body["status"] == "Accepted", body
        result = body["result"]
        schedule = result.get("schedule") or result["charging_schedule"]
        return float(schedule["charging_schedule_period"][0]["limit"])

    async def run() -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            for sim, _ in building.sims:
                await sim.connect()
            try:
                await building.meter(http)
                # the cars plug in and charge; the platform learns their phases from the
                # chargers' per-line currents and shares the 25 A per phase between three
                deadline = time.monotonic() + 3 * WAIT_S
                settled = 0
                while settled < 3:
                    assert time.monotonic() < deadline, ("never settled", building.limits())
                    before = building.limits()
                    await building.step(http)
                    await asyncio.sleep(0.3)
                    limits = building.limits()
                    steady = limits == before and all(v and v >= 6 for v in limits.values())
                    settled = settled + 1 if steady else 0
                assert max(building.phase_currents()) <= FUSE_A
                before = {s: await composite(s) for s in building.limits()}

                # from now on a raise waits for the hold time (a cut never does), as by default
                r = await http.patch(
                    f"/api/v1/sites/{loc['site']}/power/settings", json={"raise_hold_s": 60},
                    headers=om,
                )  # fmt: skip
                assert r.status_code == 200, r.text

                # the house load steps up; the meter's reading shows the main fuse overloaded
                building.house_a = HOUSE_AFTER_A
                building.now += timedelta(milliseconds=500)
                at_step = building.phase_currents()
                t0 = time.perf_counter()
                await building.meter(http)
                answered_s = time.perf_counter() - t0
                deadline = time.monotonic() + WAIT_S
                while not all((v or 0) < before[s] for s, v in building.limits().items()):
                    assert time.monotonic() < deadline, ("not lowered", building.limits())
                    await asyncio.sleep(0.005)
                latency_s = max(
                    next(t for t in building.profile_at[s] if t > t0) for s in before
                ) - t0  # fmt: skip
                # what the cars draw once they follow the limits they now apply
                following = building.phase_currents(building.allowed_a())
                after = {s: await composite(s) for s in building.limits()}
                await building.step(http)  # they do, and the meter reports it
                await asyncio.sleep(0.5)
                measured = building.phase_currents()
                return {
                    "before": before,
                    "after": after,
                    "at_step": at_step,
                    "following": following,
                    "measured": measured,
                    "latest": building.limits(),
                    "latency_s": latency_s,
                    "answered_s": answered_s,
                }
            finally:
                for sim, _ in building.sims:
                    await sim.close()

    out = asyncio.run(run())
    print(
        f"\nmeter reading -> the 4th charger's new profile: {out['latency_s'] * 1000:.0f} ms "
        f"(ingest answered in {out['answered_s'] * 1000:.0f} ms); limits {out['before']} -> "
        f"{out['after']} (then {out['latest']}); phase currents at the step {out['at_step']}, "
        f"following the new limits {out['following']}, measured after {out['measured']}"
    )
    # the one-phase cars were recognised: 25 A over three cars per phase, not four
    assert all(v > FUSE_A / 4 for v in out["before"].values()), out
    assert max(out["at_step"]) > FUSE_A  # the step overloads the fuse at the old limits
    for serial, limit in out["after"].items():
        assert 6.0 <= limit < out["before"][serial], out
        assert out["latest"][serial] <= limit, out  # nothing raised again (the hold time)
    assert max(out["following"]) <= FUSE_A, out
    assert max(out["measured"]) <= FUSE_A, out
