"""The chargers connected to this process, so the platform can call them (the smart-charging
work sends its charging profiles through ``get``) and end them.

One entry per charger device: a charger that connects again (after a network drop the old socket
may linger) replaces its old connection, which is closed. With several voltfleet processes behind
a proxy each holds its own chargers.

A connection lives only as long as the credential it was opened with. While any charger is
connected, a watcher asks the database every ``check_every_s`` which of their credentials were
revoked (a token rotated with POST /api/v1/devices/{id}/token) or whose device was removed, and
closes those connections with the reason (1008). The database is asked rather than told because
the request that rotates a token may be served by another process than the one holding the
charger's socket; each message a charger sends is checked as well (``link``).

The rate limit's bucket is kept per charger here, so reconnecting does not refill it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from fastapi import FastAPI

from voltfleet.protocols.ocpp.connection import CLOSE_POLICY, Channel, FrameLimits, TokenBucket
from voltfleet.protocols.ocpp.journal import Journal
from voltfleet.protocols.ocpp.messages import ChargePointCommands
from voltfleet.settings import Settings

log = logging.getLogger(__name__)

# {device id: credential id} -> {device id: why its connection must end}
Revoked = Callable[[dict[str, str]], Awaitable[dict[str, str]]]


class Holding(Protocol):
    """Told when this process starts and stops holding a charger (``relay.Relay`` records it
    for the other processes)."""

    async def attached(self, device_id: str, serial: str, version: str) -> None: ...

    def detached(self, device_id: str) -> None: ...


@dataclass
class _Entry:
    cp: ChargePointCommands
    channel: Channel
    credential_id: str
    serial: str
    loop: asyncio.AbstractEventLoop


class Connections:
    def __init__(
        self,
        now: Callable[[], datetime],
        revoked: Revoked | None = None,
        check_every_s: float = 5.0,
        limits: FrameLimits | None = None,
    ) -> None:
        self._now = now
        self._by_device: dict[str, _Entry] = {}
        self._by_serial: dict[str, str] = {}  # serial -> device id
        self._buckets: dict[str, TokenBucket] = {}
        self._journals: dict[str, Journal] = {}
        self._revoked = revoked
        self.check_every_s = check_every_s
        self.limits = limits or FrameLimits()
        self._watcher: asyncio.Task[None] | None = None
        self.holding: Holding | None = None  # set by bootstrap on PostgreSQL

    def bucket(self, device_id: str) -> TokenBucket:
        """The charger's frame-rate bucket (one per charger device, across its connections)."""
        found = self._buckets.get(device_id)
        if found is None:
            found = self._buckets[device_id] = TokenBucket(
                self.limits.frames_per_s, self.limits.burst
            )
        return found

    def journal(self, device_id: str) -> Journal:
        """The charger's message log (kept across its connections, in this process)."""
        found = self._journals.get(device_id)
        if found is None:
            found = self._journals[device_id] = Journal(self._now)
        return found

    def journal_if_any(self, device_id: str) -> Journal | None:
        return self._journals.get(device_id)

    async def attach(
        self,
        device_id: str,
        cp: ChargePointCommands,
        channel: Channel,
        credential_id: str,
        serial: str = "",
    ) -> bool:
        """Register the charger's new connection; True when it replaced an open one (closed)."""
        first = not self._by_device
        old = self._by_device.get(device_id)
        loop = asyncio.get_running_loop()
        self._by_device[device_id] = _Entry(cp, channel, credential_id, serial, loop)
        if serial:
            self._by_serial[serial] = device_id
        if old is not None:
            log.warning("OCPP: charger %s connected again: closing its previous connection", cp.id)
            await old.channel.close(1000, "replaced by a new connection")
        if self._revoked is not None and (first or self._watcher is None or self._watcher.done()):
            if self._watcher is not None:
                self._watcher.cancel()  # one still asleep since the last charger left
            self._watcher = asyncio.create_task(self._watch(), name="ocpp-credential-watch")
        if self.holding is not None and serial:
            try:
                await self.holding.attached(device_id, serial, cp.version)
            except Exception:  # the charger stays served here; others cannot reach it yet
                log.warning(
                    "OCPP: could not record that this process holds %s", serial, exc_info=True
                )
        return old is not None

    def detach(self, device_id: str, cp: ChargePointCommands) -> bool:
        """Forget ``cp``; False when a newer connection of the charger has replaced it."""
        current = self._by_device.get(device_id)
        if current is None or current.cp is not cp:
            return False
        del self._by_device[device_id]
        if self._by_serial.get(current.serial) == device_id:
            del self._by_serial[current.serial]
        if self.holding is not None:
            self.holding.detached(device_id)
        return True

    def get(self, device_id: str) -> ChargePointCommands | None:
        found = self._by_device.get(device_id)
        return found.cp if found else None

    def loop_of(self, device_id: str) -> asyncio.AbstractEventLoop | None:
        """The event loop serving the charger's connection (calls to it must run there)."""
        found = self._by_device.get(device_id)
        return found.loop if found else None

    def by_serial(self, serial: str) -> ChargePointCommands | None:
        device_id = self._by_serial.get(serial)
        return self.get(device_id) if device_id else None

    def device_of(self, serial: str) -> str | None:
        return self._by_serial.get(serial)

    async def close(self, device_id: str, reason: str, code: int = CLOSE_POLICY) -> bool:
        """End the charger's connection (the charger is told ``reason``); False if none."""
        found = self._by_device.get(device_id)
        if found is None:
            return False
        await found.channel.close(code, reason)
        return True

    async def check(self) -> dict[str, str]:
        """Close the connections whose credential is no longer valid; returns them, with why."""
        if self._revoked is None or not self._by_device:
            return {}
        opened = {d: e.credential_id for d, e in self._by_device.items()}
        ended = await self._revoked(opened)
        for device_id, reason in ended.items():
            entry = self._by_device.get(device_id)
            if entry is not None and entry.credential_id == opened[device_id]:
                log.info("OCPP: charger %s: %s", entry.cp.id, reason)
                await entry.channel.close(CLOSE_POLICY, reason)
        return ended

    async def _watch(self) -> None:
        while self._by_device:
            await asyncio.sleep(self.check_every_s)
            try:
                await self.check()
            except Exception:  # a database outage: try again at the next round
                log.warning("OCPP: checking the chargers' credentials failed", exc_info=True)

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with suppress(asyncio.CancelledError):
                await self._watcher

    def __len__(self) -> int:
        return len(self._by_device)


def connections(app: FastAPI) -> Connections:
    return registry(app.state.runtime)


def registry(runtime: Any) -> Connections:
    """The runtime's registry of open charger connections (made on first use)."""
    found: Connections | None = runtime.ocpp_connections
    if found is None:
        from voltfleet.app.charging.link import revoked_credentials

        settings: Settings = runtime.settings

        async def revoked(opened: dict[str, str]) -> dict[str, str]:
            return await revoked_credentials(runtime, opened)

        found = Connections(
            runtime.clock.now, revoked, settings.ocpp_credential_check_s, frame_limits(settings)
        )
        runtime.ocpp_connections = found
    return found


def frame_limits(settings: Settings) -> FrameLimits:
    return FrameLimits(
        max_frame_bytes=settings.ocpp_max_frame_bytes,
        frames_per_s=settings.ocpp_frames_per_s,
        burst=settings.ocpp_frame_burst,
        bad_per_s=settings.ocpp_bad_frames_per_s,
        bad_burst=settings.ocpp_bad_frame_burst,
    )
