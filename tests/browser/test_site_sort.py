"""The site list's sort in Chromium (issue 19): natural order by name by default ("home 6"
before "home 10"), and clicking a column heading sorts by it, clicking again reverses.

The sites belong to an organisation of their own (a distributor under the platform, made here),
so the shared demo server's other tests count what they counted before."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser import PASSWORD, DemoServer
from tests.browser.conftest import sign_in
from voltfleet.app.orgs.service import build_org
from voltfleet.app.users.service import new_user
from voltfleet.domain.access import OrgType
from voltfleet.store.models import Org, Site

pytestmark = pytest.mark.browser

TAG = uuid.uuid4().hex[:6]
ADMIN = f"sorter-{TAG}@example.org"
# name -> capacity (kWp): by capacity the order is neither the natural nor the text order
SITES = {"home 10": 4.0, "home 6": 9.0, "home 2": 2.5, "home 1": 6.0}


@pytest.fixture(scope="module")
def sorter(live_server: DemoServer) -> str:
    runtime = live_server.runtime
    with runtime.db.session() as s:
        platform = s.scalar(select(Org).where(Org.type == "platform"))
        assert platform is not None
        org = build_org(platform, f"Sort Check {TAG}", OrgType.DISTRIBUTOR, "DE")
        s.add(org)
        s.flush()
        new_user(
            s,
            runtime,
            email=ADMIN,
            username="Sam Sorter",
            password=PASSWORD,
            org_id=org.id,
            role="admin",
            country="DE",
        )
        for name, kwp in SITES.items():
            s.add(
                Site(
                    org_id=org.id,
                    name=name,
                    country="DE",
                    timezone="Europe/Berlin",
                    capacity_kwp=kwp,
                )
            )
        s.commit()
    return ADMIN


def test_the_site_list_sorts_naturally_and_by_the_clicked_column(
    new_context: Any, sorter: str
) -> None:
    page = new_context(viewport={"width": 1366, "height": 768}).new_page()
    sign_in(page, sorter)
    page.wait_for_url("**/home")
    page.goto("/site")
    names = page.locator("#sites tbody td[data-col=name] a")
    # natural order by default: "home 2" and "home 6" before "home 10" (text order puts it 2nd)
    expect(names).to_have_text(["home 1", "home 2", "home 6", "home 10"])
    name_head = page.locator("th[data-col=name] a.sort")
    expect(name_head).to_have_attribute("aria-sort", "ascending")

    name_head.click()  # again: descending
    expect(page).to_have_url(re.compile(r"sort=-name"))
    expect(names).to_have_text(["home 10", "home 6", "home 2", "home 1"])
    expect(page.locator("th[data-col=name] a.sort")).to_have_attribute("aria-sort", "descending")

    page.locator("th[data-col=capacity] a.sort").click()  # another column: ascending by it
    expect(page).to_have_url(re.compile(r"sort=capacity"))
    expect(names).to_have_text(["home 2", "home 10", "home 1", "home 6"])
    page.locator("th[data-col=capacity] a.sort").click()
    expect(page).to_have_url(re.compile(r"sort=-capacity"))
    expect(names).to_have_text(["home 6", "home 1", "home 10", "home 2"])
