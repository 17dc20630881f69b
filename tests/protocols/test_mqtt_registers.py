"""Register commands through a real Mosquitto (issue 15): an O&M engineer's Read and Write go
to the simulated gateway (simulator/mqtt_gateway.py answering from simulator/register_bank.py)
over the bridge, which was offline when they were sent; the values come back into the register
list, the write is audited with before and after, and a second, different reply published later
is ignored (the command stays applied once)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from tests.protocols.test_mqtt_bridge import Env, close, env, gateway, run, running, until
from tests.protocols.test_mqtt_simulated_gateway import _gateway
from voltfleet.app.mqtt_adapter import MqttBridgeService
from voltfleet.protocols.mqtt import topics
from voltfleet.protocols.mqtt.bridge import Bridge
from voltfleet.simulator.register_bank import RegisterBank, answer
from voltfleet.store.command_models import Command
from voltfleet.store.models import AuditEntry

__all__ = ["env"]  # the broker fixture


def _command(env: Env, command_id: str) -> Command:
    with env.runtime.db.session() as s:
        row = s.get(Command, command_id)
        assert row is not None
        s.expunge(row)
        return row


def test_read_and_write_round_trip_through_mosquitto(env: Env) -> None:
    ids = env.site("GWRM1")
    inv = ids["GWRM1-INV"]
    om = env.world.accounts["om@I1"].headers()
    # sent while the gateway is offline: they wait for it
    r = env.client.post(
        f"/api/v1/devices/{inv}/registers/read", json={"keys": ["1.Md"]}, headers=om
    )
    assert r.status_code == 201, r.text
    read_id = r.json()["id"]
    r = env.client.post(
        f"/api/v1/devices/{inv}/registers/write",
        json={"key": "704.WMaxLimPct", "value": 45},
        headers=om,
    )
    assert r.status_code == 201, r.text
    write_id = r.json()["id"]
    assert _command(env, write_id).state == "queued"

    bank, seen = RegisterBank(), []

    def on_command(command_id: str, body: Any) -> dict[str, Any]:
        seen.append(command_id)
        out = answer(bank, body, {"GWRM1-INV"}, "2026-03-02T10:00:00Z")
        assert out is not None
        return out

    async def scenario() -> None:
        config = env.bridge_config("bridge-reg")
        bridge = Bridge(
            MqttBridgeService.of(env.runtime),
            config.__class__(**{**config.__dict__, "command_poll_s": 0.2}),
        )
        async with running(bridge):
            gw = _gateway(env, "GWRM1", ids["token"], on_command)
            gw.start()
            try:
                assert await gw.wait_connected(10)
                done = ("acknowledged", "failed")
                await until(
                    lambda: (
                        _command(env, write_id).state in done
                        and _command(env, read_id).state in done
                    ),
                    what="both replies",
                )
            finally:
                await gw.close()
            # a second, different reply to the final write: logged and ignored by the bridge
            handled = bridge.stats.messages
            raw = await gateway(env, "GWRM1", ids["token"])
            try:
                late = {"status": "failed", "details": {"before": 45, "after": 99}}
                await raw.publish(topics.reply("GWRM1", write_id), json.dumps(late), qos=1)
                await raw.publish(
                    topics.reply("GWRM1", read_id), json.dumps({"status": "acknowledged"}), qos=1
                )
            finally:
                await close(raw)
            await until(
                lambda: bridge.stats.messages >= handled + 2, what="the late replies handled"
            )

    run(scenario())
    assert sorted(seen) == sorted([read_id, write_id])
    written = _command(env, write_id)
    assert written.state == "acknowledged" and written.sent_via == "mqtt"
    assert written.result == {"before": 100, "after": 45, "read_at": "2026-03-02T10:00:00Z"}
    listed = env.client.get(
        f"/api/v1/devices/{inv}/registers", params={"group": "Common (1)"}, headers=om
    ).json()["registers"]
    assert {r["key"]: r["value"] for r in listed}["1.Md"] == "SIM-HYB-5K"
    limit = env.client.get(
        f"/api/v1/devices/{inv}/registers", params={"q": "704.WMaxLimPct"}, headers=om
    ).json()["registers"]
    assert [(r["key"], r["value"]) for r in limit if r["key"] == "704.WMaxLimPct"] == [
        ("704.WMaxLimPct", 45)
    ]
    with env.runtime.db.session() as s:
        audit = s.scalars(
            select(AuditEntry).where(
                AuditEntry.object_id == write_id, AuditEntry.action == "register.written"
            )
        ).all()
        assert [(a.detail["before"], a.detail["after"]) for a in audit] == [(100, 45)]
