"""Alarms in headless Chromium: the installer filters the alarm list by type, alarm info and time
zone, opens an alarm's remedy on demand, finds the same list on the site's and the device's Alarm
tab, and reads the subscriptions and delivery log; nothing overflows at 1366 px."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser import DemoServer
from voltfleet.store.alarm_models import Alarm
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def alarms(live_server: DemoServer) -> dict[str, str]:
    """Two active alarms on the first demo home's gateway (the seed has yesterday's one)."""
    rt = live_server.runtime
    now = rt.clock.now()
    with rt.db.session() as s:
        site = s.scalars(select(Site).order_by(Site.created_at, Site.name)).first()
        assert site is not None
        gw = s.scalar(select(Device).where(Device.site_id == site.id, Device.kind == "gateway"))
        assert gw is not None
        for code, severity, level, message in (
            ("INV_ARC_FAULT", "major", "urgent", "string 2 arc"),
            ("INV_FAN_FAULT", "warning", "common", "fan 1 at 0 rpm"),
        ):
            if s.scalar(select(Alarm).where(Alarm.device_id == gw.id, Alarm.code == code)):
                continue
            s.add(
                Alarm(
                    site_id=site.id,
                    device_id=gw.id,
                    code=code,
                    severity=severity,
                    level=level,
                    message=message,
                    raised_at=now - timedelta(minutes=30),
                )
            )
        return {"site": site.id, "device": gw.id}


def test_filters_remedy_and_tabs(installer_page: Any, alarms: dict[str, str]) -> None:
    page = installer_page
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto("/maintenance/alarms?status=all")
    rows = page.locator("#alarm-rows tbody tr[data-alarm]")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 3

    # Alarm type: only urgent ones.
    page.select_option("select[name=level]", "urgent")
    page.click("#alarm-filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"level=urgent"))
    levels = page.locator("#alarm-rows tbody tr[data-alarm]").evaluate_all(
        "rows => rows.map(r => r.dataset.level)"
    )
    assert levels and set(levels) == {"urgent"}, levels

    # Alarm info, with the day range in a chosen zone: the page says which (times stay on each
    # site's clock).
    page.select_option("select[name=level]", "")
    page.fill("input[name=q]", "uplink")
    page.select_option("select[name=tz]", "Europe/Berlin")
    page.click("#alarm-filters button[type=submit]")
    only = page.locator("#alarm-rows tbody tr[data-alarm]")
    expect(only).to_have_count(1)
    assert only.first.get_attribute("data-code") == "GW_BUFFER_NEARLY_FULL"
    expect(page.locator("#alarm-rows thead")).to_contain_text("site's clock")
    expect(page.locator("main")).to_contain_text("the CSV use Europe/Berlin")

    # The remedy opens on demand.
    remedy = only.first.locator("details.remedy")
    text = remedy.locator("p")
    expect(text).to_be_hidden()
    remedy.locator("summary").click()
    expect(text).to_be_visible()
    expect(text).to_contain_text("internet connection")

    # Nothing is clipped on the right at 1366 px.
    wide = page.evaluate(
        "() => [...document.querySelectorAll('.table-wrap')]"
        ".some(w => w.scrollWidth > w.clientWidth + 1)"
    )
    assert not wide

    # The site's and the device's Alarm tabs hold the same list, fixed to them.
    page.goto(f"/site/{alarms['site']}/alarms")
    expect(page.locator("tr[data-code=INV_ARC_FAULT]")).to_have_count(1)
    expect(page.locator("select[name=site_id]")).to_have_count(0)
    page.goto(f"/device/{alarms['device']}/alarms?level=common")
    expect(page.locator("#alarm-rows tbody tr[data-alarm]")).to_have_count(1)
    expect(page.locator("tr[data-code=INV_FAN_FAULT]")).to_have_count(1)

    # Notifications: the demo's subscriptions and delivery log.
    page.goto("/maintenance/alarm-subscriptions")
    expect(page.locator("tr[data-subscription]")).to_have_count(3)  # the owner's too: same org
    expect(page.locator("#delivery-rows tr[data-status=failed]")).to_have_count(1)
    expect(page.locator("#delivery-rows")).to_contain_text("Connection refused")
