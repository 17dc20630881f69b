"""Virtual batteries in headless Chromium (issue 17): the utility partner's configuration (the
demo battery in the list, adding one for the customer's house meter, editing it) and the
customer's view (the battery as a meter with its symbol, level, live panel, energy and the
grid import saved with its worth, the load profile, the CSV download)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser import PASSWORD, DemoServer
from tests.browser.conftest import sign_in
from voltfleet.demo_virtual_battery import CUSTOMER, UTILITY_ADMIN, seed_virtual_battery_demo
from voltfleet.domain.virtual_battery.calendar import local_midnight

pytestmark = pytest.mark.browser
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="module")
def seeded(live_server: DemoServer) -> DemoServer:
    seed_virtual_battery_demo(live_server.runtime, PASSWORD)
    return live_server


def test_the_partner_configures_a_virtual_battery(
    seeded: DemoServer, new_context: Callable[..., Any]
) -> None:
    page = new_context().new_page()
    sign_in(page, UTILITY_ADMIN)
    page.wait_for_url("**/home")
    page.locator("nav.main").get_by_role("link", name="Virtual batteries").click()
    expect(page.locator("h1")).to_have_text("Virtual batteries")
    row = page.locator("#battery-rows tr", has_text="Sonnenspeicher")
    expect(row).to_contain_text(CUSTOMER)
    expect(row).to_contain_text("10.0 kWh")
    # add one for the customer's house meter, unlimited, from yesterday
    form = page.locator("#battery-form")
    form.locator("input[name=name]").fill("Zweitspeicher")
    expect(form.locator("select[name=meter] option")).to_contain_text([re.compile("VBDEMO-MTR")])
    form.locator("input[name=capacity_kwh]").fill("0")
    form.get_by_role("button", name="Add").click()
    expect(page.locator("h1")).to_have_text(re.compile("Zweitspeicher"))
    expect(page.locator("#vb-level")).to_contain_text("kWh")
    # edit: a capacity recomputes the ledger
    edit = page.locator("#battery-edit")
    edit.locator("input[name=capacity_kwh]").fill("3")
    edit.get_by_role("button", name="Save").click()
    expect(page.locator("body")).to_contain_text("the ledger was recomputed")
    expect(page.locator("p.muted").first).to_contain_text("3.0 kWh")
    page.once("dialog", lambda d: d.accept())
    page.locator("#battery-delete button").click()
    page.wait_for_url(re.compile(r"/virtual-batteries\?notice="))
    expect(page.locator("#battery-rows")).not_to_contain_text("Zweitspeicher")


def test_the_customer_sees_the_battery_as_a_meter(
    seeded: DemoServer, new_context: Callable[..., Any]
) -> None:
    page = new_context().new_page()
    sign_in(page, CUSTOMER)
    page.wait_for_url(re.compile(r"/(home|site)"))
    page.goto("/virtual-batteries")
    row = page.locator("#battery-rows tr", has_text="Sonnenspeicher")
    expect(row.locator("td").first).to_have_text("🔋")
    expect(page.locator("#battery-form")).to_have_count(0)  # a customer does not configure
    row.get_by_role("link", name="Sonnenspeicher").click()
    expect(page.locator("#vb-live")).to_be_visible()
    expect(page.locator("#vb-percent")).to_contain_text("%")
    expect(page.locator("#vb-power")).to_have_text(re.compile("charging|discharging|idle"))
    # yesterday: filled at noon, emptied in the evening, import saved and its worth
    yesterday = seeded.runtime.clock.now().astimezone(BERLIN).date() - timedelta(days=1)
    page.locator("#period-form input[name=day]").fill(yesterday.isoformat())
    page.locator("#period-form button").click()
    hours = local_midnight(yesterday + timedelta(days=1), BERLIN) - local_midnight(
        yesterday, BERLIN
    )
    expect(page.locator("#energy-rows tbody tr")).to_have_count(hours // timedelta(hours=1))
    expect(page.locator("#vb-saved")).to_contain_text("kWh")
    saved = float(page.locator("#vb-saved").inner_text().split()[0])
    assert saved >= 9.9  # a full 10 kWh battery emptied at least once
    expect(page.locator("#vb-worth")).to_contain_text("EUR")
    expect(page.locator("#level-chart, #energy-rows").first).to_be_visible()
    expect(page.locator("#battery-edit")).to_have_count(0)
    with page.expect_download() as info:
        page.locator("#csv-intervals").click()
    assert info.value.suggested_filename.startswith("virtual-battery-")
