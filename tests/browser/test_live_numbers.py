"""The "Live" panel writes numbers as the reader's language does and scales power and energy for
people like the rest of the portal (issue 19): a German reader sees "1,25 MW" and "9,00 MWh",
not "1250.00 kW" and "9000.0 kWh". Uses test_live.py's own demo server and site."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser import DemoServer
from tests.browser.conftest import sign_in
from tests.browser.test_live import home, live, server  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture
def german_page(
    chromium: Any,
    server: DemoServer,  # noqa: F811
    home: dict[str, str],  # noqa: F811
) -> Iterator[Any]:
    ctx = chromium.new_context(
        base_url=server.url, viewport={"width": 1280, "height": 900}, locale="de-DE"
    )
    ctx.set_default_timeout(10_000)
    page = ctx.new_page()
    sign_in(page, home["email"])
    page.wait_for_url("**/home")
    try:
        yield page
    finally:
        ctx.close()


def test_live_panel_numbers_in_german_and_scaled(
    german_page: Any,
    server: DemoServer,  # noqa: F811
    home: dict[str, str],  # noqa: F811
) -> None:
    at = (datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)).isoformat()
    readings = [
        (home["inv_serial"], "pv_power_w", 1_250_000, "W"),
        (home["inv_serial"], "battery_power_w", 0, "W"),
        (home["inv_serial"], "lifetime_yield_wh", 9_000_000, "Wh"),
        (home["mtr_serial"], "grid_power_w", -1500, "W"),
        (home["mtr_serial"], "grid_voltage_v", 230.5, "V"),
    ]
    r = httpx.post(
        f"{server.url}/api/v1/ingest",
        json={"readings": [
            {"device": d, "point": p, "ts": at, "value": v, "unit": u} for d, p, v, u in readings
        ]},
        headers={"Authorization": f"Bearer {home['token']}"},
        timeout=10,
    )  # fmt: skip
    assert r.status_code == 200 and r.json()["accepted"] == len(readings), r.text
    page = german_page
    page.goto(f"/site/{home['site']}")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(live(page, "pv")).to_have_text("1,25 MW")
    expect(live(page, "grid")).to_have_text("1,50 kW")
    inverter = page.locator(f'#live-devices tr[data-serial="{home["inv_serial"]}"]')
    expect(inverter.locator('[data-point="lifetime_yield_wh"]')).to_contain_text("9,00 MWh")
    meter = page.locator(f'#live-devices tr[data-serial="{home["mtr_serial"]}"]')
    expect(meter.locator('[data-point="grid_voltage_v"]')).to_contain_text("230,5 V")
