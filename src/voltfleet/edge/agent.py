"""The edge agent: scan the bus, poll the devices, keep the readings in the outbox, let the
transport (MQTT, or HTTP where no broker is reachable) deliver them, and answer commands.

Every ``poll_s`` each SunSpec device found is read in the spans its plan gives (the registers
its mapped points and their scale factors need, gathered into as few reads of up to 125 registers
as possible: edge/reads.py), mapped to the platform's points (edge/mapping.py, a plan worked out
once per device at scan) with one timestamp per poll, and put into the outbox in one
transaction as JSON text. A device that stops answering is
logged once, and once again when it answers again; the others go on. The bus is scanned at start,
every ``rescan_s``, every 30 s while nothing was found, and on a ``scan`` command; each scan
publishes the inventory, from which the platform adds the devices to the gateway's site.

The gateway's own settings (edge/gateway_commands.py) act on the loop: an upload interval
becomes ``poll_s`` (kept across restarts), a reset or a setting with a restart flag restarts the
loop between two polls (Modbus connections reopened, bus scanned again, TOU table reloaded),
and the addresses set to SunSpec are scanned with the configured ``unit_ids``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from voltfleet.edge import mapping
from voltfleet.edge.commands import Executor, failed
from voltfleet.edge.config import EdgeConfig
from voltfleet.edge.gateway_commands import GatewayControl, sunspec_units, upload_interval_s
from voltfleet.edge.outbox import Outbox
from voltfleet.edge.tou_runner import TouRunner
from voltfleet.protocols.modbus.link import ModbusLink, ModbusLinkError
from voltfleet.protocols.sunspec import scan as sunspec

log = logging.getLogger(__name__)


class Transport(Protocol):
    async def run(self) -> None: ...
    def wake(self) -> None: ...
    def inventory(self, body: dict[str, Any]) -> None: ...


def iso(ts: datetime) -> str:
    return ts.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class EdgeAgent:
    def __init__(self, config: EdgeConfig, now: Callable[[], datetime]) -> None:
        self.config = config
        self.now = now
        self.outbox = Outbox(config.outbox)
        self.link = ModbusLink(config.modbus)  # scans and commands, and the first poller
        self.pollers = [self.link] + [
            ModbusLink(config.modbus) for _ in range(config.connections - 1)
        ]
        self.found: dict[int, sunspec.FoundDevice] = {}
        self.plans: list[mapping.Plan] = []
        self.tou = self._tou_runner()
        # the upload interval the platform set (gateway settings) outlives a restart
        self.poll_s = upload_interval_s(self.outbox) or config.poll_s
        self.restarts = 0  # the loop's restarts (reset, safe restart) since this process began
        self._restart = asyncio.Event()  # set: the sleep between polls ends early
        self._restart_wanted = False
        gateway = GatewayControl(
            self.outbox, self._set_interval, self._request_restart, self.rescan
        )
        self.executor = Executor(self.link, self.devices, self.rescan, now, self.tou, gateway)
        self.transport: Transport = self._transport()
        self.polls = 0
        self._silent: set[int] = set()
        self._last_ts: datetime | None = None

    def _transport(self) -> Transport:
        c = self.config
        if c.broker_url:
            from voltfleet.edge.mqtt_link import MqttLink

            return MqttLink(
                c.broker_url,
                c.serial,
                c.token,
                self.outbox,
                self.on_command,
                batch_readings=c.batch_readings,
            )
        from voltfleet.edge.http_link import HttpLink

        return HttpLink(
            c.platform_url,
            c.token,
            self.outbox,
            self.on_command,
            batch_readings=c.batch_readings,
            command_poll_s=c.command_poll_s,
        )

    def _tou_runner(self) -> TouRunner:
        c = self.config
        zone = ZoneInfo(c.zone)
        return TouRunner(
            self.link, self.devices, zone, self.outbox, self.now, c.country, c.subdivision
        )

    def devices(self) -> dict[str, sunspec.FoundDevice]:
        return {d.serial: d for d in self.found.values()}

    def unit_ids(self) -> tuple[int, ...]:
        """The units scanned: the configured ones and those the platform set to SunSpec."""
        return tuple(sorted({*self.config.unit_ids, *sunspec_units(self.outbox)}))

    # ---- the gateway's own settings ----------------------------------------------------------

    def _set_interval(self, seconds: float) -> float:
        self.poll_s = seconds
        self._restart.set()  # the sleep under way ends: the next poll keeps the new pace
        return self.poll_s

    def _request_restart(self, why: str) -> None:
        log.warning("edge: the loop restarts (%s)", why)
        self._restart_wanted = True
        self._restart.set()

    async def _restart_loop(self) -> None:
        """Restart between two polls: the Modbus connections are closed (they open again at the
        next request), the TOU table is read back from disk and the bus is scanned again. The
        outbox and the transport are not touched: readings waiting are sent, none is lost."""
        for link in self.pollers:
            await link.reset()  # a command's request under way is answered first
        self.tou = self.executor.tou = self._tou_runner()
        self.found.clear()
        self.plans = []
        await self.rescan()
        self.restarts += 1
        await asyncio.to_thread(self.outbox.count, "restarts")

    # ---- scan --------------------------------------------------------------------------------

    async def rescan(self, units: list[int] | None = None) -> int:
        """Scan ``units`` (default: the configured ones); returns how many SunSpec devices were
        found among them, and publishes the inventory."""
        for unit in units or self.unit_ids():
            try:
                d = await sunspec.scan(self.link, unit)
            except (sunspec.NotSunSpec, ModbusLinkError, ValueError) as exc:
                log.info("edge: unit %s: %s", unit, exc)
                self.found.pop(unit, None)
                continue
            if not d.serial:
                log.warning("edge: unit %s has no serial number in its common model", unit)
                continue
            self.found[unit] = d
        battery = any(d.kind == "battery" for d in self.found.values())
        self.plans = [mapping.plan(d, battery) for _, d in sorted(self.found.items())]
        self.transport.inventory(
            {"devices": [d.inventory() for _, d in sorted(self.found.items())]}
        )
        found = sum(1 for u in units or self.unit_ids() if u in self.found)
        log.info("edge: %s SunSpec device(s) on %s", found, self.config.modbus.describe())
        return found

    # ---- poll --------------------------------------------------------------------------------

    def _stamp(self) -> str:
        ts = self.now()
        if self._last_ts is not None and ts <= self._last_ts:
            ts = self._last_ts + timedelta(milliseconds=1)  # one timestamp per poll
        self._last_ts = ts
        return iso(ts)

    async def _read_share(
        self, link: ModbusLink, plans: list[mapping.Plan]
    ) -> list[tuple[mapping.Plan, list[list[int]] | ModbusLinkError]]:
        out: list[tuple[mapping.Plan, list[list[int]] | ModbusLinkError]] = []
        for p in plans:
            unit = p.device.unit_id
            try:
                out.append((p, [await link.read(unit, a, n) for a, n in p.spans]))
            except ModbusLinkError as exc:
                out.append((p, exc))
        return out

    async def poll_once(self) -> int:
        """Read every device once; returns the readings put into the outbox. With several
        connections each reads its share of the devices (every n-th) side by side."""
        ts = self._stamp()
        out: list[str] = []
        ac: list[float] = []
        grid: list[float] = []
        first_inverter: mapping.Plan | None = None
        n = len(self.pollers)
        shares = await asyncio.gather(
            *(self._read_share(link, self.plans[i::n]) for i, link in enumerate(self.pollers))
        )
        got = {id(p): r for share in shares for p, r in share}
        for p in self.plans:
            unit = p.device.unit_id
            blocks = got[id(p)]
            if isinstance(blocks, ModbusLinkError):
                if unit not in self._silent:
                    self._silent.add(unit)
                    log.warning(
                        "edge: %s (unit %s) does not answer: %s", p.device.serial, unit, blocks
                    )
                continue
            if unit in self._silent:
                self._silent.discard(unit)
                log.warning("edge: %s (unit %s) answers again", p.device.serial, unit)
            vals = mapping.values(p, blocks)
            out += mapping.json_readings(p, vals, ts)
            if p.device.kind == "inverter":
                first_inverter = first_inverter or p
            # (a point's value comes from one candidate at most: the first implemented one)
            ac += [v for i in p.ac_slots if (v := vals[i]) is not None]
            grid += [v for i in p.grid_slots if (v := vals[i]) is not None]
        if first_inverter is not None:
            out += mapping.site_load_json(first_inverter, ac, grid, ts)
        if out:
            await asyncio.to_thread(self.outbox.put_json, out)
            self.transport.wake()
        self.polls += 1
        return len(out)

    # ---- commands ----------------------------------------------------------------------------

    async def on_command(self, command_id: str, body: Any) -> dict[str, Any]:
        """Apply a command once: a command id seen before gets the reply it got then."""
        done = await asyncio.to_thread(self.outbox.reply_of, command_id)
        if done is not None:
            return done
        try:
            reply = await self.executor.run(body)
        except Exception:
            log.exception("edge: command %s could not be applied", command_id)
            reply = failed("the gateway could not apply the command")
        await asyncio.to_thread(self.outbox.remember, command_id, reply)
        return reply

    # ---- the loop ----------------------------------------------------------------------------

    async def run(self) -> None:
        transport = asyncio.create_task(self.transport.run(), name="edge-transport")
        try:
            await self.rescan()
            last_scan = time.monotonic()
            while True:
                started = time.monotonic()
                if (not self.found and started - last_scan > 30) or (
                    started - last_scan > self.config.rescan_s
                ):
                    await self.rescan()
                    last_scan = time.monotonic()
                await self.poll_once()
                await self.tou.tick()  # a TOU table's next slot (edge/tou_runner.py)
                if transport.done():
                    transport.result()  # a transport that died takes the agent with it
                left = self.poll_s - (time.monotonic() - started)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._restart.wait(), max(left, 0.0))
                self._restart.clear()
                if self._restart_wanted:
                    self._restart_wanted = False
                    await self._restart_loop()
                    last_scan = time.monotonic()
        finally:
            transport.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await transport
            for link in self.pollers:
                link.close()
            self.outbox.close()
