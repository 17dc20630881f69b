"""Several MQTT bridges on one broker (MQTT shared subscriptions, ``mqtt_shared_group``): each
message is taken by one of them, every reading is stored once, a gateway's status is known to
all of them and recorded once, and a bridge killed mid-stream loses and doubles nothing."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.protocols.mosquitto import platform_broker
from tests.protocols.test_mqtt_bridge import (
    BRIDGE_PASSWORD,
    Env,
    body,
    close,
    gateway,
    reading,
    run,
    running,
    until,
)
from tests.support.world import build_world
from voltfleet.app.mqtt_adapter import MqttBridgeService
from voltfleet.app.runtime import Runtime
from voltfleet.protocols.mqtt import topics
from voltfleet.protocols.mqtt.bridge import Bridge, BridgeConfig
from voltfleet.store.fleet_models import DeviceStatusChange

GROUP = "voltfleet"


@pytest.fixture
def shared(runtime: Runtime, client: TestClient, tmp_path: Path) -> Iterator[Env]:
    server = platform_broker(runtime, tmp_path / "broker", BRIDGE_PASSWORD)
    try:
        yield Env(runtime, client, build_world(runtime), server.files, server)
    finally:
        runtime.broker_files = None
        server.stop()


def config(env: Env, client_id: str) -> BridgeConfig:
    return replace(env.bridge_config(client_id), shared_group=GROUP)


def test_the_subscriptions_of_a_group() -> None:
    subs = topics.bridge_subscriptions(GROUP)
    assert "voltfleet/v1/+/status" in subs  # every bridge hears every status
    assert "$share/voltfleet/voltfleet/v1/+/telemetry" in subs
    assert "$share/voltfleet/voltfleet/v1/+/cmd/+/reply" in subs
    assert topics.bridge_subscriptions("") == [
        *topics.BRIDGE_SUBSCRIPTIONS,
        topics.INVENTORY_SUBSCRIPTION,
    ]
    assert "$share/voltfleet/voltfleet/v1/+/inventory" in subs
    with pytest.raises(ValueError):
        topics.bridge_subscriptions("a/b")


def test_two_bridges_share_the_uplink_and_store_each_reading_once(shared: Env) -> None:
    ids = shared.site("GWS1")
    inv = ids["GWS1-INV"]
    n_messages, per_message = 60, 10

    async def scenario() -> tuple[Bridge, Bridge]:
        a = Bridge(MqttBridgeService.of(shared.runtime), config(shared, "bridge-a"))
        b = Bridge(MqttBridgeService.of(shared.runtime), config(shared, "bridge-b"))
        async with running(a), running(b):
            gw = await gateway(shared, "GWS1", ids["token"])
            try:
                await gw.publish(topics.status("GWS1"), topics.ONLINE, qos=1, retain=True)
                for k in range(n_messages):
                    batch = [reading("GWS1-INV", k * per_message + j) for j in range(per_message)]
                    await gw.publish(topics.telemetry("GWS1"), body(batch), qos=1)
                await until(lambda: shared.count(inv) == n_messages * per_message, what="all")
                await until(lambda: "GWS1" in a.online and "GWS1" in b.online, what="status")
            finally:
                await close(gw)
        return a, b

    a, b = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert shared.count(inv) == n_messages * per_message
    # Each bridge took part of the stream (the broker hands shared messages round robin).
    telemetry = n_messages
    assert a.stats.readings > 0 and b.stats.readings > 0
    assert a.stats.readings + b.stats.readings == telemetry * per_message
    # Both bridges heard the status; it was recorded once.
    with shared.runtime.db.session() as s:
        changes = s.scalar(
            select(func.count())
            .select_from(DeviceStatusChange)
            .where(
                DeviceStatusChange.device_id == ids["GWS1"], DeviceStatusChange.status == "online"
            )
        )
    assert changes == 1
    assert shared.status(ids["GWS1"]) == "online"


def test_a_bridge_of_the_group_killed_mid_stream_loses_and_doubles_nothing(shared: Env) -> None:
    ids = shared.site("GWS2")
    inv = ids["GWS2-INV"]
    n_messages, per_message = 40, 25
    committed_unacked = threading.Event()

    class Crashing(Bridge):
        calls = 0

        def _process(self, work: Any) -> None:
            super()._process(work)
            type(self).calls += 1
            if type(self).calls == 2:
                committed_unacked.set()
                time.sleep(0.5)  # cancelled while this committed batch is unacknowledged

    async def scenario() -> None:
        gw = await gateway(shared, "GWS2", ids["token"])
        steady = Bridge(MqttBridgeService.of(shared.runtime), config(shared, "bridge-steady"))
        try:
            async with running(steady):
                first = Crashing(MqttBridgeService.of(shared.runtime), config(shared, "bridge-x"))
                task = asyncio.create_task(first.run())
                await asyncio.wait_for(first.connected.wait(), 10)
                for k in range(n_messages):
                    batch = [reading("GWS2-INV", k * per_message + j) for j in range(per_message)]
                    await gw.publish(topics.telemetry("GWS2"), body(batch), qos=1)
                    if k == n_messages // 2:
                        await asyncio.to_thread(committed_unacked.wait, 10)
                        task.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await asyncio.wait_for(task, 10)
                # The killed bridge's session keeps what it had not acknowledged: it comes
                # again when the bridge returns with the same client id.
                again = Bridge(MqttBridgeService.of(shared.runtime), config(shared, "bridge-x"))
                async with running(again):
                    await until(
                        lambda: shared.count(inv) == n_messages * per_message, what="every reading"
                    )
        finally:
            await close(gw)

    run(scenario(), timeout_s=90)
    assert shared.count(inv) == n_messages * per_message
