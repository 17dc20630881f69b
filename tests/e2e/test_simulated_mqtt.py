"""End to end over MQTT: simulated homes whose gateways talk to a real Mosquitto (voltfleet's
password and ACL files, each gateway logging in with the token the platform issued) while the
platform's bridge reads the broker into a real voltfleet server (uvicorn on loopback, fresh
SQLite). Sites, devices and tokens are made through the HTTP API; telemetry, status, alarms and
commands go over MQTT only. Every wait is bounded."""

from __future__ import annotations

import asyncio
import contextlib
import math
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import aiomqtt
import httpx
import pytest
from sqlalchemy import func, select, text

from tests.e2e.test_simulated_fleet import EMAIL, PASSWORD, POINTS, Server, server, stored_totals
from tests.protocols.mosquitto import platform_broker
from tests.support.waiting import until
from voltfleet.app.mqtt_adapter import MqttBridgeService
from voltfleet.protocols.mqtt import topics
from voltfleet.protocols.mqtt.bridge import Bridge, BridgeConfig
from voltfleet.protocols.mqtt.broker import BrokerFiles
from voltfleet.simulator.fleet import FleetConfig, FleetReport, run_fleet_sync
from voltfleet.store.command_models import Command
from voltfleet.store.fleet_models import Device
from voltfleet.store.telemetry_models import QuarantinedReading
from voltfleet.store.timeseries import store_for

__all__ = ["server"]  # the fixture
BRIDGE_PASSWORD = "bridge-secret-for-e2e"
SETPOINT_W = 2500.0
T = TypeVar("T")


class BridgeThread:
    """The MQTT bridge on an event loop of its own in a thread (its own process in a
    deployment)."""

    def __init__(self, bridge: Bridge) -> None:
        self.bridge = bridge
        self._loop = asyncio.new_event_loop()
        self._task: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._main, name="mqtt-bridge", daemon=True)

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._task = self._loop.create_task(self.bridge.run())
        with contextlib.suppress(asyncio.CancelledError):
            self._loop.run_until_complete(self._task)
        self._loop.run_until_complete(self._loop.shutdown_default_executor())
        self._loop.close()

    def start(self, timeout_s: float = 10.0) -> None:
        self._thread.start()
        until(self.bridge.connected.is_set, timeout_s, "the bridge to connect")

    def stop(self) -> None:
        if self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(15)


@dataclass
class MqttPlatform:
    server: Server
    files: BrokerFiles
    bridge: Bridge

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.files.listen_port}"

    def retained_status(self, serial: str) -> bytes:
        """The gateway's retained status, as a client subscribing now gets it."""

        async def read() -> bytes:
            async with aiomqtt.Client(
                "127.0.0.1",
                self.files.listen_port,
                username=self.files.bridge_username,
                password=BRIDGE_PASSWORD,
                identifier=f"status-reader-{time.monotonic_ns()}",
                timeout=5,
            ) as c:
                await c.subscribe(topics.status(serial), qos=1)
                m = await asyncio.wait_for(anext(aiter(c.messages)), 5)
                assert m.retain, "the status is not retained"
                return m.payload if isinstance(m.payload, bytes) else str(m.payload).encode()

        return asyncio.run(read())

    def device_status(self, serial: str) -> str | None:
        with self.server.runtime.db.session() as s:
            return s.scalar(
                select(Device.status).where(Device.serial == serial, Device.deleted_at.is_(None))
            )

    def stored_readings(self) -> int:
        with self.server.runtime.db.engine.connect() as c:
            return int(c.execute(text("SELECT count(*) FROM readings")).scalar_one())


@pytest.fixture
def mqtt(server: Server, tmp_path: Path) -> Iterator[MqttPlatform]:
    """A Mosquitto that the server's token issuing keeps the password file of, and the bridge."""
    mosquitto = platform_broker(server.runtime, tmp_path / "broker", BRIDGE_PASSWORD)
    files = mosquitto.files
    bridge = Bridge(
        MqttBridgeService.of(server.runtime),
        BridgeConfig(
            port=files.listen_port,
            password=BRIDGE_PASSWORD,
            client_id="bridge-e2e",
            backoff_min_s=0.1,
            backoff_max_s=1.0,
            command_poll_s=0.2,
        ),
    )
    thread = BridgeThread(bridge)
    try:
        thread.start()
        yield MqttPlatform(server, files, bridge)
    finally:
        thread.stop()
        mosquitto.stop()
        server.runtime.broker_files = None


def test_three_homes_over_mqtt_store_the_energy_the_simulator_made(mqtt: MqttPlatform) -> None:
    t0 = time.monotonic()
    morning = datetime.now(UTC).replace(hour=7, minute=0, second=0, microsecond=0)
    config = FleetConfig(
        sites=3, speed=math.inf, hours=6.0, step_s=60.0, seed=12, transport="mqtt",
        mqtt_url=mqtt.url, start=morning - timedelta(days=1),  # 07:00-13:00 UTC yesterday
    )  # fmt: skip
    report = run_fleet_sync(mqtt.server.url, EMAIL, PASSWORD, config)
    stats = report.stats
    assert not report.stopped_early and report.steps == 360 and report.homes == 3
    assert stats.failed_readings == 0 and stats.sent == 3 * (7 + 360 * 12)
    assert stats.delivered == stats.sent  # every batch acknowledged by the broker (PUBACK)
    assert stats.accepted == 0  # nothing went to HTTP ingest
    assert [g.connects for g in report.gateways] == [1, 1, 1]

    # The broker acknowledged it all; the bridge stores it in its own time.
    until(lambda: mqtt.stored_readings() == stats.sent, 20, "the bridge to store every reading")
    with mqtt.server.runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(QuarantinedReading)) == 0
    stored = stored_totals(mqtt.server, report)
    for i, sim in report.totals.items():
        for key in POINTS:
            want, got = getattr(sim, key), stored[i][key]
            assert got == pytest.approx(want, rel=1e-3, abs=0.5), (i, key, got, want)
    total = report.total()  # a real morning: energy flowed every way
    assert total.pv_wh > 0 and total.load_wh > 0 and total.charge_wh > 0
    assert total.import_wh + total.export_wh > 0

    # Closed cleanly: each gateway said "offline" itself (retained), and the platform shows it.
    serials = [acc.gateway_serial for acc in report.accounts]
    assert [mqtt.retained_status(g) for g in serials] == [b"offline"] * 3
    until(lambda: all(mqtt.device_status(g) == "offline" for g in serials), 10, "offline")
    print(f"\n{report.summary()}\n(test wall time {time.monotonic() - t0:.1f} s)")


