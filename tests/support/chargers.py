"""OCPP 1.6 chargers that stay connected, as real ones do: each connects (through a proxy, over
TLS when given a context), boots, answers what the central system asks (tests/ocpp/stations.py)
and, when its socket drops, connects again after ``reconnect_s``. What a charger received and
the charging profiles it keeps survive a reconnect (a charger keeps its profiles in its own
memory). They run on an event loop in a thread of their own, so a synchronous test can kill
processes meanwhile; every wait is bounded."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tests.ocpp.stations import station


@dataclass
class Charger:
    serial: str
    token: str
    connections: int = 0  # sockets opened and booted
    connected: bool = False
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # every connection
    profiles: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # kept, by connector
    errors: list[str] = field(default_factory=list)

    def limits(self, connector_id: int = 1) -> dict[str, float]:
        """The first period's limit (A) of each kept profile of the connector (and of the whole
        charger, connector 0), by the profile's purpose."""
        out: dict[str, float] = {}
        for p in self.profiles.get(0, []) + self.profiles.get(connector_id, []):
            schedule = p["charging_schedule"]
            schedule = schedule[0] if isinstance(schedule, list) else schedule
            out[p["charging_profile_purpose"]] = float(
                schedule["charging_schedule_period"][0]["limit"]
            )
        return out


def adopt(c: Charger, cp: Any) -> None:
    """Give the new connection's station the charger's memory, with what it received before
    this point (a limit may arrive before the boot's answer does): no await in here."""
    c.received.extend(cp.received)
    for connector, kept in cp.profiles.items():
        mine = c.profiles.setdefault(connector, [])
        for profile in kept:
            mine[:] = [
                p for p in mine if p["charging_profile_id"] != profile["charging_profile_id"]
            ]
            mine.append(profile)
    cp.received, cp.profiles = c.received, c.profiles


class ChargerFleet:
    """``chargers`` connected to ``base`` (http(s)://host:port) until ``stop``."""

    def __init__(
        self,
        base: str,
        chargers: list[Charger],
        tls: ssl.SSLContext | None = None,
        reconnect_s: float = 2.0,
    ) -> None:
        self.base, self.chargers, self.tls, self.reconnect_s = base, chargers, tls, reconnect_s
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="chargers", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main())

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        await asyncio.gather(*(self._keep(c) for c in self.chargers))

    async def _keep(self, c: Charger) -> None:
        assert self._stop is not None
        stop = asyncio.create_task(self._stop.wait())
        while not self._stop.is_set():
            try:
                kw: dict[str, Any] = {"ssl": self.tls} if self.tls is not None else {}
                async with station(self.base, c.serial, c.token, **kw) as cp:
                    adopt(c, cp)
                    c.connections += 1
                    c.connected = True
                    closed = asyncio.create_task(cp._connection.wait_closed())
                    await asyncio.wait({closed, stop}, return_when=asyncio.FIRST_COMPLETED)
                    closed.cancel()
            except Exception as exc:  # refused, proxy error, dropped mid-boot: try again
                c.errors.append(f"{type(exc).__name__}: {exc}"[:300])
            c.connected = False
            if not self._stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.reconnect_s)

    def wait(self, check: Any, timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while not check():
            if time.monotonic() > deadline:
                state = [
                    (
                        c.serial,
                        c.connections,
                        c.connected,
                        c.limits(),
                        [a for a, _ in c.received][-4:],
                        c.errors[-2:],
                    )
                    for c in self.chargers
                ]
                raise AssertionError(f"timed out after {timeout_s} s waiting for {what}: {state}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(20)
