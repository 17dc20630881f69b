"""The departure card of a charger's page in headless Chromium: the installer opens the demo's
carport charger, whose waiting car has a departure, sees the neighbour's card's default in the
id-tag list, and sets a new departure and energy need on the site's clock; the card says it
was saved and shows the new time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser import DemoServer
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site

pytestmark = pytest.mark.browser


def test_the_installer_sets_a_departure_on_the_charger_page(
    installer_page: Any, live_server: DemoServer
) -> None:
    with live_server.runtime.db.session() as s:
        charger, zone = s.execute(
            select(Device.id, Site.timezone)
            .join(Site, Site.id == Device.site_id)
            .where(Device.serial == "DEMO-CARPORT-1")
        ).one()
    page = installer_page
    page.goto(f"/device/{charger}")
    row = page.locator("#charger-departures tr.departure-connector[data-connector='1']")
    expect(row.locator("td.departure-energy")).to_contain_text("10.0 kWh")
    expect(page.locator("#id-tags tr[data-tag='DEMO-RFID'] td.tag-departure-default")).to_have_text(
        "07:30, 20.0 kWh"
    )

    leaves = (datetime.now(UTC) + timedelta(hours=5)).astimezone(ZoneInfo(zone or "UTC"))
    form = page.locator("tr.departure-forms[data-connector='1'] form.departure-form")
    form.locator("input[name=departure_at]").fill(leaves.strftime("%Y-%m-%dT%H:%M"))
    form.locator("input[name=energy_need_kwh]").fill("25")
    form.locator("button[type=submit]").click()
    expect(page.locator("#departure-notice")).to_have_text("Departure time saved.")
    expect(row.locator("td.departure-at")).to_contain_text(leaves.strftime("%H:%M"))
    expect(row.locator("td.departure-energy")).to_contain_text("25.0 kWh")
