"""A simulated home's EV charger: an OCPP 1.6J charge point over a real WebSocket.

It is the ``ocpp`` library's ChargePoint over a ``websockets`` client, with the subprotocol
``ocpp1.6`` and HTTP Basic (security profile 1: the charge point id and the charger's token). It
boots, reports its connector Available and sends heartbeats; then the home model's EV drives it,
one simulated step at a time (``step``): when the car plugs in it authorises and starts a
transaction, every step it sends its meter values (energy register, power, current per phase),
and when the car leaves it stops the transaction. Timestamps are simulated time.

The register has a resolution of 1 Wh (as a real meter's display): every value sent is the
register rounded down, so the counter never goes backwards and the energy of a session is the
simulator's to within 1 Wh. Transaction messages are sent again when the platform answers with an
error or not at all (a real charger's TransactionMessageAttempts), and the connection is opened
again when it drops.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ocpp.exceptions import OCPPError  # type: ignore[import-untyped]
from ocpp.v16 import ChargePoint, call  # type: ignore[import-untyped]
from ocpp.v16.datatypes import MeterValue, SampledValue  # type: ignore[import-untyped]
from ocpp.v16.enums import (  # type: ignore[import-untyped]
    ChargePointErrorCode,
    ChargePointStatus,
    Measurand,
    Phase,
    ReadingContext,
    Reason,
    UnitOfMeasure,
)
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.headers import build_authorization_basic
from websockets.protocol import State
from websockets.typing import Subprotocol

log = logging.getLogger(__name__)

SUBPROTOCOL = Subprotocol("ocpp1.6")


class WireLog(logging.LoggerAdapter[logging.Logger]):
    """The ``ocpp`` library logs every message sent and received at INFO. A simulated charger
    sends hundreds a minute while a run back-fills history, so its messages are DEBUG here (on
    ``voltfleet.simulator.ocpp_charger.wire``); the library's warnings and errors stay as they
    are."""

    def info(self, msg: object, *args: object, **kwargs: Any) -> None:
        self.debug(msg, *args, **kwargs)


VOLTAGE_V = 230.0


def ocpp_url(base_url: str, charge_point_id: str) -> str:
    """The platform's OCPP 1.6 address for a charger, from its HTTP base URL."""
    parts = urlsplit(base_url.rstrip("/"))
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, f"{parts.path}/ocpp/1.6/{charge_point_id}", "", ""))


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


class ChargerRefused(RuntimeError):
    """The platform refused the charger's connection (credential, subprotocol)."""


@dataclass
class ChargerStats:
    messages: int = 0  # calls answered
    errors: int = 0  # CallErrors and timeouts (each retried)
    reconnects: int = 0
    sessions_started: int = 0
    sessions_stopped: int = 0
    session_wh: float = 0.0  # energy of the stopped sessions, by the register sent
    lost: int = 0  # messages given up on after all attempts


