"""A NUL character in text (PostgreSQL refuses it in strings) is a clear 4xx on both databases,
never a server error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.app.test_telemetry import bearer, h, iso, make_site, token_for
from tests.support.world import build_world
from voltfleet.app.runtime import Runtime


def test_site_name_with_nul_is_refused_clearly(client: TestClient, runtime: Runtime) -> None:
    world = build_world(runtime)
    r = client.post(
        "/api/v1/sites",
        json={"name": "Ho\x00me", "timezone": "Europe/Berlin", "gateway": {"serial": "GW-NUL"}},
        headers=h(world, "admin@I1"),
    )
    assert r.status_code == 422, r.text
    assert "NUL" in r.text


def test_search_with_nul_is_refused_clearly(client: TestClient, runtime: Runtime) -> None:
    world = build_world(runtime)
    r = client.get("/api/v1/sites", params={"q": "a\x00b"}, headers=h(world, "admin@I1"))
    assert r.status_code == 422 and "NUL" in r.text


def test_form_and_json_escapes_are_told_apart(client: TestClient, runtime: Runtime) -> None:
    world = build_world(runtime)
    # A literal backslash followed by "u0000" is ordinary text, not a NUL.
    r = client.post(
        "/api/v1/sites",
        content=b'{"name": "Home \\\\u0000", "timezone": "UTC", "gateway": {"serial": "GW-BS"}}',
        headers={**h(world, "admin@I1"), "content-type": "application/json"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "Home \\u0000"
    r = client.post("/login", data={"email": "a\x00@example.com", "password": "x"})
    assert r.status_code == 422 and "NUL" in r.text


def test_ingest_with_nul_in_a_record_quarantines_it_and_keeps_the_rest(
    client: TestClient, runtime: Runtime
) -> None:
    world = build_world(runtime)
    ids = make_site(client, world, "GWNUL")
    token = token_for(client, world, ids["GWNUL"])
    ts = iso(datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5))
    body = {
        "readings": [
            {"device": "GWNUL-INV", "point": "pv_power_w", "ts": ts, "value": 10, "unit": "W"},
            {"device": "GWNUL-INV\x00", "point": "pv_power_w", "ts": ts, "value": 1, "unit": "W"},
            {"device": "GWNUL-INV", "point": "pv\x00power_w", "ts": ts, "value": 1, "unit": "W"},
        ]
    }
    r = client.post("/api/v1/ingest", json=body, headers=bearer(token))
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 1, r.text