def test_a_gateway_that_dies_is_marked_offline_by_its_last_will(
    mqtt: MqttPlatform, tmp_path: Path
) -> None:
    """``voltfleet simulate --transport mqtt`` in a process of its own, killed (SIGKILL)."""
    gateway = "SIMWILL00000-GW"
    log_path = tmp_path / "simulate.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "voltfleet.cli", "simulate", "--url", mqtt.server.url,
             "--email", EMAIL, "--password", PASSWORD, "--sites", "1", "--tag", "WILL",
             "--speed", "1", "--step", "1", "--hours", "0.5", "--max-wall", "60",
             "--transport", "mqtt", "--mqtt-url", mqtt.url],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def tail() -> str:
        return log_path.read_text(errors="replace")[-2000:]

    try:
        until(lambda: mqtt.device_status(gateway) == "online", 30, f"{gateway} online")
        assert mqtt.retained_status(gateway) == b"online", tail()
        until(lambda: mqtt.stored_readings() > 0, 15, "the first readings over MQTT")
        assert proc.poll() is None, tail()
        proc.kill()  # no DISCONNECT: the broker publishes the gateway's last will
        proc.wait(10)
        until(lambda: mqtt.device_status(gateway) == "offline", 15, "the last will")
        assert mqtt.retained_status(gateway) == b"offline"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_a_command_reaches_a_home_over_mqtt_and_its_battery_follows(mqtt: MqttPlatform) -> None:
    stop = threading.Event()
    out: dict[str, FleetReport | BaseException] = {}
    now = datetime.now(UTC)
    config = FleetConfig(
        sites=1,
        speed=1.0,
        hours=0.5,  # bounded; stopped long before
        step_s=2.0,
        seed=7,
        tag="MQC",
        start=now - timedelta(seconds=20),
        backfill_until=now,  # then simulated time keeps to the real clock
        transport="mqtt",
        mqtt_url=mqtt.url,
    )

    def fleet() -> None:
        try:
            out["report"] = run_fleet_sync(mqtt.server.url, EMAIL, PASSWORD, config, stop=stop)
        except BaseException as exc:
            out["error"] = exc

    thread = threading.Thread(target=fleet, daemon=True)
    thread.start()
    try:
        until(lambda: mqtt.device_status("SIMMQC00000-GW") == "online", 30, "the gateway")
        assert mqtt.retained_status("SIMMQC00000-GW") == b"online"
        with mqtt.server.runtime.db.session() as s:
            battery_id = s.scalar(select(Device.id).where(Device.serial == "SIMMQC00000-BAT"))
        assert battery_id is not None

        def powers(since: datetime, at_least: int) -> list[float] | None:
            """The stored battery power from ``since`` on, once there are ``at_least``."""
            with mqtt.server.runtime.db.engine.connect() as conn:
                got = store_for(conn).read(
                    battery_id, "battery_power_w", since, datetime.now(UTC) + timedelta(minutes=1)
                )
            return [v.value for v in got] if len(got) >= at_least else None

        before = until(lambda: powers(now - timedelta(minutes=5), 5), 30, "the first readings")
        with httpx.Client(base_url=mqtt.server.url, trust_env=False, timeout=10) as http:
            r = http.post("/api/v1/auth/token", data={"username": EMAIL, "password": PASSWORD})
            headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
            r = http.post(
                f"/api/v1/devices/{battery_id}/commands",
                json={"kind": "battery_setpoint", "params": {"battery_power_w": SETPOINT_W}},
                headers=headers,
            )
            assert r.status_code == 201, r.text
            cid = r.json()["id"]

            def replied() -> dict[str, Any] | None:
                got: dict[str, Any] = http.get(f"/api/v1/commands/{cid}", headers=headers).json()
                return got if got["state"] in ("acknowledged", "failed", "expired") else None

            done = until(replied, 20, "the command's reply")
        assert done["state"] == "acknowledged", done
        assert done["sent_via"] == "mqtt" and "holding at 2500 W" in done["message"]
        at = datetime.fromisoformat(done["replied_at"]) + timedelta(seconds=4)  # the next step
        after = until(lambda: powers(at, 3), 30, "readings after the command")
        assert all(abs(v - SETPOINT_W) < 1.0 for v in after), after
        assert any(abs(v - SETPOINT_W) > 1.0 for v in before), before
        with mqtt.server.runtime.db.session() as s:
            row = s.get(Command, cid)
            assert row is not None and row.result == {"applied_battery_power_w": SETPOINT_W}
    finally:
        stop.set()
        thread.join(20)
    assert "error" not in out, out.get("error")
    report = out["report"]
    assert isinstance(report, FleetReport)
    assert report.stats.commands_received == 1 and report.stats.commands_acknowledged == 1
    assert [g.commands for g in report.gateways] == [1]
