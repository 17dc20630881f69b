"""One ingest use case for every path: a reading sent over HTTP, over MQTT (a real Mosquitto and
the bridge) and over OCPP (a real OCPP 1.6J charge point) reaches the same function,
usecases.ingest.ingest, as wired in the runtime; a bad reading on each path is quarantined by
the one writer (usecases.ingest.quarantine) with the same reason."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ocpp.v16 import call
from ocpp.v16.datatypes import MeterValue
from sqlalchemy import select

from tests.app.test_ocpp import base_url, charge_point, iso, make_charger, sv
from tests.protocols.test_mqtt_bridge import Env, body, env, gateway, run, running, until
from voltfleet.app.mqtt_adapter import MqttBridgeService
from voltfleet.protocols.mqtt import topics
from voltfleet.protocols.mqtt.bridge import Bridge
from voltfleet.store.telemetry_models import QuarantinedReading
from voltfleet.usecases import ingest as usecase

__all__ = ["base_url", "env"]  # fixtures used here


def test_http_mqtt_and_ocpp_readings_go_through_one_use_case_and_one_quarantine_writer(
    env: Env, base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = env.runtime
    seen: list[tuple[str, list[tuple[str, Any]]]] = []  # (credential's serial, readings)
    written: list[tuple[str, list[tuple[str, str]]]] = []  # (serial, [(point, reason)])
    real_ingest, real_quarantine = runtime.ingest.use_case, usecase.quarantine

    def watched_ingest(repo: Any, root: Any, readings: Any, **kw: Any) -> usecase.IngestResult:
        seen.append((root.serial, [(r.point, r.value) for r in readings]))
        return real_ingest(repo, root, readings, **kw)

    def watched_quarantine(repo: Any, root: Any, entries: Any, now: datetime) -> None:
        written.append((root.serial, [(e.point, e.reason) for e in entries]))
        real_quarantine(repo, root, entries, now)

    runtime.ingest.use_case = watched_ingest
    monkeypatch.setattr(usecase, "quarantine", watched_quarantine)

    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    sent = [
        {"device": "", "point": "pv_power_w", "ts": iso(at), "value": 1500.0, "unit": "W"},
        {"device": "", "point": "grid_power_w", "ts": iso(at), "value": "abc", "unit": "W"},
    ]

    # HTTP
    http = env.site("GW1PATH-H")
    r = env.client.post(
        "/api/v1/ingest",
        json={"readings": sent},
        headers={"Authorization": f"Bearer {http['token']}"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 1 and r.json()["quarantined"] == 1

    # MQTT
    mqtt = env.site("GW1PATH-M")

    async def over_mqtt() -> None:
        bridge = Bridge(MqttBridgeService.of(runtime), env.bridge_config("bridge-one-path"))
        async with running(bridge):
            gw = await gateway(env, "GW1PATH-M", mqtt["token"])
            try:
                await gw.publish(topics.telemetry("GW1PATH-M"), body(sent), qos=1)
                await until(lambda: bridge.stats.messages >= 1, what="the message processed")
            finally:
                await gw.__aexit__(None, None, None)

    run(over_mqtt())

    # OCPP: a charger's power, and a current that is not a number
    charger = make_charger(env.client, env.world, "EV1PATH")

    async def over_ocpp() -> None:
        async with charge_point(base_url, "EV1PATH", charger["token"]) as (cp, _):
            await cp.call(
                call.MeterValues(
                    connector_id=1,
                    meter_value=[
                        MeterValue(
                            timestamp=iso(at),
                            sampled_value=[
                                sv("1500", "Power.Active.Import", "W"),
                                sv("abc", "Current.Import", "A"),
                            ],
                        )
                    ],
                ),
                suppress=False,
            )

    asyncio.run(over_ocpp())

    # One use case saw each path's readings ...
    by_path = {serial: readings for serial, readings in seen}
    assert set(by_path) == {"GW1PATH-H", "GW1PATH-M", "EV1PATH"}, seen
    assert (
        by_path["GW1PATH-H"]
        == by_path["GW1PATH-M"]
        == [
            ("pv_power_w", 1500.0),
            ("grid_power_w", "abc"),
        ]
    )
    assert by_path["EV1PATH"] == [("ev_power_w", 1500.0), ("ev_current_a", "abc")]
    # ... and one writer quarantined each path's bad reading, for the same reason.
    assert sorted(written) == [
        ("EV1PATH", [("ev_current_a", "not_a_number")]),
        ("GW1PATH-H", [("grid_power_w", "not_a_number")]),
        ("GW1PATH-M", [("grid_power_w", "not_a_number")]),
    ]
    with runtime.db.session() as s:
        rows = s.execute(
            select(
                QuarantinedReading.gateway_id, QuarantinedReading.reason, QuarantinedReading.detail
            )
        ).all()
    ids = {http["GW1PATH-H"]: "http", mqtt["GW1PATH-M"]: "mqtt", charger["charger"]: "ocpp"}
    assert sorted((ids[g], reason) for g, reason, _ in rows) == [
        ("http", "not_a_number"),
        ("mqtt", "not_a_number"),
        ("ocpp", "not_a_number"),
    ]
    assert {detail for *_, detail in rows} == {"'abc' is not a number"}
