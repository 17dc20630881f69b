"""An MQTT payload fuzz: a real Mosquitto (voltfleet's config, password and ACL files), the
bridge, and the database (SQLite and PostgreSQL). One authenticated gateway publishes a few
hundred seeded random messages: malformed JSON, bytes that are not UTF-8, wrong types, huge
payloads and fields, topics it may not write, interleaved with good batches. Every bad telemetry
or alarms message is quarantined with a reason (never a processing error), the broker refuses the
topics outside the gateway's ACL, the bridge keeps running and stores every good reading once."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from tests.protocols.test_mqtt_bridge import NOW, Env, close, env, gateway, run, running, until
from voltfleet.app.mqtt_adapter import MqttBridgeService
from voltfleet.protocols.mqtt import topics
from voltfleet.protocols.mqtt.bridge import Bridge
from voltfleet.store.telemetry_models import QuarantinedReading

__all__ = ["env"]  # fixture

SEED = 61206
MESSAGES = 300
SERIAL = "GWFZ1"


def good(i: int) -> dict[str, Any]:
    ts = (NOW + timedelta(seconds=i)).isoformat()
    return {"device": f"{SERIAL}-INV", "point": "pv_power_w", "ts": ts, "value": 500.0, "unit": "W"}


def junk_value(rng: random.Random) -> Any:
    return rng.choice(
        [
            None,
            True,
            [],
            {},
            {"a": 1},
            "x" * rng.randint(0, 3000),
            1e308,
            -1e308,
            2**70,
            "NaN",
            "nul\u0000inside",
        ]
    )


def bad_message(rng: random.Random) -> tuple[str, bytes, str]:
    """(channel, payload, category) of a message to be quarantined."""
    kind = rng.randrange(10)
    if kind == 0:
        return "telemetry", b"{not json" + bytes(rng.randrange(256) for _ in range(20)), "not-json"
    if kind == 1:
        return "telemetry", b"\xff\xfe\x00" + bytes(rng.randrange(256) for _ in range(50)), "bytes"
    if kind == 2:
        shape = rng.choice([[], 5, "text", None, {"readings": "x"}, {"readings": {}}, {}])
        return "telemetry", json.dumps(shape).encode(), "wrong-shape"
    if kind == 3:
        fields = ["device", "point", "ts", "value", "unit"]
        reading = {f: junk_value(rng) for f in rng.sample(fields, rng.randint(1, 5))}
        return "telemetry", json.dumps({"readings": [reading]}).encode(), "wrong-types"
    if kind == 4:  # huge: a megabyte of one string, or thousands of unreadable readings
        if rng.random() < 0.5:
            return "telemetry", json.dumps({"readings": "h" * 1_000_000}).encode(), "huge"
        rows = [{"point": "p" * 200, "value": "v"}] * 2000
        return "telemetry", json.dumps({"readings": rows}).encode(), "huge"
    if kind == 5:
        nested = "[" * 50_000 + "]" * 50_000
        return "telemetry", nested.encode(), "nested"
    if kind == 8:  # a status that is not one (nothing to quarantine: it is logged and ignored)
        payload = rng.choice(
            [b"{" + b'"status":' + b"[" * 50_000, b"maybe", b"\xff", b"[" * 50_000]
        )
        return "status", payload, "status"
    if kind == 9:  # a reply to no command, unreadable
        return "reply", rng.choice([b"[" * 50_000, b"\xff{", b"{}"]), "reply"
    if kind == 6:
        return "alarms", rng.choice([b"", b"{", b"[1,2", b"\xff", b'"text"']), "alarms"
    return "alarms", json.dumps({"alarms": [{"code": junk_value(rng)}]}).encode(), "alarms-types"


def test_mqtt_fuzz_bad_payloads_are_quarantined_and_good_batches_stored(env: Env) -> None:
    ids = env.site(SERIAL)
    inv = ids[f"{SERIAL}-INV"]
    rng = random.Random(SEED)
    counts: Counter[str] = Counter()
    good_readings = 0

    async def scenario() -> None:
        nonlocal good_readings
        bridge = Bridge(MqttBridgeService.of(env.runtime), env.bridge_config())
        async with running(bridge) as task:
            gw = await gateway(env, SERIAL, ids["token"])
            processed = 0  # messages the bridge must process (on topics it subscribes to)
            try:
                for n in range(MESSAGES):
                    roll = rng.random()
                    if roll < 0.3:
                        batch = [good(good_readings + j) for j in range(rng.randint(1, 20))]
                        good_readings += len(batch)
                        payload = json.dumps({"readings": batch}).encode()
                        await gw.publish(topics.telemetry(SERIAL), payload, qos=1)
                        counts["good"] += 1
                        processed += 1
                    elif roll < 0.38:  # topics outside its ACL: the broker drops them
                        topic = rng.choice(
                            [
                                topics.telemetry("GWOTHER"),
                                f"{topics.PREFIX}/{SERIAL}/unknown",
                                f"{topics.PREFIX}/{SERIAL}/cmd/c{n}",
                                f"{topics.PREFIX}/{SERIAL}/telemetry/deeper",
                                "elsewhere/entirely",
                            ]
                        )
                        await gw.publish(topic, b'{"readings": []}', qos=1)
                        counts["bad-topic"] += 1
                    else:
                        channel, payload, category = bad_message(rng)
                        topic = {
                            "telemetry": topics.telemetry(SERIAL),
                            "alarms": f"{topics.PREFIX}/{SERIAL}/alarms",
                            "status": topics.status(SERIAL),
                            "reply": f"{topics.PREFIX}/{SERIAL}/cmd/c{n}/reply",
                        }[channel]
                        await gw.publish(topic, payload, qos=1)
                        counts[category] += 1
                        if channel in ("telemetry", "alarms"):
                            counts["bad"] += 1  # each quarantined with its reason
                        processed += 1
                await until(
                    lambda: bridge.stats.messages >= processed,
                    timeout_s=90,
                    what=f"{processed} messages processed",
                )
                assert not task.done(), "the bridge is still running"
                assert bridge.stats.messages == processed, (bridge.stats, processed)
                # and it still stores a good batch after all that
                last = [good(good_readings + j) for j in range(5)]
                good_readings += 5
                await gw.publish(topics.telemetry(SERIAL), json.dumps({"readings": last}), qos=1)
                await until(lambda: env.count(inv) == good_readings, what="the last batch")
            finally:
                await close(gw)

    run(scenario(), timeout_s=150)
    assert env.count(inv) == good_readings
    with env.runtime.db.session() as s:
        by_reason = dict(
            s.execute(
                select(QuarantinedReading.reason, func.count()).group_by(QuarantinedReading.reason)
            ).all()
        )
        not_json = s.scalar(
            select(func.count())
            .select_from(QuarantinedReading)
            .where(QuarantinedReading.detail.startswith("payload is not JSON"))
        )
    print(
        f"\nMQTT fuzz: {dict(counts)}; {good_readings} good readings stored; quarantine {by_reason}"
    )
    assert "processing_error" not in by_reason, by_reason
    assert sum(by_reason.values()) >= counts["bad"], (by_reason, counts)
    # one row each, with the reason, for the messages that are not JSON (raw bytes too)
    assert not_json == counts["not-json"] + counts["bytes"] + counts["nested"], (not_json, counts)
