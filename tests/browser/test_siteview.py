"""The site page in headless Chromium: the function bar (each tab its own URL, the page's tab
marked, no sideways page overflow at 1366 px nor at phone width) and the overview's power-flow
picture, which follows readings ingested over real HTTP without a reload.

Runs its own demo server whose live interval is 0.5 s, so the picture asks again twice a second
(the default is every 10 s)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
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
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Org, Site

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    demo = DemoServer(tmp_path_factory.mktemp("siteview-demo"))
    demo.runtime.settings.live_interval_s = 0.5
    demo.runtime.weather = None  # the weather card says so; its sources have their own tests
    demo.start()
    try:
        yield demo
    finally:
        demo.stop()


@pytest.fixture(scope="module")
def home(server: DemoServer) -> dict[str, str]:
    """An installer administrator with one site (gateway, hybrid inverter, meter, battery) and
    an ingest token for the gateway."""
    runtime = server.runtime
    tag = uuid.uuid4().hex[:6].upper()
    email = f"tabs-{tag.lower()}@example.org"
    with runtime.db.session() as s:
        parent = s.scalar(select(Org).where(Org.name == "Sunrise Distribution"))
        assert parent is not None
        org = build_org(parent, f"Tab Installers {tag}", OrgType.INSTALLER, "DE")
        s.add(org)
        s.flush()
        new_user(
            s, runtime, email=email, username="Tina Tabs", password=PASSWORD, org_id=org.id,
            role="admin", country="DE",
        )  # fmt: skip
        site = Site(org_id=org.id, name="Flow Home", country="DE", timezone="Europe/Berlin")
        s.add(site)
        s.flush()
        gw = Device(site_id=site.id, kind="gateway", subtype="wifi", serial=f"TGW{tag}")
        s.add(gw)
        s.flush()
        inv = Device(site_id=site.id, kind="inverter", subtype="hybrid", serial=f"TINV{tag}",
                     parent_id=gw.id)  # fmt: skip
        mtr = Device(site_id=site.id, kind="meter", subtype="grid", serial=f"TMTR{tag}",
                     parent_id=gw.id)  # fmt: skip
        bat = Device(site_id=site.id, kind="battery", subtype="lfp", serial=f"TBAT{tag}",
                     parent_id=gw.id)  # fmt: skip
        s.add_all([inv, mtr, bat])
        s.flush()
        ids = {"site": site.id, "gw": gw.id, "email": email, "inv": inv.serial,
               "mtr": mtr.serial, "bat": bat.serial}  # fmt: skip
    with httpx.Client(base_url=server.url, timeout=10) as api:
        r = api.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        bearer = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = api.post(f"/api/v1/devices/{ids['gw']}/token", headers=bearer)
        assert r.status_code == 201, r.text
        ids["token"] = r.json()["token"]
    return ids


_last: list[datetime] = []


def ingest(server: DemoServer, home: dict[str, str], **w: float) -> None:
    # each batch a second later than the one before: two batches within one second would be
    # the same readings (stored once, the second answered as duplicates)
    now = (datetime.now(UTC) - timedelta(seconds=2)).replace(microsecond=0)
    if _last and now <= _last[-1]:
        now = _last[-1] + timedelta(seconds=1)
    _last.append(now)
    at = now.isoformat()
    where = {"pv_power_w": "inv", "battery_power_w": "inv", "grid_power_w": "mtr", "soc": "bat"}
    readings = [
        {"device": home[where[p]], "point": p, "ts": at, "value": v,
         "unit": "%" if p == "soc" else "W"}
        for p, v in w.items()
    ]  # fmt: skip
    r = httpx.post(
        f"{server.url}/api/v1/ingest",
        json={"readings": readings},
        headers={"Authorization": f"Bearer {home['token']}"},
        timeout=10,
    )
    assert r.status_code == 200 and r.json()["accepted"] == len(readings), r.text


@pytest.fixture(scope="module")
def state(chromium: Any, server: DemoServer, home: dict[str, str]) -> Any:
    """The installer's signed-in session, captured once (sign-ins are rate-limited)."""
    ctx = chromium.new_context(base_url=server.url)
    page = ctx.new_page()
    sign_in(page, home["email"])
    page.wait_for_url("**/home")
    got = ctx.storage_state()
    ctx.close()
    return got


