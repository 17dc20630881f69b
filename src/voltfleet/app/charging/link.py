"""The platform's side of one charger connection (protocols.ocpp.central16.ChargerLink).

Each message is one unit of work on the database, run in the thread pool (the store is
synchronous) and committed before the handler answers the charger: an acknowledged message is a
stored one. A database failure becomes an OCPP CallError, and the charger sends again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from ocpp.exceptions import SecurityError  # type: ignore[import-untyped]
from starlette.concurrency import run_in_threadpool

from voltfleet.app.charging import service
from voltfleet.app.runtime import Runtime
from voltfleet.protocols.ocpp.central16 import BootInfo, StartRequest, StatusReport, StopRequest
from voltfleet.protocols.ocpp.v16_words import MeterSample

T = TypeVar("T")


class AppChargerLink:
    def __init__(
        self, runtime: Runtime, device_id: str, on_gone: Callable[[], Awaitable[None]]
    ) -> None:
        self.runtime = runtime
        self.device_id = device_id
        self.on_gone = on_gone  # ends the connection of a charger that was removed

    def _unit(self, fn: Callable[..., T], *args: Any) -> T:
        with self.runtime.db.session() as s:
            return fn(s, service.live_charger(s, self.device_id), *args)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return await run_in_threadpool(self._unit, fn, *args)
        except service.ChargerGone:
            await self.on_gone()
            raise SecurityError(
                details={"cause": "this charger is no longer bound to a site on the platform"}
            ) from None

    async def boot(self, info: BootInfo) -> int:
        await self._run(service.boot, info)
        return self.runtime.settings.ocpp_heartbeat_s

    async def heartbeat(self) -> None:
        await self._run(service.heartbeat)

    async def status(self, report: StatusReport) -> None:
        await self._run(service.status, report)

    async def authorize(self, id_tag: str) -> bool:
        """Every id tag is accepted: the platform keeps no list of RFID cards or users yet, and a
        home charger's owner plugs in their own car."""
        return True

    async def start_transaction(self, request: StartRequest) -> int:
        return await self._run(service.start_transaction, self.runtime.ingest, request)

    async def meter_values(
        self, connector_id: int, transaction_id: int | None, values: Sequence[MeterSample]
    ) -> None:
        await self._run(
            service.meter_values, self.runtime.ingest, connector_id, transaction_id, values
        )

    async def stop_transaction(self, request: StopRequest) -> None:
        await self._run(service.stop_transaction, self.runtime.ingest, request)
