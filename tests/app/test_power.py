"""EV power management through the API, on SQLite and PostgreSQL: the setup flow, the tree,
the mode; the allocation recomputed on events (a connector's status, a group meter's reading,
a setting) through the jobs, sending only changed limits through the ChargerLink port; a meter
that goes silent; who may change it (installers, O&M, administrators) and who only looks
(owners). The port is a recording stand-in here: the OCPP adapter is built separately."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.support.world import World, build_world
from voltfleet.app.runtime import Runtime
from voltfleet.jobs.inprocess import InProcessJobs
from voltfleet.jobs.platform import platform_jobs
from voltfleet.store.fleet_models import Connector
from voltfleet.store.models import AuditEntry


class RecordingLink:
    """A ChargerLink that accepts every limit and remembers it."""

    def __init__(self) -> None:
        self.limits: list[tuple[str, int, float, int | None]] = []
        self.fallbacks: list[tuple[str, int, float]] = []

    def connected(self, serial: str) -> bool:
        return True

    async def set_current_limit(
        self, serial: str, connector_id: int, limit_a: float, phases: int | None = None
    ) -> bool:
        self.limits.append((serial, connector_id, limit_a, phases))
        return True

    async def set_fallback_limit(
        self, serial: str, connector_id: int, limit_a: float, phases: int | None = None
    ) -> bool:
        self.fallbacks.append((serial, connector_id, limit_a))
        return True

    async def remote(
        self, serial: str, action: str, params: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        raise NotImplementedError

    def last(self) -> dict[str, float]:
        return {serial: a for serial, _, a, _ in self.limits}


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


@pytest.fixture
def link(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> RecordingLink:
    """The recording link, and the jobs in-process whatever the database (the PostgreSQL queue
    needs worker processes: tests/app/test_jobs_worker.py), run by the test with run_due()."""
    fake = RecordingLink()
    monkeypatch.setattr(runtime.power, "link", fake)
    jobs = InProcessJobs(platform_jobs(runtime.db, runtime.settings, runtime.power), runtime.clock)
    monkeypatch.setattr(runtime, "jobs", jobs)
    return fake


def h(world: World, who: str) -> dict[str, str]:
    return world.accounts[who].headers()


def run_jobs(runtime: Runtime) -> list[str]:
    assert isinstance(runtime.jobs, InProcessJobs)
    return runtime.jobs.run_due()


def make_site(client: TestClient, world: World) -> dict[str, str]:
    """A site of I1: a gateway with a meter below it, and two chargers of one connector each."""
    r = client.post(
        "/api/v1/sites",
        json={"name": "Depot", "timezone": "Europe/Berlin", "gateway": {"serial": "PWR-GW"}},
        headers=h(world, "admin@I1"),
    )
    assert r.status_code == 201, r.text
    site = r.json()["id"]
    devices = [
        {"kind": "meter", "serial": "PWR-MTR", "parent_serial": "PWR-GW"},
        {
            "kind": "charger",
            "serial": "PWR-A",
            "connectors": [{"connector_no": 1, "max_current_a": 32}],
        },
        {
            "kind": "charger",
            "serial": "PWR-B",
            "connectors": [{"connector_no": 1, "max_current_a": 32}],
        },
    ]
    for d in devices:
        r = client.post(f"/api/v1/sites/{site}/devices", json=d, headers=h(world, "admin@I1"))
        assert r.status_code == 201, r.text
    r = client.get("/api/v1/devices", params={"site_id": site}, headers=h(world, "admin@I1"))
    ids = {d["serial"]: d["id"] for d in r.json()["items"]}
    ids["site"] = site
    r = client.post(f"/api/v1/devices/{ids['PWR-GW']}/token", headers=h(world, "om@I1"))
    ids["token"] = r.json()["token"]
    return ids


def connector_of(runtime: Runtime, charger_id: str) -> str:
    with runtime.db.session() as s:
        return str(s.scalar(select(Connector.id).where(Connector.charger_id == charger_id)))


def set_status(runtime: Runtime, charger_id: str, status: str) -> None:
    """What the OCPP central does with a StatusNotification: the connector's stored status."""
    with runtime.db.session() as s:
        row = s.scalar(select(Connector).where(Connector.charger_id == charger_id))
        assert row is not None
        row.status = status


