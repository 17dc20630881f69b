"""``voltfleet demo`` shows an active alarm at once: the first simulated home's battery loses its
communication early in the run, and the raise reaches a real server through HTTP ingest. Bounded:
gives up after 90 s."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_simulated_fleet import Server
from voltfleet.demo import DEMO_PASSWORD, seed_demo
from voltfleet.simulator.demo_fleet import DemoFleet


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path)
    seed_demo(srv.runtime)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def test_the_demo_raises_a_battery_alarm_within_seconds(server: Server) -> None:
    email = "installer@demo.voltfleet"
    fleet = DemoFleet(server.url, email, DEMO_PASSWORD, sites=2, history_hours=0.5)
    t0 = time.monotonic()
    fleet.start()
    try:
        with httpx.Client(base_url=server.url, timeout=10, trust_env=False) as http:
            r = http.post("/api/v1/auth/token", data={"username": email, "password": DEMO_PASSWORD})
            assert r.status_code == 200, r.text
            auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
            active: list[dict[str, str]] = []
            while time.monotonic() - t0 < 90 and fleet.running and not active:
                r = http.get("/api/v1/alarms", params={"status": "active"}, headers=auth)
                assert r.status_code == 200, r.text
                active = r.json()["items"]
                time.sleep(0.5)
            assert fleet.error is None
            assert active, "no active alarm within 90 s"
            waited = time.monotonic() - t0
            assert waited < 120
            alarm = active[0]
            assert alarm["code"] == "BAT_COMM_LOST" and alarm["severity"] == "major"
            assert (
                alarm["device_serial"] == "SIMDEMO00000-BAT" and alarm["device_kind"] == "battery"
            )
            kpis = http.get("/api/v1/fleet/kpis", headers=auth).json()
            assert kpis["alarms"]["major"] >= 1
            print(f"\ndemo: active alarm after {waited:.1f} s")
    finally:
        assert fleet.stop(timeout_s=10)
    assert fleet.report is not None and fleet.report.stats.alarms_refused == 0
