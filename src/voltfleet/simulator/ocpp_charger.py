"""A simulated home's EV charger: an OCPP 1.6J charge point or OCPP 2.0.1 charging station over a
real WebSocket, that obeys the charging profiles the platform sends.

It is the ``ocpp`` library's ChargePoint over a ``websockets`` client, with the subprotocol
``ocpp1.6`` or ``ocpp2.0.1`` and HTTP Basic (security profile 1: the charge point id and the
charger's token). It keeps the charging profiles it is sent (SetChargingProfile, Clear) and
answers GetCompositeSchedule; the current it draws follows the composite schedule, per phase,
for a car that charges on one or three phases (``car_phases``). It
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
from ocpp.routing import on  # type: ignore[import-untyped]
from ocpp.v16 import ChargePoint, call, call_result  # type: ignore[import-untyped]
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
from ocpp.v201 import ChargePoint as ChargePoint201  # type: ignore[import-untyped]
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as call_result201
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.headers import build_authorization_basic
from websockets.protocol import State
from websockets.typing import Subprotocol

from voltfleet.domain.charging_limits import ChargingLimit, limit_at
from voltfleet.protocols.ocpp.profiles import limit_from_wire, purpose_of
from voltfleet.simulator.charger_firmware import (
    ChargerFirmware,
    update_params_16,
    update_params_201,
)

log = logging.getLogger(__name__)

SUBPROTOCOL = Subprotocol("ocpp1.6")
SUBPROTOCOLS = {"1.6": SUBPROTOCOL, "2.0.1": Subprotocol("ocpp2.0.1")}


class WireLog(logging.LoggerAdapter[logging.Logger]):
    """The ``ocpp`` library logs every message sent and received at INFO. A simulated charger
    sends hundreds a minute while a run back-fills history, so its messages are DEBUG here (on
    ``voltfleet.simulator.ocpp_charger.wire``); the library's warnings and errors stay as they
    are."""

    def info(self, msg: object, *args: object, **kwargs: Any) -> None:
        self.debug(msg, *args, **kwargs)


VOLTAGE_V = 230.0


def ocpp_url(base_url: str, charge_point_id: str) -> str:
    """The platform's OCPP address for a charger (either version), from its HTTP base URL."""
    parts = urlsplit(base_url.rstrip("/"))
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, f"{parts.path}/ocpp/{charge_point_id}", "", ""))


class Profiles:
    """The charging profiles a simulated charger keeps, by connector (0: the whole charger), and
    the limit they put on it now: the platform's own composite rule (domain.charging_limits)."""

    def __init__(self) -> None:
        self.by_connector: dict[int, list[tuple[ChargingLimit, datetime]]] = {}
        self.now = datetime.now(UTC)  # simulated time, moved by the charger's steps

    def set(self, connector_id: int, wire: dict[str, Any]) -> str:
        limit = limit_from_wire(wire)
        if limit is None:
            return "Rejected"  # not in A, or a purpose the charger does not know
        kept = self.by_connector.setdefault(connector_id, [])
        kept[:] = [(k, at) for k, at in kept if k.profile_id != limit.profile_id]
        kept.append((limit, self.now))
        return "Accepted"

    def clear(self, profile_id: int | None, connector_id: int | None, purpose: str | None) -> str:
        removed = False
        for connector, kept in self.by_connector.items():
            if connector_id is not None and connector != connector_id:
                continue
            before = len(kept)
            kept[:] = [
                (k, at)
                for k, at in kept
                if not (
                    (profile_id is None or k.profile_id == profile_id)
                    and (purpose is None or purpose_of(purpose) == k.purpose)
                )
            ]
            removed = removed or len(kept) < before
        return "Accepted" if removed else "Unknown"

    def limit(self, connector_id: int, transaction: bool) -> tuple[float | None, int | None]:
        kept = self.by_connector.get(0, []) + self.by_connector.get(connector_id, [])
        if not kept:
            return None, None
        started = min(at for _, at in kept)
        return limit_at([k for k, _ in kept], self.now, started, transaction)


