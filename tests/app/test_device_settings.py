"""Device settings over HTTP (issue 15): a device's registers found by keyword or group, Read
and Write as register commands that a gateway fetches by polling and answers from its register
bank (the simulator's), with time moved by a ManualClock: a device that never answers times
out, one that answers twice is applied once, one offline when the command was sent gets it when
it returns unless it expired. Out-of-range, read-only and owners are refused with a message;
every write is audited with its values before and after; vendor maps are uploaded per model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.app.test_alarms import home
from tests.app.test_money_pages import csrf_of, sign_in
from tests.app.test_telemetry import bearer, h
from tests.support.world import World, build_world
from voltfleet.app.runtime import Runtime
from voltfleet.clock import ManualClock
from voltfleet.simulator.register_bank import RegisterBank, answer
from voltfleet.store.models import AuditEntry

START = datetime(2031, 5, 1, 8, 0, tzinfo=UTC)
VENDOR = """group,address,name,label,unit,type,scale,min,max,step,register,access
Grid,40100,ExportLimit,Export limit,W,uint16,10,0,12000,100,holding,RW
Grid,40101,GridFreq,Grid frequency,Hz,uint16,0.01,,,,input,R
"""


@pytest.fixture
def clock(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    manual = ManualClock(START)
    monkeypatch.setattr(runtime, "clock", manual)
    return manual


@pytest.fixture
def world(client: TestClient, runtime: Runtime, clock: ManualClock) -> World:
    return build_world(runtime)


def registers(client: TestClient, world: World, device: str, **query: str) -> dict[str, Any]:
    r = client.get(f"/api/v1/devices/{device}/registers", params=query, headers=h(world, "om@I1"))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def value_of(client: TestClient, world: World, device: str, key: str) -> tuple[Any, Any]:
    got = {r["key"]: r for r in registers(client, world, device, q=key.split(".")[-1])["registers"]}
    return got[key]["value"], got[key]["read_at"]


def write(client: TestClient, world: World, device: str, key: str, value: Any, who: str = "om@I1"):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/devices/{device}/registers/write",
        json={"key": key, "value": value},
        headers=h(world, who),
    )


def poll(client: TestClient, token: str) -> list[dict[str, Any]]:
    r = client.get("/api/v1/gateway/commands", headers=bearer(token))
    assert r.status_code == 200, r.text
    return r.json()["commands"]  # type: ignore[no-any-return]


def reply(client: TestClient, token: str, command_id: str, body: dict[str, Any]) -> Any:
    return client.post(
        f"/api/v1/gateway/commands/{command_id}/reply", json=body, headers=bearer(token)
    )


def serve(client: TestClient, token: str, bank: RegisterBank, serials: set[str], at: str) -> int:
    """The gateway's poll: answer every command from the register bank."""
    got = poll(client, token)
    for c in got:
        out = answer(bank, c, serials, at)
        assert out is not None
        assert reply(client, token, c["id"], out).status_code == 200
    return len(got)


def test_search_read_and_write_round_trip_over_http_polling(
    client: TestClient, world: World, runtime: Runtime, clock: ManualClock
) -> None:
    ids, token = home(client, world, "GWS1")
    inv = ids["GWS1-INV"]
    bank, serials = RegisterBank(), {"GWS1-INV", "GWS1-BAT", "GWS1-MTR"}

    found = registers(client, world, inv, q="power limit")
    assert "704.WMaxLimPct" in [r["key"] for r in found["registers"]]
    assert "Storage (124)" in found["groups"]
    group = registers(client, world, inv, group="Storage (124)")["registers"]
    assert group and {r["group"] for r in group} == {"Storage (124)"}

    r = client.post(
        f"/api/v1/devices/{inv}/registers/read",
        json={"keys": ["124.WChaMax", "1.Md"]},
        headers=h(world, "om@I1"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "register_read" and r.json()["params"] == {
        "points": [{"model": 124, "point": "WChaMax"}, {"model": 1, "point": "Md"}]
    }
    assert value_of(client, world, inv, "124.WChaMax") == (None, None)  # not answered yet
    clock.advance(timedelta(seconds=3))
    assert serve(client, token, bank, serials, "2031-05-01T08:00:03Z") == 1
    assert value_of(client, world, inv, "124.WChaMax") == (5000, "2031-05-01T08:00:03Z")

    r = write(client, world, inv, "704.WMaxLimPct", 60)
    assert r.status_code == 201, r.text
    cmd = r.json()
    assert cmd["params"] == {"model": 704, "point": "WMaxLimPct", "value": 60}
    assert serve(client, token, bank, serials, "2031-05-01T08:00:05Z") == 1
    assert value_of(client, world, inv, "704.WMaxLimPct") == (60, "2031-05-01T08:00:05Z")
    with runtime.db.session() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.object_id == cmd["id"])).all()
        by = {a.action: a for a in rows}
        assert set(by) == {"register.write_sent", "register.written"}
        done = by["register.written"]
        assert done.detail["before"] == 100 and done.detail["after"] == 60
        assert done.actor_id == world.accounts["om@I1"].id


