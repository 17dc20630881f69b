"""Reading the demo's mail outbox in the browser tests: only the platform superuser may, so the
mail is read in a browser context of the superuser's (signed in once per server: sign-ins are
rate-limited per account)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import expect

SUPERUSER = "admin@demo.voltfleet"
_states: dict[str, Any] = {}


def outbox_mails(page: Any, to: str, subject: str) -> str:
    """The body of the newest mail to ``to`` whose subject contains ``subject``, read from
    /outbox by the superuser in a context of the browser of ``page``."""
    from tests.browser.conftest import sign_in

    if not page.url.startswith("http"):
        page.goto("/login")
    parts = urlsplit(page.url)
    origin = f"{parts.scheme}://{parts.netloc}"
    browser = page.context.browser
    if origin not in _states:
        ctx = browser.new_context(base_url=origin)
        try:
            signing = ctx.new_page()
            sign_in(signing, SUPERUSER)
            signing.wait_for_url("**/home")
            _states[origin] = ctx.storage_state()
        finally:
            ctx.close()
    ctx = browser.new_context(base_url=origin, storage_state=_states[origin])
    try:
        reader = ctx.new_page()
        reader.goto("/outbox")
        mails = reader.locator("article.mail").filter(has_text=to).filter(has_text=subject)
        expect(mails.first).to_be_visible()
        return str(mails.first.locator("pre").inner_text())
    finally:
        ctx.close()