class SimulatedCharger:
    def __init__(
        self,
        base_url: str,
        serial: str,
        password: str,
        *,
        register_wh: float = 0.0,
        phases: int = 3,
        id_tag: str = "SIMULATED",
        attempts: int = 5,
        backoff_s: float = 0.2,
        response_timeout_s: float = 30.0,
        stop: threading.Event | None = None,
    ) -> None:
        self.url = ocpp_url(base_url, serial)
        self.serial = serial
        self.password = password
        self.register_wh = float(register_wh)
        self.phases = phases
        self.id_tag = id_tag
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.response_timeout_s = response_timeout_s
        self.stop = stop
        self.stats = ChargerStats()
        self.transaction_id: int | None = None
        self.meter_start: int = 0
        self.status = ChargePointStatus.available
        self.heartbeat_s = 120
        self._ws: ClientConnection | None = None
        self._cp: ChargePoint | None = None
        self._tasks: list[asyncio.Task[Any]] = []

    # ---- the connection ------------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the connection, boot, and report the connector's status."""
        await self._open()
        await self._boot()
        await self._send(
            call.StatusNotification(
                connector_id=1,
                error_code=ChargePointErrorCode.no_error,
                status=self.status,
            )
        )

    async def _open(self) -> None:
        headers = {"Authorization": build_authorization_basic(self.serial, self.password)}
        try:
            ws = await connect(
                self.url,
                subprotocols=[SUBPROTOCOL],
                additional_headers=headers,
                open_timeout=10,
            )
        except InvalidStatus as exc:
            raise ChargerRefused(
                f"{self.serial}: {exc} ({exc.response.body.decode(errors='replace')[:200]})"
            ) from exc
        self._ws = ws
        self._cp = ChargePoint(
            self.serial,
            ws,
            response_timeout=self.response_timeout_s,
            logger=WireLog(log.getChild("wire")),
        )
        reader = asyncio.create_task(self._cp.start(), name=f"ocpp-{self.serial}")
        reader.add_done_callback(_quiet)
        self._tasks = [t for t in self._tasks if not t.done()] + [reader]

    async def _boot(self) -> None:
        result = await self._call(
            call.BootNotification(
                charge_point_vendor="voltfleet",
                charge_point_model="simulated wallbox",
                charge_point_serial_number=self.serial,
                firmware_version="sim-1.0",
            )
        )
        if result is not None:
            self.heartbeat_s = max(1, int(result.interval))
        if not any(t.get_name() == f"heartbeat-{self.serial}" for t in self._tasks):
            beat = asyncio.create_task(self._heartbeats(), name=f"heartbeat-{self.serial}")
            beat.add_done_callback(_quiet)
            self._tasks.append(beat)

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            with suppress(OCPPError, TimeoutError, ConnectionClosed):
                await self._call_once(call.Heartbeat())

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        if self._ws is not None:
            with suppress(WebSocketException, OSError):
                await self._ws.close()
        for t in self._tasks:
            with suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks = []

    def _stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    async def _call_once(self, payload: Any) -> Any:
        assert self._cp is not None
        result = await self._cp.call(payload, suppress=False)
        self.stats.messages += 1
        return result

    async def _call(self, payload: Any) -> Any:
        """Send a call, again on an error or no answer (after opening the connection again if it
        dropped); None when every attempt failed."""
        delay = self.backoff_s
        for attempt in range(self.attempts):
            try:
                if self._ws is None or self._ws.state is not State.OPEN:
                    self.stats.reconnects += 1
                    await self._open()
                    if not isinstance(payload, call.BootNotification):
                        await self._boot()
                return await self._call_once(payload)
            except ChargerRefused:
                raise
            except (OCPPError, TimeoutError, ConnectionClosed, OSError) as exc:
                self.stats.errors += 1
                if attempt + 1 == self.attempts or self._stopping():
                    self.stats.lost += 1
                    log.warning("charger %s: %s lost: %r", self.serial, type(payload).__name__, exc)
                    return None
                log.debug("charger %s: retrying %s after %r", self.serial, payload, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
        return None  # pragma: no cover

    async def _send(self, payload: Any) -> Any:
        return await self._call(payload)

    # ---- driven by the home model --------------------------------------------------------------

    def _register(self) -> int:
        return math.floor(self.register_wh + 1e-9)

    async def _set_status(self, status: ChargePointStatus, ts: datetime) -> None:
        if status is self.status:
            return
        self.status = status
        await self._send(
            call.StatusNotification(
                connector_id=1,
                error_code=ChargePointErrorCode.no_error,
                status=status,
                timestamp=_iso(ts),
            )
        )

    async def step(self, end: datetime, dt_s: float, plugged: bool, power_w: float) -> None:
        """One simulated step ending at ``end``: the car is (still) plugged in or not, and was
        charged at ``power_w`` (the step's mean) meanwhile."""
        start = end - timedelta(seconds=dt_s)
        if plugged and self.transaction_id is None:
            await self._start(start)
        self.register_wh += max(power_w, 0.0) * dt_s / 3600.0
        if self.transaction_id is not None and not plugged:
            await self._stop(end)
            return
        if self.transaction_id is not None:
            charging = ChargePointStatus.charging if power_w > 0 else ChargePointStatus.suspended_ev
            await self._set_status(charging, end)
            await self._meter_values(end, power_w)

    async def _start(self, at: datetime) -> None:
        await self._set_status(ChargePointStatus.preparing, at)
        await self._send(call.Authorize(id_tag=self.id_tag))
        self.meter_start = self._register()
        result = await self._send(
            call.StartTransaction(
                connector_id=1, id_tag=self.id_tag, meter_start=self.meter_start, timestamp=_iso(at)
            )
        )
        if result is None:
            return  # not started: tried again at the next step
        self.transaction_id = int(result.transaction_id)
        self.stats.sessions_started += 1

    async def _meter_values(self, at: datetime, power_w: float) -> None:
        amps = power_w / (VOLTAGE_V * self.phases)
        samples = [
            SampledValue(
                value=str(self._register()),
                context=ReadingContext.sample_periodic,
                measurand=Measurand.energy_active_import_register,
                unit=UnitOfMeasure.wh,
            ),
            SampledValue(
                value=f"{power_w:.1f}",
                context=ReadingContext.sample_periodic,
                measurand=Measurand.power_active_import,
                unit=UnitOfMeasure.w,
            ),
        ]
        for phase in (Phase.l1, Phase.l2, Phase.l3)[: self.phases]:
            samples.append(
                SampledValue(
                    value=f"{amps:.2f}",
                    context=ReadingContext.sample_periodic,
                    measurand=Measurand.current_import,
                    phase=phase,
                    unit=UnitOfMeasure.a,
                )
            )
        await self._send(
            call.MeterValues(
                connector_id=1,
                transaction_id=self.transaction_id,
                meter_value=[MeterValue(timestamp=_iso(at), sampled_value=samples)],
            )
        )

    async def _stop(self, at: datetime) -> None:
        assert self.transaction_id is not None
        meter_stop = self._register()
        await self._send(
            call.StopTransaction(
                meter_stop=meter_stop,
                timestamp=_iso(at),
                transaction_id=self.transaction_id,
                reason=Reason.ev_disconnected,
                id_tag=self.id_tag,
            )
        )
        self.stats.sessions_stopped += 1
        self.stats.session_wh += meter_stop - self.meter_start
        self.transaction_id = None
        await self._set_status(ChargePointStatus.finishing, at)
        await self._set_status(ChargePointStatus.available, at)


def _quiet(task: asyncio.Task[Any]) -> None:
    """Retrieve a background task's end, so a dropped connection is not reported as an error
    nobody retrieved (it is handled by the next call)."""
    if not task.cancelled():
        exc = task.exception()
        if exc is not None and not isinstance(exc, ConnectionClosed):
            log.debug("charger task %s ended: %r", task.get_name(), exc)
