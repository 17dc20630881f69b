"""The live-data switch asks the gateway (issue 19): enabling queues a ``live_data`` command for
the gateway above the device (10 s for 15 minutes), switching off queues ``{"enabled": false}``,
the renewal job asks again once per gateway while live data stays enabled, a person cannot type
the command themselves, and a device whose gateway's firmware is too old links to the upgrade
(owners are told to ask their installer)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.app.test_devices import add, h, site
from tests.app.test_money_pages import sign_in
from tests.support.world import build_world
from voltfleet.app.devices.live_switch import renew
from voltfleet.app.runtime import Runtime
from voltfleet.store.command_models import Command
from voltfleet.store.models import Site


def _commands(runtime: Runtime) -> list[tuple[str, str, dict[str, object]]]:
    with runtime.db.session() as s:
        rows = s.scalars(
            select(Command).where(Command.kind == "live_data").order_by(Command.created_at)
        ).all()
        return [(c.device_id, str(c.gateway_id), dict(c.params)) for c in rows]


def test_the_switch_queues_a_request_for_the_gateway(client: TestClient, runtime: Runtime) -> None:
    world = build_world(runtime)
    om = h(world, "om@I1")
    sid = site(client, world, gateway={"serial": "LGW1", "subtype": "wifi", "fw_arm": "V3.2.1"})
    inv = add(client, world, sid, kind="inverter", serial="LINV1", parent_serial="LGW1").json()
    bat = add(client, world, sid, kind="battery", serial="LBAT1", parent_serial="LINV1").json()
    gw = client.get("/api/v1/devices", params={"serial": "LGW1"}, headers=om).json()["items"][0]

    r = client.patch(f"/api/v1/devices/{inv['id']}", json={"live_data_enabled": True}, headers=om)
    assert r.status_code == 200, r.text
    assert _commands(runtime) == [
        (inv["id"], gw["id"], {"enabled": True, "interval_s": 10, "duration_s": 900})
    ]
    # Enabling again asks nothing more; a second device of the same gateway is one renewal.
    client.patch(f"/api/v1/devices/{inv['id']}", json={"live_data_enabled": True}, headers=om)
    assert len(_commands(runtime)) == 1
    client.patch(f"/api/v1/devices/{bat['id']}", json={"live_data_enabled": True}, headers=om)
    assert len(_commands(runtime)) == 2
    # The gateway is away (its requests wait in the queue): renewing would only pile up.
    assert renew(runtime.db, datetime.now(UTC)) == 0
    with runtime.db.session() as s:  # delivered and answered
        for c in s.scalars(select(Command).where(Command.kind == "live_data")):
            c.state = "acknowledged"
    assert renew(runtime.db, datetime.now(UTC)) == 1
    assert len(_commands(runtime)) == 3
    # Off: back to the gateway's own interval at once.
    client.patch(f"/api/v1/devices/{inv['id']}", json={"live_data_enabled": False}, headers=om)
    assert _commands(runtime)[-1] == (inv["id"], gw["id"], {"enabled": False})
    # Nobody types the command themselves.
    r = client.post(
        f"/api/v1/devices/{inv['id']}/commands",
        json={"kind": "live_data", "params": {"enabled": True, "duration_s": 60}},
        headers=om,
    )
    assert r.status_code in (400, 403, 422) and "live_data" in r.text, r.text


def test_firmware_too_old_links_to_the_upgrade(client: TestClient, runtime: Runtime) -> None:
    world = build_world(runtime)
    sid = site(client, world, gateway={"serial": "OGW1", "subtype": "wifi", "fw_arm": "2.9"})
    inv = add(client, world, sid, kind="inverter", serial="OINV1", parent_serial="OGW1").json()
    cell = site(client, world, gateway={"serial": "CGW1", "subtype": "4g", "fw_arm": "9.0"})
    cinv = add(client, world, cell, kind="inverter", serial="CINV1", parent_serial="CGW1").json()
    sign_in(client, world, "admin@I1")
    page = client.get(f"/device/{inv['id']}").text
    link = re.search(r'id="live-data-upgrade"><a href="([^"]+)"', page)
    assert link and link.group(1) == f"/upgrade/tasks/new?tab=gateway&amp;site_id={sid}"
    assert client.get(link.group(1).replace("&amp;", "&")).status_code == 200
    page = client.get(f"/device/{cinv['id']}").text
    assert 'id="live-data-dongle"' in page and "Wi-Fi or Ethernet dongle" in page
    with runtime.db.session() as s:
        row = s.get(Site, sid)
        assert row is not None
        row.owner_id = world.accounts["owner@I1"].id
    sign_in(client, world, "owner@I1")
    page = client.get(f"/device/{inv['id']}").text
    assert 'id="live-data-upgrade">Ask your installer to upgrade the gateway' in page
    assert "/upgrade/tasks/new" not in page


def test_a_watched_live_view_asks_the_gateway_once(
    client: TestClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Watching a site's live view asks its gateway to send every 10 s for a while, though live
    data is not enabled; a second viewer soon after asks nothing more."""
    world = build_world(runtime)
    om = h(world, "om@I1")
    sid = site(client, world, gateway={"serial": "WGW1", "subtype": "wifi", "fw_arm": "V3.2.1"})
    add(client, world, sid, kind="inverter", serial="WINV1", parent_serial="WGW1")
    other = site(client, world, gateway={"serial": "WGW2", "subtype": "4g", "fw_arm": "9.0"})
    monkeypatch.setattr(runtime.settings, "live_max_s", 0.0)  # one event, then the stream ends
    r = client.get(f"/api/v1/sites/{sid}/live", headers=om)
    assert r.status_code == 200 and "event: live" in r.text
    (_, gateway_id, params), *more = _commands(runtime)
    assert not more and params == {"enabled": True, "interval_s": 10, "duration_s": 600}
    gw = client.get("/api/v1/devices", params={"serial": "WGW1"}, headers=om).json()["items"][0]
    assert gateway_id == gw["id"]
    assert client.get(f"/api/v1/sites/{sid}/live", headers=h(world, "admin@I1")).is_success
    assert len(_commands(runtime)) == 1
    # A gateway that cannot stream live data is not asked.
    assert client.get(f"/api/v1/sites/{other}/live", headers=om).is_success
    assert len(_commands(runtime)) == 1
