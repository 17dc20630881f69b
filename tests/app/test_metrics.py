"""Prometheus metrics at /metrics: off without a token, counted by route template, ingest by
source and outcome, quarantine by reason, commands by state read at the scrape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.app.test_telemetry import bearer, h, iso, make_site, token_for
from tests.support.world import World, build_world
from voltfleet.app.runtime import Runtime
from voltfleet.store.command_models import Command

TOKEN = "scrape-" + "y" * 32


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


def scrape(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    r = client.get("/metrics", headers=bearer(TOKEN))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_are_off_without_a_token_and_need_it(
    client: TestClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    off = client.get("/metrics")
    assert off.status_code == 404 and "VOLTFLEET_METRICS_TOKEN" in off.json()["detail"]
    monkeypatch.setattr(runtime.settings, "metrics_token", TOKEN)
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=bearer("scrape-wrong")).status_code == 401
    assert client.get("/metrics", headers=bearer(TOKEN)).status_code == 200


def test_ingest_requests_and_commands_are_counted(
    client: TestClient, world: World, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime.settings, "metrics_token", TOKEN)
    ids = make_site(client, world, "GWM")
    token = token_for(client, world, ids["GWM"])
    before = scrape(client)
    t = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    readings = [
        {"device": "GWM-INV", "point": "pv_power_w", "ts": iso(t), "value": 100, "unit": "W"},
        {"device": "GWM-INV", "point": "pv_power_w", "ts": iso(t), "value": 100, "unit": "W"},
        {"device": "GWM-INV", "point": "magic_w", "ts": iso(t), "value": 1, "unit": "W"},
        {"device": "GWM-NOPE", "point": "pv_power_w", "ts": iso(t), "value": 1, "unit": "W"},
    ]
    r = client.post("/api/v1/ingest", json={"readings": readings}, headers=bearer(token))
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 1 and r.json()["quarantined"] == 2
    for _ in range(3):
        assert client.get(f"/api/v1/sites/{ids['site']}", headers=h(world, "om@I1")).is_success
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("voltfleet_ingest_readings_total", source="http", outcome="accepted") == 1
    assert grew("voltfleet_ingest_readings_total", source="http", outcome="duplicate") == 1
    assert grew("voltfleet_ingest_readings_total", source="http", outcome="quarantined") == 2
    assert grew("voltfleet_ingest_batch_duration_seconds_count", source="http") == 1
    assert grew("voltfleet_quarantined_readings_total", reason="unknown_point") == 1
    assert grew("voltfleet_quarantined_readings_total", reason="unknown_device") == 1
    # By route template: the site's id is not a label (the series stay bounded).
    site_route = {"method": "GET", "route": "/api/v1/sites/{site_id}", "status": "200"}
    assert grew("voltfleet_http_request_duration_seconds_count", **site_route) == 3
    assert not any(ids["site"] in str(labels) for _, labels in after)
    # Read at the scrape: OCPP connections of this process, commands by state.
    assert value(after, "voltfleet_ocpp_connections") == 0
    assert value(after, "voltfleet_commands", state="queued") == 0
    with runtime.db.session() as s:
        for state in ("queued", "queued", "acknowledged"):
            s.add(
                Command(
                    site_id=ids["site"],
                    device_id=ids["GWM-INV"],
                    gateway_id=ids["GWM"],
                    kind="battery_setpoint",
                    params={"battery_power_w": 0},
                    state=state,
                    not_before=t,
                    expires_at=t + timedelta(hours=1),
                )
            )
    now = scrape(client)
    assert value(now, "voltfleet_commands", state="queued") == 2
    assert value(now, "voltfleet_commands", state="acknowledged") == 1
