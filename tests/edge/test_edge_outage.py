"""The edge agent keeps every reading across a broker outage and SIGKILLs of itself.

The agent runs as its own process (``voltfleet edge``) beside simulated SunSpec devices (a real
pymodbus server) and publishes to a real Mosquitto, which the bridge stores from. The broker is
stopped for ``OUTAGE_S`` seconds; in the middle of the outage the agent is SIGKILLed and started
again on the same outbox, and once more right after the broker is back (while it drains what it
kept). Then the devices go silent, so no new reading is made, and once the outbox is empty the
platform holds exactly as many readings of the three devices as the agent ever put into its
outbox (the outbox's tally survives the kills): none lost. The agent may have sent a message
twice (a PUBACK that came just before a kill); the platform stores one reading per device, point
and timestamp, so nothing is doubled either, and every reading has its own timestamp per point.

Why 20 s proves the two minutes of the issue: nothing in the agent depends on the outage's
length. While the broker is away the agent only appends to its outbox (SQLite on disk, no
in-memory queue that could fill), and on reconnect it drains the outbox oldest first in batches;
a longer outage is more rows, not another path. ``VOLTFLEET_EDGE_OUTAGE_S=120`` runs the two
minutes as written (the slow variant below, skipped unless ``VOLTFLEET_SLOW=1``).

The window this test rarely hits (a message on its way when the link dies, never acknowledged)
is forced in tests/edge/test_edge_agent.py (a proxy that swallows it): rows deleted before the
PUBACK lose readings there.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from tests.protocols.test_mqtt_bridge import Env, env, running, until
from voltfleet.app.mqtt_adapter import MqttBridgeService
from voltfleet.protocols.mqtt.bridge import Bridge
from voltfleet.simulator.fleet import make_homes
from voltfleet.simulator.sunspec_bus import SunSpecBus, run_in_thread
from voltfleet.store.fleet_models import Device
from voltfleet.store.telemetry_models import QuarantinedReading

__all__ = ["env"]

pytestmark = pytest.mark.parametrize("runtime", ["sqlite"], indirect=True)


class Agent:
    def __init__(self, env: Env, token: str, port: int, outbox: Path, log: Path) -> None:
        self.args = [
            sys.executable, "-m", "voltfleet.cli", "edge",
            "--serial", "GWO1",
            "--broker-url", f"mqtt://127.0.0.1:{env.files.listen_port}",
            "--modbus-host", "127.0.0.1", "--modbus-port", str(port),
            "--unit-ids", "1-3", "--poll-s", "0.25", "--outbox", str(outbox),
        ]  # fmt: skip
        self.env = {**os.environ, "VOLTFLEET_EDGE_TOKEN": token}
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(self.args, env=self.env, stdout=out, stderr=out)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def tally(outbox: Path) -> tuple[int, int, int]:
    """(readings ever put, readings sent, readings waiting) from the agent's outbox file."""
    with sqlite3.connect(outbox, timeout=5) as db:
        t = dict(db.execute("SELECT k, v FROM tally").fetchall())
        waiting = db.execute("SELECT coalesce(sum(n), 0) FROM outbox").fetchone()[0]
    return int(t["put"]), int(t["sent"]), int(waiting)


def stored(env: Env, serials: list[str]) -> tuple[int, int]:
    """(readings stored for these devices, the same: one row per device, point and ts)."""
    with env.runtime.db.session() as s:
        ids = list(s.scalars(select(Device.id).where(Device.serial.in_(serials))))
        if not ids:
            return 0, 0
        marks = ", ".join(f"'{i}'" for i in ids)
        n = s.execute(text(f"SELECT count(*) FROM device_readings WHERE device_id IN ({marks})"))
        total = int(n.scalar_one())
    return total, total


def outage_scenario(env: Env, tmp_path: Path, outage_s: float) -> None:
    ids = env.site("GWO1")
    bus = SunSpecBus(make_homes(1, seed=11), "SIMO", tick_s=0.5)
    thread, stop_bus = run_in_thread(bus)
    outbox = tmp_path / "outbox.sqlite3"
    agent = Agent(env, ids["token"], bus.port, outbox, tmp_path / "agent.log")
    meter = bus.serials[2]

    def meter_count() -> int:
        with env.runtime.db.session() as s:
            d = s.scalar(select(Device.id).where(Device.serial == meter))
        return env.count(d) if d else 0

    async def scenario() -> None:
        bridge = Bridge(MqttBridgeService.of(env.runtime), env.bridge_config("bridge-outage"))
        async with running(bridge):
            agent.start()
            await until(lambda: meter_count() >= 20, 30, "readings flowing")
            await asyncio.to_thread(env.server.stop)
            down = time.monotonic()
            await asyncio.sleep(outage_s / 2)
            await asyncio.to_thread(agent.kill)  # SIGKILL while the broker is away
            agent.start()
            await asyncio.sleep(max(outage_s - (time.monotonic() - down), 0))
            waiting = tally(outbox)[2]
            assert waiting > 0  # the outage's readings are on disk
            await asyncio.to_thread(env.server.start)
            await until(lambda: tally(outbox)[1] > 0 and tally(outbox)[2] < waiting, 30,
                        "the agent draining")  # fmt: skip
            await asyncio.to_thread(agent.kill)  # SIGKILL while it drains
            agent.start()
            await asyncio.sleep(1.0)
            stop_bus.set()  # the devices go silent: no new readings from here on
            await asyncio.to_thread(thread.join, 10)
            await until(lambda: tally(outbox)[2] == 0, 60, "the outbox empty")
            put = tally(outbox)[0]
            await until(lambda: stored(env, bus.serials)[0] >= put, 30, "every reading stored")
            await asyncio.sleep(1.0)  # anything more would arrive now

    try:
        asyncio.run(asyncio.wait_for(scenario(), outage_s + 150))
    except BaseException:
        print(agent.log.read_text(errors="replace")[-3000:])  # shown with the failure
        raise
    finally:
        agent.stop()
        stop_bus.set()
    put, sent, waiting = tally(outbox)
    total, _ = stored(env, bus.serials)
    assert waiting == 0
    assert total == put  # none lost, none doubled
    assert sent >= put  # a batch may have gone twice; it was stored once
    with env.runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(QuarantinedReading)) == 0
    assert put > 0


def test_a_broker_outage_and_sigkills_lose_and_double_nothing(env: Env, tmp_path: Path) -> None:
    outage_s = float(os.environ.get("VOLTFLEET_EDGE_OUTAGE_S", "20"))
    outage_scenario(env, tmp_path, outage_s)


@pytest.mark.skipif(os.environ.get("VOLTFLEET_SLOW") != "1", reason="slow: VOLTFLEET_SLOW=1")
def test_a_two_minute_broker_outage_loses_nothing(env: Env, tmp_path: Path) -> None:
    outage_scenario(env, tmp_path, 120.0)
