"""Make the README's screenshots (docs/screenshots/*.png) at the manual's minimum, 1366x768.

Photographs a running demo (``bash scripts/demo.sh``; give it two minutes so the simulated
homes have sent their figures), signed in as the installer's administrator: the home page, the
site list, the first site's overview and the alarm list, in headless Chromium. Run it again when
one of those pages changes. (The browser tests' demo server has no simulated homes: its pages
would show zeros.)

    .venv/bin/python scripts/screenshots.py [--url http://127.0.0.1:8000] [home sites ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.browser, the shared demo-server helper

from playwright.sync_api import Page, sync_playwright  # noqa: E402
from tests.browser import INSTALLER_ADMIN, PASSWORD, launch_chromium  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


def _site_overview(page: Page) -> None:
    page.goto("/site")
    href = page.locator("table tbody tr a[href^='/site/']").first.get_attribute("href")
    assert href
    page.goto(href)
    page.wait_for_selector("#site-tabs")
    page.wait_for_timeout(1500)  # the power flow's first live update


SHOTS = {
    "home": lambda page: (page.goto("/home"), page.wait_for_selector("#fleet-kpis")),
    "sites": lambda page: (page.goto("/site"), page.wait_for_selector("#sites")),
    "site-overview": _site_overview,
    "alarms": lambda page: (page.goto("/maintenance/alarms"), page.wait_for_selector("main")),
}


def main() -> None:
    args = sys.argv[1:]
    url = "http://127.0.0.1:8000"
    if args[:1] == ["--url"]:
        url, args = args[1], args[2:]
    wanted = args or list(SHOTS)
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(
            base_url=url, viewport={"width": 1366, "height": 768}, locale="en-GB"
        )
        page.goto("/login")
        page.fill("input[name=email]", INSTALLER_ADMIN)
        page.fill("input[name=password]", PASSWORD)
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_url("**/home")
        for name in wanted:
            SHOTS[name](page)
            page.screenshot(path=str(OUT / f"{name}.png"))
            print(OUT / f"{name}.png")
        browser.close()


if __name__ == "__main__":
    main()
