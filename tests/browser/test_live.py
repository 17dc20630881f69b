"""Live data in headless Chromium: the site page's "Live" panel follows readings ingested through
POST /api/v1/ingest (with a gateway's token, over real HTTP) without a reload, shows the devices
offline after a silence, and reconnects after the server ends a bounded stream; the device page
has its own panel.

This module runs its own demo server, with streams that tick every 0.5 s and end after 3 s."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser import PASSWORD, DemoServer
from tests.browser.conftest import sign_in
from voltfleet.app.orgs.service import build_org
from voltfleet.app.telemetry.presence import sweep_offline
from voltfleet.app.users.service import new_user
from voltfleet.domain.access import OrgType
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Org, Site

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """A demo server of this module's own, with quick and short live streams."""
    demo = DemoServer(tmp_path_factory.mktemp("live-demo"))
    demo.runtime.settings.live_interval_s = 0.5
    demo.runtime.settings.live_max_s = 3.0
    demo.start()
    try:
        yield demo
    finally:
        demo.stop()


@pytest.fixture(scope="module")
def home(server: DemoServer) -> dict[str, str]:
    """An installer with one site (gateway, inverter, meter) and an ingest token for the
    gateway, issued through the API."""
    runtime = server.runtime
    tag = uuid.uuid4().hex[:6].upper()
    email = f"live-{tag.lower()}@example.org"
    with runtime.db.session() as s:
        parent = s.scalar(select(Org).where(Org.name == "Sunrise Distribution"))
        assert parent is not None
        org = build_org(parent, f"Live Installers {tag}", OrgType.INSTALLER, "DE")
        s.add(org)
        s.flush()
        new_user(
            s, runtime, email=email, username="Lena Live", password=PASSWORD, org_id=org.id,
            role="admin", country="DE",
        )  # fmt: skip
        site = Site(org_id=org.id, name="Live Home", country="DE", timezone="Europe/Berlin")
        s.add(site)
        s.flush()
        gw = Device(site_id=site.id, kind="gateway", subtype="wifi", serial=f"LGW{tag}")
        s.add(gw)
        s.flush()
        inv = Device(site_id=site.id, kind="inverter", subtype="hybrid", serial=f"LINV{tag}",
                     parent_id=gw.id, name="Roof inverter")  # fmt: skip
        mtr = Device(site_id=site.id, kind="meter", subtype="grid", serial=f"LMTR{tag}",
                     parent_id=gw.id)  # fmt: skip
        s.add_all([inv, mtr])
        s.flush()
        ids = {"site": site.id, "gw": gw.id, "inv": inv.id, "mtr": mtr.id, "email": email}
        ids |= {"inv_serial": inv.serial, "mtr_serial": mtr.serial}
    with httpx.Client(base_url=server.url, timeout=10) as api:
        r = api.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        bearer = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = api.post(f"/api/v1/devices/{ids['gw']}/token", headers=bearer)
        assert r.status_code == 201, r.text
        ids["token"] = r.json()["token"]
    return ids


