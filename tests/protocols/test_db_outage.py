"""Reliability (issue 4): a database outage of a few seconds and a broker restart while gateways
send. Real PostgreSQL (a throwaway server of this module's own, stopped with ``pg_ctl stop -m
fast`` and started again on the same port and data), real Mosquitto, the real bridge, and a real
``voltfleet serve`` for HTTP. Every wait is bounded; loopback only.

The gateways' MQTT side is a small aiomqtt client here (the simulator speaks HTTP only): QoS 1, a
persistent session, and an outbox from which a batch leaves only when the broker acknowledged it;
when the connection breaks it reconnects with backoff and publishes the head of its outbox again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as SaTimeoutError

from tests.protocols.mosquitto import platform_broker
from tests.protocols.test_mqtt_bridge import BRIDGE_PASSWORD, Env, body, run, running, until
from tests.support.pg_server import PgServer, pg_bindir
from tests.support.server_process import ServerProcess, settings_for
from tests.support.world import World, build_world
from voltfleet.app.errors import database_unavailable
from voltfleet.app.mqtt_adapter import MqttBridgeService
from voltfleet.app.runtime import Runtime
from voltfleet.bootstrap import build_runtime, create_app
from voltfleet.protocols.mqtt import topics
from voltfleet.protocols.mqtt.bridge import Bridge
from voltfleet.simulator.client import HomeAccount, VoltfleetClient
from voltfleet.store.telemetry_models import QuarantinedReading

OUTAGE_S = 3.0
START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
BRIDGE_LOG = "voltfleet.protocols.mqtt.bridge"


@dataclass
class Db:
    pg: PgServer
    url: str
    runtime: Runtime
    client: TestClient
    world: World
    tmp: Path


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Db]:
    """A PostgreSQL server of this module's own (the tests stop it), migrated, with a world."""
    bindir = pg_bindir()
    if bindir is None:
        if os.environ.get("VOLTFLEET_REQUIRE_PG") == "1":
            pytest.fail("PostgreSQL is required (VOLTFLEET_REQUIRE_PG=1) but pg_ctl was not found")
        pytest.skip("PostgreSQL server not available (install the postgresql package)")
    pg = PgServer(bindir)
    url = pg.start()
    tmp = tmp_path_factory.mktemp("outage")
    runtime = build_runtime(settings_for(url, tmp))
    try:
        app = create_app(runtime=runtime)
        world = build_world(runtime)
        with TestClient(app) as client:
            yield Db(pg, url, runtime, client, world, tmp)
    finally:
        runtime.db.engine.dispose()
        pg.stop()


@contextlib.contextmanager
def database_down(pg: PgServer) -> Iterator[None]:
    """PostgreSQL stopped (fast shutdown) for the block; started again on the same port and data
    directory when it ends, whatever happens in it."""
    pg.halt()
    try:
        yield
    finally:
        pg.resume()


@pytest.fixture
def env(db: Db, tmp_path: Path) -> Iterator[Env]:
    """A Mosquitto with voltfleet's files; gateway tokens issued meanwhile reach it."""
    server = platform_broker(db.runtime, tmp_path / "broker", BRIDGE_PASSWORD)
    files = server.files
    try:
        yield Env(db.runtime, db.client, db.world, files, server)
    finally:
        db.runtime.broker_files = None
        server.stop()


def batch(serial: str, n: int, per: int) -> bytes:
    """Numbered batch ``n``: ``per`` PV power readings at instants of its own."""
    readings = [
        {
            "device": f"{serial}-INV",
            "point": "pv_power_w",
            "ts": (START + timedelta(seconds=n * per + j)).isoformat(),
            "value": float(n),
            "unit": "W",
        }
        for j in range(per)
    ]
    return body(readings)


