"""Telemetry in headless Chromium: a device's chart draws a uPlot canvas with the chosen series,
the site's energy page shows bars and their numbers, and the home page shows the fleet's KPIs.
Readings go through the real ingest pipeline (app.telemetry.service.ingest)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser import PASSWORD, DemoServer
from tests.browser.conftest import sign_in
from voltfleet.app.orgs.service import build_org
from voltfleet.app.telemetry.schemas import ReadingIn
from voltfleet.app.telemetry.service import ingest
from voltfleet.app.users.service import new_user
from voltfleet.domain.access import OrgType
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Org, Site

pytestmark = pytest.mark.browser

DISTRIBUTOR = "Sunrise Distribution"
BERLIN = ZoneInfo("Europe/Berlin")
DAY = (datetime.now(UTC) - timedelta(days=2)).astimezone(BERLIN).date()
T0 = datetime(DAY.year, DAY.month, DAY.day, 10, tzinfo=BERLIN).astimezone(UTC)


@pytest.fixture(scope="module")
def fleet(live_server: DemoServer) -> dict[str, str]:
    """An installer of its own with one site (gateway, inverter, meter) and three hours of
    readings: PV +500 Wh, export +200 Wh, import +100 Wh a quarter; PV power 2 kW."""
    runtime = live_server.runtime
    email = f"charts-{uuid.uuid4().hex[:8]}@example.org"
    with runtime.db.session() as s:
        parent = s.scalar(select(Org).where(Org.name == DISTRIBUTOR))
        assert parent is not None
        org = build_org(parent, f"Chart Installers {uuid.uuid4().hex[:6]}", OrgType.INSTALLER, "DE")
        s.add(org)
        s.flush()
        new_user(
            s, runtime, email=email, username="Charlie Chart", password=PASSWORD, org_id=org.id,
            role="admin", country="DE",
        )  # fmt: skip
        site = Site(
            org_id=org.id, name="Chart Home", country="DE", timezone="Europe/Berlin",
            currency="EUR", capacity_kwp=6.5,
        )  # fmt: skip
        s.add(site)
        s.flush()
        tag = uuid.uuid4().hex[:6].upper()
        gw = Device(site_id=site.id, kind="gateway", subtype="wifi", serial=f"CGW{tag}")
        s.add(gw)
        s.flush()
        inv = Device(site_id=site.id, kind="inverter", subtype="hybrid", serial=f"CINV{tag}",
                     parent_id=gw.id, model="VF-6K")  # fmt: skip
        mtr = Device(
            site_id=site.id, kind="meter", subtype="", serial=f"CMTR{tag}", parent_id=gw.id
        )
        s.add_all([inv, mtr])
        s.flush()
        readings = []
        for q in range(13):
            ts = (T0 + timedelta(minutes=15 * q)).isoformat()
            for device, point, value, unit in (
                (inv, "pv_energy_wh", 10_000 + 500 * q, "Wh"),
                (inv, "pv_power_w", 2000, "W"),
                (inv, "battery_power_w", -300, "W"),
                (mtr, "grid_export_energy_wh", 200 * q, "Wh"),
                (mtr, "grid_import_energy_wh", 100 * q, "Wh"),
            ):
                readings.append(
                    ReadingIn(device=device.serial, point=point, ts=ts, value=value, unit=unit)
                )
        result = ingest(s, gw, readings)
        assert not result.rejections, result.rejections
        return {"email": email, "site": site.id, "inverter": inv.id, "serial": inv.serial}


@pytest.fixture(scope="module")
def chart_state(chromium: Any, live_server: DemoServer, fleet: dict[str, str]) -> dict[str, Any]:
    ctx = chromium.new_context(base_url=live_server.url)
    try:
        page = ctx.new_page()
        sign_in(page, fleet["email"])
        page.wait_for_url("**/home")
        return dict(ctx.storage_state())
    finally:
        ctx.close()


@pytest.fixture
def page(new_context: Any, chart_state: dict[str, Any]) -> Iterator[Any]:
    yield new_context(storage_state=chart_state).new_page()


def test_device_chart_draws_the_chosen_series(
    page: Any, fleet: dict[str, str], artifacts: Path
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"/device/{fleet['inverter']}")
    page.locator("#device-telemetry-links").get_by_role("link", name="Chart").click()
    page.wait_for_url("**/chart")
    expect(page.locator("#chart-device")).to_contain_text(fleet["serial"])
    expect(page.locator("#chart-device")).to_contain_text("VF-6K")

    page.goto(
        f"/device/{fleet['inverter']}/chart?points=pv_power_w,battery_power_w&span=day"
        f"&day={DAY.isoformat()}"
    )
    canvas = page.locator("#series-chart canvas")
    expect(canvas.first).to_be_visible()
    legend = page.locator("#series-chart .u-legend .u-series")
    expect(legend).to_have_count(3)  # time + two series
    expect(legend.nth(1)).to_contain_text("pv_power_w")
    expect(legend.nth(2)).to_contain_text("battery_power_w")
    # Hover the plot: the legend shows values (the negative battery power too).
    over = page.locator("#series-chart .u-over")
    box = over.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.42, box["y"] + box["height"] / 2)
    expect(legend.nth(1).locator(".u-value")).to_contain_text("2000")
    expect(legend.nth(2).locator(".u-value")).to_contain_text("-300")
    page.screenshot(path=str(artifacts / "telemetry-chart.png"), full_page=True)

    page.select_option("select[name=span]", "week")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#chart-note")).to_contain_text("hour")
    expect(page.locator("#series-chart canvas").first).to_be_visible()

    with page.expect_download() as info:
        page.locator("#download-csv").click()
    text = Path(info.value.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith('start_time,resolution,"pv_power_w (W, mean)"')
    assert not errors, errors


def test_device_data_table_and_csv(page: Any, fleet: dict[str, str]) -> None:
    page.goto(f"/device/{fleet['inverter']}/data?points=pv_energy_wh&start={DAY.isoformat()}")
    rows = page.locator("#data-table tbody tr")
    expect(rows).to_have_count(13)
    expect(rows.first).to_contain_text("10:00:00")
    expect(rows.first).to_contain_text("10000")
    with page.expect_download() as info:
        page.locator("#download-csv").click()
    lines = Path(info.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0] == "ts,pv_energy_wh (Wh)" and len(lines) == 14


def test_site_energy_page_shows_bars_and_numbers(
    page: Any, fleet: dict[str, str], artifacts: Path
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"/site/{fleet['site']}")
    page.locator("nav.sub").get_by_role("link", name="Energy").click()
    page.wait_for_url("**/energy")
    page.goto(f"/site/{fleet['site']}/energy?period=day&day={DAY.isoformat()}")
    expect(page.locator("#energy-chart canvas").first).to_be_visible()
    expect(page.locator("#total-pv")).to_have_text("6.00")
    expect(page.locator("#total-export")).to_have_text("2.40")
    expect(page.locator("#total-import")).to_have_text("1.20")
    expect(page.locator("#total-consumption")).to_have_text("4.80")
    expect(page.locator("#total-self-consumption")).to_have_text("60.0 %")
    expect(page.locator("#total-self-sufficiency")).to_have_text("75.0 %")
    expect(page.locator("#energy-table tbody tr")).to_have_count(24)
    expect(page.locator("#energy-table tr[data-bar='10:00'] td").nth(1)).to_have_text("2.00")
    # The bars are drawn: the chart's canvas has non-blank pixels in the PV colour's column.
    drawn = page.evaluate(
        """() => { const c = document.querySelector('#energy-chart canvas');
                   const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                   let n = 0;
                   for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
                   return n; }"""
    )
    assert drawn > 100
    page.screenshot(path=str(artifacts / "telemetry-energy-day.png"), full_page=True)
    page.locator("#energy-periods").get_by_role("link", name="Year").click()
    expect(page.locator("#energy-table tbody tr")).to_have_count(12)
    expect(page.locator(f"#energy-table tr[data-bar='{DAY:%Y-%m}'] td").nth(1)).to_have_text("6.00")
    with page.expect_download() as info:
        page.locator("#download-csv").click()
    lines = Path(info.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("bar,start_time,end_time,pv_kwh") and lines[-1].startswith("total")
    assert not errors, errors


def test_home_page_shows_the_fleet_kpis(page: Any, fleet: dict[str, str], artifacts: Path) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto("/home")
    expect(page.locator("#kpi-capacity")).to_have_text("6.50")
    expect(page.locator("#kpi-yield-total")).to_have_text("6.0")
    expect(page.locator("#kpi-revenue tbody tr").first).to_have_attribute("data-currency", "EUR")
    expect(page.locator("#kpi-co2")).not_to_have_text("0.0 kg")
    expect(page.locator("#ranking li").first).to_contain_text("Chart Home")
    expect(page.locator("#trend-chart canvas").first).to_be_visible()
    page.screenshot(path=str(artifacts / "telemetry-home-kpis.png"), full_page=True)
    assert not errors, errors
