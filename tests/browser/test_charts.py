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
        inv2 = Device(site_id=site.id, kind="inverter", subtype="hybrid", serial=f"CJNV{tag}",
                      parent_id=gw.id, model="VF-6K")  # fmt: skip
        mtr = Device(
            site_id=site.id, kind="meter", subtype="", serial=f"CMTR{tag}", parent_id=gw.id
        )
        s.add_all([inv, inv2, mtr])
        s.flush()
        readings = []
        for q in range(13):
            ts = (T0 + timedelta(minutes=15 * q)).isoformat()
            for device, point, value, unit in (
                (inv, "pv_energy_wh", 10_000 + 500 * q, "Wh"),
                (inv, "pv_power_w", 2000, "W"),
                (inv, "battery_power_w", -300, "W"),
                (inv, "soc", 40 + q, "%"),
                (inv2, "soc", 80, "%"),
                (mtr, "grid_export_energy_wh", 200 * q, "Wh"),
                (mtr, "grid_import_energy_wh", 100 * q, "Wh"),
            ):
                readings.append(
                    ReadingIn(device=device.serial, point=point, ts=ts, value=value, unit=unit)
                )
        result = ingest(s, gw, readings)
        assert not result.rejections, result.rejections
        return {
            "email": email, "site": site.id, "inverter": inv.id, "serial": inv.serial,
            "inverter2": inv2.id, "serial2": inv2.serial, "meter": mtr.id,
        }  # fmt: skip


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
    page.locator("#device-tabs").get_by_role("link", name="Chart").click()
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
    expect(legend.nth(1)).to_contain_text("PV power, kW")  # people's names and units (#19)
    expect(legend.nth(2)).to_contain_text("Battery power, kW")
    # Hover the plot: the legend shows values (the negative battery power too).
    over = page.locator("#series-chart .u-over")
    box = over.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.42, box["y"] + box["height"] / 2)
    expect(legend.nth(1).locator(".u-value")).to_contain_text("2.00 kW")  # 2,000 W
    expect(legend.nth(2).locator(".u-value")).to_contain_text("-0.30 kW")  # -300 W
    page.screenshot(path=str(artifacts / "telemetry-chart.png"), full_page=True)

    page.select_option("select[name=span]", "week")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#chart-note")).to_contain_text("hour")
    expect(page.locator("#series-chart canvas").first).to_be_visible()

    with page.expect_download() as info:
        page.locator("#download-csv").click()
    text = Path(info.value.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith('start_time (UTC),resolution,"pv_power_w (W, mean)"')
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
    assert lines[0] == "ts (UTC),pv_energy_wh (Wh)" and len(lines) == 14


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
    assert lines[0].startswith("bar,start_time (UTC),end_time (UTC),pv_kwh") and lines[
        -1
    ].startswith("total")
    assert not errors, errors


def test_home_page_shows_the_fleet_kpis(page: Any, fleet: dict[str, str], artifacts: Path) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto("/home")
    expect(page.locator("#kpi-capacity")).to_have_text("6.50")
    expect(page.locator("#kpi-yield-total")).to_have_text("6.00\u00a0kWh")  # scaled for people
    expect(page.locator("#kpi-co2")).not_to_have_text("0.0 kg")
    expect(page.locator("#ranking li").first).to_contain_text("Chart Home")
    expect(page.locator("#ranking li .specific").first).to_have_text("0.92 kWh/kWp")  # 6 / 6.5
    expect(page.locator("#trend-chart canvas").first).to_be_visible()
    page.screenshot(path=str(artifacts / "telemetry-home-kpis.png"), full_page=True)
    assert not errors, errors


def hover_middle(page: Any, chart: str, at: float = 0.5) -> None:
    """Move the mouse over a chart's plot, ``at`` (0..1) of the way across."""
    over = page.locator(f"{chart} .u-over")
    over.scroll_into_view_if_needed()
    box = over.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * at, box["y"] + box["height"] / 2)


