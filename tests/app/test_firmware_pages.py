"""The Upgrade pages: upload a release, see it with its NEW mark, make a reserved batch task
with the device picker (the time read in the site's zone), its details and operations; a
device's Upgrade tab; owners are refused; Site > Commissioning makes a report."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.app.test_alarms import home
from tests.app.test_site_pages import login
from tests.support.world import World, build_world
from voltfleet.app.firmware import commissioning
from voltfleet.app.runtime import Runtime
from voltfleet.store.firmware_models import CommissioningReport, FirmwareTask
from voltfleet.store.fleet_models import Device


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


def test_release_upload_reserved_task_details_and_commissioning_pages(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids, _ = home(client, world, "GWP1")
    ids2, _ = home(client, world, "GWP2")
    with runtime.db.session() as s:
        s.execute(
            update(Device)
            .where(Device.id.in_([ids["GWP1"], ids2["GWP2"]]))
            .values(model="CPS WiFi Kit", fw_arm="9.02", status="online")
        )
    csrf = login(client, "om.i1@example.com")
    r = client.post(
        "/upgrade/releases",
        data={
            "csrf": csrf,
            "model": "CPS WiFi Kit",
            "firmware_type": "gateway",
            "version": "10.00",
        },
        files={"file": ("fw.bin", b"\x00FIRMWARE" * 100, "application/octet-stream")},
    )
    assert r.status_code == 200 and "Release CPS WiFi Kit 10.00 uploaded" in r.text
    assert "NEW" in r.text and "Download" in r.text
    r = client.post(
        "/upgrade/releases",
        data={"csrf": csrf, "model": "CPS WiFi Kit", "firmware_type": "gateway", "version": "1 0"},
        files={"file": ("fw.bin", b"x", "application/octet-stream")},
    )
    assert 'id="release-error"' in r.text and "version must be" in r.text
    release_id = r.text.split('data-release="')[1].split('"')[0]
    page = client.get(f"/upgrade/tasks/new?tab=gateway&release_id={release_id}").text
    assert 'data-serial="GWP1"' in page and 'data-serial="GWP2"' in page
    filtered = client.get(f"/upgrade/tasks/new?release_id={release_id}&serial=GWP2").text
    assert 'data-serial="GWP1"' not in filtered and 'data-serial="GWP2"' in filtered
    r = client.post(
        "/upgrade/tasks",
        data={
            "csrf": csrf,
            "release_id": release_id,
            "device_ids": [ids["GWP1"], ids2["GWP2"]],
            "reservation": "yes",
            "start_at": "2031-07-10T00:00",
        },
    )
    assert r.status_code == 200, r.text
    assert "+02:00" in r.text and "2031-07-10 00:00:00" in r.text  # Berlin summer time
    assert 'data-serial="GWP1" data-state="pending"' in r.text
    with runtime.db.session() as s:
        task = s.query(FirmwareTask).one()
        assert task.start_at == datetime(2031, 7, 10, tzinfo=ZoneInfo("Europe/Berlin"))
        task_id = task.id
    listed = client.get("/upgrade/tasks").text
    assert f'data-task="{task_id}"' in listed and "2 pending" in listed
    r = client.post(f"/upgrade/tasks/{task_id}/pause", data={"csrf": csrf})
    assert r.status_code == 200 and "paused" in r.text
    r = client.post(f"/upgrade/tasks/{task_id}/delete", data={"csrf": csrf})
    assert r.status_code == 200 and "Task deleted" in r.text
    tab = client.get(f"/device/{ids['GWP1']}/upgrade")
    assert tab.status_code == 200 and "Upgrade history" in tab.text

    # Site > Commissioning
    r = client.post(
        f"/site/{ids['site']}/commissioning",
        data={"csrf": csrf, "name": "Handover", "device_ids": [ids["GWP1"], ids["GWP1-INV"]]},
    )
    assert r.status_code == 200 and 'data-status="reading"' in r.text
    with runtime.db.session() as s:
        report_id = s.query(CommissioningReport).one().id
    assert (
        commissioning.generate(runtime.db, report_id, datetime.now(ZoneInfo("UTC"))) == "finished"
    )
    page = client.get(f"/site/{ids['site']}/commissioning").text
    assert 'data-status="finished"' in page and "100%" in page
    pdf = client.get(f"/site/{ids['site']}/commissioning/{report_id}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    login(client, "owner.i1@example.com")
    assert client.get("/upgrade/releases").status_code == 403