def meter(client: TestClient, ids: dict[str, str], amps: float, at: datetime) -> None:
    ts = at.isoformat().replace("+00:00", "Z")
    body = {
        "readings": [
            {
                "device": "PWR-MTR",
                "point": f"grid_current_l{n}_a",
                "ts": ts,
                "value": amps,
                "unit": "A",
            }
            for n in (1, 2, 3)
        ]
    }
    r = client.post(
        "/api/v1/ingest", json=body, headers={"Authorization": f"Bearer {ids['token']}"}
    )
    assert r.status_code == 200 and r.json()["accepted"] == 3, r.text


def test_setup_tree_events_and_only_changed_limits_are_sent(
    client: TestClient, world: World, runtime: Runtime, link: RecordingLink
) -> None:
    ids = make_site(client, world)
    base = f"/api/v1/sites/{ids['site']}/power"
    r = client.get(base, headers=h(world, "admin@I1"))
    assert r.status_code == 200 and r.json()["configured"] is False

    setup = {"grid_type": "3x400", "main_fuse_a": 25, "meter_device_id": ids["PWR-MTR"]}
    r = client.put(base, json=setup, headers=h(world, "admin@I1"))
    assert r.status_code == 200, r.text
    root = r.json()["groups"][0]
    assert (root["name"], root["fuse_a"], root["meter_device_id"]) == (
        "Main fuse",
        25,
        ids["PWR-MTR"],
    )
    r = client.post(
        f"{base}/groups", json={"name": "Garage", "fuse_a": 16}, headers=h(world, "om@I1")
    )
    assert r.status_code == 201, r.text
    garage = next(g for g in r.json()["groups"] if g["name"] == "Garage")
    assert garage["parent_id"] == root["id"]
    ca, cb = connector_of(runtime, ids["PWR-A"]), connector_of(runtime, ids["PWR-B"])
    r = client.put(
        f"{base}/connectors/{ca}",
        json={"group_id": garage["id"], "rotation": "231", "max_current_a": 20},
        headers=h(world, "om@I1"),
    )
    assert r.status_code == 200, r.text
    r = client.put(
        f"{base}/connectors/{cb}", json={"group_id": root["id"]}, headers=h(world, "om@I1")
    )
    r = client.patch(
        f"{base}/settings", json={"raise_hold_s": 0, "meter_stale_s": 30}, headers=h(world, "om@I1")
    )
    assert r.status_code == 200 and r.json()["raise_hold_s"] == 0
    run_jobs(runtime)
    assert link.limits == []  # no car yet: nothing to limit
    # the fallback: both may fall back at once with the meter silent: half the fuse, shared
    assert sorted(link.fallbacks) == [("PWR-A", 1, 6.2), ("PWR-B", 1, 6.2)]

    # Two cars plug in (their status is stored): the event recomputes; 25 A shared.
    now = datetime.now(UTC)
    meter(client, ids, 0.0, now)
    set_status(runtime, ids["PWR-A"], "charging")
    set_status(runtime, ids["PWR-B"], "charging")
    assert "power-recompute" in run_jobs(runtime)
    assert link.last() == {"PWR-A": 12.5, "PWR-B": 12.5}
    sent = len(link.limits)
    run_jobs(runtime)  # nothing changed: nothing sent again
    assert len(link.limits) == sent

    # The house load steps up to 10 A per phase: the meter's reading recomputes at once.
    meter(client, ids, 10.0, now + timedelta(seconds=1))
    assert "power-recompute" in run_jobs(runtime)
    assert link.last() == {"PWR-A": 7.5, "PWR-B": 7.5}
    view = client.get(base, headers=h(world, "om@I1")).json()
    main = next(g for g in view["groups"] if g["parent_id"] is None)
    assert main["measured_a"] == [10.0, 10.0, 10.0]
    assert main["cap_a"] == [15.0, 15.0, 15.0] and main["allocated_a"] == [15.0, 15.0, 15.0]
    a = next(c for c in view["connectors"] if c["connector_id"] == ca)
    assert (a["rotation"], a["max_current_a"], a["target_a"], a["sent_a"]) == ("231", 20, 7.5, 7.5)

    # The meter falls silent (its newest reading is older than 30 s): the safe limit, half the
    # main fuse, at the next cycle.
    with runtime.db.session() as s:
        from voltfleet.store.timeseries import store_for

        st = store_for(s.connection())
        assert st.latest(ids["PWR-MTR"], "grid_current_l1_a") is not None
    runtime.power.recompute(
        view["site_id"] and _location(runtime, ids["site"]), now + timedelta(seconds=60)
    )
    assert link.last() == {"PWR-A": 6.2, "PWR-B": 6.2}

    # A car leaves: the other one may have more, but only after the hold time.
    client.patch(f"{base}/settings", json={"raise_hold_s": 60}, headers=h(world, "om@I1"))
    meter(client, ids, 10.0, now + timedelta(seconds=2))
    set_status(runtime, ids["PWR-B"], "available")
    run_jobs(runtime)
    assert link.last()["PWR-A"] == 6.2  # the raise waits
    loc = _location(runtime, ids["site"])
    runtime.power.recompute(loc, now + timedelta(seconds=30))
    assert link.last()["PWR-A"] == 6.2
    meter(client, ids, 10.0, now + timedelta(seconds=64))
    runtime.power.recompute(loc, now + timedelta(seconds=65))
    assert link.last()["PWR-A"] == 15.0  # the main fuse's 25 A less 10 A of others
    with runtime.db.session() as s:
        audit = s.scalars(select(AuditEntry.action).where(AuditEntry.action.like("power.%"))).all()
    assert {"power.setup", "power.group.add", "power.connector.place", "power.settings"} <= set(
        audit
    )


