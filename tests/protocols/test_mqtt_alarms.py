"""Alarms over MQTT: a gateway publishes raise/clear events on ``voltfleet/v1/<serial>/alarms``
to a real Mosquitto; the bridge applies them with the same function as HTTP ingest. Bounded."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from tests.protocols.test_mqtt_bridge import NOW, Env, close, env, gateway, run, running, until
from voltfleet.app.mqtt_adapter import MqttBridgeService
from voltfleet.protocols.mqtt import topics
from voltfleet.protocols.mqtt.bridge import Bridge
from voltfleet.store.alarm_models import Alarm
from voltfleet.store.telemetry_models import QuarantinedReading

__all__ = ["env"]  # the broker fixture


def test_alarms_over_mqtt_land_in_the_store_once_and_bad_ones_are_quarantined(env: Env) -> None:
    ids = env.site("GWMA")
    t0 = NOW

    def ev(action: str, minutes: int, code: str = "INV_GRID_LOST") -> dict[str, str]:
        ts = (t0 + timedelta(minutes=minutes)).isoformat()
        return {"device": "GWMA-INV", "code": code, "action": action, "ts": ts}

    def alarms() -> list[Alarm]:
        with env.runtime.db.session() as s:
            return list(s.scalars(select(Alarm).order_by(Alarm.raised_at)))

    async def scenario() -> None:
        bridge = Bridge(MqttBridgeService.of(env.runtime), env.bridge_config("bridge-alarms"))
        async with running(bridge):
            gw = await gateway(env, "GWMA", ids["token"])
            try:
                topic = topics.alarms("GWMA")
                raise_ = json.dumps({"alarms": [ev("raise", 0)]}).encode()
                await gw.publish(topic, raise_, qos=1)
                await gw.publish(topic, raise_, qos=1)  # a repeat: the same occurrence
                await until(lambda: bridge.stats.messages >= 2, what="2 alarm messages")
                assert [(a.code, a.cleared_at) for a in alarms()] == [("INV_GRID_LOST", None)]
                # one bare event; a bare list with a bad event; and no JSON at all
                await gw.publish(topic, json.dumps(ev("clear", 7)).encode(), qos=1)
                bad = [ev("raise", 8, "NOT_A_CODE"), ev("raise", 9, "INV_FAN_FAULT")]
                await gw.publish(topic, json.dumps(bad).encode(), qos=1)
                await gw.publish(topic, b"{not json", qos=1)
                await until(lambda: bridge.stats.messages >= 5, what="5 alarm messages")
            finally:
                await close(gw)

    run(scenario())
    rows = alarms()
    assert [(a.code, a.severity) for a in rows] == [
        ("INV_GRID_LOST", "major"),
        ("INV_FAN_FAULT", "warning"),
    ]
    assert rows[0].cleared_at == t0 + timedelta(minutes=7) and rows[1].cleared_at is None
    assert all(a.device_id == ids["GWMA-INV"] for a in rows)
    with env.runtime.db.session() as s:
        reasons = sorted(s.scalars(select(QuarantinedReading.reason)))
    assert reasons == ["bad_payload", "unknown_alarm_code"]