class Publisher:
    """A gateway publishing an outbox of batches (QoS 1, persistent session): a batch leaves the
    outbox once the broker acknowledged it (PUBACK); a broken connection is reconnected with
    backoff and the unacknowledged head published again (stored once all the same)."""

    def __init__(self, env: Env, serial: str, token: str, batches: list[bytes]) -> None:
        self.env = env
        self.serial = serial
        self.token = token
        self.outbox = deque(batches)
        self.acked = 0  # batches the broker acknowledged
        self.connects = 0
        self.failures = 0

    async def run(self, pace_s: float = 0.05) -> None:
        backoff = 0.1
        while self.outbox:
            try:
                async with aiomqtt.Client(
                    "127.0.0.1",
                    self.env.files.listen_port,
                    username=self.serial,
                    password=self.token,
                    identifier=f"gw-{self.serial}",
                    clean_session=False,
                    timeout=5,
                ) as client:
                    self.connects += 1
                    backoff = 0.1
                    while self.outbox:
                        await client.publish(
                            topics.telemetry(self.serial), self.outbox[0], qos=1, timeout=5
                        )
                        self.outbox.popleft()
                        self.acked += 1
                        await asyncio.sleep(pace_s)
            except aiomqtt.MqttError:
                self.failures += 1
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 1.0)


def readings_per_key(env: Env, device_id: str) -> tuple[int, int]:
    """(readings stored for the device, the most stored under one key)."""
    with env.runtime.db.engine.connect() as c:
        total = c.execute(
            text("SELECT count(*) FROM device_readings WHERE device_id = :d"), {"d": device_id}
        ).scalar_one()
        most = c.execute(
            text(
                "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM device_readings "
                "WHERE device_id = :d GROUP BY point, ts) per_key"
            ),
            {"d": device_id},
        ).scalar_one()
    return int(total), int(most)


# ---- the tests ----------------------------------------------------------------------------------


