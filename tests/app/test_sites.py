"""Sites API: create (gateway, owner account), search, sharing, distribution, deletion, status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.support.world import World, build_world
from voltfleet.app.devices.service import set_device_status
from voltfleet.app.runtime import Runtime
from voltfleet.app.sites.service import purge_expired
from voltfleet.domain.fleet import DeviceStatus
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import AuditEntry, OutboxMail, Site


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


def h(world: World, who: str) -> dict[str, str]:
    return world.accounts[who].headers()


def new_site(client: TestClient, world: World, who: str = "admin@I1", **body: object) -> dict:
    r = client.post("/api/v1/sites", json={"name": "Home", **body}, headers=h(world, who))
    assert r.status_code == 201, r.text
    return r.json()


def last_code(runtime: Runtime, email: str) -> str:
    with runtime.db.session() as s:
        mail = s.scalars(
            select(OutboxMail).where(OutboxMail.to == email).order_by(OutboxMail.created_at.desc())
        ).first()
        assert mail is not None
        return mail.body.split("Your code is ")[1].split()[0]


def test_create_with_gateway_and_new_owner(
    client: TestClient, runtime: Runtime, world: World
) -> None:
    site = new_site(
        client,
        world,
        name="Musterhaus",
        country="DE",
        capacity_kwp=9.8,
        gateway={
            "serial": "gw-0001",
            "subtype": "wifi",
            "registration_no": "reg-77",
            "fw_arm": "3.1",
        },
        account={"mode": "new", "email": "Hanna@Example.com", "username": "Hanna"},
    )
    assert site["timezone"] == "Europe/Berlin" and site["currency"] == "EUR"
    assert site["temperature_unit"] == "C"
    assert site["owner_created"] is True and site["owner_email"] == "hanna@example.com"
    assert site["device_count"] == 1 and site["status"] == "offline"
    assert site["org_id"] == world.org_id("I1") and site["shared"] is False
    with runtime.db.session() as s:
        mail = s.scalar(select(OutboxMail).where(OutboxMail.to == "hanna@example.com"))
        assert mail is not None and "temporary password" in mail.body
        gw = s.scalar(select(Device).where(Device.site_id == site["id"]))
        assert gw is not None and gw.serial == "GW-0001" and gw.registration_no == "REG-77"
        assert gw.live_data == "supported"
    # The US gets its own defaults; an explicit zone wins.
    us = new_site(client, world, country="US", timezone="America/Denver")
    assert (us["timezone"], us["currency"], us["temperature_unit"]) == (
        "America/Denver",
        "USD",
        "F",
    )


def test_create_refusals(client: TestClient, world: World) -> None:
    r = client.post(
        "/api/v1/sites", json={"name": "x", "timezone": "Mars/Base"}, headers=h(world, "admin@I1")
    )
    assert r.status_code == 422 and "time zone" in r.json()["detail"]
    r = client.post(
        "/api/v1/sites",
        json={"name": "x", "account": {"mode": "existing", "user_id": world.accounts["om@I1"].id}},
        headers=h(world, "admin@I1"),
    )
    assert r.status_code == 400 and "owner accounts" in r.json()["detail"]
    r = client.post(
        "/api/v1/sites",
        json={
            "name": "x",
            "account": {"mode": "existing", "user_id": world.accounts["owner@I2"].id},
        },
        headers=h(world, "admin@I1"),
    )
    assert r.status_code == 404
    new_site(client, world, gateway={"serial": "GW1"})
    r = client.post(
        "/api/v1/sites", json={"name": "y", "gateway": {"serial": "gw1"}}, headers=h(world, "om@I2")
    )
    assert r.status_code == 409 and "another site" in r.json()["detail"]
    r = client.post("/api/v1/sites", json={"name": "z"}, headers=h(world, "owner@I1"))
    assert r.status_code == 403


def test_search_by_every_key(client: TestClient, world: World) -> None:
    a = new_site(
        client,
        world,
        name="Sonnenhof Nord",
        country="DE",
        region="BW",
        gateway={"serial": "GWA1", "registration_no": "R-1"},
        account={"mode": "existing", "user_id": world.accounts["owner@I1"].id},
    )
    b = new_site(client, world, who="admin@D1", name="Zonnehuis", country="NL")
    c = new_site(client, world, who="admin@D2", name="Sonnenhof Süd", country="AT")
    admin = h(world, "admin@D1")

    def ids(**params: object) -> list[str]:
        r = client.get("/api/v1/sites", params=params, headers=admin)
        assert r.status_code == 200, r.text
        return [s["id"] for s in r.json()["items"]]

    assert ids() == [a["id"], b["id"]]  # sorted by name; D2's site is out of scope
    assert ids(sort="-name") == [b["id"], a["id"]]
    assert ids(q="sonnen") == [a["id"]]
    assert ids(serial="gwa1") == [a["id"]]
    assert ids(registration_no="r-1") == [a["id"]]
    assert ids(account="owner.i1") == [a["id"]]
    assert ids(account="owner I1") == [a["id"]]
    assert ids(country="nl") == [b["id"]]
    assert ids(country="DE", region="BW") == [a["id"]]
    assert ids(status="offline") == [a["id"]]
    assert ids(status="no_device") == [b["id"]]
    assert ids(org_id=world.org_id("I1")) == [a["id"]]
    assert ids(q="%") == []
    assert c["id"] not in ids(q="Sonnenhof")
    r = client.get("/api/v1/sites", params={"sort": "owner"}, headers=admin)
    assert r.status_code == 422 and "cannot sort" in r.json()["detail"]
    r = client.get("/api/v1/sites", params={"org_id": world.org_id("D2")}, headers=admin)
    assert r.status_code == 404
    page = client.get("/api/v1/sites", params={"page_size": 1, "page": 2}, headers=admin).json()
    assert page["total"] == 2 and [s["id"] for s in page["items"]] == [b["id"]]


def test_owner_sees_only_own_sites(client: TestClient, world: World) -> None:
    mine = new_site(
        client, world, account={"mode": "existing", "user_id": world.accounts["owner@I1"].id}
    )
    other = new_site(client, world, name="Not mine")
    owner = h(world, "owner@I1")
    r = client.get("/api/v1/sites", headers=owner)
    assert [s["id"] for s in r.json()["items"]] == [mine["id"]]
    assert client.get(f"/api/v1/sites/{other['id']}", headers=owner).status_code == 404
    assert (
        client.patch(f"/api/v1/sites/{mine['id']}", json={"name": "x"}, headers=owner).status_code
        == 403
    )


def test_update_rename_and_picture(client: TestClient, world: World) -> None:
    site = new_site(client, world)
    r = client.patch(
        f"/api/v1/sites/{site['id']}",
        json={"name": "  Renamed ", "capacity_kwp": 12.5, "timezone": "Europe/Vienna"},
        headers=h(world, "om@I1"),
    )
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["capacity_kwp"]) == ("Renamed", 12.5)
    r = client.patch(f"/api/v1/sites/{site['id']}", json={"name": None}, headers=h(world, "om@I1"))
    assert r.status_code == 400
    url = f"/api/v1/sites/{site['id']}/picture"
    r = client.put(url, files={"file": ("a.txt", b"hi", "text/plain")}, headers=h(world, "om@I1"))
    assert r.status_code == 415
    r = client.put(
        url, files={"file": ("a.gif", b"GIF89a", "image/gif")}, headers=h(world, "om@I1")
    )
    assert r.status_code == 204
    r = client.get(url, headers=h(world, "admin@D1"))
    assert r.status_code == 200 and r.content == b"GIF89a"
    assert client.get(f"/api/v1/sites/{site['id']}", headers=h(world, "om@I1")).json()[
        "has_picture"
    ]


def test_share_receiver_views_edits_removes_but_cannot_share_on(
    client: TestClient, world: World
) -> None:
    site = new_site(client, world, name="Shared home")
    sid = site["id"]
    r = client.post(
        f"/api/v1/sites/{sid}/shares",
        json={"org_id": world.org_id("I2")},
        headers=h(world, "om@I1"),
    )
    assert r.status_code == 403  # only administrators share
    r = client.post(
        f"/api/v1/sites/{sid}/shares",
        json={"org_id": world.org_id("I2")},
        headers=h(world, "admin@I1"),
    )
    assert r.status_code == 201 and r.json()["org_name"] == "Org I2"
    again = client.post(
        f"/api/v1/sites/{sid}/shares",
        json={"org_id": world.org_id("I2")},
        headers=h(world, "admin@I1"),
    )
    assert again.status_code == 409
    own = client.post(
        f"/api/v1/sites/{sid}/shares",
        json={"org_id": world.org_id("D1")},
        headers=h(world, "admin@I1"),
    )
    assert own.status_code == 409 and "already sees" in own.json()["detail"]

    # The receiver (and its superiors) see it, marked as shared; statistics leave it out.
    for who in ("admin@I2", "om@I2", "admin@D2"):
        items = client.get("/api/v1/sites", headers=h(world, who)).json()["items"]
        assert [(s["id"], s["shared"]) for s in items] == [(sid, True)]
        counts = client.get("/api/v1/sites/status-counts", headers=h(world, who)).json()
        assert counts["total"] == 0
    assert client.get("/api/v1/sites/status-counts", headers=h(world, "admin@I1")).json() == {
        "online": 0,
        "offline": 0,
        "abnormal": 0,
        "no_device": 1,
        "total": 1,
    }
    assert (
        client.get("/api/v1/sites", params={"shared": True}, headers=h(world, "admin@I2")).json()[
            "total"
        ]
        == 1
    )
    assert (
        client.get("/api/v1/sites", params={"shared": False}, headers=h(world, "admin@I2")).json()[
            "total"
        ]
        == 0
    )
    r = client.patch(f"/api/v1/sites/{sid}", json={"address": "Weg 1"}, headers=h(world, "om@I2"))
    assert r.status_code == 200 and r.json()["address"] == "Weg 1"
    r = client.post(
        f"/api/v1/sites/{sid}/shares",
        json={"org_id": world.org_id("D1")},
        headers=h(world, "admin@I2"),
    )
    assert r.status_code == 403 and "shared with your organisation" in r.json()["detail"]
    assert client.delete(f"/api/v1/sites/{sid}", headers=h(world, "admin@I2")).status_code == 403
    assert client.get(f"/api/v1/sites/{sid}/shares", headers=h(world, "admin@I1")).json()[0][
        "org_id"
    ] == world.org_id("I2")
    # The receiver removes the site from its list.
    r = client.delete(
        f"/api/v1/sites/{sid}/shares/{world.org_id('I2')}", headers=h(world, "admin@I2")
    )
    assert r.status_code == 204
    assert client.get(f"/api/v1/sites/{sid}", headers=h(world, "admin@I2")).status_code == 404
    assert client.get(f"/api/v1/sites/{sid}", headers=h(world, "admin@I1")).status_code == 200


def test_distribute(client: TestClient, world: World) -> None:
    site = new_site(client, world)
    url = f"/api/v1/sites/{site['id']}/distribute"
    r = client.post(url, json={"user_id": world.accounts["owner@I1"].id}, headers=h(world, "om@I1"))
    assert r.status_code == 200 and r.json()["owner_email"] == "owner.i1@example.com"
    owner = h(world, "owner@I1")
    assert client.get(f"/api/v1/sites/{site['id']}", headers=owner).status_code == 200
    r = client.post(url, json={"user_id": world.accounts["owner@I2"].id}, headers=h(world, "om@I1"))
    assert r.status_code == 404
    r = client.post(url, json={"user_id": None}, headers=h(world, "admin@I1"))
    assert r.status_code == 200 and r.json()["owner_id"] is None
    assert client.get(f"/api/v1/sites/{site['id']}", headers=owner).status_code == 404


def test_delete_without_devices_is_direct_and_audited(
    client: TestClient, runtime: Runtime, world: World
) -> None:
    site = new_site(client, world)
    assert (
        client.delete(f"/api/v1/sites/{site['id']}", headers=h(world, "om@I1")).status_code == 403
    )
    assert (
        client.delete(f"/api/v1/sites/{site['id']}", headers=h(world, "admin@I1")).status_code
        == 204
    )
    assert (
        client.get(f"/api/v1/sites/{site['id']}", headers=h(world, "admin@I1")).status_code == 404
    )
    with runtime.db.session() as s:
        row = s.get(Site, site["id"])
        assert row is not None and row.deleted_at is not None and row.purge_after is not None
        retention = row.purge_after - row.deleted_at
        assert retention == timedelta(days=runtime.settings.site_retention_days)
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "site.delete")) is not None
        assert purge_expired(s, datetime.now(UTC)) == 0
        assert purge_expired(s, row.purge_after + timedelta(seconds=1)) == 1
        assert s.get(Site, site["id"]) is None


def test_delete_with_device_needs_the_owners_code(
    client: TestClient, runtime: Runtime, world: World
) -> None:
    site = new_site(
        client,
        world,
        gateway={"serial": "GWDEL"},
        account={"mode": "new", "email": "del@example.com"},
    )
    sid = site["id"]
    admin = h(world, "admin@I1")
    r = client.delete(f"/api/v1/sites/{sid}", headers=admin)
    assert r.status_code == 400 and "deletion-code" in r.json()["detail"]
    r = client.post(f"/api/v1/sites/{sid}/deletion-code", headers=admin)
    assert r.status_code == 200 and "d***@example.com" in r.json()["detail"]
    code = last_code(runtime, "del@example.com")
    r = client.request(
        "DELETE",
        f"/api/v1/sites/{sid}",
        json={"code": "000000" if code != "000000" else "111111"},
        headers=admin,
    )
    assert r.status_code == 400 and "wrong code" in r.json()["detail"]
    r = client.request("DELETE", f"/api/v1/sites/{sid}", json={"code": code}, headers=admin)
    assert r.status_code == 204, r.text
    # The gateway's serial is free again; the old row is kept for the retention period.
    again = new_site(client, world, gateway={"serial": "gwdel"})
    assert again["device_count"] == 1
    with runtime.db.session() as s:
        rows = list(s.scalars(select(Device).where(Device.serial == "GWDEL")))
        assert len(rows) == 2 and sum(d.deleted_at is None for d in rows) == 1


def test_delete_with_device_but_no_owner_is_refused(client: TestClient, world: World) -> None:
    site = new_site(client, world, gateway={"serial": "GWNO"})
    r = client.post(f"/api/v1/sites/{site['id']}/deletion-code", headers=h(world, "admin@I1"))
    assert r.status_code == 409 and "no owner" in r.json()["detail"]


def test_status_counts_and_day_status(client: TestClient, runtime: Runtime, world: World) -> None:
    site = new_site(client, world, country="DE", gateway={"serial": "GWS"})
    inv = client.post(
        f"/api/v1/sites/{site['id']}/devices",
        json={"kind": "inverter", "serial": "INVS", "parent_serial": "GWS", "comm_address": 1},
        headers=h(world, "om@I1"),
    ).json()
    new_site(client, world, name="empty")
    yesterday = datetime.now(UTC) - timedelta(days=1)
    with runtime.db.session() as s:
        gw = s.scalar(select(Device).where(Device.serial == "GWS"))
        iv = s.get(Device, inv["id"])
        assert gw is not None and iv is not None
        gw.created_at = iv.created_at = yesterday - timedelta(days=1)
        set_device_status(s, gw, DeviceStatus.ONLINE, yesterday)
        set_device_status(s, iv, DeviceStatus.FAULT, yesterday + timedelta(minutes=5))
        set_device_status(s, iv, DeviceStatus.RUNNING, yesterday + timedelta(minutes=30))
    counts = client.get("/api/v1/sites/status-counts", headers=h(world, "admin@D1")).json()
    assert counts == {"online": 1, "offline": 0, "abnormal": 0, "no_device": 1, "total": 2}
    url = f"/api/v1/sites/{site['id']}/status"
    day = yesterday.astimezone().date()
    r = client.get(url, params={"day": str(day)}, headers=h(world, "owner@I1"))
    assert r.status_code == 404  # not the owner's site
    r = client.get(url, params={"day": str(yesterday.date())}, headers=h(world, "om@I1"))
    body = r.json()
    assert r.status_code == 200 and body["timezone"] == "Europe/Berlin"
    # A fault during the day makes the whole day abnormal; today the inverter is fine.
    assert body["status"] == "abnormal" or yesterday.hour >= 22
    assert client.get(url, headers=h(world, "om@I1")).json()["status"] == "online"
    before = (yesterday - timedelta(days=5)).date()
    assert (
        client.get(url, params={"day": str(before)}, headers=h(world, "om@I1")).json()["status"]
        == "no_device"
    )


def test_statistical_range(client: TestClient, world: World) -> None:
    site = new_site(client, world, gateway={"serial": "GWR"})
    om = h(world, "om@I1")
    inv = client.post(
        f"/api/v1/sites/{site['id']}/devices",
        json={"kind": "inverter", "serial": "INVR", "parent_serial": "GWR"},
        headers=om,
    ).json()
    meter = client.post(
        f"/api/v1/sites/{site['id']}/devices",
        json={"kind": "meter", "serial": "MTR", "parent_serial": "INVR"},
        headers=om,
    ).json()
    url = f"/api/v1/sites/{site['id']}/statistical-range"
    got = client.get(url, headers=h(world, "admin@D1")).json()
    assert got["inverters"] and got["meters"] and all(d["counted"] for d in got["devices"])
    r = client.put(url, json={"meters": False, "devices": {inv["id"]: False}}, headers=om)
    assert r.status_code == 200
    counted = {d["serial"]: d["counted"] for d in r.json()["devices"]}
    assert counted == {"INVR": False, "MTR": False} and meter["id"]
    r = client.put(url, json={"devices": {"nope": True}}, headers=om)
    assert r.status_code == 400
    assert client.put(url, json={"meters": True}, headers=h(world, "owner@I1")).status_code == 404


# ---- portal pages -----------------------------------------------------------------------------


def portal_login(client: TestClient, email: str) -> str:
    """Sign in through the portal; returns the CSRF token of the session."""
    r = client.post(
        "/login", data={"email": email, "password": "Secret#123"}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    page = client.get("/site").text
    return page.split('name="csrf" value="')[1].split('"')[0]


def test_portal_site_pages(client: TestClient, runtime: Runtime, world: World) -> None:
    csrf = portal_login(client, "admin.i1@example.com")
    r = client.post(
        "/site/new",
        data={
            "csrf": csrf,
            "name": "Portal Home",
            "country": "de",
            "gateway_serial": "PGW1",
            "gateway_type": "wifi",
            "account_mode": "new",
            "owner_email": "portal.owner@example.com",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    site_url = r.headers["location"].split("?")[0]
    page = client.get(site_url).text
    assert "Portal Home" in page and "portal.owner@example.com" in page and "PGW1" in page
    # A bad form comes back with its reason and the values typed.
    r = client.post("/site/new", data={"csrf": csrf, "name": "X", "timezone": "Nowhere/City"})
    assert r.status_code == 400 and "time zone" in r.text and 'value="X"' in r.text

    csv_text = (
        "kind,serial,parent_serial,comm_address\ninverter,PINV1,PGW1,1\ninverter,PINV2,PGW1,1\n"
    )
    r = client.post(
        f"{site_url}/import",
        data={"csrf": csrf},
        files={"file": ("d.csv", csv_text.encode(), "text/csv")},
    )
    assert r.status_code == 200
    assert "1</strong> added" in r.text and "communication address 1" in r.text
    assert 'class="tree"' in r.text and "PINV1" in r.text

    # Search by each key finds it; the column choice is remembered for this user.
    for params in (
        {"q": "portal"},
        {"serial": "pinv1"},
        {"account": "portal.owner"},
        {"country": "DE"},
    ):
        assert "Portal Home" in client.get("/site", params=params).text, params
    assert "Portal Home" not in client.get("/site", params={"q": "nothing"}).text
    r = client.post(
        "/site/columns",
        data={"csrf": csrf, "columns": ["owner", "created"]},
        follow_redirects=False,
    )
    assert r.status_code == 303
    table = client.get("/site").text.split('<table id="sites">')[1].split("</thead>")[0]
    assert "Owner" in table and "Created" in table and "Capacity" not in table

    gateways = client.get("/site/gateways").text
    assert "PGW1" in gateways and "PINV1" not in gateways
    inverters = client.get("/site/inverters", params={"serial": "pinv"}).text
    assert "PINV1" in inverters
    device_id = inverters.split('href="/device/')[1].split('"')[0]
    assert "PGW1" in client.get(f"/device/{device_id}").text
    home = client.get("/home").text
    assert 'id="status-offline">1<' in home
