"""Instants outside the supported range once their offset is applied (issue 12, defect 2), on
every path that reads an instant from a person or a device: a reading is quarantined with its
reason and its raw text while the good readings of its batch are stored; a query parameter or a
body field gets a 422 with a sentence; a charger gets a CALLERROR (tests/app/test_ocpp.py's real
OCPP client). MQTT: tests/protocols/test_mqtt_instants.py."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from ocpp.exceptions import OCPPError, PropertyConstraintViolationError
from ocpp.v16 import call
from ocpp.v16.datatypes import MeterValue, SampledValue
from sqlalchemy import select

from tests.app.test_ocpp import SERIAL, charge_point, make_charger
from tests.app.test_tariffs_api import make_site as money_site
from tests.app.test_telemetry import bearer, h, make_site, token_for
from tests.support.live_server import live_server
from tests.support.world import World, build_world
from voltfleet.app.runtime import Runtime
from voltfleet.store.telemetry_models import QuarantinedReading
from voltfleet.store.timeseries import store_for

FAR = ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00"]
NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


def _iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def test_a_far_reading_is_quarantined_with_its_text_and_the_good_ones_are_stored(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids = make_site(client, world, "GWF1")
    token = token_for(client, world, ids["GWF1"])
    good = [
        {"point": "pv_power_w", "ts": _iso(NOW + timedelta(seconds=i)), "value": 100, "unit": "W"}
        for i in range(3)
    ]
    bad = [{"point": "pv_power_w", "ts": text, "value": 100, "unit": "W"} for text in FAR]
    r = client.post("/api/v1/ingest", json={"readings": [good[0], *bad, *good[1:]]},
                    headers=bearer(token))  # fmt: skip
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["accepted"], out["quarantined"]) == (3, 2), out
    with runtime.db.session() as s:
        rows = s.scalars(select(QuarantinedReading).order_by(QuarantinedReading.ts_text)).all()
        got = sorted((q.ts, q.ts_text, q.reason) for q in rows)
        details = [q.detail for q in rows]
    assert got == sorted((None, text, "bad_timestamp") for text in FAR)
    assert all("outside the supported range" in d for d in details), details
    with runtime.db.engine.connect() as conn:
        lo, hi = NOW - timedelta(hours=1), NOW + timedelta(hours=1)
        stored = store_for(conn).read(ids["GWF1"], "pv_power_w", lo, hi)
    assert len(stored) == 3
    # The quarantine lists them, with the text as sent.
    r = client.get("/api/v1/quarantine", headers=h(world, "om@I1"))
    assert r.status_code == 200 and sorted(q["ts_text"] for q in r.json()["items"]) == sorted(FAR)


@pytest.mark.parametrize("text", FAR)
def test_query_parameters_and_bodies_refuse_far_instants_with_a_sentence(
    client: TestClient, world: World, runtime: Runtime, text: str
) -> None:
    om = h(world, "om@I1")
    ids = make_site(client, world, "GWF2")
    site = ids["site"]
    money = money_site(runtime, world)
    gets: list[tuple[str, dict[str, Any]]] = [
        ("/api/v1/alarms", {"since": text}),
        ("/api/v1/alarms", {"until": text}),
        ("/api/v1/quarantine", {"since": text}),
        ("/api/v1/quarantine", {"until": text}),
        (f"/api/v1/sites/{money}/rates", {"start_time": text, "end_time": "2026-03-03T00:00:00Z"}),
    ]
    for path, params in gets:
        r = client.get(path, params=params, headers=om)
        assert r.status_code == 422, (path, params, r.status_code, r.text)
        assert "outside the supported range" in r.text, (path, r.text)
    # the readings endpoints bound their window themselves (1970..2199): a 400 that says so
    r = client.get(f"/api/v1/devices/{ids['GWF2']}/readings", params={"start_time": text},
                   headers=om)  # fmt: skip
    assert r.status_code == 400 and "out of range" in r.text, r.text
    record = {
        "site_id": money,
        "start_time": text,
        "end_time": "2026-03-03T00:15:00Z",
        "value": 1.0,
        "units": "KWH",
        "direction": "IMPORT",
        "tariff_rate": "IMPORT",
        "record_reference_id": "far-1",
    }
    r = client.put("/api/v1/meters/interval", json=[record], headers=om)
    assert r.status_code == 422 and "outside the supported range" in r.text, r.text
    r = client.post(
        f"/api/v1/costs/interval/{money}",
        json={"start_time": text, "end_time": "2026-03-03T00:00:00Z"},
        headers=om,
    )
    assert r.status_code == 422 and "outside the supported range" in r.text, r.text
    assert site


@pytest.fixture
def base_url(app: FastAPI) -> Any:
    with live_server(app) as url:
        yield url


def test_a_charger_gets_a_call_error_and_its_far_meter_value_is_quarantined(
    client: TestClient, world: World, runtime: Runtime, base_url: str
) -> None:
    ids = make_charger(client, world)

    async def run() -> dict[str, Any]:
        out: dict[str, Any] = {"errors": []}
        async with charge_point(base_url, SERIAL, ids["token"]) as (cp, _):
            for text in FAR:
                start = call.StartTransaction(
                    connector_id=1, id_tag="CARD-1", meter_start=10, timestamp=text
                )
                try:
                    await cp.call(start, suppress=False)
                    out["errors"].append(None)
                except OCPPError as exc:
                    out["errors"].append((type(exc), str(exc)))
            sample = SampledValue(
                value="1200", measurand="Energy.Active.Import.Register", unit="Wh"
            )  # type: ignore[call-arg]
            res = await cp.call(
                call.MeterValues(
                    connector_id=1,
                    meter_value=[
                        MeterValue(timestamp=FAR[0], sampled_value=[sample]),
                        MeterValue(timestamp=_iso(NOW), sampled_value=[sample]),
                    ],
                ),
                suppress=False,
            )
            out["meter_values"] = res is not None
            out["alive"] = (await cp.call(call.Heartbeat(), suppress=False)) is not None
        return out

    out = asyncio.run(run())
    assert [e[0] if e else None for e in out["errors"]] == [PropertyConstraintViolationError] * 2
    assert all("ISO 8601" in e[1] for e in out["errors"])
    assert out["meter_values"] and out["alive"]
    with runtime.db.session() as s:
        rows = s.scalars(select(QuarantinedReading)).all()
        assert [(q.ts, q.ts_text, q.reason) for q in rows] == [(None, FAR[0], "bad_timestamp")]