def test_the_bridge_waits_out_a_database_outage_and_stores_every_batch_once(
    db: Db, env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    ids = env.site("GWD1")
    inv = ids["GWD1-INV"]
    n_batches, per = 60, 10
    attempts: list[float] = []  # when the bridge tried a transaction

    class Counting(Bridge):
        def _process(self, work: Any) -> None:
            attempts.append(time.monotonic())
            super()._process(work)

    seen: dict[str, Any] = {}

    async def scenario() -> None:
        bridge = Counting(MqttBridgeService.of(env.runtime), env.bridge_config("bridge-db"))
        async with running(bridge):
            gw = Publisher(
                env, "GWD1", ids["token"], [batch("GWD1", n, per) for n in range(n_batches)]
            )
            publishing = asyncio.create_task(gw.run())
            await until(lambda: gw.acked >= 15, what="15 batches published")
            await asyncio.to_thread(db.pg.halt)
            try:
                down_at = time.monotonic()
                await asyncio.sleep(0.5)  # acknowledgements of a commit just before the stop
                acked_at_stop = bridge.stats.messages
                published_at_stop = gw.acked
                await asyncio.sleep(OUTAGE_S - 0.5)
                # the gateway went on publishing; the bridge acknowledged nothing meanwhile
                seen["published_during"] = gw.acked - published_at_stop
                seen["acked_during"] = bridge.stats.messages - acked_at_stop
                seen["failing"] = bridge._database.failing
                seen["attempts_during"] = sum(1 for t in attempts if t > down_at)
            finally:
                await asyncio.to_thread(db.pg.resume)
            await asyncio.wait_for(publishing, 30)
            await until(
                lambda: readings_per_key(env, inv)[0] == n_batches * per,
                timeout_s=30,
                what="every reading",
            )
            await until(lambda: bridge.stats.messages >= n_batches, what="every message acked")
            seen["messages"] = bridge.stats.messages
            seen["connects"] = gw.connects

    with caplog.at_level(logging.INFO, logger=BRIDGE_LOG):
        run(scenario(), timeout_s=55)
    assert seen["published_during"] >= 10, seen  # the outage was met by a publishing gateway
    assert seen["acked_during"] == 0 and seen["failing"], seen
    # retried with bounded backoff, not spinning (0.1 s doubling to 1 s: about 6 tries in 3 s)
    assert 2 <= seen["attempts_during"] <= 15, seen
    assert seen["messages"] == n_batches and seen["connects"] == 1, seen
    assert readings_per_key(env, inv) == (n_batches * per, 1)
    msgs = [r.getMessage() for r in caplog.records if r.name == BRIDGE_LOG]
    assert len([m for m in msgs if "database failed" in m]) == 1, msgs
    assert len([m for m in msgs if "database recovered" in m]) == 1, msgs
    print(
        f"\nbridge: {n_batches} batches x {per} readings, {seen['published_during']} published "
        f"during a {OUTAGE_S:.0f} s database outage, {seen['attempts_during']} transaction "
        f"attempts meanwhile, stored {n_batches * per} (each once)"
    )


def test_gateway_and_bridge_reconnect_after_a_broker_restart_and_nothing_acked_is_lost(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    ids = env.site("GWB7")
    inv = ids["GWB7-INV"]
    n_batches, per = 60, 10
    seen: dict[str, Any] = {}

    async def scenario() -> None:
        bridge = Bridge(MqttBridgeService.of(env.runtime), env.bridge_config("bridge-broker"))
        async with running(bridge):
            gw = Publisher(
                env, "GWB7", ids["token"], [batch("GWB7", n, per) for n in range(n_batches)]
            )
            publishing = asyncio.create_task(gw.run())
            await until(lambda: gw.acked >= 20, what="20 batches published")
            await asyncio.to_thread(env.server.stop)
            stopped_at = gw.acked
            await asyncio.sleep(1.0)  # both clients fail to reconnect a few times
            seen["published_while_down"] = gw.acked - stopped_at
            await asyncio.to_thread(env.server.start)
            await asyncio.wait_for(publishing, 30)
            await until(
                lambda: readings_per_key(env, inv)[0] == n_batches * per,
                timeout_s=30,
                what="every reading",
            )
            seen["connects"], seen["failures"] = gw.connects, gw.failures
            seen["bridge_connects"] = bridge.stats.connects

    with caplog.at_level(logging.WARNING, logger=BRIDGE_LOG):
        run(scenario(), timeout_s=55)
    assert seen["published_while_down"] == 0, seen
    assert seen["connects"] >= 2 and seen["failures"] >= 1, seen  # the gateway reconnected
    assert seen["bridge_connects"] >= 2, seen
    assert readings_per_key(env, inv) == (n_batches * per, 1)
    msgs = [r.getMessage() for r in caplog.records if r.name == BRIDGE_LOG]
    assert len([m for m in msgs if "broker connection failed" in m]) == 1, msgs
    assert len([m for m in msgs if "broker connection recovered" in m]) == 1, msgs


def test_http_ingest_answers_503_while_the_database_is_down_and_the_simulator_retries(
    db: Db, tmp_path: Path
) -> None:
    h = db.world.accounts["admin@I1"].headers()
    r = db.client.post(
        "/api/v1/sites",
        json={"name": "Home", "timezone": "Europe/Berlin", "gateway": {"serial": "GWH1"}},
        headers=h,
    )
    assert r.status_code == 201, r.text
    site_id = r.json()["id"]
    r = db.client.post(
        f"/api/v1/sites/{site_id}/devices",
        json={"kind": "inverter", "serial": "GWH1-INV", "parent_serial": "GWH1"},
        headers=h,
    )
    assert r.status_code == 201, r.text
    inv = r.json()["id"]
    r = db.client.get("/api/v1/devices", params={"serial": "GWH1"}, headers=h)
    gw_id = next(d["id"] for d in r.json()["items"] if d["serial"] == "GWH1")
    token = db.client.post(f"/api/v1/devices/{gw_id}/token", headers=h).json()["token"]
    gateway = {"Authorization": f"Bearer {token}"}

    def readings(n: int, per: int) -> list[dict[str, Any]]:
        return [
            {"device": "GWH1-INV", "point": "pv_power_w", "value": 100.0, "unit": "W",
             "ts": (START + timedelta(seconds=n * per + j)).isoformat()}
            for j in range(per)
        ]  # fmt: skip

    server = ServerProcess(db.url, tmp_path)
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=15, trust_env=False) as http:
            up = http.post("/api/v1/ingest", json={"readings": readings(0, 5)}, headers=gateway)
            assert up.status_code == 200, up.text
            with database_down(db.pg):
                down = http.post(
                    "/api/v1/ingest", json={"readings": readings(1, 5)}, headers=gateway
                )
                assert down.status_code == 503, down.text
                assert down.headers["retry-after"] == "5"
                assert down.json()["code"] == "unavailable"
                assert "database is unavailable" in down.json()["detail"]
                # a person's call is answered the same way (its sign-in needs the database too)
                person = http.get("/api/v1/sites", headers=h)
                assert person.status_code == 503, person.text
                assert person.json()["code"] == "unavailable"

        async def simulator() -> tuple[bool, int, int]:
            """The simulator's client sends a batch while the database is down; it comes back
            after OUTAGE_S seconds."""
            home = HomeAccount(0, site_id, "GWH1", "GWH1-INV", "", "", {}, token)
            async with VoltfleetClient(server.url, backoff_s=0.2) as client:
                await asyncio.to_thread(db.pg.halt)
                try:
                    sending = asyncio.create_task(client.send(home, readings(2, 20)))
                    await asyncio.sleep(OUTAGE_S)
                    assert not sending.done()
                finally:
                    await asyncio.to_thread(db.pg.resume)
                ok = await asyncio.wait_for(sending, 30)
                return ok, client.stats.retries, client.stats.accepted

        ok, retries, accepted = asyncio.run(simulator())
        assert ok and retries >= 1 and accepted == 20, (ok, retries, accepted)
    finally:
        server.stop()
    with db.runtime.db.engine.connect() as c:
        n = c.execute(text("SELECT count(*) FROM device_readings WHERE device_id = :d"), {"d": inv})
        assert n.scalar_one() == 5 + 20  # the refused batch was not stored: the client got 503
    log = server.log_tail(200_000)
    assert "database unavailable" in log
    assert " 500 " not in log and "Traceback" not in log, log[-3000:]


def test_a_message_the_database_refuses_is_quarantined_and_does_not_stall_the_rest(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    """A database error that is about the message (here an IntegrityError) is no outage: the
    bridge must not wait it out forever, holding back every message behind it."""
    ids = env.site("GWP1")
    inv = ids["GWP1-INV"]
    per = 10

    class Refusing(Bridge):
        def _apply(self, unit: Any, item: Any) -> None:
            if b'"value": 13.0' in item.payload:
                raise IntegrityError("INSERT INTO readings ...", {}, Exception("refused"))
            super()._apply(unit, item)

    async def scenario() -> None:
        bridge = Refusing(MqttBridgeService.of(env.runtime), env.bridge_config("bridge-poison"))
        async with running(bridge):
            gw = Publisher(env, "GWP1", ids["token"], [batch("GWP1", n, per) for n in range(30)])
            await asyncio.wait_for(gw.run(pace_s=0.0), 20)
            await until(lambda: bridge.stats.messages >= 30, what="every message acknowledged")

    with caplog.at_level(logging.WARNING, logger=BRIDGE_LOG):
        run(scenario(), timeout_s=40)
    assert readings_per_key(env, inv) == (29 * per, 1)  # all but batch 13
    with env.runtime.db.session() as s:
        rows = s.scalars(
            select(QuarantinedReading.reason).where(QuarantinedReading.gateway_id == ids["GWP1"])
        ).all()
    assert rows == ["processing_error"]
    assert not [r for r in caplog.records if "database failed" in r.getMessage()]


def test_which_database_errors_count_as_an_outage() -> None:
    import sqlite3

    import psycopg

    def wrapped(cls: type[DBAPIError], orig: Exception) -> DBAPIError:
        return cls("SELECT 1", {}, orig)

    down = psycopg.OperationalError("connection refused")
    assert database_unavailable(wrapped(OperationalError, down))
    assert database_unavailable(psycopg.errors.AdminShutdown("terminating connection"))
    assert database_unavailable(down)  # raw, from a driver cursor used directly
    assert database_unavailable(sqlite3.OperationalError("database is locked"))
    assert database_unavailable(SaTimeoutError("QueuePool limit reached"))
    assert not database_unavailable(sqlite3.OperationalError("no such table: readings"))
    assert not database_unavailable(wrapped(IntegrityError, psycopg.errors.UniqueViolation()))
    assert not database_unavailable(psycopg.errors.NumericValueOutOfRange("out of range"))
    assert not database_unavailable(ValueError("a bug"))
