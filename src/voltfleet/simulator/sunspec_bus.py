"""Simulated homes on a SunSpec Modbus TCP bus, moving in real time.

``SunSpecBus`` serves the three devices of each home (simulator/sunspec_home.py: unit ids 1-3
for the first home, 4-6 for the second ...) on one Modbus TCP address, as a Modbus TCP to RS485
converter does, and moves each home's model on every ``tick_s`` with the time that really passed:
PV from the weather at the home's place (simulator/weather.py), household load from the standard
profile, both computed ``WINDOW`` steps at a time. Any other unit id answers exception 11.

``run_in_thread`` starts it on its own event loop (the demo, and the edge agent's tests in other
processes); ``python -m voltfleet.simulator.sunspec_bus --port 1502 --homes 1`` serves it alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Collection
from datetime import UTC, datetime, timedelta

from voltfleet.protocols.modbus.server import BusServer
from voltfleet.simulator.fleet import Inputs, inputs_for, make_homes, step_times
from voltfleet.simulator.model import HomeSpec
from voltfleet.simulator.sunspec_home import SunSpecHome
from voltfleet.simulator.weather import WeatherSource

log = logging.getLogger(__name__)

WINDOW = 360  # steps of inputs made at once


class SunSpecBus:
    def __init__(
        self,
        specs: list[HomeSpec],
        serial_tag: str = "SIMSS",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tick_s: float = 1.0,
        source: WeatherSource = "clearsky",
        controls: bool = False,
        grid_charge_allowed: bool = True,
        reuse_port: bool = False,
        der_homes: Collection[int] = (),
    ) -> None:
        """``der_homes``: the indexes of the homes whose inverter speaks the DER information
        model (701, 702, 704: simulator/sunspec_home.py) in place of 103 and 123."""
        self.homes = [
            SunSpecHome(
                spec,
                f"{serial_tag}{i + 1:05d}",
                first_unit=1 + 3 * i,
                controls=controls,
                grid_charge_allowed=grid_charge_allowed,
                der=i in der_homes,
            )
            for i, spec in enumerate(specs)
        ]
        banks = {d.unit_id: d.bank for h in self.homes for d in h.devices}
        self.server = BusServer(banks, host, port, reuse_port=reuse_port)
        self.tick_s = tick_s
        self.source: WeatherSource = source
        self._inputs: list[tuple[datetime, Inputs] | None] = [None] * len(self.homes)
        self._chunk = 0

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def serials(self) -> list[str]:
        return [d.serial for h in self.homes for d in h.devices]

    def advance(self, now: datetime) -> None:
        """Move every home to ``now`` by one step (of at most a minute)."""
        for i, home in enumerate(self.homes):
            last = home.last.ts if home.last else now - timedelta(seconds=self.tick_s)
            dt = min(max((now - last).total_seconds(), 0.001), 60.0)
            window = self._inputs[i]
            if window is None or not window[0] <= now < window[0] + timedelta(
                seconds=WINDOW * self.tick_s
            ):
                self._chunk += 1
                times = step_times(now, 0, WINDOW, self.tick_s)
                window = (now, inputs_for(home.spec, times, self.tick_s, self.source, self._chunk))
                self._inputs[i] = window
            k = min(int((now - window[0]).total_seconds() / self.tick_s), WINDOW - 1)
            home.advance(window[1].at(k), now, dt)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Serve and move in real time until cancelled (or ``stop`` is set)."""
        self.advance(datetime.now(UTC))  # the first inputs before the first request
        await self.server.start()
        try:
            while stop is None or not stop.is_set():
                await asyncio.sleep(self.tick_s)
                self.advance(datetime.now(UTC))
        finally:
            await self.server.stop()


def run_in_thread(bus: SunSpecBus) -> tuple[threading.Thread, threading.Event]:
    """The bus on its own loop in a daemon thread; returns once it listens. Set the event to
    stop it."""
    stop = threading.Event()
    ready = threading.Event()

    def main() -> None:
        async def go() -> None:
            done = asyncio.Event()
            task = asyncio.create_task(bus.run(done))
            while not bus.server._task:
                await asyncio.sleep(0.01)
            ready.set()
            while not stop.is_set():
                await asyncio.sleep(0.1)
            done.set()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        asyncio.run(go())

    t = threading.Thread(target=main, name="sunspec-bus", daemon=True)
    t.start()
    if not ready.wait(30):
        raise RuntimeError("the SunSpec bus did not start")
    time.sleep(0.2)  # it listens once start() returned
    return t, stop


def main() -> None:
    ap = argparse.ArgumentParser(description="Simulated homes as SunSpec devices on Modbus TCP")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=1502)
    ap.add_argument("--homes", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tag", default="SIMSS", help="serial prefix of the devices")
    ap.add_argument("--tick", type=float, default=1.0, help="seconds between model steps")
    ap.add_argument(
        "--reuse-port",
        action="store_true",
        help="share the port with other processes serving the same homes (SO_REUSEPORT; a load "
        "generator's option: each process moves its own copy of the homes)",
    )
    ap.add_argument(
        "--der",
        action="store_true",
        help="the inverters speak the SunSpec DER information model (701, 702, 704) instead of "
        "103 and 123",
    )
    a = ap.parse_args()
    logging.basicConfig(level=logging.INFO)
    bus = SunSpecBus(
        make_homes(a.homes, a.seed),
        a.tag,
        host=a.host,
        port=a.port,
        tick_s=a.tick,
        reuse_port=a.reuse_port,
        der_homes=range(a.homes) if a.der else (),
    )
    print(f"SunSpec bus on {a.host}:{a.port}: {', '.join(bus.serials)}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(bus.run())


if __name__ == "__main__":
    main()
