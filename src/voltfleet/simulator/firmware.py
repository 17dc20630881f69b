"""A simulated gateway's firmware installer: what a real gateway does with a ``firmware_update``
command (the command wire contract: params ``release_id``, ``version``, ``firmware_type``,
``url``, ``sha256``, ``size_bytes``).

It fetches the file from the command's short-lived link, checks its size and SHA-256 before
installing (a corrupted file is refused and reported ``failed``, the running version untouched),
then walks installing -> rebooting -> running the new version, reporting each step on the
firmware channel (``voltfleet/v1/<gw>/firmware`` or ``POST /api/v1/gateway/firmware-status``,
the same body: ``{"device", "release_id", "state", "version", "message"}``).

Faults for tests and demos: ``corrupt`` flips a byte of what was downloaded (the hash check must
catch it), ``fail_install`` makes the install fail, ``never_return`` leaves the device silent
after rebooting (the platform's per-device timeout must catch it).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

log = logging.getLogger(__name__)

Report = Callable[[dict[str, Any]], Awaitable[object]]
Fetch = Callable[[str], Awaitable[bytes]]


async def http_fetch(url: str) -> bytes:
    """The file behind a download link (HTTPS in production, HTTP in tests)."""
    async with httpx.AsyncClient(timeout=60.0) as client:
        r = await client.get(url)
        r.raise_for_status()
        return r.content


@dataclass
class Installer:
    fetch: Fetch = http_fetch
    # (device serial, firmware type) -> the version it runs
    versions: dict[tuple[str, str], str] = field(default_factory=dict)
    corrupt: bool = False
    fail_install: bool = False
    never_return: bool = False
    step_s: float = 0.05  # how long each step takes
    installed: list[str] = field(default_factory=list)  # release ids installed, in order

    def accepts(self, body: Any) -> bool:
        return isinstance(body, dict) and body.get("kind") == "firmware_update"

    def check(self, body: dict[str, Any]) -> str | None:
        """Why the command cannot be carried out, or None."""
        params = body.get("params")
        if not isinstance(params, dict):
            return "params missing"
        for key in ("release_id", "version", "firmware_type", "url", "sha256", "size_bytes"):
            if params.get(key) in (None, ""):
                return f"{key} missing"
        return None

    async def run(self, body: dict[str, Any], report: Report) -> bool:
        """Install; True when the device runs the new version."""
        params = body["params"]
        device = str(body.get("device") or "")
        base = {"device": device, "release_id": params["release_id"]}

        async def say(state: str, version: str = "", message: str = "") -> None:
            await report({**base, "state": state, "version": version, "message": message})

        await say("downloading")
        try:
            data = await self.fetch(str(params["url"]))
        except Exception as exc:  # any failure to fetch is the device's report, not a crash
            await say("failed", message=f"download failed: {exc}"[:300])
            return False
        if self.corrupt and data:
            data = data[:-1] + bytes([data[-1] ^ 0xFF])
        digest = hashlib.sha256(data).hexdigest()
        if len(data) != int(params["size_bytes"]) or digest != str(params["sha256"]).lower():
            await say(
                "failed",
                message=f"sha256 mismatch ({digest[:12]}...): the file is corrupt, not installed",
            )
            return False
        await say("installing")
        await asyncio.sleep(self.step_s)
        if self.fail_install:
            await say("failed", message="install failed: flash write error")
            return False
        await say("rebooting")
        await asyncio.sleep(self.step_s)
        if self.never_return:
            return False
        self.versions[(device, str(params["firmware_type"]))] = str(params["version"])
        self.installed.append(str(params["release_id"]))
        await say("running", version=str(params["version"]))
        return True
