"""Power management notices its events without a second database connection inside the session
that committed them: after_commit runs before that session gives its connection back, so a hook
that opened another one could exhaust the pool (chargers booting together held every pooled
connection, each waiting for a second: nothing moved until the pool's timeout)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from tests.app.test_power import h, make_site
from tests.support.world import World, build_world
from voltfleet.app.power.wiring import POWER_DEVICES, POWER_RECOMPUTE, PowerWiring
from voltfleet.app.runtime import Runtime
from voltfleet.jobs.inprocess import InProcessJobs
from voltfleet.store.db import Database
from voltfleet.store.fleet_models import Device
from voltfleet.usecases.jobs import JobRegistry

pytestmark = pytest.mark.parametrize("runtime", ["sqlite"], indirect=True)


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


def test_a_device_seen_with_a_stale_index_needs_no_second_connection(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids = make_site(client, world)
    r = client.put(
        f"/api/v1/sites/{ids['site']}/power",
        json={"grid_type": "3x400", "main_fuse_a": 25, "meter_device_id": ids["PWR-MTR"]},
        headers=h(world, "admin@I1"),
    )
    assert r.status_code == 200, r.text

    # the platform's database behind a pool of one connection and no wait for another
    db = Database(runtime.db.url)
    db.engine = create_engine(
        runtime.db.url,
        pool_size=1,
        max_overflow=0,
        pool_timeout=0.2,
        connect_args={"check_same_thread": False, "timeout": 30},
    )
    db.sessions = sessionmaker(db.engine, expire_on_commit=False)
    registry = JobRegistry()
    jobs = InProcessJobs(registry, runtime.clock)
    wiring = PowerWiring(db, runtime.clock, lambda: jobs)
    wiring.register(registry)
    wiring.watch(db.sessions)
    ran: list[str] = []
    wiring.recompute = lambda location_id, now=None: ran.append(location_id)  # type: ignore[method-assign,assignment,return-value]
    try:
        # the meter's reading marks it seen; nothing is cached yet
        with db.session() as s:
            meter = s.get(Device, ids["PWR-MTR"])
            assert meter is not None
            meter.last_seen = datetime.now(UTC)
        assert jobs.pending() == 1
        assert jobs.run_due() == [POWER_DEVICES, POWER_RECOMPUTE]  # its location recomputes
        assert len(ran) == 1

        # with the index read, the next reading defers the location straight away
        with db.session() as s:
            meter = s.get(Device, ids["PWR-MTR"])
            assert meter is not None
            meter.last_seen = datetime.now(UTC)
        assert jobs.run_due() == [POWER_RECOMPUTE]
        assert len(ran) == 2
    finally:
        db.engine.dispose()
