"""MQTT ingest of a reading whose instant is outside the supported range once its offset is
applied (issue 12, defect 2), through a real Mosquitto and the bridge: it is quarantined with its
reason and its text, the good readings of the message are stored, and the bridge goes on."""

from __future__ import annotations

from sqlalchemy import select

from tests.protocols.test_mqtt_bridge import (  # noqa: F401 (env is a fixture)
    Env,
    body,
    close,
    env,
    gateway,
    reading,
    run,
    running,
    until,
)
from voltfleet.app.mqtt_adapter import MqttBridgeService
from voltfleet.protocols.mqtt import topics
from voltfleet.protocols.mqtt.bridge import Bridge
from voltfleet.store.telemetry_models import QuarantinedReading

FAR = ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00"]


def test_a_far_instant_is_quarantined_and_the_rest_of_the_message_stored(env: Env) -> None:  # noqa: F811
    ids = env.site("GWMF")
    inv = ids["GWMF-INV"]

    async def scenario() -> None:
        bridge = Bridge(MqttBridgeService.of(env.runtime), env.bridge_config())
        async with running(bridge):
            gw = await gateway(env, "GWMF", ids["token"])
            try:
                batch = [reading("GWMF-INV", i) for i in range(4)]
                batch[1:1] = [{**reading("GWMF-INV", 50), "ts": text} for text in FAR]
                await gw.publish(topics.telemetry("GWMF"), body(batch), qos=1)
                await gw.publish(topics.telemetry("GWMF"), body([reading("GWMF-INV", 9)]), qos=1)
                await until(lambda: bridge.stats.messages >= 2, what="2 messages processed")
            finally:
                await close(gw)

    run(scenario())
    assert env.count(inv) == 5
    with env.runtime.db.session() as s:
        rows = s.scalars(select(QuarantinedReading)).all()
        got = sorted((q.ts, q.ts_text, q.reason) for q in rows)
        assert all("outside the supported range" in q.detail for q in rows)
    assert got == sorted((None, text, "bad_timestamp") for text in FAR)
