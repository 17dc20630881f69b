"""Device settings in headless Chromium (issue 15): an O&M engineer opens a site's Settings,
finds registers by quick search and by group, Reads one and Writes another; the gateway (polling
over real HTTP, answering from the simulator's register bank) replies, and the page shows the
value and when it was read without a reload. An out-of-range value is refused on the page.

This module runs its own demo server, so what it adds does not change the other tests' counts."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser import PASSWORD, DemoServer
from tests.browser.conftest import sign_in
from voltfleet.app.orgs.service import build_org
from voltfleet.app.users.service import new_user
from voltfleet.domain.access import OrgType
from voltfleet.simulator.register_bank import RegisterBank, answer
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Org, Site

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    demo = DemoServer(tmp_path_factory.mktemp("settings-demo")).start()
    try:
        yield demo
    finally:
        demo.stop()


@pytest.fixture(scope="module")
def home(server: DemoServer) -> dict[str, str]:
    """An O&M engineer's installer with one site (gateway, hybrid inverter) and the gateway's
    token."""
    runtime = server.runtime
    tag = uuid.uuid4().hex[:6].upper()
    email = f"om-{tag.lower()}@example.org"
    with runtime.db.session() as s:
        parent = s.scalar(select(Org).where(Org.name == "Sunrise Distribution"))
        assert parent is not None
        org = build_org(parent, f"Settings Installers {tag}", OrgType.INSTALLER, "DE")
        s.add(org)
        s.flush()
        for who, role in ((email, "om"), (f"admin-{tag.lower()}@example.org", "admin")):
            new_user(
                s, runtime, email=who, username=role, password=PASSWORD, org_id=org.id,
                role=role, country="DE",
            )  # fmt: skip
        site = Site(org_id=org.id, name="Settings Home", country="DE", timezone="Europe/Berlin")
        s.add(site)
        s.flush()
        gw = Device(site_id=site.id, kind="gateway", subtype="wifi", serial=f"SGW{tag}")
        s.add(gw)
        s.flush()
        inv = Device(site_id=site.id, kind="inverter", subtype="hybrid", serial=f"SINV{tag}",
                     parent_id=gw.id)  # fmt: skip
        s.add(inv)
        s.flush()
        ids = {"site": site.id, "gw": gw.id, "inv": inv.id, "inv_serial": inv.serial}
    with httpx.Client(base_url=server.url, timeout=10) as api:
        admin = f"admin-{tag.lower()}@example.org"
        r = api.post("/api/v1/auth/token", data={"username": admin, "password": PASSWORD})
        assert r.status_code == 200, r.text
        bearer = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = api.post(f"/api/v1/devices/{ids['gw']}/token", headers=bearer)
        assert r.status_code == 201, r.text
        ids["token"] = r.json()["token"]
    return ids | {"email": email}


def gateway_poll(server: DemoServer, home: dict[str, str], bank: RegisterBank) -> int:
    """The gateway fetches its commands over HTTP and answers them from its register bank."""
    auth = {"Authorization": f"Bearer {home['token']}"}
    with httpx.Client(base_url=server.url, timeout=10, headers=auth) as api:
        got = api.get("/api/v1/gateway/commands").json()["commands"]
        for c in got:
            reply = answer(bank, c, {home["inv_serial"]}, "2026-06-01T09:30:00Z")
            assert reply is not None
            r = api.post(f"/api/v1/gateway/commands/{c['id']}/reply", json=reply)
            assert r.status_code == 200, r.text
    return len(got)


def test_settings_quick_search_group_search_read_and_write(
    chromium: Any, server: DemoServer, home: dict[str, str]
) -> None:
    ctx = chromium.new_context(base_url=server.url, viewport={"width": 1400, "height": 900})
    ctx.set_default_timeout(10_000)
    page = ctx.new_page()
    try:
        sign_in(page, home["email"])
        page.wait_for_url("**/home")
        page.goto(f"/site/{home['site']}")
        page.click("#nav-settings")
        expect(page).to_have_url(re.compile(rf"/site/{home['site']}/settings"))
        expect(page.locator("#settings-device")).to_have_value(home["inv"])

        # quick search by keyword
        page.fill("#settings-q", "power limit")
        page.click("#settings-search button[type=submit]")
        expect(page.locator("tr[data-key='704.WMaxLimPct']")).to_be_visible()
        expect(page.locator("tr[data-key='124.WChaMax']")).to_have_count(0)

        # group search
        page.fill("#settings-q", "")
        page.select_option("#settings-group", "Storage (124)")
        page.click("#settings-search button[type=submit]")
        row = page.locator("tr[data-key='124.WChaMax']")
        expect(row).to_be_visible()
        expect(page.locator("tr[data-key='704.WMaxLimPct']")).to_have_count(0)

        # Read: sent, answered by the gateway, shown with when it was read (htmx polling)
        row.locator(".read-form button").click()
        expect(page.locator("#settings-notice")).to_have_text("Read of 124.WChaMax sent")
        expect(page.locator("#settings-pending")).to_be_visible()
        assert gateway_poll(server, home, bank := RegisterBank()) == 1
        expect(row.locator(".value")).to_have_text(re.compile(r"5000\s+W"))
        # on the site's clock with its offset: 09:30 UTC is 11:30 in Berlin in June
        expect(row.locator(".read-at")).to_have_text(re.compile(r"2026-06-01 11:30:00 \+02:00"))

        # Write: out of range refused on the page, then a good value sent and read back
        page.fill("#settings-q", "WMaxLimPct")
        page.select_option("#settings-group", "")
        page.click("#settings-search button[type=submit]")
        limit = page.locator("tr[data-key='704.WMaxLimPct']")
        limit.locator("input[name=value]").fill("101")
        limit.locator(".write-form button").click()
        expect(page.locator("#settings-error")).to_contain_text("out of range 0..100")
        limit = page.locator("tr[data-key='704.WMaxLimPct']")
        limit.locator("input[name=value]").fill("60")
        limit.locator(".write-form button").click()
        expect(page.locator("#settings-notice")).to_have_text("Write of 60 to 704.WMaxLimPct sent")
        assert gateway_poll(server, home, bank) == 1
        expect(page.locator("tr[data-key='704.WMaxLimPct'] .value")).to_have_text(
            re.compile(r"^60\s+Pct$")
        )
    finally:
        ctx.close()
