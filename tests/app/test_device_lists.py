"""The gateway dashboard and the gateway and inverter lists (issue 15): counts by status, type
and firmware over the caller's fleet whose links open the list filtered to the same number; the
lists' filters, column keys, pages and CSV; row actions by role; owners see their own devices."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.support.world import World, build_world
from voltfleet.app.runtime import Runtime
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


def site(client: TestClient, world: World, who: str, name: str, gw: dict, owner: str = "") -> str:
    body: dict = {"name": name, "country": "DE", "gateway": gw}
    if owner:
        body["account"] = {"mode": "existing", "user_id": world.accounts[owner].id}
    r = client.post("/api/v1/sites", json=body, headers=world.accounts[who].headers())
    assert r.status_code == 201, r.text
    return r.json()["id"]


def add(client: TestClient, world: World, who: str, site_id: str, **device: object) -> None:
    r = client.post(
        f"/api/v1/sites/{site_id}/devices", json=device, headers=world.accounts[who].headers()
    )
    assert r.status_code == 201, r.text


@pytest.fixture
def fleet(client: TestClient, runtime: Runtime, world: World) -> dict[str, str]:
    """I1: four gateways (two Wi-Fi 3.1 online, one 4G 1.0 offline, one Ethernet faulty with no
    firmware), the first with two inverters and owned by owner@I1; I2: one Wi-Fi gateway."""
    a = site(
        client,
        world,
        "admin@I1",
        "Home A",
        {"serial": "GWA", "subtype": "wifi", "fw_arm": "3.1"},
        "owner@I1",
    )
    b = site(
        client, world, "admin@I1", "Home B", {"serial": "GWB", "subtype": "wifi", "fw_arm": "3.1"}
    )
    c = site(
        client, world, "admin@I1", "Home C", {"serial": "GWC", "subtype": "4g", "fw_arm": "1.0"}
    )
    d = site(client, world, "admin@I1", "Home D", {"serial": "GWD", "subtype": "ethernet"})
    site(client, world, "admin@I2", "Other", {"serial": "GWX", "subtype": "wifi", "fw_arm": "3.1"})
    add(
        client,
        world,
        "admin@I1",
        a,
        kind="inverter",
        serial="INVA1",
        parent_serial="GWA",
        comm_address=1,
        model="HY-5K",
        name="Roof east",
        fw_dsp="V1.2",
    )
    add(
        client,
        world,
        "admin@I1",
        a,
        kind="inverter",
        serial="INVA2",
        parent_serial="GWA",
        comm_address=2,
        model="PV-3K",
        name="Garage",
    )
    add(
        client,
        world,
        "admin@I1",
        b,
        kind="inverter",
        serial="INVB1",
        parent_serial="GWB",
        comm_address=1,
        model="HY-5K",
        name="Barn",
    )
    now = runtime.clock.now()
    with runtime.db.session() as s:
        status = {
            "GWA": "online",
            "GWB": "online",
            "GWC": "offline",
            "GWD": "fault",
            "INVA1": "online",
            "INVA2": "offline",
            "INVB1": "online",
        }
        for dev in s.scalars(select(Device).where(Device.serial.in_(status))):
            dev.status = status[dev.serial]
        inva1 = s.scalar(select(Device).where(Device.serial == "INVA1"))
        assert inva1 is not None
        inva1.pv_power_w, inva1.pv_power_at = 2400.0, now - timedelta(minutes=2)
        invb1 = s.scalar(select(Device).where(Device.serial == "INVB1"))
        assert invb1 is not None  # an old sample is not "power now"
        invb1.pv_power_w, invb1.pv_power_at = 999.0, now - timedelta(hours=3)
        s.commit()
    return {"a": a, "b": b, "c": c, "d": d}


def login(client: TestClient, email: str) -> None:
    r = client.post(
        "/login", data={"email": email, "password": "Secret#123"}, follow_redirects=False
    )
    assert r.status_code == 303, r.text


def serials(page: str) -> list[str]:
    return [part.split("'")[0].split('"')[0] for part in page.split('data-serial="')[1:]]


def test_summary_api_counts_the_callers_gateways(
    client: TestClient, world: World, fleet: dict[str, str]
) -> None:
    r = client.get("/api/v1/gateways/summary", headers=world.accounts["om@I1"].headers())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 4  # not I2's gateway
    assert body["by_status"] == {"online": 2, "offline": 1, "fault": 1}
    assert body["by_type"] == {"wifi": 2, "4g": 1, "ethernet": 1}
    assert body["by_firmware"] == {"3.1": 2, "1.0": 1, "": 1}
    owner = client.get("/api/v1/gateways/summary", headers=world.accounts["owner@I1"].headers())
    assert owner.json()["total"] == 1 and owner.json()["by_type"] == {"wifi": 1}
    assert client.get("/api/v1/gateways/summary").status_code == 401


def test_dashboard_links_open_the_list_with_the_same_count(
    client: TestClient, world: World, fleet: dict[str, str]
) -> None:
    login(client, "admin.i1@example.com")
    page = client.get("/site/gateways/dashboard")
    assert page.status_code == 200
    html = page.text
    links = [p.split('"')[0] for p in html.split('href="/site/gateways?')[1:]]
    assert "status=online" in links and "type=4g" in links and "firmware_version=3.1" in links
    want = {
        "status=online": 2,
        "status=fault": 1,
        "type=wifi": 2,
        "type=4g": 1,
        "firmware_version=3.1": 2,
        "firmware_version=": 1,
        "status=offline": 1,
    }
    for query, n in want.items():
        assert query in links, query
        listed = client.get(f"/site/gateways?{query}").text
        assert len(serials(listed)) == n, (query, serials(listed))
    assert serials(client.get("/site/gateways?firmware_version=").text) == ["GWD"]


def test_gateway_list_filters_columns_actions_and_csv(
    client: TestClient, world: World, fleet: dict[str, str]
) -> None:
    login(client, "om.i1@example.com")
    html = client.get("/site/gateways").text
    assert serials(html) == ["GWA", "GWB", "GWC", "GWD"]
    assert 'data-col="firmware"' in html and 'id="column-chooser"' in html
    assert "act-rename" in html and "act-distribute" in html  # O&M may
    assert serials(client.get("/site/gateways", params={"q": "gwc"}).text) == ["GWC"]
    assert serials(client.get("/site/gateways", params={"firmware": "3.1"}).text) == ["GWA", "GWB"]
    assert serials(
        client.get("/site/gateways", params={"type": "wifi", "status": "online"}).text
    ) == ["GWA", "GWB"]
    bad = client.get("/site/gateways", params={"type": "carrier-pigeon"})
    assert bad.status_code == 200 and "type must be one of" in bad.text
    r = client.get("/site/gateways.csv", params={"type": "wifi"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0][:6] == ["Status", "SN", "Name", "Type", "Model", "Firmware version"]
    assert "Actions" not in rows[0]
    assert [row[1] for row in rows[1:]] == ["GWA", "GWB"]
    devices = rows[0].index("Devices")
    assert rows[1][devices] == "2"


def test_gateway_list_pages(client: TestClient, world: World, runtime: Runtime) -> None:
    sid = site(client, world, "admin@I1", "Many", {"serial": "GW000", "subtype": "4g"})
    with runtime.db.session() as s:
        for i in range(1, 30):
            s.add(Device(site_id=sid, kind="gateway", subtype="4g", serial=f"GW{i:03d}"))
        s.commit()
    login(client, "admin.i1@example.com")
    first = client.get("/site/gateways", params={"type": "4g"}).text
    assert len(serials(first)) == 25 and "30 gateways" in first and 'rel="next"' in first
    second = client.get("/site/gateways", params={"type": "4g", "page": 2}).text
    assert serials(second) == [f"GW{i:03d}" for i in range(25, 30)]


def test_inverter_list_columns_search_and_csv(
    client: TestClient, world: World, fleet: dict[str, str]
) -> None:
    login(client, "admin.i1@example.com")
    html = client.get("/site/inverters").text
    assert serials(html) == ["INVA1", "INVA2", "INVB1"]
    row = html.split('data-serial="INVA1"')[1].split("</tr>")[0]
    assert "2.40" in row and "kW" in row, row  # power now: a fresh sample only
    assert "act-delete" in html and "act-rename" in html
    assert serials(client.get("/site/inverters", params={"q": "garage"}).text) == ["INVA2"]
    assert serials(client.get("/site/inverters", params={"model": "hy-5k"}).text) == [
        "INVA1",
        "INVB1",
    ]
    assert serials(client.get("/site/inverters", params={"status": "offline"}).text) == ["INVA2"]
    rows = list(csv.reader(io.StringIO(client.get("/site/inverters.csv").text)))
    assert rows[0] == [
        "Status",
        "Name",
        "SN",
        "Site",
        "Gateway SN",
        "Model",
        "Firmware",
        "Power now, W",
    ]
    assert rows[1] == ["online", "Roof east", "INVA1", "Home A", "GWA", "HY-5K", "DSP V1.2", "2400"]
    assert rows[3][-1] == ""  # INVB1's sample is three hours old


def test_owner_sees_own_devices_without_actions(
    client: TestClient, world: World, fleet: dict[str, str]
) -> None:
    login(client, "owner.i1@example.com")
    assert serials(client.get("/site/gateways").text) == ["GWA"]
    html = client.get("/site/inverters").text
    assert serials(html) == ["INVA1", "INVA2"]
    assert "act-delete" not in html and "act-rename" not in html
    csv_rows = client.get("/site/inverters.csv").text.splitlines()
    assert len(csv_rows) == 3
    dash = client.get("/site/gateways/dashboard").text
    assert "1 gateway in your fleet" in dash


def test_german_list(client: TestClient, world: World, fleet: dict[str, str]) -> None:
    login(client, "admin.i1@example.com")
    html = client.get("/site/gateways/dashboard", headers={"Accept-Language": "de"}).text
    assert "Gateway-Übersicht" in html and "Nach Firmware-Version" in html
    rows = client.get("/site/inverters.csv", headers={"Accept-Language": "de"}).text
    assert rows.startswith("Status,Name,SN,Anlage,Gateway-SN")


def device_id(runtime: Runtime, serial: str) -> str:
    with runtime.db.session() as s:
        found = s.scalar(select(Device.id).where(Device.serial == serial))
        assert found is not None
        return found


def tab_keys(page: str) -> list[str]:
    assert 'id="device-tabs"' in page, "no function bar"
    bar = page.split('id="device-tabs"')[1].split("</nav>")[0]
    return [p.split('"')[0] for p in bar.split('data-tab="')[1:]]


INVERTER_PAGES = ("", "/chart", "/energy", "/alarms", "/data", "/mode", "/autotest", "/upgrade")


def test_inverter_function_bar_on_every_page_by_role(
    client: TestClient, runtime: Runtime, world: World, fleet: dict[str, str]
) -> None:
    inv = device_id(runtime, "INVA1")
    login(client, "om.i1@example.com")
    full = ["details", "chart", "energy", "alarms", "data", "settings", "mode", "load", "upgrade"]
    for suffix in (*INVERTER_PAGES, "/settings"):
        r = client.get(f"/device/{inv}{suffix}")
        assert r.status_code == 200, (suffix, r.text[:200])
        assert tab_keys(r.text) == full, suffix  # a German site: no AutoTest
        active = r.text.split('id="device-tabs"')[1].split("</nav>")[0]
        if suffix not in ("/autotest", ""):
            assert f'href="/device/{inv}{suffix}" data-tab' in active
            assert 'aria-current="page"' in active, suffix
    # A gateway's page has no inverter bar: its own bar has none of an inverter's tabs
    # (every kind has a bar since the old link line went: test_device_bar.py).
    gateway = tab_keys(client.get(f"/device/{device_id(runtime, 'GWA')}").text)
    assert not {"mode", "load", "autotest", "settings"} & set(gateway), gateway

    client.post("/logout")
    login(client, "owner.i1@example.com")
    owner = tab_keys(client.get(f"/device/{inv}").text)
    assert owner == ["details", "chart", "energy", "alarms", "data", "mode", "load"]


def test_autotest_tab_only_at_an_italian_site(
    client: TestClient, runtime: Runtime, world: World, fleet: dict[str, str]
) -> None:
    with runtime.db.session() as s:
        home = s.get(Site, fleet["b"])
        assert home is not None
        home.country = "IT"
        s.commit()
    login(client, "om.i1@example.com")
    keys = tab_keys(client.get(f"/device/{device_id(runtime, 'INVB1')}/mode").text)
    assert "autotest" in keys and keys.index("autotest") == keys.index("settings") + 1
    assert "autotest" not in tab_keys(client.get(f"/device/{device_id(runtime, 'INVA1')}").text)


def test_gateway_details_lists_its_devices_with_created_and_delete(
    client: TestClient, runtime: Runtime, world: World, fleet: dict[str, str]
) -> None:
    gw = device_id(runtime, "GWA")
    login(client, "admin.i1@example.com")
    page = client.get(f"/device/{gw}").text
    below = page.split("Connected devices")[1]
    assert "INVA1" in below and "INVA2" in below and 'data-col="created"' in below
    assert "/delete" in below  # an administrator may delete a device below the gateway
    client.post("/logout")
    login(client, "owner.i1@example.com")
    below = client.get(f"/device/{gw}").text.split("Connected devices")[1]
    assert "INVA1" in below and "/delete" not in below


@pytest.mark.parametrize("path", ["/upgrade/releases", "/upgrade/tasks"])
def test_upgrade_pages_link_the_charger_tab(client: TestClient, world: World, path: str) -> None:
    login(client, "om.i1@example.com")
    page = client.get(path).text
    assert 'id="tab-charger"' in page and 'href="?tab=charger"' in page
    charger = client.get(f"{path}?tab=charger").text
    assert 'href="?tab=charger" class="active"' in charger and "Charger model" in charger
