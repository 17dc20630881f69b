"""Fixtures for the browser tests: one demo server per run, one Chromium per test module.

Without /usr/bin/chromium the browser tests are skipped, unless VOLTFLEET_REQUIRE_BROWSER=1 (set
by scripts/test.sh), which turns the absence into a failure.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import tests.browser as support
from tests.browser import (
    INSTALLER_ADMIN,
    PASSWORD,
    DemoServer,
    launch_chromium,
)

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _require_chromium() -> None:
    if support.CHROMIUM.exists():
        return
    message = f"{support.CHROMIUM} is missing: apt-get install chromium"
    if os.environ.get("VOLTFLEET_REQUIRE_BROWSER") == "1":
        pytest.fail(f"the browser tests are required (VOLTFLEET_REQUIRE_BROWSER=1): {message}")
    pytest.skip(message)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """The demo application (fresh SQLite, demo users seeded) on a free loopback port."""
    server = DemoServer(tmp_path_factory.mktemp("browser-demo")).start()
    try:
        yield server
    finally:
        server.stop()


# Module scope, not session: while Playwright's sync API is open, its asyncio loop counts as
# running in the main thread, which breaks every asyncio test (pytest-asyncio) that runs later.
@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_context(chromium: Any, live_server: DemoServer) -> Iterator[Callable[..., Any]]:
    """Open fresh browser contexts (own cookies) on the live server; all closed at the end."""
    contexts: list[Any] = []

    def make(**options: Any) -> Any:
        options.setdefault("viewport", {"width": 1280, "height": 800})
        ctx = chromium.new_context(base_url=live_server.url, **options)
        ctx.set_default_timeout(10_000)
        contexts.append(ctx)
        return ctx

    yield make
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def page(new_context: Callable[..., Any]) -> Any:
    """A page in a fresh context, signed in as nobody."""
    return new_context().new_page()


def sign_in(page: Any, email: str, password: str = PASSWORD) -> None:
    """Fill the sign-in form and submit it (the caller asserts where that leads)."""
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("form[action='/login'] button[type=submit]")


@pytest.fixture(scope="module")
def installer_state(chromium: Any, live_server: DemoServer) -> dict[str, Any]:
    """The installer administrator's signed-in session, captured once.

    Sign-in attempts are rate-limited per account (5 a minute, counted whether they succeed or
    not), so the tests that only need to *be* the installer reuse this session.
    """
    ctx = chromium.new_context(base_url=live_server.url)
    try:
        page = ctx.new_page()
        sign_in(page, INSTALLER_ADMIN)
        page.wait_for_url("**/home")
        return dict(ctx.storage_state())
    finally:
        ctx.close()


@pytest.fixture
def installer_page(new_context: Callable[..., Any], installer_state: dict[str, Any]) -> Any:
    """A page signed in as the installer administrator (Bright Roofs Installers)."""
    return new_context(storage_state=installer_state).new_page()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
