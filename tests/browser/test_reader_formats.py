"""The scripts write numbers and times with the formats the reader chose in the profile (issue 19,
"one clock"), not the page's language and not the browser's: the live panel (live.js) and the
charts' tick labels and legend (uPlot's defaults use navigator.language). Uses test_live.py's own
demo server and site (streams every 0.5 s)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser import PASSWORD, DemoServer
from tests.browser.conftest import sign_in
from tests.browser.test_live import home, live, server  # noqa: F401
from voltfleet.app.telemetry.schemas import ReadingIn
from voltfleet.app.telemetry.service import ingest
from voltfleet.app.users.service import new_user
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site

pytestmark = pytest.mark.browser

BERLIN = ZoneInfo("Europe/Berlin")
DAY = (datetime.now(UTC) - timedelta(days=2)).astimezone(BERLIN).date()
T0 = datetime(DAY.year, DAY.month, DAY.day, 10, tzinfo=BERLIN).astimezone(UTC)
TWELVE_HOUR = re.compile(r"^\d{1,2}:\d{2}:\d{2}\s[AP]M$")  # Chromium may put U+202F before PM


@pytest.fixture(scope="module")
def chart_day(server: DemoServer, home: dict[str, str]) -> None:  # noqa: F811
    """Three hours of the inverter's PV power (1,000 to 2,200 kW), PV voltage (230.0 to 230.6 V)
    and PV energy counter (+2 kWh an hour) on DAY from 10:00 Berlin, so that the chart's ticks
    need grouping and decimals and the energy page has hourly bars."""
    with server.runtime.db.session() as s:
        gateway = s.get(Device, home["gw"])
        assert gateway is not None
        readings = []
        for q in range(13):
            ts = (T0 + timedelta(minutes=15 * q)).isoformat()
            readings.append(ReadingIn(device=home["inv_serial"], point="pv_power_w", ts=ts,
                                      value=1_000_000 + 100_000 * q, unit="W"))  # fmt: skip
            readings.append(ReadingIn(device=home["inv_serial"], point="pv_voltage_v", ts=ts,
                                      value=230.0 + 0.05 * q, unit="V"))  # fmt: skip
            readings.append(ReadingIn(device=home["inv_serial"], point="pv_energy_wh", ts=ts,
                                      value=10_000 + 500 * q, unit="Wh"))  # fmt: skip
        result = ingest(s, gateway, readings)
        assert not result.rejections, result.rejections


@pytest.fixture
def reader(
    chromium: Any,
    server: DemoServer,  # noqa: F811
    home: dict[str, str],  # noqa: F811
) -> Iterator[Callable[..., Any]]:
    """A page signed in as a new user of the installer of the site (``site_id``, else the live
    test's), with the language and formats given, in a Chromium whose own locale is ``browser``."""
    contexts: list[Any] = []

    def make(language: str, formats: str, browser: str = "en-US", site_id: str = "") -> Any:
        email = f"formats-{uuid.uuid4().hex[:8]}@example.org"
        runtime = server.runtime
        with runtime.db.session() as s:
            site = s.get(Site, site_id or home["site"])
            assert site is not None
            user = new_user(
                s, runtime, email=email, username="Fran Formats", password=PASSWORD,
                org_id=site.org_id, role="admin", country="DE",
            )  # fmt: skip
            user.language, user.formats = language, formats
        ctx = chromium.new_context(
            base_url=server.url, viewport={"width": 1280, "height": 900}, locale=browser
        )
        ctx.set_default_timeout(10_000)
        contexts.append(ctx)
        page = ctx.new_page()
        sign_in(page, email)
        page.wait_for_url("**/home")
        return page

    yield make
    for ctx in contexts:
        ctx.close()


def send_now(server: DemoServer, home: dict[str, str]) -> datetime:  # noqa: F811
    """Readings of five seconds ago through the HTTP ingest; returns their time."""
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
    readings = [
        (home["inv_serial"], "pv_power_w", 1_250_000, "W"),
        (home["inv_serial"], "battery_power_w", 0, "W"),
        (home["mtr_serial"], "grid_power_w", -1500, "W"),
        (home["mtr_serial"], "grid_voltage_v", 230.5, "V"),
    ]
    r = httpx.post(
        f"{server.url}/api/v1/ingest",
        json={"readings": [
            {"device": d, "point": p, "ts": at.isoformat(), "value": v, "unit": u}
            for d, p, v, u in readings
        ]},
        headers={"Authorization": f"Bearer {home['token']}"},
        timeout=10,
    )  # fmt: skip
    assert r.status_code == 200 and r.json()["accepted"] == len(readings), r.text
    return at


def test_german_reader_with_us_formats_reads_us_marks_on_the_live_panel(
    reader: Callable[..., Any],
    server: DemoServer,  # noqa: F811
    home: dict[str, str],  # noqa: F811
) -> None:
    page = reader("de", "en-US", browser="de-DE")
    at = send_now(server, home)
    page.goto(f"/site/{home['site']}")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator("html")).to_have_attribute("data-locale", "en-US")
    expect(live(page, "pv")).to_have_text("1.25 MW")  # not "1,25 MW"
    expect(live(page, "grid")).to_have_text("1.50 kW")
    meter = page.locator(f'#live-devices tr[data-serial="{home["mtr_serial"]}"]')
    expect(meter.locator('[data-point="grid_voltage_v"]')).to_contain_text("230.5 V")
    # The time of the last reading on the US 12-hour clock, in the site's zone.
    updated = live(page, "updated")
    expect(updated).to_have_text(TWELVE_HOUR)
    local = at.astimezone(BERLIN)
    assert updated.inner_text().startswith(f"{local.hour % 12 or 12}:{local:%M:%S}")


