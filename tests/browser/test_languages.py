"""German in a real browser (issue 19): the sign-in page follows the browser's language, and a
user who chooses German and German formats in the profile gets German pages from then on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import expect

from tests.browser import OWNER
from tests.browser.conftest import sign_in


def test_sign_in_by_browser_language_then_the_profile_choice(
    new_context: Callable[..., Any],
) -> None:
    page = new_context(locale="de-DE").new_page()
    page.goto("/login")
    expect(page.locator("h1")).to_have_text("Anmelden")
    expect(page.locator("html")).to_have_attribute("lang", "de")

    page = new_context(locale="en-US").new_page()
    sign_in(page, OWNER)
    page.wait_for_url("**/home")
    expect(page.locator("h1")).to_have_text("Home")
    page.goto("/account/profile")
    form = page.locator("#preferences-form")
    try:
        form.locator("select[name=language]").select_option("de")
        form.locator("select[name=formats]").select_option("de-DE")
        form.locator("input[name=timezone]").fill("Europe/Berlin")
        form.locator("button[type=submit]").click()
        expect(page.locator("#notice")).to_have_text("Einstellungen gespeichert.")
        expect(page.locator("html")).to_have_attribute("data-locale", "de-DE")
        page.goto("/home")
        expect(page.locator("h1")).to_have_text("Start")
        expect(page.locator("nav.main")).to_contain_text("Wartung")
    finally:  # the demo server is shared by the other browser tests: back to the defaults
        page.goto("/account/profile")
        form = page.locator("#preferences-form")
        form.locator("select[name=language]").select_option("")
        form.locator("select[name=formats]").select_option("")
        form.locator("input[name=timezone]").fill("")
        form.locator("button[type=submit]").click()
        expect(page.locator("#notice")).to_have_text("Preferences saved.")