def test_out_of_range_read_only_and_owners_are_refused_with_a_message(
    client: TestClient, world: World
) -> None:
    ids, _ = home(client, world, "GWS2")
    inv = ids["GWS2-INV"]
    r = write(client, world, inv, "704.WMaxLimPct", 101)
    assert r.status_code == 422 and "out of range 0..100" in r.json()["detail"], r.text
    r = write(client, world, inv, "103.W", 100)
    assert r.status_code == 422 and "is read-only" in r.json()["detail"], r.text
    r = write(client, world, inv, "704.NoSuchPoint", 1)
    assert r.status_code == 404
    owner = world.accounts["owner@I1"]
    d = client.post(
        f"/api/v1/sites/{ids['site']}/distribute",
        json={"user_id": owner.id},
        headers=h(world, "admin@I1"),
    )
    assert d.status_code == 200, d.text
    assert client.get(f"/api/v1/devices/{inv}", headers=h(world, "owner@I1")).status_code == 200
    r = write(client, world, inv, "704.WMaxLimPct", 50, who="owner@I1")
    assert r.status_code == 403 and "may not update devices" in r.json()["detail"], r.text
    r = client.get(f"/api/v1/devices/{inv}/registers", headers=h(world, "owner@I1"))
    assert r.status_code == 403


