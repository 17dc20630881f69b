"""Issue 18, with real processes: two ``voltfleet serve`` processes and a ``voltfleet worker`` on
one PostgreSQL database (jobs on the worker). A charger (an independent OCPP 1.6 station) is
connected to process B. An O&M command sent to process A reaches it and its answer comes back;
the power setup saved through process A queues a power cycle that the worker (no sockets) runs,
and the charger receives its charging limit through process B."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_production_set import CliProcess
from tests.ocpp.stations import command, station
from tests.support.pg_server import fresh_database
from tests.support.server_process import SECRET, ServerProcess, seed_installer

pytestmark = pytest.mark.pg


@pytest.fixture
def processes(
    pg_url: str | None, tmp_path: Path
) -> Iterator[tuple[ServerProcess, ServerProcess, str, str]]:
    if pg_url is None:
        pytest.skip("PostgreSQL server not available (install the postgresql package)")
    url = fresh_database(pg_url, "voltfleet_xproc")
    email, password = seed_installer(url, tmp_path)
    shared = {"VOLTFLEET_JOBS": "worker"}
    a, b = (ServerProcess(url, tmp_path, env=shared, log_name=f"api-{n}.log") for n in "ab")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOLTFLEET_")}
    env.update(
        shared,
        VOLTFLEET_MODE="test",
        VOLTFLEET_DATA_DIR=str(tmp_path),
        VOLTFLEET_DATABASE_URL=url,
        VOLTFLEET_SECRET_KEY=SECRET,
    )
    worker = CliProcess(["worker", "--name", "xproc"], env, tmp_path / "worker.log")
    try:
        a.start()
        b.start()
        worker.start()
        yield a, b, email, password
    finally:
        worker.stop()
        b.stop()
        a.stop()
        print(worker.tail(), file=sys.stderr)


def test_a_command_and_the_workers_limits_reach_a_charger_held_by_another_process(
    processes: tuple[ServerProcess, ServerProcess, str, str],
) -> None:
    a, b, email, password = processes
    with httpx.Client(base_url=a.url, trust_env=False, timeout=20) as http:
        r = http.post("/api/v1/auth/token", data={"username": email, "password": password})
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = http.post(
            "/api/v1/sites",
            json={"name": "Depot", "timezone": "Europe/Berlin", "gateway": {"serial": "XP-GW"}},
            headers=headers,
        )
        assert r.status_code == 201, r.text
        site = r.json()["id"]
        for device in (
            {"kind": "meter", "serial": "XP-MTR", "parent_serial": "XP-GW"},
            {
                "kind": "charger",
                "serial": "XP-EVC",
                "connectors": [{"connector_no": 1, "max_current_a": 32}],
            },
        ):
            r = http.post(f"/api/v1/sites/{site}/devices", json=device, headers=headers)
            assert r.status_code == 201, r.text
        r = http.get("/api/v1/devices", params={"site_id": site}, headers=headers)
        ids = {d["serial"]: d["id"] for d in r.json()["items"]}
        r = http.post(f"/api/v1/devices/{ids['XP-EVC']}/token", headers=headers)
        token = r.json()["token"]

    async def run() -> tuple[httpx.Response, list[tuple[str, dict[str, object]]]]:
        async with station(b.url, "XP-EVC", token) as cp:  # held by process B
            answer = await command(a.url, headers, ids["XP-EVC"], "get_configuration")
            async with httpx.AsyncClient(base_url=a.url, headers=headers, timeout=20) as http:
                base = f"/api/v1/sites/{site}/power"
                setup = {"grid_type": "3x400", "main_fuse_a": 25, "meter_device_id": ids["XP-MTR"]}
                r = await http.put(base, json=setup)
                assert r.status_code == 200, r.text
                root = r.json()["groups"][0]["id"]
                connector = r.json()["connectors"][0]["connector_id"]
                r = await http.put(f"{base}/connectors/{connector}", json={"group_id": root})
                assert r.status_code == 200, r.text
            deadline = time.monotonic() + 30
            while not any(action == "SetChargingProfile" for action, _ in cp.received):
                assert time.monotonic() < deadline, "no limit reached the charger from the worker"
                await asyncio.sleep(0.2)
            return answer, list(cp.received)

    answer, received = asyncio.run(run())
    assert answer.status_code == 200, answer.text
    assert answer.json()["version"] == "1.6"
    assert "HeartbeatInterval" in {k["key"] for k in answer.json()["result"]["configuration_key"]}
    profile = next(p for action, p in received if action == "SetChargingProfile")
    schedule = profile["profile"]["charging_schedule"]  # type: ignore[index]
    assert schedule["charging_rate_unit"] == "A"
    assert "GetConfiguration" in [action for action, _ in received]
