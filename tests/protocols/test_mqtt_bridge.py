"""MQTT ingest end to end: a real Mosquitto (voltfleet's config, password and ACL files), the
bridge, and the database (SQLite and PostgreSQL). Every wait is bounded; loopback only."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from tests.protocols.mosquitto import Mosquitto, platform_broker
from tests.support.world import World, build_world
from voltfleet.app.mqtt_adapter import MqttBridgeService
from voltfleet.app.runtime import Runtime
from voltfleet.protocols.mqtt import topics
from voltfleet.protocols.mqtt.bridge import Bridge, BridgeConfig
from voltfleet.protocols.mqtt.broker import BrokerFiles
from voltfleet.store.fleet_models import Device
from voltfleet.store.telemetry_models import QuarantinedReading

BRIDGE_PASSWORD = "bridge-secret-for-tests"
NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


@dataclass
class Env:
    runtime: Runtime
    client: TestClient
    world: World
    files: BrokerFiles
    server: Mosquitto

    def bridge_config(self, client_id: str = "bridge-test") -> BridgeConfig:
        return BridgeConfig(
            port=self.files.listen_port,
            password=BRIDGE_PASSWORD,
            client_id=client_id,
            max_batch=5,
            backoff_min_s=0.1,
            backoff_max_s=1.0,
        )

    def site(self, gw: str) -> dict[str, str]:
        """A site with gateway ``gw`` and an inverter below it; ids by serial, and its token."""
        h = self.world.accounts["admin@I1"].headers()
        r = self.client.post(
            "/api/v1/sites",
            json={"name": "Home", "timezone": "Europe/Berlin", "gateway": {"serial": gw}},
            headers=h,
        )
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        r = self.client.post(
            f"/api/v1/sites/{sid}/devices",
            json={"kind": "inverter", "serial": f"{gw}-INV", "parent_serial": gw},
            headers=h,
        )
        assert r.status_code == 201, r.text
        r = self.client.get("/api/v1/devices", params={"site_id": sid}, headers=h)
        ids = {d["serial"]: d["id"] for d in r.json()["items"]}
        r = self.client.post(f"/api/v1/devices/{ids[gw]}/token", headers=h)
        assert r.status_code == 201, r.text
        ids["token"] = r.json()["token"]
        return ids

    def count(self, device_id: str) -> int:
        with self.runtime.db.engine.connect() as c:
            sql = text("SELECT count(*) FROM device_readings WHERE device_id = :d")
            return int(c.execute(sql, {"d": device_id}).scalar_one())

    def status(self, device_id: str) -> str:
        with self.runtime.db.session() as s:
            return str(s.scalar(select(Device.status).where(Device.id == device_id)))


@pytest.fixture
def env(runtime: Runtime, client: TestClient, tmp_path: Path) -> Iterator[Env]:
    world = build_world(runtime)
    server = platform_broker(runtime, tmp_path / "broker", BRIDGE_PASSWORD)
    files = server.files
    try:
        yield Env(runtime, client, world, files, server)
    finally:
        runtime.broker_files = None
        server.stop()


def reading(device: str, i: int, value: float | str = 1000.0) -> dict[str, Any]:
    ts = (NOW + timedelta(seconds=i)).isoformat()
    return {"device": device, "point": "pv_power_w", "ts": ts, "value": value, "unit": "W"}


def body(readings: list[dict[str, Any]]) -> bytes:
    return json.dumps({"readings": readings}).encode()


async def until(check: Callable[[], bool], timeout_s: float = 15.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while not await asyncio.to_thread(check):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what or check}")
        await asyncio.sleep(0.05)


async def gateway(
    env: Env, serial: str, token: str, will: bool = True, timeout_s: float = 10.0
) -> aiomqtt.Client:
    """A connected gateway client (retrying while the broker rereads its files after SIGHUP)."""
    deadline = time.monotonic() + timeout_s
    while True:
        c = aiomqtt.Client(
            "127.0.0.1",
            env.files.listen_port,
            username=serial,
            password=token,
            identifier=f"gw-{serial}",
            will=aiomqtt.Will(topics.status(serial), topics.OFFLINE, qos=1, retain=True)
            if will
            else None,
            timeout=5,
        )
        try:
            await c.__aenter__()
            return c
        except aiomqtt.MqttError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


def run(scenario: Awaitable[None], timeout_s: float = 60.0) -> None:
    async def bounded() -> None:
        await asyncio.wait_for(scenario, timeout_s)

    asyncio.run(bounded())


@contextlib.asynccontextmanager
async def running(bridge: Bridge, timeout_s: float = 10.0) -> Any:
    task = asyncio.create_task(bridge.run())
    try:
        await asyncio.wait_for(bridge.connected.wait(), timeout_s)
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout_s)


async def close(c: aiomqtt.Client) -> None:
    with contextlib.suppress(Exception):
        await c.__aexit__(None, None, None)


# ---- the tests ----------------------------------------------------------------------------------


def test_a_batch_is_stored_once_with_duplicates_and_bad_readings_quarantined(env: Env) -> None:
    ids = env.site("GWM1")
    inv = ids["GWM1-INV"]

    async def scenario() -> None:
        bridge = Bridge(MqttBridgeService.of(env.runtime), env.bridge_config())
        async with running(bridge):
            gw = await gateway(env, "GWM1", ids["token"])
            try:
                batch = [reading("GWM1-INV", i) for i in range(20)]
                batch += batch[:5]  # duplicates inside the batch
                batch.append(reading("GWM1-INV", 99, value="NaN-ish"))  # quarantined
                batch.append({"point": "pv_power_w"})  # unreadable: quarantined
                await gw.publish(topics.telemetry("GWM1"), body(batch), qos=1)
                await gw.publish(topics.telemetry("GWM1"), body(batch), qos=1)  # resent
                await gw.publish(topics.telemetry("GWM1"), b"{not json", qos=1)
                await until(lambda: bridge.stats.messages >= 3, what="3 messages processed")
            finally:
                await close(gw)

    run(scenario())
    assert env.count(inv) == 20
    with env.runtime.db.session() as s:
        reasons = sorted(s.scalars(select(QuarantinedReading.reason)))
    # each of the two copies of the batch quarantines its two bad readings; the bad payload one row
    assert reasons == ["bad_payload"] * 3 + ["not_a_number"] * 2
    assert env.status(ids["GWM1"]) == "online" and env.status(inv) == "online"


def test_a_gateway_cannot_publish_as_another_gateway_nor_log_in_with_a_revoked_token(
    env: Env,
) -> None:
    a = env.site("GWA1")
    b = env.site("GWB1")

    async def scenario() -> None:
        bridge = Bridge(MqttBridgeService.of(env.runtime), env.bridge_config())
        async with running(bridge):
            gw = await gateway(env, "GWA1", a["token"])
            try:
                # The broker refuses the foreign topic (MQTT 3.1.1: PUBACK, message discarded).
                await gw.publish(topics.telemetry("GWB1"), body([reading("", 1)]), qos=1)
                await gw.publish(topics.status("GWB1"), topics.OFFLINE, qos=1, retain=True)
                await gw.publish(topics.telemetry("GWA1"), body([reading("", 2)]), qos=1)
                await until(lambda: env.count(a["GWA1"]) == 1, what="GWA1's own reading")
                await asyncio.sleep(0.3)  # anything misrouted would have arrived by now
            finally:
                await close(gw)
            # Wrong password, and another gateway's token, are refused at login.
            for user, password in (("GWA1", "vfg_wrong"), ("GWA1", b["token"])):
                with pytest.raises(aiomqtt.MqttError):
                    await gateway(env, user, password, timeout_s=0.5)

    run(scenario())
    assert env.count(b["GWB1"]) == 0
    with env.runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(QuarantinedReading)) == 0
    # Rotation: a new token (issued through the API, written to the files, SIGHUP) replaces the old.
    h = env.world.accounts["om@I1"].headers()
    r = env.client.post(f"/api/v1/devices/{a['GWA1']}/token", headers=h)
    assert r.status_code == 201
    new_token = r.json()["token"]

    async def rotated() -> None:
        await close(await gateway(env, "GWA1", new_token))
        with pytest.raises(aiomqtt.MqttError):
            await gateway(env, "GWA1", a["token"], timeout_s=0.5)

    run(rotated())


def test_status_is_retained_and_the_last_will_marks_the_gateway_offline(env: Env) -> None:
    ids = env.site("GWS1")

    async def scenario() -> None:
        bridge = Bridge(MqttBridgeService.of(env.runtime), env.bridge_config())
        async with running(bridge):
            gw = await gateway(env, "GWS1", ids["token"])
            await gw.publish(topics.status("GWS1"), topics.ONLINE, qos=1, retain=True)
            await until(lambda: env.status(ids["GWS1"]) == "online", what="online")

            # A client subscribing later gets the retained status.
            async with aiomqtt.Client(
                "127.0.0.1",
                env.files.listen_port,
                username="_voltfleet-bridge",
                password=BRIDGE_PASSWORD,
                identifier="status-reader",
                timeout=5,
            ) as reader:
                await reader.subscribe(topics.status("GWS1"), qos=1)
                m = await asyncio.wait_for(anext(aiter(reader.messages)), 5)
                assert m.retain and m.payload == b"online"

            # The gateway vanishes without DISCONNECT: the broker publishes its last will.
            sock = gw._client.socket()
            assert sock is not None
            sock.close()
            await until(lambda: env.status(ids["GWS1"]) == "offline", what="the last will")
            await close(gw)

    run(scenario())


def test_a_bridge_killed_mid_stream_gets_the_unacknowledged_messages_again(env: Env) -> None:
    ids = env.site("GWK1")
    inv = ids["GWK1-INV"]
    n_messages, per_message = 40, 25
    committed_unacked = threading.Event()

    class Crashing(Bridge):
        """Commits its third transaction, then is killed before the PUBACKs go out."""

        calls = 0

        def _process(self, work: Any) -> None:
            super()._process(work)
            type(self).calls += 1
            if type(self).calls == 3:
                committed_unacked.set()
                time.sleep(0.5)  # the task is cancelled while this committed batch is unacked

    async def scenario() -> None:
        gw = await gateway(env, "GWK1", ids["token"])
        try:
            first = Crashing(MqttBridgeService.of(env.runtime), env.bridge_config("bridge-k"))
            task = asyncio.create_task(first.run())
            await asyncio.wait_for(first.connected.wait(), 10)
            for k in range(n_messages):
                batch = [reading("GWK1-INV", k * per_message + j) for j in range(per_message)]
                await gw.publish(topics.telemetry("GWK1"), body(batch), qos=1)
                if k == n_messages // 2:
                    await asyncio.to_thread(committed_unacked.wait, 10)
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await asyncio.wait_for(task, 10)
            # The rest were published while no bridge ran: the broker queued them for its session.
            acked_before = first.stats.messages
            assert acked_before < n_messages
            stored_before = env.count(inv)
            assert stored_before > acked_before * per_message  # the committed, unacked batch

            second = Bridge(MqttBridgeService.of(env.runtime), env.bridge_config("bridge-k"))
            async with running(second):
                await until(
                    lambda: env.count(inv) == n_messages * per_message, what="every reading"
                )
                await until(lambda: second.stats.messages >= n_messages - acked_before)
            # Everything the first bridge did not acknowledge came again, including the messages
            # it had committed (stored once all the same).
            assert stored_before // per_message - acked_before == 5  # one batch: max_batch
            assert second.stats.messages == n_messages - acked_before
        finally:
            await close(gw)

    run(scenario())
    assert env.count(inv) == n_messages * per_message


def test_the_bridge_reconnects_after_a_broker_restart_and_queued_messages_survive_it(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    ids = env.site("GWR1")
    inv = ids["GWR1-INV"]

    async def scenario() -> None:
        bridge = Bridge(MqttBridgeService.of(env.runtime), env.bridge_config("bridge-r"))
        async with running(bridge):
            gw = await gateway(env, "GWR1", ids["token"], will=False)
            await gw.publish(topics.telemetry("GWR1"), body([reading("GWR1-INV", 0)]), qos=1)
            await until(lambda: env.count(inv) == 1, what="the first reading")
            await close(gw)

            await asyncio.to_thread(env.server.stop)
            await until(lambda: not bridge.connected.is_set(), what="the bridge to notice")
            await asyncio.sleep(1.0)  # a few failed reconnects: logged once
            await asyncio.to_thread(env.server.start)
            await asyncio.wait_for(bridge.connected.wait(), 15)

            gw = await gateway(env, "GWR1", ids["token"], will=False)
            await gw.publish(topics.telemetry("GWR1"), body([reading("GWR1-INV", 1)]), qos=1)
            await until(lambda: env.count(inv) == 2, what="a reading after the restart")
        # Bridge stopped: messages wait in its session, which survives a broker restart.
        await gw.publish(topics.telemetry("GWR1"), body([reading("GWR1-INV", 2)]), qos=1)
        await close(gw)
        await asyncio.to_thread(env.server.stop)
        await asyncio.to_thread(env.server.start)
        bridge = Bridge(MqttBridgeService.of(env.runtime), env.bridge_config("bridge-r"))
        async with running(bridge):
            await until(lambda: env.count(inv) == 3, what="the queued reading")

    with caplog.at_level(logging.WARNING, logger="voltfleet.protocols.mqtt.bridge"):
        run(scenario())
    failed = [r for r in caplog.records if "broker connection failed" in r.getMessage()]
    recovered = [r for r in caplog.records if "broker connection recovered" in r.getMessage()]
    assert len(failed) == 1 and len(recovered) == 1


def test_commands_go_out_and_replies_come_back(env: Env) -> None:
    ids = env.site("GWC1")

    async def scenario() -> None:
        bridge = Bridge(MqttBridgeService.of(env.runtime), env.bridge_config("bridge-c"))
        async with running(bridge):
            gw = await gateway(env, "GWC1", ids["token"])
            try:
                await gw.subscribe(topics.gateway_subscription("GWC1"), qos=1)

                async def answer() -> None:
                    m = await anext(aiter(gw.messages))
                    t = topics.parse(m.topic.value)
                    assert t is not None and t.command_id is not None
                    got = json.loads(m.payload)  # type: ignore[arg-type]
                    reply = json.dumps({"ok": True, "echo": got["mode"]})
                    await gw.publish(topics.reply("GWC1", t.command_id), reply, qos=1)

                responder = asyncio.create_task(answer())
                result = await bridge.send_command("GWC1", "c1", {"mode": "eco"}, timeout_s=10)
                await asyncio.wait_for(responder, 5)
                assert result == {"ok": True, "echo": "eco"}
            finally:
                await close(gw)

    run(scenario())