def test_a_reply_sent_twice_is_applied_once(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids, token = home(client, world, "GWS3")
    cmd = write(client, world, ids["GWS3-BAT"], "124.MinRsvPct", 20).json()
    [got] = poll(client, token)
    body = {"status": "acknowledged", "details": {"before": 10, "after": 20}}
    assert reply(client, token, got["id"], body).status_code == 200
    assert reply(client, token, got["id"], body).status_code == 200  # the same again: harmless
    late = {"status": "failed", "message": "again", "details": {"before": 20, "after": 20}}
    assert reply(client, token, got["id"], late).status_code == 409  # ignored, not applied
    final = client.get(f"/api/v1/commands/{cmd['id']}", headers=h(world, "om@I1")).json()
    assert final["state"] == "acknowledged" and final["result"] == {"before": 10, "after": 20}
    with runtime.db.session() as s:
        written = s.scalars(
            select(AuditEntry).where(
                AuditEntry.object_id == cmd["id"], AuditEntry.action != "register.write_sent"
            )
        ).all()
        assert [a.action for a in written] == ["register.written"]


def test_a_device_that_never_answers_times_out_on_the_injected_clock(
    client: TestClient, world: World, clock: ManualClock
) -> None:
    ids, token = home(client, world, "GWS4")
    cmd = write(client, world, ids["GWS4-INV"], "704.WMaxLimPct", 70).json()
    assert [c["id"] for c in poll(client, token)] == [cmd["id"]]  # sent; no answer ever comes
    url = f"/api/v1/commands/{cmd['id']}"
    clock.advance(timedelta(minutes=4, seconds=59))
    assert client.get(url, headers=h(world, "om@I1")).json()["state"] == "sent"
    clock.advance(timedelta(seconds=1))
    got = client.get(url, headers=h(world, "om@I1")).json()
    assert got["state"] == "failed" and got["message"] == "no reply from the gateway in time"


def test_an_offline_gateway_gets_its_command_when_it_returns_unless_it_expired(
    client: TestClient, world: World, clock: ManualClock
) -> None:
    ids, token = home(client, world, "GWS5")
    inv = ids["GWS5-INV"]
    bank, serials = RegisterBank(), {"GWS5-INV"}
    first = write(client, world, inv, "704.WMaxLimPct", 80).json()
    clock.advance(timedelta(minutes=4))  # the gateway is away
    assert serve(client, token, bank, serials, "2031-05-01T08:04:00Z") == 1  # back: gets it
    got = client.get(f"/api/v1/commands/{first['id']}", headers=h(world, "om@I1")).json()
    assert got["state"] == "acknowledged" and got["result"]["after"] == 80
    second = write(client, world, inv, "704.WMaxLimPct", 90).json()
    clock.advance(timedelta(minutes=5, seconds=1))  # away past its ttl
    assert poll(client, token) == []
    got = client.get(f"/api/v1/commands/{second['id']}", headers=h(world, "om@I1")).json()
    assert got["state"] == "expired"
    assert value_of(client, world, inv, "704.WMaxLimPct")[0] == 80  # never applied


def test_a_vendor_map_is_uploaded_by_administrators_and_scales_writes_to_words(
    client: TestClient, world: World
) -> None:
    ids, token = home(client, world, "GWS6")
    inv, org = ids["GWS6-INV"], world.org_id("I1")
    url = f"/api/v1/orgs/{org}/register-maps"
    bad = VENDOR + "Grid,40102,Broken,Broken,W,uint16,10,50,20,,holding,RW\n"
    r = client.post(
        url, json={"device_model": "VX-5", "content": bad}, headers=h(world, "admin@I1")
    )
    assert r.status_code == 422 and r.json()["detail"] == "line 4: min 50 is above max 20"
    body = {"device_model": "VX-5", "filename": "vx5.csv", "content": VENDOR}
    assert client.post(url, json=body, headers=h(world, "om@I1")).status_code == 403
    r = client.post(url, json=body, headers=h(world, "admin@I1"))
    assert r.status_code == 201 and r.json()["parameters"] == 2, r.text
    listed = client.get(url, headers=h(world, "om@I1")).json()
    assert [m["device_model"] for m in listed] == ["VX-5"]
    p = client.patch(f"/api/v1/devices/{inv}", json={"model": "VX-5"}, headers=h(world, "admin@I1"))
    assert p.status_code == 200, p.text

    found = registers(client, world, inv, group="Grid")["registers"]
    assert [(r["key"], r["writable"]) for r in found] == [("@40100", True), ("@40101", False)]
    r = write(client, world, inv, "@40100", 4550)
    assert r.status_code == 422 and "not a multiple of the step 100" in r.json()["detail"]
    r = write(client, world, inv, "@40100", 4500)
    assert r.status_code == 201 and r.json()["params"] == {"address": 40100, "words": [450]}
    assert serve(client, token, RegisterBank(), {"GWS6-INV"}, "2031-05-01T08:00:09Z") == 1
    assert value_of(client, world, inv, "@40100")[0] == 4500  # words read back, scaled


def test_owners_never_see_the_settings_menu_and_are_refused_the_page(
    client: TestClient, world: World
) -> None:
    ids, _ = home(client, world, "GWS7")
    owner = world.accounts["owner@I1"]
    d = client.post(
        f"/api/v1/sites/{ids['site']}/distribute",
        json={"user_id": owner.id},
        headers=h(world, "admin@I1"),
    )
    assert d.status_code == 200, d.text
    inv = ids["GWS7-INV"]

    sign_in(client, world, "om@I1")
    assert 'id="nav-settings"' in client.get(f"/site/{ids['site']}").text
    assert 'id="device-settings-link"' in client.get(f"/device/{inv}").text
    page = client.get(f"/site/{ids['site']}/settings", params={"q": "WMaxLimPct"})
    assert page.status_code == 200 and 'data-key="704.WMaxLimPct"' in page.text

    sign_in(client, world, "owner@I1")
    site_page = client.get(f"/site/{ids['site']}")
    assert site_page.status_code == 200 and "nav-settings" not in site_page.text
    assert "device-settings-link" not in client.get(f"/device/{inv}").text
    for url in (f"/site/{ids['site']}/settings", f"/device/{inv}/settings"):
        r = client.get(url)
        assert r.status_code == 403 and "may not update devices" in r.text, url


def test_an_administrator_uploads_a_vendor_map_from_the_settings_page(
    client: TestClient, world: World
) -> None:
    ids, _ = home(client, world, "GWS8")
    inv = ids["GWS8-INV"]
    p = client.patch(f"/api/v1/devices/{inv}", json={"model": "VX-8"}, headers=h(world, "admin@I1"))
    assert p.status_code == 200, p.text
    sign_in(client, world, "admin@I1")
    page = client.get(f"/device/{inv}/settings")
    assert 'id="map-upload"' in page.text
    token = csrf_of(page.text)

    def upload(text: str) -> str:
        r = client.post(
            f"/device/{inv}/settings/map",
            data={"csrf": token},
            files={"file": ("vx8.csv", text.encode(), "text/csv")},
            follow_redirects=True,
        )
        assert r.status_code == 200, r.text
        return r.text

    bad = upload("group,address,name,access\nGrid,40100,Limit,RW\nGrid,x,Broken,R\n")
    assert "line 3: address must be a number" in bad and 'id="settings-error"' in bad
    good = upload(VENDOR)
    assert "Map vx8.csv for VX-8: 2 registers" in good and 'data-key="@40100"' in good
    sign_in(client, world, "om@I1")
    assert 'id="map-upload"' not in client.get(f"/device/{inv}/settings").text


def test_a_scan_goes_to_the_gateway_itself(client: TestClient, world: World) -> None:
    ids, token = home(client, world, "GWS9")
    r = client.post(
        f"/api/v1/devices/{ids['GWS9']}/commands",
        json={"kind": "scan", "params": {"unit_ids": [2, 1]}},
        headers=h(world, "om@I1"),
    )
    assert r.status_code == 201 and r.json()["params"] == {"unit_ids": [1, 2]}, r.text
    [got] = poll(client, token)
    assert got["kind"] == "scan" and got["device"] == "GWS9"
    out = answer(RegisterBank(), got, set(), "2031-05-01T08:00:00Z", found=2)
    assert out is not None and reply(client, token, got["id"], out).json()["result"] == {"found": 2}
    r = client.post(
        f"/api/v1/devices/{ids['GWS9-INV']}/commands",
        json={"kind": "scan", "params": {}},
        headers=h(world, "om@I1"),
    )
    assert r.status_code == 422 and "send them to a gateway" in r.json()["detail"]
