"""Browser tests: the portal served by a real uvicorn, driven in headless Chromium by Playwright.

The helpers here are shared by the fixtures in ``conftest.py`` and by ``scripts/screenshot.py``:
``DemoServer`` runs the demo application on a free loopback port in a background thread, and
``launch_chromium`` starts the Debian Chromium (no ``playwright install`` is needed or possible).
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn

from voltfleet.bootstrap import build_runtime, create_app
from voltfleet.demo import DEMO_PASSWORD, seed_demo
from voltfleet.settings import Settings

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

    from voltfleet.app.runtime import Runtime

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

INSTALLER_ADMIN = "installer@demo.voltfleet"
OM_ENGINEER = "om@demo.voltfleet"
OWNER = "owner@demo.voltfleet"
INSTALLER_ORG = "Bright Roofs Installers"
PASSWORD = DEMO_PASSWORD


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def demo_settings(data_dir: Path) -> Settings:
    """Demo mode on a fresh SQLite file, with argon2 cheap enough for tests."""
    return Settings(
        mode="demo",
        data_dir=data_dir,
        database_url=f"sqlite:///{data_dir / 'voltfleet.db'}",
        secret_key="browser-test-secret-" + "k" * 40,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        # One server serves every browser module, and each signs its people in: the default
        # limits (5 a minute per account) refused the installer's sign-in when the suite ran
        # fast. The limits themselves are tested in tests/app/test_login_limits.py.
        login_limit_per_account="600/minute",
        login_limit_per_address="6000/minute",
    )


class DemoServer:
    """The demo application served by uvicorn on 127.0.0.1 in a daemon thread."""

    def __init__(self, data_dir: Path) -> None:
        self.runtime: Runtime = build_runtime(demo_settings(data_dir))
        self.app = create_app(runtime=self.runtime)
        seed_demo(self.runtime)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="uvicorn", daemon=True)

    def start(self, timeout_s: float = 15.0) -> DemoServer:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on {self.url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self.runtime.db.engine.dispose()


def launch_chromium(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
