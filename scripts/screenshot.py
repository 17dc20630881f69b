"""Make docs/screenshot.png: the Users page as the installer's administrator, 1280x800.

Starts the demo application like the browser tests do (fresh SQLite in a temp dir, demo users
seeded, uvicorn on a free loopback port) and photographs it in headless Chromium.

    .venv/bin/python scripts/screenshot.py [output.png]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.browser, the shared demo-server helper

from playwright.sync_api import sync_playwright  # noqa: E402
from tests.browser import INSTALLER_ADMIN, PASSWORD, DemoServer, launch_chromium  # noqa: E402


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshot.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="voltfleet-shot-") as tmp:
        server = DemoServer(Path(tmp)).start()
        try:
            with sync_playwright() as pw:
                browser = launch_chromium(pw)
                page = browser.new_page(
                    base_url=server.url, viewport={"width": 1280, "height": 800}
                )
                page.goto("/login")
                page.fill("input[name=email]", INSTALLER_ADMIN)
                page.fill("input[name=password]", PASSWORD)
                page.click("form[action='/login'] button[type=submit]")
                page.wait_for_url("**/home")
                page.goto("/account/users")
                page.wait_for_selector("#users tbody tr")
                page.screenshot(path=str(out))
                browser.close()
        finally:
            server.stop()
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
