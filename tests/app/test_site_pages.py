"""Portal pages for sites and devices: picture, statistical range, status for a day, sharing with
the organisation picker (withdraw; the receiver removes the site from its list), and on the device
page rename, the live-data switch and moving a gateway to another site."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.support.world import PASSWORD, World, build_world
from voltfleet.app.devices.service import set_device_status
from voltfleet.app.runtime import Runtime
from voltfleet.domain.fleet import DeviceStatus
from voltfleet.store.db import utcnow
from voltfleet.store.fleet_models import Device


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


def login(client: TestClient, email: str) -> str:
    """Sign in through the portal; returns the session's CSRF token."""
    client.cookies.clear()
    r = client.post("/login", data={"email": email, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return client.get("/site").text.split('name="csrf" value="')[1].split('"')[0]


def create_site(client: TestClient, csrf: str, **form: str) -> str:
    r = client.post("/site/new", data={"csrf": csrf, **form}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return r.headers["location"].split("?")[0].rsplit("/", 1)[1]


def bind(client: TestClient, csrf: str, site_id: str, **form: str) -> str:
    r = client.post(f"/site/{site_id}/devices", data={"csrf": csrf, **form})
    assert r.status_code == 200 and 'id="error"' not in r.text, r.text
    return r.text


def device_id(runtime: Runtime, serial: str) -> str:
    with runtime.db.session() as s:
        return str(s.query(Device.id).filter(Device.serial == serial).scalar())


def notice(html: str) -> str:
    found = re.search(r'id="notice">([^<]*)<', html)
    return found.group(1) if found else ""


def error(html: str) -> str:
    found = re.search(r'id="error">([^<]*)<', html)
    return found.group(1) if found else ""


def test_picture_upload_is_shown_and_bad_files_are_refused(
    client: TestClient, world: World
) -> None:
    csrf = login(client, "om.i1@example.com")
    sid = create_site(client, csrf, name="Picture home")
    url = f"/site/{sid}/picture"
    assert client.get(url).status_code == 404
    r = client.post(url, data={"csrf": csrf}, files={"file": ("a.txt", b"hi", "text/plain")})
    assert "PNG, JPEG, WebP or GIF" in error(r.text)
    r = client.post(url, data={"csrf": csrf}, files={"file": ("a.png", b"", "image/png")})
    assert error(r.text) == "choose a picture to upload"
    big = b"\x89PNG" + b"0" * (2 * 1024 * 1024)
    r = client.post(url, data={"csrf": csrf}, files={"file": ("a.png", big, "image/png")})
    assert error(r.text) == "the picture must be at most 2 MB"
    r = client.post(url, data={"csrf": csrf}, files={"file": ("a.gif", b"GIF89a", "image/gif")})
    assert notice(r.text) == "Picture saved." and f'src="/site/{sid}/picture?v=' in r.text
    r = client.get(url)
    assert r.status_code == 200 and r.content == b"GIF89a"
    assert r.headers["content-type"] == "image/gif"
    r = client.post(url, files={"file": ("a.gif", b"GIF89a", "image/gif")}, data={"csrf": "x"})
    assert r.status_code == 403  # an expired form
    # Nobody outside the site's scope sees it.
    login(client, "admin.i2@example.com")
    assert client.get(url).status_code == 404


def test_statistical_range_form(client: TestClient, runtime: Runtime, world: World) -> None:
    csrf = login(client, "admin.i1@example.com")
    sid = create_site(client, csrf, name="Stats home", gateway_serial="SGW1", gateway_fw="3.1")
    bind(client, csrf, sid, kind="inverter", serial="SINV1", parent_serial="SGW1")
    bind(client, csrf, sid, kind="inverter", serial="SINV2", parent_serial="SGW1")
    page = bind(client, csrf, sid, kind="meter", serial="SMTR1", parent_serial="SGW1")
    assert "3 of 3 inverters and meters counted" in page
    inv1, inv2, mtr = (device_id(runtime, s) for s in ("SINV1", "SINV2", "SMTR1"))
    # Inverters counted, meters not; SINV2 left out by its own switch.
    r = client.post(
        f"/site/{sid}/statistics",
        data={
            "csrf": csrf,
            "inverters": "yes",
            "listed": [inv1, inv2, mtr],
            "counted": [inv1, mtr],
        },
    )
    assert notice(r.text) == "Statistical range saved."
    assert "1 of 3 inverters and meters counted" in r.text
    stats = client.get(
        f"/api/v1/sites/{sid}/statistical-range",
        headers=world.accounts["admin@I1"].headers(),
    ).json()
    assert (stats["inverters"], stats["meters"]) == (True, False)
    assert {d["serial"]: d["counted"] for d in stats["devices"]} == {
        "SINV1": True,
        "SINV2": False,
        "SMTR1": False,
    }
    # A device that is not an inverter or meter of the site is refused with the reason.
    r = client.post(
        f"/site/{sid}/statistics",
        data={"csrf": csrf, "listed": ["nope"], "counted": []},
    )
    assert "not inverters or meters of this site" in error(r.text)
    # An O&M engineer of another organisation does not see the site at all.
    login(client, "om.i2@example.com")
    assert client.get(f"/site/{sid}").status_code == 404


def test_status_for_a_chosen_day(client: TestClient, runtime: Runtime, world: World) -> None:
    csrf = login(client, "admin.i1@example.com")
    sid = create_site(client, csrf, name="Day home", country="DE", gateway_serial="DGW1")
    with runtime.db.session() as s:
        gw = s.query(Device).filter(Device.serial == "DGW1").one()
        set_device_status(s, gw, DeviceStatus.ONLINE, utcnow() - timedelta(minutes=1))
    page = client.get(f"/site/{sid}").text
    assert 'id="day-status-value">online<' in page
    r = client.get(f"/site/{sid}/day-status", params={"day": "2020-01-01"})
    assert r.status_code == 200 and "<html" not in r.text
    assert "No device was bound that day." in r.text and "2020-01-01" in r.text
    r = client.get(f"/site/{sid}/day-status", params={"day": "yesterday"})
    assert "is not a date: use YYYY-MM-DD" in r.text
    # Without htmx the form loads the whole page for the day.
    page = client.get(f"/site/{sid}", params={"day": "2020-01-01"}).text
    assert 'id="day-status-value">no device<' in page


def test_share_with_the_picker_withdraw_and_remove_from_my_list(
    client: TestClient, runtime: Runtime, world: World
) -> None:
    csrf = login(client, "admin.d1@example.com")
    own = create_site(client, csrf, name="Distributor home")
    child = create_site(client, csrf, name="Installer home", org_id=world.org_id("I1"))
    page = client.get(f"/site/{own}/settings").text  # the Settings tab holds the site's actions
    picker = page.split('id="share-site"')[1].split("</select>")[0]
    # The picker offers the organisations in the caller's scope that do not see the site yet.
    assert world.org_id("I1") in picker and world.org_id("D1") not in picker
    assert world.org_id("I2") not in picker
    page = client.get(f"/site/{child}/settings").text
    assert 'id="share-site"' not in page and "no other organisation in your scope" in page

    r = client.post(f"/site/{own}/share", data={"csrf": csrf, "org_id": ""})
    assert error(r.text) == "pick the organisation to share with"
    r = client.post(f"/site/{own}/share", data={"csrf": csrf, "org_id": world.org_id("I1")})
    assert notice(r.text) == "Site shared with Org I1."
    assert f'data-org="{world.org_id("I1")}"' in r.text
    assert 'id="share-site"' not in r.text  # nobody else in scope is left to pick
    # Withdraw, then share again.
    r = client.post(f"/site/{own}/shares/{world.org_id('I1')}/remove", data={"csrf": csrf})
    assert notice(r.text) == "No longer shared with Org I1."
    r = client.post(f"/site/{own}/share", data={"csrf": csrf, "org_id": world.org_id("I1")})
    assert notice(r.text) == "Site shared with Org I1."

    # The receiver sees it marked as shared, can edit it, cannot share it on, and removes it.
    csrf = login(client, "admin.i1@example.com")
    listing = client.get("/site").text
    assert "Distributor home" in listing and 'class="badge shared"' in listing
    page = client.get(f"/site/{own}").text
    assert 'id="leave-site"' in page and 'id="share-site"' not in page
    assert 'id="delete-site"' not in page
    settings = client.get(f"/site/{own}/settings").text
    assert 'id="share-site"' not in settings and 'id="delete-site"' not in settings
    r = client.post(
        f"/site/{own}/shares/{world.org_id('I1')}/remove",
        data={"csrf": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/site?notice=")
    assert "Distributor home" not in client.get("/site").text
    assert client.get(f"/site/{own}").status_code == 404
    # An O&M engineer may not remove shared sites (that needs the delete right).
    csrf = login(client, "admin.d1@example.com")
    client.post(f"/site/{own}/share", data={"csrf": csrf, "org_id": world.org_id("I1")})
    csrf = login(client, "om.i1@example.com")
    page = client.get(f"/site/{own}").text
    assert 'class="badge shared"' in page and 'id="leave-site"' not in page
    r = client.post(f"/site/{own}/shares/{world.org_id('I1')}/remove", data={"csrf": csrf})
    assert r.status_code == 200 and error(r.text)


def test_device_rename_live_data_and_move(
    client: TestClient, runtime: Runtime, world: World
) -> None:
    csrf = login(client, "admin.i1@example.com")
    first = create_site(
        client,
        csrf,
        name="First home",
        gateway_serial="MGW1",
        gateway_type="wifi",
        gateway_fw="3.2",
    )
    owner = world.accounts["owner@I1"].id
    second = create_site(client, csrf, name="Second home", account_mode="existing", owner_id=owner)
    create_site(client, csrf, name="Third home")
    bind(
        client, csrf, first, kind="inverter", serial="MINV1", subtype="hybrid", parent_serial="MGW1"
    )
    bind(
        client, csrf, first, kind="inverter", serial="MMIC1", subtype="micro", parent_serial="MGW1"
    )
    gw, inv, micro = (device_id(runtime, s) for s in ("MGW1", "MINV1", "MMIC1"))

    # Rename.
    r = client.post(f"/device/{inv}/rename", data={"csrf": csrf, "name": "  Roof east  "})
    assert notice(r.text) == "Renamed to Roof east." and 'value="Roof east"' in r.text
    r = client.post(f"/device/{inv}/rename", data={"csrf": csrf, "name": "  "})
    assert error(r.text) == "enter a name for the device"

    # Live data: supported and switched on and off; a micro inverter is refused with the reason.
    page = client.get(f"/device/{inv}").text
    assert 'id="live-data"><span class="badge status-online">supported</span> · off' in page
    r = client.post(f"/device/{inv}/live-data", data={"csrf": csrf, "enabled": "yes"})
    assert notice(r.text) == "Live data enabled." and "supported</span> · enabled" in r.text
    r = client.post(f"/device/{inv}/live-data", data={"csrf": csrf, "enabled": "no"})
    assert notice(r.text) == "Live data switched off."
    page = client.get(f"/device/{micro}").text
    assert "not supported" in page and "micro inverters do not support live data" in page
    r = client.post(f"/device/{micro}/live-data", data={"csrf": csrf, "enabled": "yes"})
    assert error(r.text) == "live data cannot be enabled: micro inverters do not support live data"

    # Move: only devices at the top of the tree; the picker narrows by name.
    assert 'id="move-form"' not in client.get(f"/device/{inv}").text
    page = client.get(f"/device/{gw}").text
    options = page.split('id="move-site"')[1].split("</select>")[0]
    assert "Second home" in options and "Third home" in options and "First home" not in options
    fragment = client.get(f"/device/{gw}/move-targets", params={"q": "second"}).text
    assert "Second home" in fragment and "Third home" not in fragment
    assert (
        "no other site matches"
        in client.get(f"/device/{gw}/move-targets", params={"q": "zzz"}).text
    )
    r = client.post(f"/device/{gw}/move", data={"csrf": csrf, "site_id": ""})
    assert error(r.text) == "pick the site to move it to"
    r = client.post(f"/device/{gw}/move", data={"csrf": csrf, "site_id": second})
    assert notice(r.text) == "MGW1 moved to Second home, with the devices below it."
    second_page = client.get(f"/site/{second}").text
    assert all(s in second_page for s in ("MGW1", "MINV1", "MMIC1"))
    assert "No devices bound yet." in client.get(f"/site/{first}").text
    r = client.post(f"/device/{gw}/move", data={"csrf": csrf, "site_id": second})
    assert error(r.text) == "the device is already at that site"

    # The owner of the site it moved to sees the device, but none of the forms.
    login(client, "owner.i1@example.com")
    page = client.get(f"/device/{gw}").text
    assert "MGW1" in page and "supported" in page
    for form in ("rename-form", "move-form", "live-data-switch"):
        assert f'id="{form}"' not in page
    r = client.post(f"/device/{gw}/rename", data={"csrf": csrf, "name": "x"})
    assert r.status_code == 403  # the owner's form token differs; and owners may not edit


def test_add_device_form_with_firmware_and_wizard_gateway_firmware(
    client: TestClient, runtime: Runtime, world: World
) -> None:
    csrf = login(client, "om.i1@example.com")
    old = create_site(client, csrf, name="Old dongle", gateway_serial="OGW1", gateway_fw="2.0")
    page = client.get(f"/device/{device_id(runtime, 'OGW1')}").text
    assert "firmware is too old" in page
    page = bind(
        client,
        csrf,
        old,
        kind="gateway",
        serial="EGW1",
        subtype="ethernet",
        fw_arm="2.4",
        registration_no="reg-9",
        name="Cellar dongle",
    )
    assert notice(page) == "Gateway EGW1 bound." and "Cellar dongle" in page
    with runtime.db.session() as s:
        egw = s.query(Device).filter(Device.serial == "EGW1").one()
        assert (egw.live_data, egw.registration_no, egw.fw_arm) == ("supported", "REG-9", "2.4")
    r = client.post(
        f"/site/{old}/devices", data={"csrf": csrf, "kind": "inverter", "serial": "bad serial!"}
    )
    assert error(r.text).startswith("serial:")