def axes(page: Any) -> list[dict[str, Any]]:
    """The series chart's axes as uPlot labelled them (drawn on a canvas, so read from uPlot)."""
    return list(
        page.evaluate(
            """() => document.getElementById('series-chart').__uplot.axes.map(
                   a => ({label: a.label || '', values: (a._values || []).map(String)}))"""
        )
    )


def chart_url(home: dict[str, str]) -> str:  # noqa: F811
    return (
        f"/device/{home['inv']}/chart?points=pv_power_w,pv_voltage_v&span=day&day={DAY.isoformat()}"
    )


def test_chart_ticks_use_the_readers_german_marks_in_an_american_browser(
    reader: Callable[..., Any],
    chart_day: None,
    home: dict[str, str],  # noqa: F811
) -> None:
    page = reader("en", "de-DE", browser="en-US")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(chart_url(home))
    expect(page.locator("#series-chart canvas").first).to_be_visible()
    assert page.evaluate("navigator.language") == "en-US"
    time_axis, power_axis, voltage_axis = axes(page)
    assert power_axis["label"] == "kW" and voltage_axis["label"] == "V", (power_axis, voltage_axis)
    kw = [v for v in power_axis["values"] if v]
    assert kw and all(re.fullmatch(r"\d\.\d{3}", v) for v in kw), kw  # "1.500" kW, German grouping
    volts = [v for v in voltage_axis["values"] if v]
    assert volts and all(re.fullmatch(r"23\d,\d+", v) for v in volts), volts  # "230,2" V
    assert any(re.fullmatch(r"\d{2}:\d{2}", v) for v in time_axis["values"]), time_axis
    legend = page.locator("#series-chart .u-legend .u-series")
    expect(legend.nth(1)).to_contain_text("PV power, kW")
    over = page.locator("#series-chart .u-over")
    over.scroll_into_view_if_needed()
    box = over.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.44, box["y"] + box["height"] / 2)
    expect(legend.nth(1).locator(".u-value")).to_have_text(re.compile(r"^\d\.\d{3},\d{2} kW$"))
    expect(legend.nth(0).locator(".u-value")).to_contain_text(f"{DAY:%d.%m.%Y} 10:")
    # uPlot's month names (a year's axis) in German too, not its own English ones.
    march = "VF.fmtDate('{MMMM} {MMM}')(new Date(2026, 2, 15))"
    assert page.evaluate(march).startswith("März Mär"), page.evaluate(march)
    assert not errors, errors


