"""The power-management screen in headless Chromium: the installer walks the setup flow on a
demo home (no meter, three phases at 400 V, a 35 A main fuse), adds a group below the main
fuse and sees the live current per phase against each limit; the owner of the demo's power
location sees its tree and live allocation, with nothing to change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser import OWNER, DemoServer
from tests.browser.conftest import sign_in
from voltfleet.demo import HOMES
from voltfleet.store.models import Site

pytestmark = pytest.mark.browser


def site_id(server: DemoServer, name: str) -> str:
    with server.runtime.db.session() as s:
        found = s.scalar(select(Site.id).where(Site.name == name))
        assert found is not None
        return str(found)


def test_the_installer_sets_up_power_management(
    installer_page: Any, live_server: DemoServer
) -> None:
    page = installer_page
    sid = site_id(live_server, HOMES[1][0])
    page.goto(f"/sites/{sid}/power")
    expect(page.locator("#power-setup h2")).to_have_text("Get started")
    page.check("input[name=meter_device_id][value='']")
    page.check("input[name=grid_type][value='3x400']")
    page.fill("input[name=main_fuse_a]", "35")
    page.click("#setup-submit")
    expect(page.locator("#power-notice")).to_contain_text("main fuse is the first group")
    expect(page.locator("#power-tree .power-group").first).to_contain_text("Main fuse")
    expect(page.locator("#power-tree .power-group").first).to_contain_text("fuse 35.0 A")

    page.fill("#add-group-form input[name=name]", "Garage")
    page.fill("#add-group-form input[name=fuse_a]", "16")
    page.click("#add-group-submit")
    expect(page.locator("#power-notice")).to_have_text("Group saved.")
    garage = page.locator(".power-group[data-name='Garage']")
    expect(garage).to_contain_text("fuse 16.0 A")
    # the live table: each group's three phases, the chargers' share against the limit
    expect(page.locator("#power-live tr.power-phase")).to_have_count(6)
    expect(page.locator("#power-live tr.power-phase").first.locator("td.cap")).to_have_text(
        "35.0 A"
    )

    # a fuse of 0 A is refused with the reason, on the page
    page.fill("#add-group-form input[name=name]", "Nothing")
    page.fill("#add-group-form input[name=fuse_a]", "0")
    page.evaluate("document.querySelector('#add-group-form').noValidate = true")
    page.click("#add-group-submit")
    expect(page.locator("#power-error")).to_contain_text("fuse_a")


def test_the_owner_sees_the_tree_and_the_live_allocation_only(
    new_context: Callable[..., Any], live_server: DemoServer
) -> None:
    page = new_context().new_page()
    sign_in(page, OWNER)
    page.wait_for_url("**/home")
    page.goto(f"/sites/{site_id(live_server, HOMES[0][0])}/power")
    expect(page.locator("#power-live-card h2")).to_have_text("Live allocation")
    expect(page.locator("#power-live-connectors tbody tr")).to_have_count(5)
    expect(page.locator(".power-group[data-name='Carport']")).to_be_visible()
    expect(page.locator("form")).to_have_count(1)  # the sign-out form only
