"""The demo shows "total yield" from the inverters' lifetime counters (issue 19): the demo's
simulated inverters report their lifetime register, and a site they are on says so in the API
and on its overview; sites without such an inverter say "since it joined"."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.e2e.test_simulated_fleet import Server
from voltfleet.demo import DEMO_PASSWORD, seed_demo
from voltfleet.simulator.demo_fleet import DemoFleet
from voltfleet.store.yield_models import LifetimeYield

INSTALLER = "installer@demo.voltfleet"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path)
    seed_demo(srv.runtime)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def test_the_demo_shows_total_yield_from_the_lifetime_counter(server: Server) -> None:
    fleet = DemoFleet(
        server.url, INSTALLER, DEMO_PASSWORD, sites=2, history_hours=0.5, paced_minutes=1.0
    )
    fleet.start()
    try:
        deadline = time.monotonic() + 60
        kept = 0
        while time.monotonic() < deadline and fleet.running and kept < 2:
            with server.runtime.db.session() as s:
                kept = s.scalar(select(func.count()).select_from(LifetimeYield)) or 0
            time.sleep(0.5)
        assert fleet.error is None
        assert kept >= 2, "the demo's inverters sent no lifetime counter"
    finally:
        assert fleet.stop(timeout_s=10)
    with httpx.Client(base_url=server.url, trust_env=False, timeout=20) as http:
        r = http.post("/api/v1/auth/token", data={"username": INSTALLER, "password": DEMO_PASSWORD})
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        sites: list[dict[str, Any]] = http.get(
            "/api/v1/sites", params={"page_size": 100}, headers=headers
        ).json()["items"]
        by_source = {s["total_yield_source"] for s in sites}
        assert by_source == {"lifetime_counter", "since_joined"}, sites
        simulated = next(s for s in sites if s["total_yield_source"] == "lifetime_counter")
        assert simulated["total_yield_wh"] > 100_000  # a home that is years old
        r = http.post(
            "/login", data={"email": INSTALLER, "password": DEMO_PASSWORD}, follow_redirects=False
        )
        assert r.status_code == 303, r.text
        page = http.get(f"/site/{simulated['id']}").text
    assert 'id="site-total-yield"><span class="total-yield" data-source="lifetime_counter"' in page