def test_chart_picks_model_serial_and_points(
    page: Any, fleet: dict[str, str], artifacts: Path
) -> None:
    """The site's Chart opens its first inverter; the points it sends come first in the picker
    (SoC shown in percent); a serial of the same model keeps the points, another model starts
    from that device's own; earlier and later move the window by the zoom."""
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"/site/{fleet['site']}")
    page.locator("nav.sub").get_by_role("link", name="Chart").click()
    page.wait_for_url(f"**/device/{fleet['inverter']}/chart")
    expect(page.locator("#chart-model")).to_have_value("VF-6K")
    expect(page.locator("#chart-serial")).to_have_value(fleet["inverter"])
    expect(page.locator("#chart-serial option:not([hidden])")).to_have_count(2)  # two VF-6K
    page.goto(f"/device/{fleet['inverter']}/chart?day={DAY.isoformat()}")
    page.locator("#point-picker summary").first.click()
    sent = page.locator("#points-reported input.point")
    expect(sent).to_have_count(4)
    assert sorted(sent.evaluate_all("xs => xs.map(x => x.value)")) == [
        "battery_power_w", "pv_energy_wh", "pv_power_w", "soc",
    ]  # fmt: skip
    expect(page.locator("#points-reported input[value=pv_power_w]")).to_be_checked()
    expect(page.locator("#points-reported label", has_text="soc")).to_contain_text("(%)")
    for name in ("pv_power_w", "battery_power_w"):
        page.locator(f"#points-reported input[value={name}]").uncheck()
    page.locator("#points-reported input[value=soc]").check()
    page.get_by_role("button", name="Show").click()
    legend = page.locator("#series-chart .u-legend .u-series")
    expect(legend).to_have_count(2)
    expect(legend.nth(1)).to_contain_text("Battery state of charge, %")
    hover_middle(page, "#series-chart", 0.44)  # about 10:30 local
    expect(legend.nth(1).locator(".u-value")).to_contain_text("%")
    value = legend.nth(1).locator(".u-value").inner_text()
    assert 40 <= float(value.split()[0]) <= 52, value  # 40..52 %, not a fraction
    expect(legend.nth(0).locator(".u-value")).to_contain_text(f"{DAY.isoformat()} 10:")
    page.screenshot(path=str(artifacts / "telemetry-chart-picker.png"), full_page=True)

    page.select_option("#chart-serial", fleet["inverter2"])
    page.wait_for_url(f"**/device/{fleet['inverter2']}/chart?**")
    assert "points=soc" in page.url and f"day={DAY.isoformat()}" in page.url
    expect(page.locator("#chart-device")).to_contain_text(fleet["serial2"])
    expect(page.locator("#series-chart .u-legend .u-series").nth(1)).to_contain_text(
        "Battery state of charge"
    )

    page.select_option("#chart-model", "")  # the gateway and the meter have no model
    expect(page.locator("#no-data")).to_contain_text("this device has sent no readings yet")
    expect(page.locator("#chart-serial option:not([hidden])")).to_have_count(2)
    page.select_option("#chart-serial", fleet["meter"])  # another kind: its own points
    page.wait_for_url(f"**/device/{fleet['meter']}/chart?**")
    assert "points=" not in page.url
    legend = page.locator("#series-chart .u-legend .u-series")
    expect(legend.nth(1)).to_contain_text("Grid import, kWh")
    expect(legend.nth(2)).to_contain_text("Grid export, kWh")

    page.goto(f"/device/{fleet['inverter']}/chart?span=week&day={DAY.isoformat()}")
    page.locator("#earlier").click()
    expect(page.locator("#chart-pager")).to_contain_text(
        f"ending {(DAY - timedelta(days=7)).isoformat()}"
    )
    page.locator("#later").click()
    expect(page.locator("#chart-pager")).to_contain_text(f"ending {DAY.isoformat()}")
    assert not errors, errors


