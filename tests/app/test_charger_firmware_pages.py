"""The Upgrade pages take charger firmware (OCPP UpdateFirmware): a release of type charger is
uploaded from the portal and listed under ?tab=charger, and a new task for it picks chargers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.app.test_ocpp import make_charger
from tests.app.test_site_pages import login
from tests.support.world import World, build_world
from voltfleet.app.runtime import Runtime
from voltfleet.store.fleet_models import Device

pytestmark = pytest.mark.parametrize("runtime", ["sqlite"], indirect=True)


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


def test_a_charger_release_is_uploaded_listed_and_picks_chargers(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids = make_charger(client, world, "EVC-FWP")
    with runtime.db.session() as s:
        s.execute(
            update(Device)
            .where(Device.id == ids["charger"])
            .values(model="ACME Wallbox", fw_arm="1.0", status="online")
        )
    csrf = login(client, "om.i1@example.com")
    r = client.post(
        "/upgrade/releases",
        data={"csrf": csrf, "model": "ACME Wallbox", "firmware_type": "charger", "version": "1.1"},
        files={"file": ("wb.bin", b"\x00WALLBOX" * 100, "application/octet-stream")},
    )
    assert r.status_code == 200 and "Release ACME Wallbox 1.1 uploaded" in r.text
    release_id = r.text.split('data-release="')[1].split('"')[0]
    assert "ACME Wallbox" not in client.get("/upgrade/releases?tab=gateway").text
    page = client.get(f"/upgrade/tasks/new?tab=charger&release_id={release_id}").text
    assert 'data-serial="EVC-FWP"' in page
