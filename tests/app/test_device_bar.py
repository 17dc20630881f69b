"""Every device has one row of links, its function bar (issue 19, session 3): the device page's
old link line under the heading (Chart · Data table · Energy · Alarm · Settings · Site energy ·
Mode ...) duplicated an inverter's bar and was the only way on from a gateway, battery or meter.
Each kind now gets the bar with the tabs it has; the old line is gone."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.app.test_device_lists import tab_keys
from tests.app.test_site_pages import login
from tests.app.test_telemetry import h, make_site
from tests.support.world import World, build_world
from voltfleet.app.runtime import Runtime


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


def test_each_device_kind_has_one_function_bar_and_no_link_line(
    client: TestClient, world: World
) -> None:
    ids = make_site(client, world, "GWBAR")
    r = client.post(
        f"/api/v1/sites/{ids['site']}/devices",
        json={"kind": "battery", "serial": "GWBAR-BAT", "parent_serial": "GWBAR"},
        headers=h(world, "admin@I1"),
    )
    assert r.status_code == 201, r.text
    battery = next(
        d["id"]
        for d in client.get(
            "/api/v1/devices", params={"site_id": ids["site"]}, headers=h(world, "admin@I1")
        ).json()["items"]
        if d["serial"] == "GWBAR-BAT"
    )
    login(client, world.accounts["om@I1"].email)
    common = ["details", "chart", "energy", "alarms", "data"]
    want = {
        ids["GWBAR-INV"]: [*common, "settings", "mode", "load", "upgrade"],
        ids["GWBAR"]: [*common, "gateway_settings", "upgrade"],
        ids["GWBAR-MTR"]: [*common, "settings", "upgrade"],
        battery: [*common, "settings", "upgrade"],
    }
    for device_id, keys in want.items():
        page = client.get(f"/device/{device_id}").text
        assert 'id="device-telemetry-links"' not in page, device_id  # the old link line
        assert tab_keys(page) == keys, device_id
        assert page.count(f'href="/device/{device_id}/chart"') == 1, device_id
    gateway = client.get(f"/device/{ids['GWBAR']}").text
    assert 'id="gateway-settings-link"' in gateway
    assert 'id="device-settings-link"' not in gateway
    # the bar is on the gateway's settings page too, its tab marked
    settings = client.get(f"/device/{ids['GWBAR']}/gateway-settings").text
    bar = settings.split('id="device-tabs"')[1].split("</nav>")[0]
    assert 'data-tab="gateway_settings" id="gateway-settings-link" class="active"' in bar

    login(client, world.accounts["owner@I1"].email)  # an owner of none of these: not found
    assert client.get(f"/device/{ids['GWBAR']}").status_code == 404
