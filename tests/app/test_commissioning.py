"""Commissioning reports: created by O&M (not owners), generated in the background through
reading -> generating -> finished, a PDF whose text names the site, each device's model, serial,
firmware and status, key settings and the last day's chart; regenerate, send by email, delete."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select, update

from tests.app.test_alarms import home
from tests.app.test_telemetry import bearer, h, iso
from tests.support.world import World, build_world
from voltfleet.app.firmware import commissioning
from voltfleet.app.runtime import Runtime
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import OutboxMail


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_a_report_is_generated_in_the_background_and_reads_as_text(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids, token = home(client, world, "GWR1")
    with runtime.db.session() as s:
        s.execute(
            update(Device)
            .where(Device.id == ids["GWR1-INV"])
            .values(model="CPS SCH100KTL", fw_dsp="2.31", rated_power_w=5000, status="online")
        )
        s.execute(update(Device).where(Device.id == ids["GWR1"]).values(fw_arm="10.00"))
    now = datetime.now(UTC).replace(microsecond=0)
    readings = [
        {
            "device": "GWR1-INV",
            "point": "pv_power_w",
            "ts": iso(now - timedelta(hours=h_)),
            "value": 1000.0 + 100 * h_,
            "unit": "W",
        }
        for h_ in range(1, 12)
    ]
    r = client.post("/api/v1/ingest", json={"readings": readings}, headers=bearer(token))
    assert r.status_code == 200 and r.json()["accepted"] == 11, r.text
    r = client.post(
        f"/api/v1/sites/{ids['site']}/distribute",
        json={"user_id": world.accounts["owner@I1"].id},
        headers=h(world, "admin@I1"),
    )
    assert r.status_code == 200, r.text  # the home's owner sees the site
    url = f"/api/v1/sites/{ids['site']}/commissioning-reports"
    body = {"name": "Commission Report", "device_ids": [ids["GWR1"], ids["GWR1-INV"]]}
    assert client.post(url, json=body, headers=h(world, "owner@I1")).status_code == 403
    assert client.post(url, json=body, headers=h(world, "om@I2")).status_code == 404
    bad = client.post(
        url, json={**body, "device_ids": [ids["GWR1-MTR"]]}, headers=h(world, "om@I1")
    )
    assert bad.status_code == 404  # a meter is not reported on
    r = client.post(url, json={**body, "email": "ops@example.com"}, headers=h(world, "om@I1"))
    assert r.status_code == 201, r.text
    report = r.json()
    assert report["status"] == "reading" and report["progress"] == 0
    pdf_url = f"/api/v1/commissioning-reports/{report['id']}/pdf"
    assert client.get(pdf_url, headers=h(world, "om@I1")).status_code == 409  # not yet

    assert commissioning.generate(runtime.db, report["id"], now) == "finished"
    listed = client.get(url, headers=h(world, "owner@I1")).json()  # the owner may read it
    assert [(x["status"], x["progress"]) for x in listed] == [("finished", 100)]
    r = client.get(pdf_url, headers=h(world, "om@I1"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = pdf_text(r.content)
    for expected in (
        "Commission Report",
        "Home",
        "Europe/Berlin",
        "GWR1-INV",
        "CPS SCH100KTL",
        "DSP 2.31",
        "ARM 10.00",
        "online",
        "rated power",
        "5000 W",
        "Last day's PV power",
    ):
        assert expected in text, f"{expected!r} not in the PDF text:\n{text}"
    assert "No PV power readings" not in text

    r = client.post(
        f"/api/v1/commissioning-reports/{report['id']}/send", json={}, headers=h(world, "om@I1")
    )
    assert r.status_code == 200, r.text
    with runtime.db.session() as s:
        mail = s.scalars(select(OutboxMail).where(OutboxMail.to == "ops@example.com")).one()
        assert report["id"] in mail.body and "Commission Report" in mail.subject

    r = client.post(
        f"/api/v1/commissioning-reports/{report['id']}/regenerate", headers=h(world, "om@I1")
    )
    assert r.status_code == 200 and r.json()["status"] == "reading"
    assert (
        client.delete(
            f"/api/v1/commissioning-reports/{report['id']}", headers=h(world, "owner@I1")
        ).status_code
        == 403
    )
    assert (
        client.delete(
            f"/api/v1/commissioning-reports/{report['id']}", headers=h(world, "om@I1")
        ).status_code
        == 204
    )
    assert client.get(url, headers=h(world, "om@I1")).json() == []
