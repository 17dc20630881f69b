"""Deleting a company that still holds firmware releases or virtual batteries answers a clear
409 sentence (it was a database error: a foreign key, or firmware silently cascaded away)."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient

from tests.support.world import build_world
from voltfleet.app.runtime import Runtime
from voltfleet.store.firmware_models import FirmwareRelease
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site
from voltfleet.store.virtual_battery_models import VirtualBattery


def _new_org(
    client: TestClient, headers: dict[str, str], name: str, type: str, parent_id: str
) -> str:
    body = {"name": name, "type": type, "parent_id": parent_id}
    r = client.post("/api/v1/orgs", headers=headers, json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_company_with_firmware_releases_is_not_deleted(
    client: TestClient, runtime: Runtime
) -> None:
    w = build_world(runtime)
    admin = w.accounts["admin@D1"]
    org_id = _new_org(client, admin.headers(), "Firmware House", "installer", w.org_id("D1"))
    with runtime.db.session() as s:
        s.add(
            FirmwareRelease(
                org_id=org_id,
                org_path=f"{w.orgs['D1'].path}{org_id}/",
                device_kind="gateway",
                model="GW-1",
                firmware_type="main",
                version="2.0.0",
                file_name="gw.bin",
                size_bytes=3,
                sha256="0" * 64,
            )
        )
        s.commit()
    r = client.delete(f"/api/v1/orgs/{org_id}", headers=admin.headers())
    assert r.status_code == 409, r.text
    assert "firmware releases" in r.json()["detail"]
    # the sentence is in the reader's language
    r = client.delete(
        f"/api/v1/orgs/{org_id}", headers={**admin.headers(), "Accept-Language": "de"}
    )
    assert r.status_code == 409 and "hat noch Firmware-Versionen" in r.json()["detail"]
    assert client.get(f"/api/v1/orgs/{org_id}", headers=admin.headers()).status_code == 200


def test_company_with_virtual_batteries_is_not_deleted(
    client: TestClient, runtime: Runtime
) -> None:
    w = build_world(runtime)
    admin = w.accounts["super"]
    org_id = _new_org(client, admin.headers(), "Utility Works", "utility", w.org_id("P"))
    with runtime.db.session() as s:
        site = Site(org_id=w.org_id("I1"), name="Meter home", timezone="Europe/Berlin")
        s.add(site)
        s.flush()
        meter = Device(site_id=site.id, kind="meter", serial="VB-METER-1")
        s.add(meter)
        s.flush()
        s.add(
            VirtualBattery(
                org_id=org_id,
                name="Grid store",
                customer_id=w.accounts["owner@I1"].id,
                site_id=site.id,
                meter_id=meter.id,
                start_date=date(2026, 1, 1),
            )
        )
        s.commit()
    r = client.delete(f"/api/v1/orgs/{org_id}", headers=admin.headers())
    assert r.status_code == 409, r.text
    assert "virtual batteries" in r.json()["detail"]
