"""Issue 18: a command or charging limit for a charger whose OCPP socket another process holds
reaches it through PostgreSQL's LISTEN/NOTIFY (``app.charging.relay``).

Two platform processes are two applications, each with its own runtime (engine, connection
registry, relay) on the same real PostgreSQL database, each served by its own uvicorn on its
own event loop; the worker is a third runtime that holds no socket, as ``voltfleet worker``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.app.test_power import h, make_site
from tests.ocpp.stations import command, station
from tests.support.live_server import live_server
from tests.support.world import World
from voltfleet.app.charging.charger_link import RoutedChargerLink, charger_link
from voltfleet.app.firmware.jobs import TaskStep
from voltfleet.app.runtime import Runtime
from voltfleet.bootstrap import build_runtime, create_app
from voltfleet.simulator.charger_firmware import HEADER
from voltfleet.simulator.ocpp_charger import SimulatedCharger
from voltfleet.store.firmware_models import FirmwareRun
from voltfleet.store.fleet_models import Device

pytestmark = pytest.mark.parametrize("runtime", ["postgresql"], indirect=True)
FILE = HEADER + b"sim-3.0\n" + b"firmware\n" * 100


@pytest.fixture
def process_b(runtime: Runtime, client: TestClient) -> Iterator[tuple[Runtime, str]]:
    """A second API process on the same database, served on its own port and loop."""
    other = build_runtime(runtime.settings)
    try:
        with live_server(create_app(runtime=other, migrate=False)) as url:
            yield other, url
    finally:
        other.db.engine.dispose()


@pytest.fixture
def base_a(app: FastAPI) -> Iterator[str]:
    with live_server(app) as url:
        yield url


def test_a_command_sent_via_process_a_reaches_the_charger_on_process_b(
    base_a: str,
    process_b: tuple[Runtime, str],
    charger: dict[str, str],
    om: dict[str, str],
    runtime: Runtime,
) -> None:
    _, base_b = process_b
    link_a = charger_link(runtime)
    assert isinstance(link_a, RoutedChargerLink)

    async def run() -> tuple[object, ...]:
        async with station(base_b, charger["serial"], charger["token"]) as cp:
            assert not link_a.connections.get(charger["charger"])  # not held by process A
            assert link_a.connected(charger["serial"])  # ... but by one that A can reach
            r = await command(base_a, om, charger["charger"], "get_configuration")
            limit = await link_a.set_current_limit(charger["serial"], 1, 10.0, 3)
            unknown = await command(base_a, om, charger["charger"], "trigger_message")
            return r, limit, unknown, list(cp.received)

    r, limit, unknown, received = asyncio.run(run())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["version"] == "1.6" and body["status"] == "Accepted"
    assert {k["key"] for k in body["result"]["configuration_key"]} >= {"HeartbeatInterval"}
    assert limit is True
    actions = [action for action, _ in received]
    assert "GetConfiguration" in actions and "SetChargingProfile" in actions
    profile = next(p for a, p in received if a == "SetChargingProfile")
    assert profile["connector_id"] == 1
    period = profile["profile"]["charging_schedule"]["charging_schedule_period"][0]
    assert period["limit"] == 10.0
    # A parameter missing: the holder's refusal comes back as the same 400 as a local one.
    assert unknown.status_code == 400, unknown.text
    assert "message is one of" in unknown.json()["detail"]


def test_no_process_holds_the_charger_a_clear_503(
    base_a: str,
    process_b: tuple[Runtime, str],
    charger: dict[str, str],
    om: dict[str, str],
    runtime: Runtime,
) -> None:
    async def run() -> tuple[object, bool, bool]:
        async with station(process_b[1], charger["serial"], charger["token"]):
            pass
        await asyncio.sleep(0.3)  # process B forgets the charger once its socket ends
        link = charger_link(runtime)
        r = await command(base_a, om, charger["charger"], "reset", type="Soft")
        return (
            r,
            link.connected(charger["serial"]),
            await link.set_current_limit(charger["serial"], 1, 6.0),
        )

    r, connected, limited = asyncio.run(run())
    assert r.status_code == 503, r.text  # type: ignore[attr-defined]
    assert "not connected" in r.json()["detail"]  # type: ignore[attr-defined]
    assert connected is False and limited is False


def test_the_workers_power_cycle_gets_limits_to_a_charger_on_another_process(
    process_b: tuple[Runtime, str], client: TestClient, runtime: Runtime, world: World
) -> None:
    """``voltfleet worker`` runs the power cycle and holds no socket: its link relays."""
    ids = make_site(client, world)
    r = client.put(
        f"/api/v1/sites/{ids['site']}/power",
        json={"grid_type": "3x400", "main_fuse_a": 25, "meter_device_id": ids["PWR-MTR"]},
        headers=h(world, "admin@I1"),
    )
    assert r.status_code == 200, r.text
    root = r.json()["groups"][0]["id"]
    r = client.get(f"/api/v1/sites/{ids['site']}/power", headers=h(world, "admin@I1"))
    connectors = [c["connector_id"] for c in r.json()["connectors"]]
    for connector in connectors:
        r = client.put(
            f"/api/v1/sites/{ids['site']}/power/connectors/{connector}",
            json={"group_id": root},
            headers=h(world, "om@I1"),
        )
        assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/devices/{ids['PWR-A']}/token", headers=h(world, "om@I1"))
    token = r.json()["token"]
    worker = build_runtime(runtime.settings)  # as `voltfleet worker` builds its runtime

    async def run() -> list[tuple[str, dict[str, object]]]:
        async with station(process_b[1], "PWR-A", token) as cp:
            sent = await asyncio.to_thread(worker.power.cycle, datetime.now(UTC))
            assert sent >= 0
            return list(cp.received)

    try:
        received = asyncio.run(run())
    finally:
        worker.db.engine.dispose()
    assert worker.ocpp_connections is not None and len(worker.ocpp_connections) == 0
    profiles = [p for a, p in received if a == "SetChargingProfile"]
    assert profiles, received  # the fallback limit at least, sent from the worker's cycle
    schedule = profiles[0]["profile"]["charging_schedule"]  # type: ignore[index]
    assert schedule["charging_rate_unit"] == "A"


def test_a_firmware_step_in_the_worker_updates_a_charger_held_by_another_process(
    process_b: tuple[Runtime, str],
    client: TestClient,
    runtime: Runtime,
    charger: dict[str, str],
    om: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A firmware task's step runs in a worker: UpdateFirmware goes through the relay to the
    process holding the charger, and the charger's statuses and boot (to that process) settle
    the run."""
    base_b = process_b[1]
    monkeypatch.setattr(runtime.settings, "base_url", base_b)  # the links point at process B
    worker = build_runtime(runtime.settings)

    async def run() -> tuple[str, str, list[str]]:
        cp = SimulatedCharger(base_b, charger["serial"], charger["token"])
        await cp.connect()
        try:
            with runtime.db.session() as s:
                model = s.get(Device, charger["charger"]).model  # type: ignore[union-attr]
            r = client.post(
                "/api/v1/firmware/releases",
                data={"model": model, "firmware_type": "charger", "version": "sim-3.0"},
                files={"file": ("fw.bin", FILE, "application/octet-stream")},
                headers=om,
            )
            assert r.status_code == 201, r.text
            r = client.post(
                "/api/v1/firmware/tasks",
                json={"release_id": r.json()["id"], "device_ids": [charger["charger"]]},
                headers=om,
            )
            assert r.status_code == 201, r.text
            task_id = r.json()["id"]
            step = TaskStep(worker.db, worker.settings, lambda: worker.power.link)
            assert await asyncio.to_thread(step, datetime.now(UTC), task_id) == 1
            await cp.firmware.wait()
            for _ in range(100):
                with runtime.db.session() as s:
                    row = s.scalars(select(FirmwareRun).where(FirmwareRun.task_id == task_id)).one()
                if row.state in ("succeeded", "failed"):
                    break
                await asyncio.sleep(0.05)
            return row.state, row.message, list(cp.firmware.statuses)
        finally:
            await cp.close()

    try:
        state, message, statuses = asyncio.run(run())
    finally:
        worker.db.engine.dispose()
    assert state == "succeeded", message
    assert statuses == ["Downloading", "Downloaded", "Installing", "Installed"]