def _location(runtime: Runtime, site_id: str) -> str:
    from voltfleet.store.power_models import PowerLocation

    with runtime.db.session() as s:
        return str(s.scalar(select(PowerLocation.id).where(PowerLocation.site_id == site_id)))


def test_owners_look_and_installers_edit(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids = make_site(client, world)
    base = f"/api/v1/sites/{ids['site']}/power"
    owner = world.accounts["owner@I1"].id
    r = client.post(
        f"/api/v1/sites/{ids['site']}/distribute",
        json={"user_id": owner},
        headers=h(world, "admin@I1"),
    )
    assert r.status_code == 200, r.text
    setup = {"grid_type": "1x230", "main_fuse_a": 40}
    assert client.put(base, json=setup, headers=h(world, "owner@I1")).status_code == 403
    assert client.put(base, json=setup, headers=h(world, "admin@I2")).status_code == 404
    assert client.put(base, json=setup, headers=h(world, "om@I1")).status_code == 200
    assert client.get(base, headers=h(world, "owner@I1")).status_code == 200
    r = client.patch(f"{base}/settings", json={"mode": "fast"}, headers=h(world, "owner@I1"))
    assert r.status_code == 403


def test_bad_input_is_refused_with_a_reason(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids = make_site(client, world)
    base = f"/api/v1/sites/{ids['site']}/power"
    who = h(world, "admin@I1")
    r = client.patch(f"{base}/settings", json={"mode": "fast"}, headers=who)
    assert r.status_code == 409 and "not set up" in r.json()["detail"]
    assert (
        client.put(base, json={"grid_type": "2x110", "main_fuse_a": 25}, headers=who).status_code
        == 422
    )
    assert (
        client.put(base, json={"grid_type": "3x400", "main_fuse_a": 0}, headers=who).status_code
        == 422
    )
    r = client.put(
        base,
        json={"grid_type": "3x400", "main_fuse_a": 25, "meter_device_id": ids["PWR-A"]},
        headers=who,
    )
    assert r.status_code == 400 and "charger" in r.json()["detail"]
    r = client.put(base, json={"grid_type": "3x400", "main_fuse_a": 25}, headers=who)
    root = r.json()["groups"][0]["id"]
    r = client.post(f"{base}/groups", json={"name": "A", "fuse_a": 16}, headers=who)
    a = next(g["id"] for g in r.json()["groups"] if g["name"] == "A")
    r = client.post(f"{base}/groups", json={"name": "B", "fuse_a": 10, "parent_id": a}, headers=who)
    b = next(g["id"] for g in r.json()["groups"] if g["name"] == "B")
    r = client.patch(f"{base}/groups/{a}", json={"parent_id": b}, headers=who)
    assert r.status_code == 400 and "ancestor" in r.json()["detail"]
    r = client.delete(f"{base}/groups/{root}", headers=who)
    assert r.status_code == 409
    ca = connector_of(runtime, ids["PWR-A"])
    r = client.put(f"{base}/connectors/{ca}", json={"group_id": b, "rotation": "112"}, headers=who)
    assert r.status_code == 422
    r = client.put(f"{base}/connectors/{ca}", json={"group_id": b}, headers=who)
    assert r.status_code == 200
    # Deleting A moves B (and the connector in it) up to the main fuse.
    assert client.delete(f"{base}/groups/{a}", headers=who).status_code == 204
    view = client.get(base, headers=who).json()
    assert next(g for g in view["groups"] if g["id"] == b)["parent_id"] == root
    assert client.delete(f"{base}/connectors/{ca}", headers=who).status_code == 204
    assert client.delete(f"{base}/connectors/{ca}", headers=who).status_code == 404
