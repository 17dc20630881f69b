"""Devices API: bind, CSV import with its report, live data, search, topology, unbind and move."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from tests.support.world import World, build_world
from voltfleet.app.runtime import Runtime


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


def h(world: World, who: str) -> dict[str, str]:
    return world.accounts[who].headers()


def site(client: TestClient, world: World, who: str = "admin@I1", **body: object) -> str:
    r = client.post("/api/v1/sites", json={"name": "Home", **body}, headers=h(world, who))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def add(client: TestClient, world: World, sid: str, who: str = "om@I1", **body: object):
    return client.post(f"/api/v1/sites/{sid}/devices", json=body, headers=h(world, who))


def test_bind_devices_and_topology(client: TestClient, world: World) -> None:
    sid = site(client, world, gateway={"serial": "GW1", "subtype": "wifi", "fw_arm": "V3.2.1"})
    r = add(
        client,
        world,
        sid,
        kind="inverter",
        serial="inv1",
        subtype="hybrid",
        parent_serial="gw1",
        comm_address=1,
        model="H10K",
        fw_dsp="01.02",
        fw_lcd="02.00",
    )
    assert r.status_code == 201, r.text
    inv = r.json()
    assert inv["serial"] == "INV1" and inv["parent_serial"] == "GW1" and inv["site_name"] == "Home"
    assert inv["live_data"] == "supported" and inv["status"] == "unknown"
    assert (
        add(client, world, sid, kind="battery", serial="BAT1", parent_serial="INV1").status_code
        == 201
    )
    assert (
        add(client, world, sid, kind="meter", serial="MTR1", parent_serial="INV1").status_code
        == 201
    )
    r = add(
        client,
        world,
        sid,
        kind="charger",
        serial="EVC1",
        connectors=[{"connector_no": 1, "plug": "type2"}, {"connector_no": 2, "plug": "ccs2"}],
    )
    assert r.status_code == 201 and len(r.json()["connectors"]) == 2
    # Refusals say why.
    dup = add(
        client, world, sid, kind="inverter", serial="INV2", parent_serial="GW1", comm_address=1
    )
    assert dup.status_code == 409 and "communication address 1" in dup.json()["detail"]
    bad = add(client, world, sid, kind="inverter", serial="INV3", parent_serial="BAT1")
    assert bad.status_code == 400 and "cannot hang below battery" in bad.json()["detail"]
    bad = add(client, world, sid, kind="gateway", serial="GW9", subtype="zigbee")
    assert bad.status_code == 400 and "wifi" in bad.json()["detail"]
    assert (
        add(
            client, world, sid, kind="meter", serial="X", connectors=[{"connector_no": 1}]
        ).status_code
        == 400
    )
    assert add(client, world, sid, who="owner@I1", kind="meter", serial="M").status_code == 404
    other = site(client, world, who="admin@I2")
    assert add(client, world, other, who="om@I2", kind="inverter", serial="inv1").status_code == 409

    topo = client.get(f"/api/v1/sites/{sid}/topology", headers=h(world, "admin@D1")).json()
    shape = [
        (
            n["serial"],
            [(c["serial"], sorted(g["serial"] for g in c["children"])) for c in n["children"]],
            [c["connector_no"] for c in n["connectors"]],
        )
        for n in topo["nodes"]
    ]
    assert shape == [
        ("GW1", [("INV1", ["BAT1", "MTR1"])], []),
        ("EVC1", [], [1, 2]),
    ]


def test_live_data_capability_and_enable(client: TestClient, world: World) -> None:
    sid = site(client, world)
    om = h(world, "om@I1")
    add(client, world, sid, kind="gateway", serial="OLD", subtype="wifi", fw_arm="2.9")
    add(client, world, sid, kind="gateway", serial="CELL", subtype="4g", fw_arm="9.0")
    add(client, world, sid, kind="gateway", serial="HUB", subtype="datahub")
    micro = add(
        client, world, sid, kind="inverter", serial="MIC", subtype="micro", parent_serial="OLD"
    ).json()
    inv = add(
        client, world, sid, kind="inverter", serial="PV1", subtype="pv", parent_serial="OLD"
    ).json()
    add(client, world, sid, kind="inverter", serial="LONE")

    def live(**params: object) -> dict[str, str]:
        r = client.get("/api/v1/devices", params={"site_id": sid, **params}, headers=om)
        assert r.status_code == 200, r.text
        return {d["serial"]: d["live_data"] for d in r.json()["items"]}

    assert live() == {
        "CELL": "gateway_unsupported",
        "HUB": "datahub",
        "LONE": "no_gateway",
        "MIC": "micro_inverter",
        "OLD": "firmware_too_old",
        "PV1": "firmware_too_old",
    }
    assert live(live_data="supported") == {}
    r = client.patch(f"/api/v1/devices/{inv['id']}", json={"live_data_enabled": True}, headers=om)
    assert r.status_code == 400 and "firmware is too old" in r.json()["detail"]
    old = client.get("/api/v1/devices", params={"serial": "OLD"}, headers=om).json()["items"][0]
    r = client.patch(f"/api/v1/devices/{old['id']}", json={"fw_arm": "3.0.1"}, headers=om)
    assert r.status_code == 200 and r.json()["live_data"] == "supported"
    assert set(live(live_data="supported")) == {"OLD", "PV1"}
    r = client.patch(f"/api/v1/devices/{inv['id']}", json={"live_data_enabled": True}, headers=om)
    assert r.status_code == 200 and r.json()["live_data_enabled"] is True
    assert set(live(live_data="enabled")) == {"PV1"}
    r = client.patch(f"/api/v1/devices/{micro['id']}", json={"live_data_enabled": True}, headers=om)
    assert r.status_code == 400 and "micro inverters" in r.json()["detail"]
    assert "MIC" in live(live_data="not_supported")
    # Downgrading the gateway switches live data off again.
    client.patch(f"/api/v1/devices/{old['id']}", json={"fw_arm": "1.0"}, headers=om)
    assert live(live_data="enabled") == {}
    assert (
        client.get("/api/v1/devices", params={"live_data": "maybe"}, headers=om).status_code == 400
    )


def test_search_rename_delete_and_move(client: TestClient, world: World) -> None:
    a = site(client, world, name="A", gateway={"serial": "GWA"})
    b = site(client, world, name="B")
    om = h(world, "om@I1")
    add(
        client,
        world,
        a,
        kind="inverter",
        serial="INVA1",
        parent_serial="GWA",
        model="H10K",
        fw_dsp="1.2.3",
    )
    add(
        client,
        world,
        a,
        kind="inverter",
        serial="INVA2",
        parent_serial="GWA",
        model="PV5K",
        fw_lcd="7.7",
    )

    def serials(**params: object) -> list[str]:
        r = client.get("/api/v1/devices", params=params, headers=om)
        assert r.status_code == 200, r.text
        return [d["serial"] for d in r.json()["items"]]

    assert serials(kind="inverter") == ["INVA1", "INVA2"]
    assert serials(model="h10") == ["INVA1"]
    assert serials(firmware="7.7") == ["INVA2"]
    assert serials(serial="va2") == ["INVA2"]
    assert serials(status="unknown", site_id=a, sort="-serial") == ["INVA2", "INVA1", "GWA"]
    assert serials(site_id=b) == []
    assert (
        serials() == []
        or client.get("/api/v1/devices", headers=h(world, "admin@I2")).json()["total"] == 0
    )

    inv = client.get("/api/v1/devices", params={"serial": "INVA2"}, headers=om).json()["items"][0]
    r = client.patch(f"/api/v1/devices/{inv['id']}", json={"name": "Garage"}, headers=om)
    assert r.status_code == 200 and r.json()["name"] == "Garage"
    assert (
        client.delete(f"/api/v1/devices/{inv['id']}", headers=h(world, "owner@I1")).status_code
        == 404
    )
    assert client.delete(f"/api/v1/devices/{inv['id']}", headers=om).status_code == 204
    assert client.get(f"/api/v1/devices/{inv['id']}", headers=om).status_code == 404
    assert serials(site_id=a) == ["GWA", "INVA1"]

    gw = client.get("/api/v1/devices", params={"serial": "GWA"}, headers=om).json()["items"][0]
    inv1 = client.get("/api/v1/devices", params={"serial": "INVA1"}, headers=om).json()["items"][0]
    r = client.post(f"/api/v1/devices/{inv1['id']}/move", json={"site_id": b}, headers=om)
    assert r.status_code == 400 and "move that one" in r.json()["detail"]
    r = client.post(f"/api/v1/devices/{gw['id']}/move", json={"site_id": b}, headers=om)
    assert r.status_code == 200 and r.json()["site_id"] == b
    assert serials(site_id=b) == ["GWA", "INVA1"] and serials(site_id=a) == []
    sites = {s["name"]: s for s in client.get("/api/v1/sites", headers=om).json()["items"]}
    assert sites["A"]["status"] == "no_device" and sites["B"]["status"] == "offline"
    other = site(client, world, who="admin@I2")
    r = client.post(f"/api/v1/devices/{gw['id']}/move", json={"site_id": other}, headers=om)
    assert r.status_code == 404
    # Unbinding the gateway takes its inverter along; the serial can be bound again.
    assert client.delete(f"/api/v1/devices/{gw['id']}", headers=om).status_code == 204
    assert serials(site_id=b) == []
    assert add(client, world, a, kind="gateway", serial="GWA").status_code == 201


def csv_file(text: str) -> dict[str, tuple[str, bytes, str]]:
    return {"file": ("devices.csv", text.encode(), "text/csv")}


def test_csv_import_reports_every_refused_row(client: TestClient, world: World) -> None:
    sid = site(client, world, gateway={"serial": "GW0"})
    other = site(client, world, who="admin@I2", gateway={"serial": "TAKEN"})
    assert other
    text = "\n".join(
        [
            "kind;serial;subtype;parent_serial;comm_address;model;connectors",
            "gateway;GW1;ethernet;;;;",
            "inverter;INV1;hybrid;GW1;1;H10K;",
            "inverter;INV2;hybrid;GW1;1;H10K;",  # address taken on GW1
            "inverter;INV1;;GW1;2;;",  # twice in the file
            "toaster;T1;;;;;",  # unknown kind
            "inverter;TAKEN;;;;;",  # bound elsewhere
            "inverter;INV5;;NOPE;;;",  # unknown parent
            "battery;BAT1;;INV1;x;;",  # address not a number
            "charger;EV1;;;;;2",
            "inverter;;;;;;",  # no serial
        ]
    )
    r = client.post(
        f"/api/v1/sites/{sid}/devices/import", files=csv_file(text), headers=h(world, "om@I1")
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["added"], report["refused"]) == (3, 7)
    refused = {row["line"]: row["reason"] for row in report["rows"] if row["result"] == "refused"}
    assert set(refused) == {4, 5, 6, 7, 8, 9, 11}
    assert "communication address 1" in refused[4]
    assert "already bound to this site" in refused[5]
    assert "kind" in refused[6]
    assert "another site" in refused[7]
    assert "NOPE is not a device of this site" in refused[8]
    assert "comm_address" in refused[9]
    assert "serial" in refused[11]
    ev = client.get("/api/v1/devices", params={"serial": "EV1"}, headers=h(world, "om@I1")).json()
    assert [c["connector_no"] for c in ev["items"][0]["connectors"]] == [1, 2]


def test_csv_import_whole_file_refusals(client: TestClient, world: World) -> None:
    sid = site(client, world)
    url = f"/api/v1/sites/{sid}/devices/import"
    om = h(world, "om@I1")
    r = client.post(url, files=csv_file("serial,model\nX,Y"), headers=om)
    assert r.status_code == 400 and "kind" in r.json()["detail"]
    r = client.post(url, files=csv_file("kind,serial,colour\ninverter,X,red"), headers=om)
    assert r.status_code == 400 and "colour" in r.json()["detail"]
    r = client.post(url, files={"file": ("d.csv", b"\xff\xfe\x00k", "text/csv")}, headers=om)
    assert r.status_code == 400 and "UTF-8" in r.json()["detail"]
    r = client.post(url, files=csv_file(""), headers=om)
    assert r.status_code == 400
    r = client.post(url, files=csv_file("kind,serial\ninverter,X"), headers=h(world, "owner@I1"))
    assert r.status_code == 404


def test_csv_import_of_500_devices_is_fast(client: TestClient, world: World) -> None:
    sid = site(client, world)
    lines = ["kind,serial,subtype,parent_serial,comm_address"]
    for g in range(50):
        lines.append(f"gateway,G{g:04d},wifi,,")
        for i in range(9):
            lines.append(f"inverter,I{g:04d}{i},hybrid,G{g:04d},{i + 1}")
    started = time.perf_counter()
    r = client.post(
        f"/api/v1/sites/{sid}/devices/import",
        files=csv_file("\n".join(lines)),
        headers=h(world, "om@I1"),
    )
    took = time.perf_counter() - started
    assert r.status_code == 200 and r.json()["added"] == 500, r.text[:300]
    assert took < 10, f"500 rows took {took:.1f} s"
    topo = client.get(f"/api/v1/sites/{sid}/topology", headers=h(world, "om@I1")).json()
    assert len(topo["nodes"]) == 50 and all(len(n["children"]) == 9 for n in topo["nodes"])
