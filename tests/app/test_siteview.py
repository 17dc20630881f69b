"""The site's function bar on every tab page, by role, and the power-flow picture of the
overview from readings ingested through the real endpoint."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.app.test_live import ingest
from tests.app.test_site_pages import login
from tests.app.test_telemetry import h, make_site, token_for
from tests.support.world import World, build_world
from voltfleet.app.runtime import Runtime


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


@pytest.fixture
def home(client: TestClient, world: World) -> dict[str, str]:
    """A site of I1 (gateway GWS, inverter, meter, battery, charger), owned by owner@I1."""
    ids = make_site(client, world, "GWS")
    for kind, serial in (("battery", "GWS-BAT"), ("charger", "GWS-EV")):
        r = client.post(
            f"/api/v1/sites/{ids['site']}/devices",
            json={"kind": kind, "serial": serial, "parent_serial": "GWS"},
            headers=h(world, "admin@I1"),
        )
        assert r.status_code == 201, r.text
        ids[serial] = r.json()["id"]
    r = client.post(
        f"/api/v1/sites/{ids['site']}/distribute",
        json={"user_id": world.accounts["owner@I1"].id},
        headers=h(world, "admin@I1"),
    )
    assert r.status_code == 200, r.text
    ids["token"] = token_for(client, world, ids["GWS"])
    return ids


def tabs(html: str) -> tuple[list[str], list[str]]:
    """The bar's tab keys, and the active one(s)."""
    bar = re.search(r'<nav class="sub site-tabs" id="site-tabs".*?</nav>', html, re.S)
    assert bar, "no function bar on the page"
    keys = re.findall(r'data-tab="([a-z-]+)"', bar.group(0))
    active = re.findall(r'data-tab="([a-z-]+)"[^>]*class="active"', bar.group(0))
    return keys, active


ALL = ["overview", "chart", "energy", "alarms", "settings", "commissioning", "power", "savings",
       "tariff", "battery-plan"]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "active"),
    [
        ("/site/{s}", "overview"),
        ("/site/{s}/chart", "chart"),
        ("/site/{s}/energy", "energy"),
        ("/site/{s}/alarms", "alarms"),
        ("/site/{s}/settings", "settings"),
        ("/site/{s}/commissioning", "commissioning"),
        ("/sites/{s}/power", "power"),
        ("/sites/{s}/savings", "savings"),
        ("/sites/{s}/tariff", "tariff"),
        ("/site/{s}/battery-plan", "battery-plan"),
    ],
)
def test_every_tab_page_has_the_bar_with_its_tab_marked(
    client: TestClient, home: dict[str, str], path: str, active: str
) -> None:
    login(client, "admin.i1@example.com")
    r = client.get(path.format(s=home["site"]))  # the Chart tab leads to a device's chart
    assert r.status_code == 200, r.text
    keys, on = tabs(r.text)
    assert keys == ALL
    assert on == [active]
    assert 'aria-current="page"' in r.text


def test_an_owner_sees_the_tabs_of_their_role_and_no_settings(
    client: TestClient, home: dict[str, str]
) -> None:
    login(client, "owner.i1@example.com")
    site = home["site"]
    keys, on = tabs(client.get(f"/site/{site}").text)
    assert keys == [k for k in ALL if k != "settings"] and on == ["overview"]
    assert client.get(f"/site/{site}/settings").status_code == 403
    for path in (f"/site/{site}/energy", f"/sites/{site}/tariff", f"/sites/{site}/savings"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert "settings" not in tabs(r.text)[0]


def test_tabs_about_missing_devices_are_left_out(client: TestClient, world: World) -> None:
    ids = make_site(client, world, "GWN")  # no battery, no charger
    login(client, "admin.i1@example.com")
    keys, _ = tabs(client.get(f"/site/{ids['site']}").text)
    assert keys == [k for k in ALL if k not in ("power", "savings", "battery-plan")]


def test_the_alarm_card_loaded_into_the_overview_has_no_bar(
    client: TestClient, home: dict[str, str]
) -> None:
    login(client, "admin.i1@example.com")
    frag = client.get(f"/site/{home['site']}/alarms", headers={"HX-Request": "true"}).text
    assert 'id="site-tabs"' not in frag
    plan = client.get(f"/site/{home['site']}/battery-plan", headers={"HX-Request": "true"}).text
    assert 'id="site-tabs"' not in plan and "<html" not in plan


def test_another_tenant_gets_no_bar_and_no_flow(client: TestClient, home: dict[str, str]) -> None:
    login(client, "admin.i2@example.com")
    assert client.get(f"/site/{home['site']}").status_code == 404
    assert client.get(f"/site/{home['site']}/flow").status_code == 404


def values(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-value="([a-z]+)">([^<]*)<', html))


def lines(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-line="([a-z]+)" data-active="(yes|no)"', html))


def test_the_power_flow_shows_each_flow_its_direction_and_follows_new_readings(
    client: TestClient, home: dict[str, str]
) -> None:
    login(client, "owner.i1@example.com")
    site = home["site"]
    assert 'hx-get="/site/' + site + '/flow"' in client.get(f"/site/{site}").text
    empty = client.get(f"/site/{site}/flow").text
    assert values(empty) == {k: "\u2013" for k in ("pv", "grid", "home", "battery", "ev")}
    assert "No fresh readings" in empty

    ingest(
        client,
        home["token"],
        [
            ("GWS-INV", "pv_power_w", 4.2, "kW"),
            ("GWS-INV", "battery_power_w", 1500, "W"),
            ("GWS-BAT", "soc", 62, "%"),
            ("GWS-MTR", "grid_power_w", -700, "W"),
            ("GWS-EV", "ev_power_w", 1100, "W"),
        ],
    )
    html = client.get(f"/site/{site}/flow").text
    # load derived: 4200 - 700 - 1500 = 2000 W, of which the car takes 1100 W
    assert values(html) == {
        "pv": "4.20 kW",
        "grid": "0.70 kW",
        "home": "0.90 kW",
        "battery": "1.50 kW",
        "ev": "1.10 kW",
    }
    assert "Grid export" in html and "Charging" in html and 'data-soc="62"' in html
    assert lines(html) == {"pv": "yes", "grid": "yes", "home": "yes", "battery": "yes", "ev": "yes"}
    # export: the line runs from the junction (260,150) out to the grid
    assert re.search(r'data-line="grid" data-active="yes" data-from="260.0,150.0"', html)
    assert re.search(r'data-line="pv" data-active="yes" data-from="260.0,45.0"', html)
    assert "(Europe/Berlin)" in html and re.search(r"\+0[12]:00 \(Europe/Berlin\)", html)

    later = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    ingest(
        client,
        home["token"],
        [
            ("GWS-INV", "pv_power_w", 0, "W"),
            ("GWS-INV", "battery_power_w", -800, "W"),
            ("GWS-BAT", "soc", 61, "%"),
            ("GWS-MTR", "grid_power_w", 300, "W"),
            ("GWS-EV", "ev_power_w", 0, "W"),
        ],
        at=later,
    )
    html = client.get(f"/site/{site}/flow").text
    assert values(html)["battery"] == "0.80 kW" and values(html)["grid"] == "0.30 kW"
    assert "Grid import" in html and "Discharging" in html
    assert lines(html)["pv"] == "no" and lines(html)["ev"] == "no"
    assert re.search(r'data-line="battery" data-active="yes" data-from="160.0,255.0"', html)