class _Station16(ChargePoint):  # type: ignore[misc]
    """The library's 1.6 charge point with the smart-charging handlers of the simulator."""

    profiles: Profiles
    transaction: bool = False
    owner: SimulatedCharger

    @on("UpdateFirmware")  # type: ignore[untyped-decorator]
    def on_update_firmware(self, **kw: Any) -> Any:
        self.owner.update_firmware(*update_params_16(**kw))
        return call_result.UpdateFirmware()

    @on("SetChargingProfile")  # type: ignore[untyped-decorator]
    def on_set(self, connector_id: int, cs_charging_profiles: dict[str, Any]) -> Any:
        return call_result.SetChargingProfile(
            status=self.profiles.set(connector_id, cs_charging_profiles)
        )

    @on("ClearChargingProfile")  # type: ignore[untyped-decorator]
    def on_clear(self, **kw: Any) -> Any:
        status = self.profiles.clear(
            kw.get("id"), kw.get("connector_id"), kw.get("charging_profile_purpose")
        )
        return call_result.ClearChargingProfile(status=status)

    @on("GetCompositeSchedule")  # type: ignore[untyped-decorator]
    def on_composite(self, connector_id: int, duration: int, **_: Any) -> Any:
        limit_a, phases = self.profiles.limit(connector_id, self.transaction)
        if limit_a is None:
            return call_result.GetCompositeSchedule(status="Rejected")
        period: dict[str, Any] = {"start_period": 0, "limit": round(limit_a, 1)}
        if phases:
            period["number_phases"] = phases
        return call_result.GetCompositeSchedule(
            status="Accepted",
            connector_id=connector_id,
            schedule_start=_iso(self.profiles.now),
            charging_schedule={
                "duration": duration,
                "charging_rate_unit": "A",
                "charging_schedule_period": [period],
            },
        )


