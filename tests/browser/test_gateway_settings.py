"""Gateway settings in headless Chromium (issue 15): the installer administrator opens the page
for a demo gateway, sends a new upload interval with a safe restart, and sees the command listed
as queued; the gateway (fetching its commands over real HTTP with its own token and answering as
the simulated gateway does, simulator/gateway_settings.py) acknowledges, and the page, polling,
shows the command acknowledged and the values the gateway reported, without a reload."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser import INSTALLER_ADMIN, PASSWORD, DemoServer
from voltfleet.simulator.demo_homes import demo_serial
from voltfleet.simulator.gateway_settings import GatewaySettings
from voltfleet.simulator.live_data import Reporting
from voltfleet.store.fleet_models import Device

pytestmark = pytest.mark.browser

GATEWAY = demo_serial(3, "GW")  # a demo home of the installer's; no other browser test sends to it


def _gateway_token(server: DemoServer, gateway_id: str) -> str:
    with httpx.Client(base_url=server.url, timeout=10) as api:
        r = api.post("/api/v1/auth/token", data={"username": INSTALLER_ADMIN, "password": PASSWORD})
        assert r.status_code == 200, r.text
        bearer = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = api.post(f"/api/v1/devices/{gateway_id}/token", headers=bearer)
        assert r.status_code == 201, r.text
        return str(r.json()["token"])


def _gateway_answers(server: DemoServer, token: str, settings: GatewaySettings) -> list[str]:
    """The gateway fetches its commands and answers each as the simulated gateway does."""
    with httpx.Client(
        base_url=server.url, timeout=10, headers={"Authorization": f"Bearer {token}"}
    ) as api:
        got = api.get("/api/v1/gateway/commands").json()["commands"]
        for c in got:
            reply = settings.apply(c, Reporting())
            r = api.post(f"/api/v1/gateway/commands/{c['id']}/reply", json=reply)
            assert r.status_code == 200, r.text
    return [str(c["kind"]) for c in got]


def test_send_the_upload_interval_and_see_it_acknowledged(
    installer_page: Any, live_server: DemoServer
) -> None:
    with live_server.runtime.db.session() as s:
        gateway_id = s.scalar(select(Device.id).where(Device.serial == GATEWAY))
    assert gateway_id is not None
    page = installer_page
    page.goto(f"/device/{gateway_id}/gateway-settings")
    form = page.locator("#upload-interval-form")
    form.locator("select[name=interval_s]").select_option("600")
    form.locator("input[name=safe_restart]").check()
    form.locator("button[type=submit]").click()

    expect(page.locator("#settings-notice")).to_have_text(
        "Sent to the gateway; its answer appears below."
    )
    row = page.locator("#settings-history tbody tr").first
    expect(row.locator("td").nth(1)).to_have_text("upload_interval")
    expect(row.locator(".badge")).to_have_text("queued")
    expect(page.locator("#pending-upload_interval")).to_contain_text("queued")

    settings = GatewaySettings()
    assert _gateway_answers(live_server, _gateway_token(live_server, gateway_id), settings) == [
        "upload_interval"
    ]
    assert settings.applied["upload_interval"] == {"interval_s": 600, "safe_restart": True}
    # the page polls while a command waits: the answer appears without a reload
    expect(row.locator(".badge")).to_have_text("acknowledged", timeout=15_000)
    expect(row.locator("td").nth(4)).to_have_text("applied and restarted")
    expect(page.locator("#reported-upload_interval")).to_contain_text(
        re.compile(r"interval_s=600, safe_restart=True")
    )
    expect(page.locator("#pending-upload_interval")).to_have_count(0)
    expect(form.locator("select[name=interval_s]")).to_have_value("600")
