"""A simulated charger's firmware update: what a real charge point does with OCPP UpdateFirmware.

It fetches the file from the ``location`` it was given (over HTTP, as a charger does), reports
each step with FirmwareStatusNotification (1.6: Downloading, Downloaded, Installing, Installed;
2.0.1: Downloading, Downloaded, SignatureVerified when the update came with a signature,
Installing, InstallRebooting, then Installed after the reboot, each with the request id), and
reboots: the connection closes, opens again, and the BootNotification names the new version.

The version a file carries is its first line ``voltfleet-sim-firmware <version>`` (a real file's
header says it in the vendor's way); a file without it installs as ``sim-<sha256 prefix>``.
A download that fails is reported DownloadFailed and the charger stays on its version;
``fail_install`` makes the install fail (InstallationFailed).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from voltfleet.simulator.firmware import Fetch, http_fetch

log = logging.getLogger(__name__)

HEADER = b"voltfleet-sim-firmware "

# (status, request id) -> sent; the charger's own call, with its retries
Say = Callable[[str, int | None], Awaitable[object]]
Reboot = Callable[[str], Awaitable[None]]


def version_in(data: bytes) -> str:
    """The version a simulated firmware file carries (its header line), or one made from it."""
    first = data.split(b"\n", 1)[0]
    if first.startswith(HEADER):
        text = first[len(HEADER) :].decode(errors="replace").strip()
        if text:
            return text[:40]
    return "sim-" + hashlib.sha256(data).hexdigest()[:8]


@dataclass
class ChargerFirmware:
    version: str = "sim-1.0"  # the firmware the charger runs (its BootNotification says it)
    fetch: Fetch = http_fetch
    fail_install: bool = False
    step_s: float = 0.05
    statuses: list[str] = field(default_factory=list)  # every status sent, in order
    _task: asyncio.Task[None] | None = None

    def start(
        self,
        ocpp_version: str,
        location: str,
        request_id: int | None,
        signature: str | None,
        say: Say,
        reboot: Reboot,
    ) -> None:
        """Begin the update in the background (the UpdateFirmware call is answered at once)."""
        self._task = asyncio.get_running_loop().create_task(
            self._run(ocpp_version, location, request_id, signature, say, reboot),
            name="firmware-update",
        )

    async def wait(self) -> None:
        if self._task is not None:
            await self._task

    async def _run(
        self,
        ocpp_version: str,
        location: str,
        request_id: int | None,
        signature: str | None,
        say: Say,
        reboot: Reboot,
    ) -> None:
        async def status(word: str) -> None:
            self.statuses.append(word)
            await say(word, request_id)

        await asyncio.sleep(self.step_s)  # after the answer to UpdateFirmware
        await status("Downloading")
        try:
            data = await self.fetch(location)
        except Exception as exc:  # a failed fetch is the charger's report, not a crash
            log.info("simulated charger: download of %s failed: %r", location[:80], exc)
            await status("DownloadFailed")
            return
        await status("Downloaded")
        if ocpp_version == "2.0.1" and signature:
            await status("SignatureVerified")
        new_version = version_in(data)
        await status("Installing")
        await asyncio.sleep(self.step_s)
        if self.fail_install:
            await status("InstallationFailed")
            return
        if ocpp_version == "2.0.1":
            await status("InstallRebooting")
        else:
            await status("Installed")
        self.version = new_version
        await reboot(new_version)
        if ocpp_version == "2.0.1":
            await status("Installed")


def update_params_16(location: str, **_: Any) -> tuple[str, None, None]:
    """(location, request id, signature) of a 1.6 UpdateFirmware."""
    return location, None, None


def update_params_201(
    request_id: int, firmware: dict[str, Any], **_: Any
) -> tuple[str, int, str | None]:
    """(location, request id, signature) of a 2.0.1 UpdateFirmware."""
    return str(firmware["location"]), int(request_id), firmware.get("signature")