class _Station201(ChargePoint201):  # type: ignore[misc]
    """The library's 2.0.1 charging station with the smart-charging handlers of the simulator."""

    profiles: Profiles
    transaction: bool = False
    owner: SimulatedCharger

    @on("UpdateFirmware")  # type: ignore[untyped-decorator]
    def on_update_firmware(self, **kw: Any) -> Any:
        self.owner.update_firmware(*update_params_201(**kw))
        return call_result201.UpdateFirmware(status="Accepted")

    @on("SetChargingProfile")  # type: ignore[untyped-decorator]
    def on_set(self, evse_id: int, charging_profile: dict[str, Any], **_: Any) -> Any:
        return call_result201.SetChargingProfile(
            status=self.profiles.set(evse_id, charging_profile)
        )

    @on("ClearChargingProfile")  # type: ignore[untyped-decorator]
    def on_clear(self, **kw: Any) -> Any:
        criteria = kw.get("charging_profile_criteria") or {}
        status = self.profiles.clear(
            kw.get("charging_profile_id"),
            criteria.get("evse_id"),
            criteria.get("charging_profile_purpose"),
        )
        return call_result201.ClearChargingProfile(status=status)

    @on("GetCompositeSchedule")  # type: ignore[untyped-decorator]
    def on_composite(self, duration: int, evse_id: int, **_: Any) -> Any:
        limit_a, phases = self.profiles.limit(evse_id, self.transaction)
        if limit_a is None:
            return call_result201.GetCompositeSchedule(status="Rejected")
        period: dict[str, Any] = {"start_period": 0, "limit": round(limit_a, 1)}
        if phases:
            period["number_phases"] = phases
        return call_result201.GetCompositeSchedule(
            status="Accepted",
            schedule={
                "evse_id": evse_id,
                "duration": duration,
                "schedule_start": _iso(self.profiles.now),
                "charging_rate_unit": "A",
                "charging_schedule_period": [period],
            },
        )


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
        car_phases: int | None = None,
        version: str = "1.6",
        id_tag: str = "SIMULATED",
        attempts: int = 5,
        backoff_s: float = 0.2,
        response_timeout_s: float = 30.0,
        stop: threading.Event | None = None,
        all_lines: bool = False,
    ) -> None:
        self.url = ocpp_url(base_url, serial)
        self.serial = serial
        self.password = password
        self.register_wh = float(register_wh)
        self.phases = phases  # the connector's
        self.car_phases = min(car_phases or phases, phases)  # the car charges on 1 or 3
        # report the current of every line of the connector, 0 A on those the car leaves idle
        # (a charger whose meter measures all three); by default only the lines in use
        self.all_lines = all_lines
        self.version = version
        self.profiles = Profiles()
        self.drawn_w = 0.0  # the power drawn in the last step, after the charging limit
        self.transaction_ref: str | None = None  # 2.0.1: this station's own transaction id
        self._seq = 0
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
        self._cp: Any = None
        self._tasks: list[asyncio.Task[Any]] = []
        self.firmware = ChargerFirmware()  # what it runs, and how it takes UpdateFirmware

    # ---- the connection ------------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the connection, boot, and report the connector's status."""
        await self._open()
        await self._boot()
        await self._send(self._status_call(self.status, None))

    def _status_call(self, status: ChargePointStatus, ts: datetime | None) -> Any:
        if self.version == "2.0.1":
            wire = {
                ChargePointStatus.available: "Available",
                ChargePointStatus.unavailable: "Unavailable",
                ChargePointStatus.faulted: "Faulted",
                ChargePointStatus.reserved: "Reserved",
            }.get(status, "Occupied")
            return call201.StatusNotification(
                timestamp=_iso(ts or self.profiles.now),
                connector_status=wire,
                evse_id=1,
                connector_id=1,
            )
        return call.StatusNotification(
            connector_id=1,
            error_code=ChargePointErrorCode.no_error,
            status=status,
            timestamp=_iso(ts) if ts else None,
        )

    async def _open(self) -> None:
        headers = {"Authorization": build_authorization_basic(self.serial, self.password)}
        try:
            ws = await connect(
                self.url,
                subprotocols=[SUBPROTOCOLS[self.version]],
                additional_headers=headers,
                open_timeout=10,
            )
        except InvalidStatus as exc:
            raise ChargerRefused(
                f"{self.serial}: {exc} ({exc.response.body.decode(errors='replace')[:200]})"
            ) from exc
        self._ws = ws
        station = _Station201 if self.version == "2.0.1" else _Station16
        self._cp = station(
            self.serial,
            ws,
            response_timeout=self.response_timeout_s,
            logger=WireLog(log.getChild("wire")),
        )
        self._cp.profiles = self.profiles
        self._cp.owner = self
        reader = asyncio.create_task(self._cp.start(), name=f"ocpp-{self.serial}")
        reader.add_done_callback(_quiet)
        self._tasks = [t for t in self._tasks if not t.done()] + [reader]

    async def _boot(self) -> None:
        if self.version == "2.0.1":
            boot: Any = call201.BootNotification(
                charging_station={
                    "vendor_name": "voltfleet",
                    "model": "simulated wallbox",
                    "serial_number": self.serial,
                    "firmware_version": self.firmware.version,
                },
                reason="PowerUp",
            )
        else:
            boot = call.BootNotification(
                charge_point_vendor="voltfleet",
                charge_point_model="simulated wallbox",
                charge_point_serial_number=self.serial,
                firmware_version=self.firmware.version,
            )
        result = await self._call(boot)
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
                await self._call_once(
                    call201.Heartbeat() if self.version == "2.0.1" else call.Heartbeat()
                )

    def update_firmware(self, location: str, request_id: int | None, signature: str | None) -> None:
        """OCPP UpdateFirmware: download, report each step, reboot on the new version."""

        async def say(status: str, request: int | None) -> object:
            if self.version == "2.0.1":
                return await self._call(
                    call201.FirmwareStatusNotification(status=status, request_id=request)
                )
            return await self._call(call.FirmwareStatusNotification(status=status))

        self.firmware.start(self.version, location, request_id, signature, say, self._reboot)

    async def _reboot(self, _version: str) -> None:
        """Close the connection, open it again and boot (on the version now installed)."""
        await self.close()
        await self.connect()

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
                    if not isinstance(payload, call.BootNotification | call201.BootNotification):
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
        if self.version == "2.0.1" and status not in (
            ChargePointStatus.available,
            ChargePointStatus.preparing,
        ):
            return  # 2.0.1: the connector stays Occupied; the transaction tells the rest
        await self._send(self._status_call(status, ts))

    async def step(self, end: datetime, dt_s: float, plugged: bool, power_w: float) -> None:
        """One simulated step ending at ``end``: the car is (still) plugged in or not, and would
        charge at ``power_w`` (the step's mean) meanwhile; it draws no more than the charging
        limit in force allows (``allowed_w``)."""
        start = end - timedelta(seconds=dt_s)
        self.profiles.now = start
        if plugged and self.transaction_id is None:
            await self._start(start)
        power_w = min(max(power_w, 0.0), self.allowed_w())
        self.drawn_w = power_w
        self.profiles.now = end
        self.register_wh += power_w * dt_s / 3600.0
        if self.transaction_id is not None and not plugged:
            await self._stop(end)
            return
        if self.transaction_id is not None:
            charging = ChargePointStatus.charging if power_w > 0 else ChargePointStatus.suspended_ev
            await self._set_status(charging, end)
            await self._meter_values(end, power_w)

    def phases_used(self) -> int:
        """The phases the car draws on: its own, fewer when the limit in force says so."""
        _, phases = self.profiles.limit(1, self.transaction_id is not None)
        return min(self.car_phases, phases) if phases else self.car_phases

    def _lines_reported(self, used: int) -> int:
        return self.phases if self.all_lines else used

    def allowed_w(self) -> float:
        """The most the car may draw now: the composite limit (A per phase) on its phases."""
        limit_a, _ = self.profiles.limit(1, self.transaction_id is not None)
        if limit_a is None:
            return math.inf
        return max(0.0, limit_a) * VOLTAGE_V * self.phases_used()

    async def _start(self, at: datetime) -> None:
        await self._set_status(ChargePointStatus.preparing, at)
        if self.version == "2.0.1":
            await self._start201(at)
            return
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
        self._cp.transaction = True
        self.stats.sessions_started += 1

    def _tx_event(self, kind: str, at: datetime, trigger: str, **kw: Any) -> Any:
        self._seq += 1
        return call201.TransactionEvent(
            event_type=kind,
            timestamp=_iso(at),
            trigger_reason=trigger,
            seq_no=self._seq,
            transaction_info={"transaction_id": self.transaction_ref, **kw.pop("info", {})},
            evse={"id": 1, "connector_id": 1},
            **kw,
        )

    async def _start201(self, at: datetime) -> None:
        self.meter_start = self._register()
        self.transaction_ref = f"{self.serial}-{int(at.timestamp())}"
        result = await self._send(
            self._tx_event(
                "Started",
                at,
                "CablePluggedIn",
                info={"charging_state": "EVConnected"},
                id_token={"id_token": self.id_tag, "type": "Central"},
                meter_value=[self._meter_value201(at, None)],
            )
        )
        if result is None:
            self.transaction_ref = None
            return
        self.transaction_id = 0  # running (the platform's id is not the station's business)
        self._cp.transaction = True
        self.stats.sessions_started += 1

    def _meter_value201(self, at: datetime, power_w: float | None) -> dict[str, Any]:
        values: list[dict[str, Any]] = [
            {
                "value": self._register(),
                "measurand": "Energy.Active.Import.Register",
                "unit_of_measure": {"unit": "Wh"},
            }
        ]
        if power_w is not None:
            values.append(
                {
                    "value": round(power_w, 1),
                    "measurand": "Power.Active.Import",
                    "unit_of_measure": {"unit": "W"},
                }
            )
            used = self.phases_used()
            amps = power_w / (VOLTAGE_V * used)
            for n, phase in enumerate(("L1", "L2", "L3")[: self._lines_reported(used)]):
                values.append(
                    {
                        "value": round(amps if n < used else 0.0, 2),
                        "measurand": "Current.Import",
                        "phase": phase,
                        "unit_of_measure": {"unit": "A"},
                    }
                )
        return {"timestamp": _iso(at), "sampled_value": values}

    async def _meter_values(self, at: datetime, power_w: float) -> None:
        if self.version == "2.0.1":
            state = "Charging" if power_w > 0 else "SuspendedEVSE"
            await self._send(
                self._tx_event(
                    "Updated",
                    at,
                    "MeterValuePeriodic",
                    info={"charging_state": state},
                    meter_value=[self._meter_value201(at, power_w)],
                )
            )
            return
        used = self.phases_used()
        amps = power_w / (VOLTAGE_V * used)
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
        for n, phase in enumerate((Phase.l1, Phase.l2, Phase.l3)[: self._lines_reported(used)]):
            samples.append(
                SampledValue(
                    value=f"{amps if n < used else 0.0:.2f}",
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
        self._cp.transaction = False
        if self.version == "2.0.1":
            await self._send(
                self._tx_event(
                    "Ended",
                    at,
                    "EVCommunicationLost",
                    info={"stopped_reason": "EVDisconnected"},
                    meter_value=[self._meter_value201(at, 0.0)],
                )
            )
            self.stats.sessions_stopped += 1
            self.stats.session_wh += meter_stop - self.meter_start
            self.transaction_id = None
            self.transaction_ref = None
            await self._set_status(ChargePointStatus.available, at)
            return
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
