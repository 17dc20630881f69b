"""Auto-detect over HTTP (POST /api/v1/gateway/inventory with the gateway token): found devices
are bound below the gateway with model, serial, firmware and address, and their readings are
stored (not quarantined); what needs a person is offered with the reason; the same inventory
again changes nothing; a person's token or a body that is no inventory is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.support.world import build_world
from voltfleet.app.runtime import Runtime
from voltfleet.store.models import AuditEntry


def _site(client: TestClient, h: dict[str, str], gw: str) -> tuple[str, dict[str, str]]:
    r = client.post(
        "/api/v1/sites",
        json={"name": "Home", "timezone": "Europe/Berlin", "gateway": {"serial": gw}},
        headers=h,
    )
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    r = client.get("/api/v1/devices", params={"site_id": sid}, headers=h)
    gw_id = next(d["id"] for d in r.json()["items"] if d["serial"] == gw)
    r = client.post(f"/api/v1/devices/{gw_id}/token", headers=h)
    assert r.status_code == 201, r.text
    return sid, {"Authorization": f"Bearer {r.json()['token']}"}


def found(unit: int, kind: str, serial: str, models: list[int]) -> dict[str, Any]:
    return {
        "unit_id": unit,
        "kind": kind,
        "manufacturer": "Acme",
        "model": f"{kind.upper()}-1",
        "serial": serial,
        "firmware": "1.0",
        "sunspec_models": models,
    }


def test_a_gateways_inventory_binds_its_devices_and_offers_the_ambiguous(
    runtime: Runtime, client: TestClient
) -> None:
    world = build_world(runtime)
    h = world.accounts["admin@I1"].headers()
    sid, gw = _site(client, h, "GWD1")
    _, _ = _site(client, h, "GWD2")
    # a serial already bound on another site
    r = client.post(
        "/api/v1/sites",
        json={"name": "Other", "timezone": "Europe/Berlin", "gateway": {"serial": "GWD3"}},
        headers=h,
    )
    other = r.json()["id"]
    r = client.post(
        f"/api/v1/sites/{other}/devices",
        json={"kind": "meter", "serial": "TAKEN-MTR", "parent_serial": "GWD3"},
        headers=h,
    )
    assert r.status_code == 201, r.text
    body = {
        "devices": [
            found(1, "inverter", "inv-1", [1, 103, 124]),
            found(2, "battery", "BAT-1", [1, 802]),
            found(3, "meter", "MTR-1", [1, 203]),
            found(4, "meter", "TAKEN-MTR", [1, 203]),
            found(5, "inverter", "TWICE", [1, 103]),
            found(6, "inverter", "TWICE", [1, 103]),
            found(7, "weather", "WX-1", [1, 307]),
            {"unit_id": 8, "kind": "meter", "serial": "no spaces allowed"},
            "junk",
        ]
    }
    r = client.post("/api/v1/gateway/inventory", json=body, headers=gw)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["added"] == ["INV-1", "BAT-1", "MTR-1"]
    offered = {o["serial"]: o["reason"] for o in out["offered"]}
    assert "another site" in offered["TAKEN-MTR"]
    assert "two devices" in offered["TWICE"]
    assert "not bound automatically" in offered["WX-1"]
    assert [x["index"] for x in out["refused"]] == [7, 8]

    r = client.get("/api/v1/devices", params={"site_id": sid}, headers=h)
    devices = {d["serial"]: d for d in r.json()["items"]}
    assert devices["INV-1"]["kind"] == "inverter" and devices["INV-1"]["subtype"] == "hybrid"
    assert devices["INV-1"]["model"] == "Acme INVERTER-1"
    assert devices["INV-1"]["comm_address"] == 1
    assert devices["MTR-1"]["subtype"] == "grid"

    # the same inventory again: nothing new; a new firmware: updated
    r = client.post("/api/v1/gateway/inventory", json=body, headers=gw)
    assert r.json()["added"] == [] and r.json()["unchanged"] == ["INV-1", "BAT-1", "MTR-1"]
    body["devices"][0] = {**found(1, "inverter", "INV-1", [1, 103, 124]), "firmware": "1.1"}
    r = client.post("/api/v1/gateway/inventory", json=body, headers=gw)
    assert r.json()["updated"] == ["INV-1"]

    # their readings are stored, not quarantined
    ts = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    readings = [
        {"device": "INV-1", "point": "pv_power_w", "ts": ts, "value": 1200, "unit": "W"},
        {"device": "BAT-1", "point": "soc", "ts": ts, "value": 55.5, "unit": "%"},
        {"device": "MTR-1", "point": "grid_power_w", "ts": ts, "value": -300, "unit": "W"},
    ]
    r = client.post("/api/v1/ingest", json={"readings": readings}, headers=gw)
    assert r.status_code == 200, r.text
    assert (r.json()["accepted"], r.json()["quarantined"]) == (3, 0)

    # what the gateway found, as a person sees it; the additions are audited
    gw_id = next(d["id"] for d in devices.values() if d["serial"] == "GWD1")
    r = client.get(f"/api/v1/devices/{gw_id}/inventory", headers=h)
    states = {(x["serial"], x["state"]) for x in r.json()}
    assert ("TAKEN-MTR", "offered") in states and ("INV-1", "updated") in states
    with runtime.db.session() as s:
        actions = list(s.scalars(select(AuditEntry.action)))
    assert "gateway.inventory" in actions


def test_an_inventory_needs_a_gateway_token_and_an_inventory_body(
    runtime: Runtime, client: TestClient
) -> None:
    world = build_world(runtime)
    h = world.accounts["admin@I1"].headers()
    _, gw = _site(client, h, "GWD9")
    r = client.post("/api/v1/gateway/inventory", json={"devices": []}, headers=h)
    assert r.status_code == 401
    r = client.post("/api/v1/gateway/inventory", json={"items": []}, headers=gw)
    assert r.status_code == 400 and "devices" in r.json()["detail"]
    r = client.post("/api/v1/gateway/inventory", content=b"{nope", headers=gw)
    assert r.status_code == 400