def open_page(chromium: Any, server: DemoServer, state: Any, width: int, height: int) -> Any:
    ctx = chromium.new_context(
        base_url=server.url, storage_state=state, viewport={"width": width, "height": height}
    )
    ctx.set_default_timeout(10_000)
    return ctx, ctx.new_page()


def overflows(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1"))


def bar_fits(page: Any) -> bool:
    """The bar stays inside the window (on a phone it scrolls sideways within itself)."""
    box = page.locator("#site-tabs").bounding_box()
    return bool(box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"] + 1)


@pytest.mark.parametrize(("width", "height"), [(1366, 768), (390, 844)])
def test_the_function_bar_leads_from_tab_to_tab_at_desk_and_phone_width(
    chromium: Any, server: DemoServer, state: Any, home: dict[str, str], width: int, height: int
) -> None:
    ctx, page = open_page(chromium, server, state, width, height)
    try:
        site = home["site"]
        page.goto(f"/site/{site}")
        bar = page.locator("#site-tabs")
        expect(bar.locator("a.active")).to_have_text("Overview")
        expect(bar.locator("a")).to_have_text(
            ["Overview", "Chart", "Energy", "Alarm", "Settings", "Commissioning", "Savings",
             "Tariff", "Battery plan"]
        )  # fmt: skip
        assert not overflows(page) and bar_fits(page)
        for name, url in (
            ("Energy", rf"/site/{site}/energy$"),
            ("Tariff", rf"/sites/{site}/tariff$"),
            ("Battery plan", rf"/site/{site}/battery-plan$"),
            ("Commissioning", rf"/site/{site}/commissioning$"),
        ):
            link = page.locator("#site-tabs").get_by_role("link", name=name, exact=True)
            link.scroll_into_view_if_needed()
            link.click()
            expect(page).to_have_url(re.compile(url))
            expect(page.locator("#site-tabs a.active")).to_have_text(name)
            expect(page.locator("#site-tabs a[aria-current=page]")).to_have_count(1)
            # (the pages below the bar are other features'; the commissioning list is wider
            # than a phone today)
            assert bar_fits(page), f"the bar overflows on {name} at {width} px"
    finally:
        ctx.close()


def test_the_power_flow_follows_new_readings_without_reload(
    chromium: Any, server: DemoServer, state: Any, home: dict[str, str], artifacts: Path
) -> None:
    ctx, page = open_page(chromium, server, state, 1366, 768)
    try:
        ingest(server, home, pv_power_w=3000, grid_power_w=-500, battery_power_w=1000, soc=40)
        page.goto(f"/site/{home['site']}")
        page.evaluate("window.__notReloaded = true")
        flow = page.locator("#power-flow")
        expect(flow.locator('[data-value="pv"]')).to_have_text("3.00 kW")
        expect(flow.locator('[data-value="grid"]')).to_have_text("0.50 kW")
        expect(flow.locator('[data-node="grid"] .label')).to_have_text("Grid export")
        expect(flow.locator('[data-node="battery"] .label')).to_have_text("Charging")
        expect(flow.locator('[data-value="home"]')).to_have_text("1.50 kW")
        expect(flow.locator("[data-soc]")).to_have_text("SoC 40 %")
        expect(flow.locator('[data-line="pv"]')).to_have_attribute("data-active", "yes")
        page.screenshot(path=str(artifacts / "site-overview-power-flow.png"))

        ingest(server, home, pv_power_w=0, grid_power_w=900, battery_power_w=-600, soc=39)
        expect(flow.locator('[data-value="grid"]')).to_have_text("0.90 kW")
        expect(flow.locator('[data-node="grid"] .label')).to_have_text("Grid import")
        expect(flow.locator('[data-node="battery"] .label')).to_have_text("Discharging")
        expect(flow.locator('[data-value="home"]')).to_have_text("1.50 kW")
        expect(flow.locator('[data-line="pv"]')).to_have_attribute("data-active", "no")
        expect(flow.locator("[data-soc]")).to_have_text("SoC 39 %")
        assert page.evaluate("window.__notReloaded") is True
    finally:
        ctx.close()