def test_data_table_pages_and_picks_points(
    page: Any, fleet: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from voltfleet.app.telemetry import pages as telemetry_pages

    monkeypatch.setattr(telemetry_pages, "TABLE_ROWS", 5)
    page.goto(f"/device/{fleet['inverter']}/data?points=pv_energy_wh&start={DAY.isoformat()}")
    rows = page.locator("#data-table tbody tr")
    expect(rows).to_have_count(5)
    expect(page.locator("#row-count")).to_have_text("Rows 1 to 5 of 13 · page 1 of 3")
    page.locator("#next-page").click()
    expect(page.locator("#row-count")).to_have_text("Rows 6 to 10 of 13 · page 2 of 3")
    expect(rows.first).to_contain_text("11:15:00")
    page.locator("#next-page").click()
    expect(rows).to_have_count(3)
    expect(page.locator("#next-page")).to_have_count(0)

    page.locator("#point-picker summary").first.click()
    page.locator("#points-reported input[value=soc]").check()
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#data-table thead")).to_contain_text("soc (%)")
    expect(rows.first.locator("td").nth(2)).to_have_text("40")  # 40 %, stored as 0.4
    with page.expect_download() as info:
        page.locator("#download-csv").click()
    lines = Path(info.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0] == "ts (UTC),pv_energy_wh (Wh),soc (fraction)" and len(lines) == 14


def test_device_energy_from_the_site_energy_page(
    page: Any, fleet: dict[str, str], artifacts: Path
) -> None:
    """The site's bars include the battery; a device picked on the site's energy page shows
    its own counters, with totals and the earlier and later periods."""
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"/site/{fleet['site']}/energy?period=day&day={DAY.isoformat()}")
    names = page.locator("#energy-chart .u-legend .u-series th")
    expect(names).to_contain_text(["PV yield", "Consumption", "Grid import", "Grid export",
                                   "Battery charge", "Battery discharge"])  # fmt: skip
    expect(page.locator("#energy-total-row td").nth(1)).to_have_text("6.00")
    expect(page.locator("#energy-window")).to_have_text(DAY.isoformat())
    page.locator("#earlier").click()
    expect(page.locator("#energy-window")).to_have_text((DAY - timedelta(days=1)).isoformat())
    expect(page.locator("#energy-total-row td").nth(1)).to_have_text("0.00")
    page.locator("#later").click()
    expect(page.locator("#energy-window")).to_have_text(DAY.isoformat())

    picker = page.locator("#energy-device")
    expect(picker.locator("option")).to_have_count(3)  # the site, the inverter, the meter
    picker.select_option(label=f"inverter · {fleet['serial']} · VF-6K")
    page.wait_for_url(f"**/device/{fleet['inverter']}/energy?period=day&day={DAY.isoformat()}")
    expect(page.locator("#energy-table thead th")).to_have_text(["Hour", "PV yield kWh"])
    expect(page.locator("#energy-table tr[data-bar='10:00'] td").nth(1)).to_have_text("2.00")
    expect(page.locator("#energy-total-row td").nth(1)).to_have_text("6.00")
    expect(page.locator("#energy-chart canvas").first).to_be_visible()
    page.locator("#energy-periods").get_by_role("link", name="Month").click()
    expect(page.locator("#energy-window")).to_have_text(f"{DAY:%Y-%m}")
    expect(page.locator(f"#energy-table tr[data-bar='{DAY.isoformat()}'] td").nth(1)).to_have_text(
        "6.00"
    )
    page.screenshot(path=str(artifacts / "telemetry-device-energy.png"), full_page=True)
    with page.expect_download() as info:
        page.locator("#download-csv").click()
    lines = Path(info.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0] == "bar,start_time (UTC),end_time (UTC),pv_energy_kwh" and lines[-1].startswith(
        "total"
    )
    assert lines[-1].endswith(",6.000")

    page.goto(f"/device/{fleet['inverter2']}/energy")
    expect(page.locator("#no-counters")).to_contain_text("no energy counters")
    assert not errors, errors


def test_home_revenue_tiles_and_trend(page: Any, fleet: dict[str, str], live_server: Any) -> None:
    price = live_server.runtime.settings.default_price_per_kwh
    page.goto("/home")
    # The status tiles count each of the user's sites once; no alarm is active.
    statuses = ("online", "offline", "abnormal", "no_device")
    counts = [int(page.locator(f"#status-{k}").inner_text()) for k in statuses]
    assert sum(counts) == int(page.locator("#count-sites").inner_text()) == 1
    expect(page.locator("#active-alarms .big")).to_have_text(["0", "0", "0", "0"])  # four levels
    tiles = page.locator("#kpi-revenue-tiles")
    expect(tiles).to_have_attribute("data-currency", "EUR")
    expect(page.locator("#revenue-total")).to_have_text(f"{6.0 * price:.2f}")
    expect(page.locator("#kpi-revenue")).to_have_count(0)  # no site in another currency
    legend = page.locator("#trend-chart .u-legend .u-series")
    expect(legend.nth(2)).to_contain_text("Revenue")
    # Hover the month of the readings: its yield and revenue show in the legend.
    labels = page.evaluate("JSON.parse(document.getElementById('trend-data').textContent).labels")
    at = (labels.index(f"{DAY:%Y-%m}") + 0.5) / len(labels)
    hover_middle(page, "#trend-chart", at)
    expect(legend.nth(0).locator(".u-value")).to_have_text(f"{DAY:%Y-%m}")
    expect(legend.nth(1).locator(".u-value")).to_have_text("6.0 kWh")
    expect(legend.nth(2).locator(".u-value")).to_have_text(f"{6.0 * price:.2f} EUR")


PHONE = {"width": 390, "height": 800}


def test_pages_fit_a_phone(
    new_context: Any, chart_state: dict[str, Any], fleet: dict[str, str], artifacts: Path
) -> None:
    """At 390 px nothing makes the page scroll sideways (wide tables scroll in their frame);
    the charts still draw."""
    page = new_context(storage_state=chart_state, viewport=PHONE).new_page()
    inv, sid = fleet["inverter"], fleet["site"]
    day = DAY.isoformat()
    for url in (
        "/home",
        f"/site/{sid}",
        f"/device/{inv}",
        f"/device/{inv}/chart?day={day}",
        f"/device/{inv}/data?start={day}",
        f"/site/{sid}/energy?day={day}",
        f"/device/{inv}/energy?day={day}",
    ):
        page.goto(url)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (url, width)
        if "/chart" in url or "/energy" in url:
            expect(page.locator(".chart canvas").first).to_be_visible()
    page.goto(f"/device/{inv}/chart?day={day}")
    page.screenshot(path=str(artifacts / "telemetry-chart-phone.png"), full_page=True)
