"""The ``ports.ChargerLink`` of this process: charging limits and remote commands to the chargers
connected here, over OCPP (1.6J or 2.0.1, whichever the charger speaks).

``set_current_limit(serial, connector_id, limit_a, phases)`` installs a TxDefaultProfile on the
connector (connector 0: the charger's ChargePointMaxProfile / ChargingStationMaxProfile) with one
period of ``limit_a`` A per phase on ``phases`` phases, at the platform's profile id for that
purpose, so each new limit replaces the last. ``remote`` sends any command of
``protocols.ocpp.commands.ACTIONS`` in platform words. A charger that is not connected:
``set_current_limit`` is False, ``remote`` raises ``Unavailable``.

Get it with ``charger_link(runtime)``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import text

from voltfleet.app.charging.connections import Connections, registry
from voltfleet.app.charging.relay import HOLDER, STALE_S, Relay
from voltfleet.domain.charging_limits import ChargingLimit, LimitPeriod, Purpose, check_limit
from voltfleet.domain.fleet import normalise_serial
from voltfleet.protocols.ocpp.commands import PROFILE_IDS, as_dict
from voltfleet.protocols.ocpp.messages import ChargePointCommands, CommandError
from voltfleet.store.db import Database
from voltfleet.usecases.errors import AppError, Invalid, Unavailable

log = logging.getLogger(__name__)
T = TypeVar("T")

LIMIT_STACK_LEVEL = 1  # the allocator's limits; O&M's own profiles may sit above or below
FALLBACK_PROFILE_ID = 4  # the allocator's fallback limit, below its live ones (stack level 0)


@lru_cache(maxsize=1024)
def _one_period(
    profile_id: int, purpose: Purpose, limit_a: float, phases: int | None, stack_level: int
) -> ChargingLimit:
    """A limit of one period, checked (the same few limits go to many connectors: made once)."""
    return check_limit(
        ChargingLimit(
            profile_id=profile_id,
            purpose=purpose,
            periods=(LimitPeriod(0, limit_a, phases),),
            stack_level=stack_level,
        )
    )


class OcppChargerLink:
    """Callable from any event loop or thread's loop: a call is run on the loop that serves the
    charger's connection (a job runner's or a test client's loop is another one)."""

    def __init__(self, connections: Connections) -> None:
        self.connections = connections

    def _cp(self, serial: str) -> ChargePointCommands:
        cp = self.connections.by_serial(normalise_serial(serial))
        if cp is None:
            raise Unavailable(f"charger {serial} is not connected")
        return cp

    async def _on_its_loop(self, serial: str, work: Callable[[], Awaitable[T]]) -> T:
        device_id = self.connections.device_of(normalise_serial(serial))
        loop = self.connections.loop_of(device_id) if device_id else None
        if loop is None or loop is asyncio.get_running_loop():
            return await work()

        async def run() -> T:
            return await work()

        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(run(), loop))

    def loop_for(self, serial: str) -> asyncio.AbstractEventLoop | None:
        """The event loop serving the charger's connection (None: not connected here)."""
        device_id = self.connections.device_of(normalise_serial(serial))
        return self.connections.loop_of(device_id) if device_id else None

    def connected(self, serial: str) -> bool:
        return self.connections.by_serial(normalise_serial(serial)) is not None

    def version_of(self, device_id: str) -> str | None:
        """The OCPP version of the charger's connection here; None when it is not connected."""
        cp = self.connections.get(device_id)
        return cp.version if cp is not None else None

    async def set_current_limit(
        self, serial: str, connector_id: int, limit_a: float, phases: int | None = None
    ) -> bool:
        purpose = Purpose.STATION_MAX if connector_id == 0 else Purpose.TX_DEFAULT
        return await self._install(
            serial, connector_id, limit_a, phases, purpose, PROFILE_IDS[purpose], LIMIT_STACK_LEVEL
        )

    async def set_fallback_limit(
        self, serial: str, connector_id: int, limit_a: float, phases: int | None = None
    ) -> bool:
        """A TxDefaultProfile below the live limits (stack level 0, its own profile id): what
        the connector draws once the live limit is cleared. OCPP has no "on connection loss"
        profile, so a charger that keeps its last live limit offline keeps that one."""
        return await self._install(
            serial, connector_id, limit_a, phases, Purpose.TX_DEFAULT, FALLBACK_PROFILE_ID, 0
        )

    async def _install(
        self,
        serial: str,
        connector_id: int,
        limit_a: float,
        phases: int | None,
        purpose: Purpose,
        profile_id: int,
        stack_level: int,
    ) -> bool:
        limit = _one_period(profile_id, purpose, max(0.0, float(limit_a)), phases, stack_level)
        try:
            cp = self._cp(serial)
            reply = await self._on_its_loop(serial, lambda: cp.set_limit(connector_id, limit))
        except (CommandError, Unavailable) as exc:
            log.warning("charger %s: limit on connector %d not set: %s", serial, connector_id, exc)
            return False
        return reply.accepted

    async def remote(
        self, serial: str, action: str, params: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        try:
            cp = self._cp(serial)
            reply = await self._on_its_loop(serial, lambda: cp.command(action, dict(params)))
        except CommandError as exc:
            raise Invalid(str(exc)) from None
        return {"status": reply.status, "result": as_dict(reply.result)}


class RoutedChargerLink(OcppChargerLink):
    """``ports.ChargerLink`` across processes: here when the socket is here (the base class),
    else through the process that holds it (``Relay``)."""

    def __init__(self, local: OcppChargerLink, relay: Relay, db: Database) -> None:
        super().__init__(local.connections)
        self.relay = relay
        self.db = db

    def _held_elsewhere(self, key: str, value: str) -> tuple[str, str, str] | None:
        sql = HOLDER.format(key=key)
        for name in ("v", "stale", "me"):
            sql = sql.replace("%s", f":{name}", 1)
        with self.db.session() as s:
            row = s.execute(
                text(sql), {"v": value, "stale": STALE_S, "me": self.relay.process_id}
            ).first()
        return None if row is None else (row[0], row[1], row[2])

    def _here(self, serial: str) -> bool:
        return super().connected(serial)

    def connected(self, serial: str) -> bool:
        serial = normalise_serial(serial)
        return self._here(serial) or self._held_elsewhere("serial", serial) is not None

    def version_of(self, device_id: str) -> str | None:
        """The OCPP version the charger speaks on its connection, wherever it is; None when no
        process holds it."""
        here = super().version_of(device_id)
        if here is not None:
            return here
        held = self._held_elsewhere("device_id", device_id)
        return held[2] if held else None

    async def set_current_limit(
        self, serial: str, connector_id: int, limit_a: float, phases: int | None = None
    ) -> bool:
        if self._here(serial):
            return await super().set_current_limit(serial, connector_id, limit_a, phases)
        return await self._relayed_limit("set_current_limit", serial, connector_id, limit_a, phases)

    async def set_fallback_limit(
        self, serial: str, connector_id: int, limit_a: float, phases: int | None = None
    ) -> bool:
        if self._here(serial):
            return await super().set_fallback_limit(serial, connector_id, limit_a, phases)
        return await self._relayed_limit(
            "set_fallback_limit", serial, connector_id, limit_a, phases
        )

    async def _relayed_limit(
        self, method: str, serial: str, connector_id: int, limit_a: float, phases: int | None
    ) -> bool:
        args = {"connector_id": connector_id, "limit_a": limit_a, "phases": phases}
        try:
            reply = await self.relay.call(normalise_serial(serial), method, args)
        except AppError as exc:
            log.warning("charger %s: limit on connector %d not set: %s", serial, connector_id, exc)
            return False
        return bool(reply.get("accepted"))

    async def remote(
        self, serial: str, action: str, params: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        if self._here(serial):
            return await super().remote(serial, action, params)
        return await self.relay.call(
            normalise_serial(serial), "remote", {"action": action, "params": dict(params)}
        )


def routed_link(runtime: Any, local: OcppChargerLink) -> OcppChargerLink:
    """The runtime's ChargerLink: on PostgreSQL across processes (and this process's holding
    recorded for the others), on SQLite the local one."""
    url: str = runtime.db.url
    if not url.startswith("postgresql"):
        return local
    relay = Relay(url, local)
    local.connections.holding = relay
    return RoutedChargerLink(local, relay, runtime.db)


def charger_link(runtime: Any) -> OcppChargerLink:
    """The runtime's ChargerLink: over the chargers connected to this process, and on
    PostgreSQL also those other processes hold (``RoutedChargerLink``)."""
    found: OcppChargerLink | None = runtime.ocpp_link
    if found is None:
        found = runtime.ocpp_link = routed_link(runtime, OcppChargerLink(registry(runtime)))
    return found