def test_a_charger_held_by_a_process_that_died_is_not_connected(
    runtime: Runtime, charger: dict[str, str]
) -> None:
    """A SIGKILLed process leaves its rows; its stale heartbeat makes them count for nothing,
    and a call says so instead of waiting for an answer that cannot come."""
    from sqlalchemy import text

    from voltfleet.usecases.errors import Unavailable

    with runtime.db.session() as s:
        s.execute(
            text(
                "insert into ocpp_relay_processes values ('dead', 'vf_ocpp_dead', "
                "now() - interval '1 hour', now() - interval '1 minute')"
            )
        )
        s.execute(
            text("insert into ocpp_relay_holders values (:d, :s, 'dead', '1.6', now())"),
            {"d": charger["charger"], "s": charger["serial"]},
        )
    link = charger_link(runtime)
    assert link.connected(charger["serial"]) is False
    assert link.version_of(charger["charger"]) is None
    assert asyncio.run(link.set_current_limit(charger["serial"], 1, 6.0)) is False
    with pytest.raises(Unavailable, match="not connected to any voltfleet process"):
        asyncio.run(link.remote(charger["serial"], "reset", {}))


def test_a_holder_alive_but_silent_is_a_503_after_the_timeout_and_leaves_no_call_behind(
    runtime: Runtime, charger: dict[str, str]
) -> None:
    """docs/scaling.md: "a 503 when the holder does not answer within 40 s". A holder whose
    heartbeat is fresh but which answers nothing (hung, or killed less than ``STALE_S`` ago): the
    asker waits for the timeout only, says so, and deletes its call."""
    from sqlalchemy import text

    from voltfleet.usecases.errors import Unavailable

    with runtime.db.session() as s:
        s.execute(
            text(
                "insert into ocpp_relay_processes values ('silent', 'vf_ocpp_silent', now(), now())"
            )
        )
        s.execute(
            text("insert into ocpp_relay_holders values (:d, :s, 'silent', '1.6', now())"),
            {"d": charger["charger"], "s": charger["serial"]},
        )
    link = charger_link(runtime)
    assert isinstance(link, RoutedChargerLink)
    assert link.connected(charger["serial"]) is True  # a live holder, as far as anyone knows
    started = datetime.now(UTC)
    with pytest.raises(Unavailable, match="did not answer within 1 s"):
        asyncio.run(link.relay.call(charger["serial"], "remote", {"action": "reset"}, 1.0))
    assert (datetime.now(UTC) - started).total_seconds() < 10
    with runtime.db.session() as s:
        assert s.execute(text("select count(*) from ocpp_relay_calls")).scalar_one() == 0