def test_us_reader_reads_twelve_hour_times_on_the_live_panel_and_the_chart(
    reader: Callable[..., Any],
    server: DemoServer,  # noqa: F811
    chart_day: None,
    home: dict[str, str],  # noqa: F811
) -> None:
    page = reader("en", "en-US", browser="de-DE")
    send_now(server, home)
    page.goto(f"/site/{home['site']}")
    expect(live(page, "updated")).to_have_text(TWELVE_HOUR)
    expect(live(page, "pv")).to_have_text("1.25 MW")  # a German browser changes nothing
    page.goto(chart_url(home))
    expect(page.locator("#series-chart canvas").first).to_be_visible()
    time_axis, power_axis, _volts = axes(page)
    assert any(re.search(r"\d:\d{2} [AP]M", v) for v in time_axis["values"]), time_axis
    assert any(re.fullmatch(r"\d,\d{3}", v) for v in power_axis["values"]), power_axis
    # The energy page's hourly bars are labelled on the 12-hour clock too, in the legend as well.
    page.goto(f"/device/{home['inv']}/energy?period=day&day={DAY.isoformat()}")
    expect(page.locator("#energy-chart canvas").first).to_be_visible()
    bars = page.evaluate("document.getElementById('energy-chart').__uplot.axes[0]._values")
    assert "12:00 AM" in bars and "12:00 PM" in bars and "10:00" not in bars, bars


def test_chart_legend_words_in_the_readers_language(
    reader: Callable[..., Any],
    chart_day: None,
    home: dict[str, str],  # noqa: F811
) -> None:
    """The words the chart script writes itself (the time's title) follow the page's language,
    here German chosen in the profile in an English browser."""
    page = reader("de", "", browser="en-US")
    page.goto(chart_url(home))
    expect(page.locator("html")).to_have_attribute("lang", "de")
    legend = page.locator("#series-chart .u-legend .u-series")
    expect(legend.nth(0).locator("th")).to_have_text("Zeit")  # not "Time"
    assert page.evaluate("VF.word('savings', 'Savings')") == "Einsparungen"
    assert page.evaluate("VF.word('nothing', 'Nothing')") == "Nothing"


def test_battery_plan_chart_in_the_readers_formats(
    reader: Callable[..., Any],
    server: DemoServer,  # noqa: F811
) -> None:
    """The battery plan's inline chart (the demo's dynamic-tariff home): power ticks with the
    reader's grouping, times on their clock, the unit on the axis, the legend in their language."""
    with server.runtime.db.session() as s:
        site_id = s.scalar(select(Site.id).where(Site.name == "Haus am See Potsdam"))
    assert site_id is not None
    plan_axes = "() => document.getElementById('plan-chart').__uplot.axes.map(a => a._values)"
    page = reader("de", "de-DE", browser="en-US", site_id=site_id)
    page.goto(f"/site/{site_id}/battery-plan")
    expect(page.locator("#plan-chart canvas").first).to_be_visible()
    times, watts = page.evaluate(plan_axes)
    assert any(re.fullmatch(r"-?\d\.\d{3}", v) for v in watts), watts  # "3.000" W
    assert any(re.fullmatch(r"\d{2}:00", v) for v in times), times
    expect(page.locator("#plan-chart .u-legend th").first).to_have_text("Zeit")
    page = reader("en", "en-US", browser="de-DE", site_id=site_id)
    page.goto(f"/site/{site_id}/battery-plan")
    expect(page.locator("#plan-chart canvas").first).to_be_visible()
    times, watts = page.evaluate(plan_axes)
    assert any(re.fullmatch(r"-?\d,\d{3}", v) for v in watts), watts  # "3,000" W
    assert any(re.fullmatch(r"\d{1,2}:00 [AP]M", v) for v in times), times
    assert page.evaluate("document.getElementById('plan-chart').__uplot.axes[1].label") == "W"
