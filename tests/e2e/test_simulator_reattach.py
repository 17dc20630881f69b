"""A second simulator run with the same tag finds the homes the first one made: no new sites or
devices, the gateways' tokens rotated, and the counters going on where the stored ones ended, so
the stored energy over both runs is what the simulator made in both."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_simulated_fleet import EMAIL, PASSWORD, POINTS, Server
from voltfleet.accounts import ensure_platform
from voltfleet.app.orgs.service import build_org
from voltfleet.app.users.service import new_user
from voltfleet.domain.access import OrgType
from voltfleet.domain.telemetry.rollup import Resolution
from voltfleet.simulator.fleet import FleetConfig, FleetReport, run_fleet_sync
from voltfleet.store.timeseries import store_for

SITES = 3


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path)
    with srv.runtime.db.session() as s:
        dist = build_org(ensure_platform(s), "Sim Distribution", OrgType.DISTRIBUTOR, "DE")
        s.add(dist)
        s.flush()
        inst = build_org(dist, "Sim Installers", OrgType.INSTALLER, "DE")
        s.add(inst)
        s.flush()
        new_user(
            s, srv.runtime, email=EMAIL, username="sim", password=PASSWORD, org_id=inst.id,
            role="admin",
        )  # fmt: skip
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def stored_energy(
    server: Server, report: FleetReport, lo: datetime, hi: datetime
) -> dict[tuple[int, str], float]:
    out: dict[tuple[int, str], float] = {}
    with server.runtime.db.engine.connect() as conn:
        store = store_for(conn)
        for acc in report.accounts:
            serial = {"inverter": acc.inverter_serial, "battery": acc.battery_serial}
            serial["meter"] = acc.meter_serial
            for key, (role, point) in POINTS.items():
                rows = store.read_rollups(
                    acc.device_ids[serial[role]], point, Resolution.HOUR, lo, hi
                )
                out[acc.index, key] = sum(r.value for r in rows)
    return out


def test_a_second_run_reattaches_and_goes_on_where_the_first_ended(server: Server) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    t0 = now - timedelta(hours=5)
    first = run_fleet_sync(
        server.url,
        EMAIL,
        PASSWORD,
        FleetConfig(sites=SITES, speed=math.inf, hours=2.0, seed=5, start=t0),
    )
    assert first.reattached == 0 and first.steps == 120
    assert first.sim_end == t0 + timedelta(hours=2)

    # the same seed, a longer window from the same start: only the missing hour is simulated
    second = run_fleet_sync(
        server.url,
        EMAIL,
        PASSWORD,
        FleetConfig(sites=SITES, speed=math.inf, hours=3.0, seed=5, start=t0),
    )
    assert second.reattached == SITES
    assert second.sim_start == first.sim_end and second.steps == 60
    s = second.stats
    assert s.failed_readings == 0 and s.quarantined == 0, s.rejections[:5]
    assert s.duplicates == SITES * 7  # only the baseline, the instant the first run ended
    assert s.sent == SITES * (7 + 60 * 12)
    for a, b in zip(first.accounts, second.accounts, strict=True):
        assert (a.site_id, a.device_ids) == (b.site_id, b.device_ids)
        assert a.token != b.token

    with httpx.Client(base_url=server.url, trust_env=False) as http:
        tok = http.post("/api/v1/auth/token", data={"username": EMAIL, "password": PASSWORD})
        user = {"Authorization": f"Bearer {tok.json()['access_token']}"}
        assert http.get("/api/v1/sites", headers=user).json()["total"] == SITES
        assert http.get("/api/v1/devices", headers=user).json()["total"] == SITES * 4
        # the first run's gateway token was rotated away
        old = http.post(
            "/api/v1/ingest",
            json={"readings": []},
            headers={"Authorization": f"Bearer {first.accounts[0].token}"},
        )
        assert old.status_code == 401

    # the counters went on: stored energy over both runs = what the simulator made in both
    stored = stored_energy(server, second, t0 - timedelta(hours=2), now + timedelta(hours=1))
    for i in range(SITES):
        for key in POINTS:
            want = getattr(first.totals[i], key) + getattr(second.totals[i], key)
            assert stored[i, key] == pytest.approx(want, rel=1e-3, abs=0.5), (i, key)
