"""Gateways over TLS: Mosquitto with voltfleet's files and the TLS listener we ship
(deploy/mosquitto/tls.conf, its port and paths replaced); the bridge stays on loopback."""

from __future__ import annotations

import asyncio
import json
import ssl
from pathlib import Path

import aiomqtt
import pytest
from fastapi.testclient import TestClient

from tests.protocols.mosquitto import free_port, platform_broker
from tests.protocols.test_mqtt_bridge import (
    BRIDGE_PASSWORD,
    Env,
    body,
    close,
    reading,
    run,
    running,
    until,
)
from tests.support.nginx_proxy import self_signed
from tests.support.world import build_world
from voltfleet.app.mqtt_adapter import MqttBridgeService
from voltfleet.app.runtime import Runtime
from voltfleet.protocols.mqtt import topics
from voltfleet.protocols.mqtt.bridge import Bridge

SHIPPED = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "tls.conf"


def test_a_gateway_sends_over_the_shipped_tls_listener(
    runtime: Runtime, client: TestClient, tmp_path: Path
) -> None:
    cert, key = self_signed(tmp_path)
    tls_port = free_port()
    include = tmp_path / "mosquitto.d"
    include.mkdir()
    conf = SHIPPED.read_text().replace("listener 8883", f"listener {tls_port} 127.0.0.1")
    conf = conf.replace("/etc/voltfleet/tls/fullchain.pem", str(cert))
    conf = conf.replace("/etc/voltfleet/tls/privkey.pem", str(key))
    (include / "tls.conf").write_text(conf)
    server = platform_broker(runtime, tmp_path / "broker", BRIDGE_PASSWORD, include_dir=include)
    env = Env(runtime, client, build_world(runtime), server.files, server)
    try:
        ids = env.site("GWTLS")
        trusted = ssl.create_default_context(cafile=str(cert))

        async def scenario() -> None:
            bridge = Bridge(MqttBridgeService.of(runtime), env.bridge_config())
            async with running(bridge):
                gw = aiomqtt.Client(
                    "127.0.0.1", tls_port, username="GWTLS", password=ids["token"],
                    identifier="gw-tls", tls_context=trusted, timeout=5,
                )  # fmt: skip
                await gw.__aenter__()
                try:
                    batch = [reading("GWTLS-INV", i) for i in range(10)]
                    await gw.publish(topics.telemetry("GWTLS"), body(batch), qos=1)
                    await until(lambda: env.count(ids["GWTLS-INV"]) == 10, what="10 stored")
                finally:
                    await close(gw)
                # Plain MQTT on the TLS port, and a wrong token over TLS, are both refused.
                for tls, password in ((None, ids["token"]), (trusted, "vfg_wrong")):
                    c = aiomqtt.Client(
                        "127.0.0.1", tls_port, username="GWTLS", password=password,
                        identifier="gw-bad", tls_context=tls, timeout=3,
                    )  # fmt: skip
                    with pytest.raises(aiomqtt.MqttError):
                        await asyncio.wait_for(c.__aenter__(), 5)

        run(scenario())
        assert env.count(ids["GWTLS-INV"]) == 10
    finally:
        runtime.broker_files = None
        server.stop()


def test_the_broker_refuses_packets_above_the_ingest_limit(
    runtime: Runtime, client: TestClient, tmp_path: Path
) -> None:
    server = platform_broker(runtime, tmp_path / "broker", BRIDGE_PASSWORD)
    env = Env(runtime, client, build_world(runtime), server.files, server)
    assert f"max_packet_size {8 * 1024 * 1024}" in server.files.config.read_text()
    try:
        ids = env.site("GWBIG")

        async def scenario() -> None:
            bridge = Bridge(MqttBridgeService.of(runtime), env.bridge_config())
            async with running(bridge):
                gw = aiomqtt.Client(
                    "127.0.0.1", server.files.listen_port, username="GWBIG",
                    password=ids["token"], identifier="gw-big", timeout=5,
                )  # fmt: skip
                await gw.__aenter__()
                try:
                    padding = json.dumps({"readings": [], "pad": "x" * (9 * 1024 * 1024)})
                    with pytest.raises(aiomqtt.MqttError):
                        await gw.publish(topics.telemetry("GWBIG"), padding.encode(), qos=1)
                        await asyncio.sleep(2)  # the broker cuts the connection
                        await gw.publish(topics.telemetry("GWBIG"), b"{}", qos=1, timeout=2)
                finally:
                    await close(gw)

        run(scenario())
    finally:
        runtime.broker_files = None
        server.stop()
