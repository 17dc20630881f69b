"""Commands over MQTT against a real Mosquitto: a command sent through the API reaches a gateway
connected to the broker on ``voltfleet/v1/<serial>/cmd/<id>`` (QoS 1), its reply on ``.../reply``
ends it acknowledged or failed; a gateway that is not connected is left to HTTP polling; a reply
to another gateway's command changes nothing."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sqlalchemy import select

from tests.protocols.test_mqtt_bridge import Env, close, env, gateway, run, running, until
from voltfleet.app.mqtt_adapter import MqttBridgeService
from voltfleet.protocols.mqtt import topics
from voltfleet.protocols.mqtt.bridge import Bridge
from voltfleet.store.command_models import Command

__all__ = ["env"]  # the fixture


def _state(env: Env, command_id: str) -> str:
    with env.runtime.db.session() as s:
        return str(s.scalar(select(Command.state).where(Command.id == command_id)))


def _send(env: Env, device_id: str, params: dict[str, Any]) -> str:
    r = env.client.post(
        f"/api/v1/devices/{device_id}/commands",
        json={"kind": "battery_mode", "params": params},
        headers=env.world.accounts["om@I1"].headers(),
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_commands_are_published_to_connected_gateways_and_replies_end_them(env: Env) -> None:
    a = env.site("GWM1")
    b = env.site("GWM2")  # stays off the broker: its command waits for HTTP polling
    cmd_ok = _send(env, a["GWM1-INV"], {"mode": "charge", "battery_power_w": 1500})
    cmd_b = _send(env, b["GWM2-INV"], {"mode": "idle"})

    async def scenario() -> None:
        config = env.bridge_config("bridge-cmd")
        bridge = Bridge(
            MqttBridgeService.of(env.runtime),
            config.__class__(**{**config.__dict__, "command_poll_s": 0.2}),
        )
        async with running(bridge):
            gw = await gateway(env, "GWM1", a["token"])
            try:
                await gw.subscribe(topics.gateway_subscription("GWM1"), qos=1)
                await gw.publish(topics.status("GWM1"), topics.ONLINE, qos=1, retain=True)
                messages = aiter(gw.messages)
                m = await asyncio.wait_for(anext(messages), 10)
                t = topics.parse(m.topic.value)
                assert t is not None and t.command_id == cmd_ok and m.qos == 1
                got = json.loads(m.payload)  # type: ignore[arg-type]
                assert got["device"] == "GWM1-INV" and got["kind"] == "battery_mode"
                assert got["params"] == {"mode": "charge", "battery_power_w": 1500.0}
                assert _state(env, cmd_ok) == "sent"
                # the other gateway's command id, answered from this gateway: ignored
                await gw.publish(
                    topics.reply("GWM1", cmd_b), json.dumps({"status": "acknowledged"}), qos=1
                )
                await gw.publish(
                    topics.reply("GWM1", cmd_ok),
                    json.dumps({"status": "acknowledged", "message": "charging"}),
                    qos=1,
                )
                await until(lambda: _state(env, cmd_ok) == "acknowledged", what="the ack")
                # a second command, refused by the gateway
                cmd_fail = await asyncio.to_thread(_send, env, a["GWM1-INV"], {"mode": "idle"})
                m = await asyncio.wait_for(anext(messages), 10)
                t = topics.parse(m.topic.value)
                assert t is not None and t.command_id == cmd_fail
                await gw.publish(
                    topics.reply("GWM1", cmd_fail),
                    json.dumps({"status": "failed", "message": "battery in service mode"}),
                    qos=1,
                )
                await until(lambda: _state(env, cmd_fail) == "failed", what="the failure")
            finally:
                await close(gw)

    run(scenario())
    assert _state(env, cmd_b) == "queued"
    with env.runtime.db.session() as s:
        row = s.get(Command, cmd_ok)
        assert row is not None and row.sent_via == "mqtt" and row.message == "charging"
    # the gateway without MQTT still gets its command by HTTP polling
    got = env.client.get(
        "/api/v1/gateway/commands", headers={"Authorization": f"Bearer {b['token']}"}
    ).json()["commands"]
    assert [c["id"] for c in got] == [cmd_b]
