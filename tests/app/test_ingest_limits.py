"""The HTTP ingest endpoint's guards (issue 12, defect 9): the credential is checked before the
body is read or validated (401 for an unauthenticated request, whatever its body), and a body
above ``VOLTFLEET_MAX_INGEST_BODY_BYTES`` is refused with 413 and a sentence, both by its
declared Content-Length and by the bytes that actually arrive (a chunked upload without one),
through a real uvicorn on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.app.test_telemetry import bearer, make_site, token_for
from tests.support.live_server import live_server
from tests.support.world import World, build_world
from voltfleet.app.runtime import Runtime

NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


@pytest.fixture
def small_limit(runtime: Runtime) -> Iterator[int]:
    before = runtime.settings.max_ingest_body_bytes
    runtime.settings.max_ingest_body_bytes = 64 * 1024
    try:
        yield runtime.settings.max_ingest_body_bytes
    finally:
        runtime.settings.max_ingest_body_bytes = before


def _batch(n: int) -> bytes:
    readings = [
        {
            "point": "pv_power_w",
            "ts": (NOW - timedelta(seconds=i)).isoformat(),
            "value": 1.0,
            "unit": "W",
        }
        for i in range(n)
    ]
    return json.dumps({"readings": readings}).encode()


def test_an_unauthenticated_request_is_refused_before_its_body_is_read(
    client: TestClient, world: World
) -> None:
    for headers in ({}, bearer("vfg_not-a-token"), {"Authorization": "Basic eDp5"}):
        for body in (b"{not json", b'{"readings": 5}', b"x" * 100_000):
            r = client.post("/api/v1/ingest", content=body, headers=headers)
            assert r.status_code == 401, (headers, body[:20], r.status_code, r.text[:200])


def test_bodies_above_the_limit_are_refused_with_413(
    client: TestClient, app: FastAPI, world: World, small_limit: int
) -> None:
    ids = make_site(client, world, "GWL1")
    auth = bearer(token_for(client, world, ids["GWL1"]))
    fits = _batch(100)
    assert len(fits) < small_limit
    too_big = _batch(2000)
    assert len(too_big) > small_limit
    with live_server(app) as base, httpx.Client(base_url=base, timeout=30) as http:
        r = http.post("/api/v1/ingest", content=fits, headers=auth)
        assert r.status_code == 200 and r.json()["accepted"] == 100, r.text
        # declared by Content-Length
        r = http.post("/api/v1/ingest", content=too_big, headers=auth)
        assert r.status_code == 413, r.text
        assert f"larger than {small_limit:,} bytes" in r.json()["detail"], r.text

        # streamed in chunks without a Content-Length: stopped at the limit
        def chunks() -> Iterator[bytes]:
            for k in range(0, len(too_big), 4096):
                yield too_big[k : k + 4096]

        r = http.post("/api/v1/ingest", content=chunks(), headers=auth)
        assert r.status_code == 413, r.text
        # an unauthenticated big body: 401, not 413 (the credential comes first)
        r = http.post("/api/v1/ingest", content=too_big)
        assert r.status_code == 401, r.text
        # and the endpoint still works afterwards
        r = http.post("/api/v1/ingest", content=fits, headers=auth)
        assert r.status_code == 200 and r.json()["duplicates"] == 100, r.text


def test_the_default_limit_holds_a_full_batch(runtime: Runtime) -> None:
    from voltfleet.app.telemetry.schemas import MAX_BATCH
    from voltfleet.settings import Settings

    assert Settings.model_fields["max_ingest_body_bytes"].default >= MAX_BATCH * 100