def ingest(server: DemoServer, home: dict[str, str], at: datetime, **values: float) -> None:
    """Readings at ``at``: pv_w and battery_w of the inverter, soc_pct, grid_w of the meter."""
    readings = []
    for key, (device, point, unit) in {
        "pv_w": (home["inv_serial"], "pv_power_w", "W"),
        "battery_w": (home["inv_serial"], "battery_power_w", "W"),
        "soc_pct": (home["inv_serial"], "soc", "%"),
        "grid_w": (home["mtr_serial"], "grid_power_w", "W"),
    }.items():
        if key in values:
            readings.append(
                {"device": device, "point": point, "ts": at.isoformat(), "value": values[key],
                 "unit": unit}
            )  # fmt: skip
    r = httpx.post(
        f"{server.url}/api/v1/ingest",
        json={"readings": readings},
        headers={"Authorization": f"Bearer {home['token']}"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == len(readings), r.text


@pytest.fixture
def page(chromium: Any, server: DemoServer, home: dict[str, str]) -> Iterator[Any]:
    ctx = chromium.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(10_000)
    page = ctx.new_page()
    sign_in(page, home["email"])
    page.wait_for_url("**/home")
    try:
        yield page
    finally:
        ctx.close()


def live(page: Any, name: str) -> Any:
    return page.locator(f'#live-panel [data-live="{name}"]')


def test_site_panel_follows_new_readings_without_reload(
    page: Any, server: DemoServer, home: dict[str, str], artifacts: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    ingest(server, home, now - timedelta(seconds=20), pv_w=1500, grid_w=300, battery_w=0)
    page.goto(f"/site/{home['site']}")
    page.evaluate("window.__notReloaded = true")
    expect(live(page, "state")).to_have_text("live")
    expect(live(page, "pv")).to_have_text("1.50 kW")
    expect(live(page, "grid-label")).to_have_text("Grid import")
    expect(live(page, "grid")).to_have_text("300 W")
    expect(live(page, "load")).to_have_text("1.80 kW")
    expect(live(page, "load-label")).to_have_text("Load (calculated)")
    expect(page.locator("#site-status")).to_have_text("online")
    row = page.locator(f'#live-devices tr[data-serial="{home["inv_serial"]}"]')
    expect(row.locator(".badge")).to_have_text("online")
    expect(row).to_contain_text("Roof inverter")

    # New readings arrive: the numbers change on the open page.
    ingest(server, home, now - timedelta(seconds=5), pv_w=4200, grid_w=-1200, battery_w=2000,
           soc_pct=63)  # fmt: skip
    expect(live(page, "pv")).to_have_text("4.20 kW")
    expect(live(page, "grid-label")).to_have_text("Grid export")
    expect(live(page, "grid")).to_have_text("1.20 kW")
    expect(live(page, "battery-label")).to_have_text("Battery charging")
    expect(live(page, "battery")).to_have_text("2.00 kW")
    expect(live(page, "soc")).to_have_text("SoC 63 %")
    expect(live(page, "load")).to_have_text("1.00 kW")
    measured = (now - timedelta(seconds=5)).astimezone(ZoneInfo("Europe/Berlin"))
    expect(live(page, "updated")).to_have_text(measured.strftime("%H:%M:%S"))
    expect(row.locator('[data-point="soc"]')).to_have_text("SoC 63 %")
    assert page.evaluate("window.__notReloaded") is True
    page.screenshot(path=str(artifacts / "live-panel.png"), full_page=False)

    # Streams end after 3 s; the browser reconnects and keeps following.
    page.wait_for_timeout(3500)
    ingest(server, home, now - timedelta(seconds=2), pv_w=800, grid_w=100, battery_w=-500)
    expect(live(page, "pv")).to_have_text("800 W")
    expect(live(page, "battery-label")).to_have_text("Battery discharging")
    expect(live(page, "state")).to_have_text("live")
    assert page.evaluate("window.__notReloaded") is True

    # Silence: the sweep marks the devices offline, and the panel shows it.
    with server.runtime.db.session() as s:
        later = datetime.now(UTC) + timedelta(seconds=server.runtime.settings.offline_after_s + 1)
        assert sweep_offline(s, later, server.runtime.settings)
    expect(row.locator(".badge")).to_have_text("offline")
    expect(page.locator("#site-status")).to_have_text("offline")
    assert page.evaluate("window.__notReloaded") is True


def test_device_page_has_its_own_live_panel(
    page: Any, server: DemoServer, home: dict[str, str]
) -> None:
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    ingest(server, home, at, grid_w=-450)
    page.goto(f"/device/{home['mtr']}")
    expect(live(page, "state")).to_have_text("live")
    expect(live(page, "grid")).to_have_text("450 W")
    expect(live(page, "grid-label")).to_have_text("Grid export")
    expect(live(page, "pv")).to_have_text("\N{EN DASH}")  # no PV on a meter
    rows = page.locator("#live-devices tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".badge")).to_have_text("online")
    # Silence: the title's badge follows the device's status without a reload.
    expect(page.locator("#device-status")).to_have_text("online")
    page.evaluate("window.__notReloaded = true")
    with server.runtime.db.session() as s:
        later = datetime.now(UTC) + timedelta(seconds=server.runtime.settings.offline_after_s + 1)
        assert sweep_offline(s, later, server.runtime.settings)
    expect(page.locator("#device-status")).to_have_text("offline")
    expect(rows.first.locator(".badge")).to_have_text("offline")
    assert page.evaluate("window.__notReloaded") is True
