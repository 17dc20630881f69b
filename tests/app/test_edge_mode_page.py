"""The Mode page shows what the inverter reports, not what was sent: the power state from the
``on`` the gateway read back (the edge agent reads ``Conn`` back, docs/edge-modes.md), and the
mode from the reported ``work_mode``."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.app.test_alarms import home
from tests.app.test_device_settings import poll, reply
from tests.app.test_money_pages import csrf_of, sign_in
from tests.app.test_work_modes import clock, world  # noqa: F401  (fixtures)
from tests.support.world import World


def test_the_power_state_shown_is_the_one_read_back(client: TestClient, world: World) -> None:  # noqa: F811
    ids, token = home(client, world, "GWQ")
    inv = ids["GWQ-INV"]
    sign_in(client, world, "om@I1")
    csrf = csrf_of(client.get(f"/device/{inv}/mode").text)
    r = client.post(
        f"/device/{inv}/power", data={"csrf": csrf, "on": "false"}, follow_redirects=False
    )
    assert "notice=" in r.headers["location"]
    r = client.post(
        f"/device/{inv}/mode", data={"csrf": csrf, "mode": "pv"}, follow_redirects=False
    )
    assert "notice=" in r.headers["location"]
    for c in poll(client, token):  # the device keeps running, and in self-consumption
        details = {"on": True} if c["kind"] == "power_switch" else {"work_mode": "self_consumption"}
        body = {"status": "acknowledged", "message": "read back", "details": details}
        assert reply(client, token, c["id"], body).status_code == 200
    page = client.get(f"/device/{inv}/mode").text
    assert page.split('id="power-state">')[1].split("</dd>")[0] == "on"
    assert "Self-consumption" in page.split('id="mode-reported">')[1].split("</dd>")[0]
