"""A German reader in a real browser (issue 19): the home page, the site list and a site's
overview show none of a list of English sentences (tile captions, headings, notes and the
sentences built in Python), and the home tile says in German where its total yield comes from."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import expect

from tests.browser import INSTALLER_ADMIN
from tests.browser.conftest import sign_in

ENGLISH = (
    "Fleet today",
    "kWh total yield",
    "kWh yield today",
    "Yield ranking",
    "Green efficiency",
    "Revenue and monthly yield",
    "from the inverters' lifetime counters",
    "since the sites joined",
    "since joining",
    "the others since joining",
    "since it joined on",
    "No sites yet.",
    "Sign out",
    "Total yield",
    "Power flow",
    "Alarms",
)


def _no_english(page: Any, where: str) -> None:
    text = page.locator("body").inner_text()
    found = [s for s in ENGLISH if re.search(rf"(?<![\w']){re.escape(s)}(?![\w'])", text)]
    assert not found, (where, found)


def test_a_german_reader_sees_no_english_sentence(new_context: Callable[..., Any]) -> None:
    page = new_context(locale="de-DE").new_page()
    sign_in(page, INSTALLER_ADMIN)
    page.wait_for_url("**/home")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator("#kpi-yield-total-source")).to_have_text(
        re.compile(r"Gesamtzähler|seit dem Beitritt")
    )
    _no_english(page, "home")
    page.goto("/site")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    _no_english(page, "site list")
    first = page.locator("table tbody tr a[href^='/site/']").first
    href = first.get_attribute("href")
    assert href
    page.goto(href)
    expect(page.locator("html")).to_have_attribute("lang", "de")
    _no_english(page, f"site overview {href}")
