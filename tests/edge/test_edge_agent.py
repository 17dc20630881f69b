"""The edge agent (voltfleet/edge/) end to end: simulated SunSpec devices on a real pymodbus
Modbus TCP server, a real Mosquitto with voltfleet's password and ACL files, the MQTT bridge and
the database. Auto-detect adds the three devices of the bus to the gateway's site and their
readings are stored, none quarantined; a register write and a register read travel platform ->
broker -> agent -> device and back, and a command sent twice is applied once."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.protocols.test_mqtt_bridge import Env, env, run, running, until
from voltfleet.app.mqtt_adapter import MqttBridgeService
from voltfleet.edge.agent import EdgeAgent
from voltfleet.edge.config import EdgeConfig
from voltfleet.protocols.modbus.link import LinkConfig
from voltfleet.protocols.mqtt.bridge import Bridge
from voltfleet.simulator.fleet import make_homes
from voltfleet.simulator.model import Mode
from voltfleet.simulator.sunspec_bus import SunSpecBus
from voltfleet.store.discovery_models import DiscoveredDevice
from voltfleet.store.fleet_models import Device
from voltfleet.store.telemetry_models import QuarantinedReading

__all__ = ["env"]


def agent_config(env: Env, serial: str, token: str, port: int, outbox: Path) -> EdgeConfig:
    return EdgeConfig(
        serial=serial,
        token=token,
        broker_url=f"mqtt://127.0.0.1:{env.files.listen_port}",
        modbus=LinkConfig(host="127.0.0.1", port=port),
        unit_ids=(1, 2, 3, 4),  # 4: nobody there
        poll_s=0.2,
        outbox=outbox,
    )


def devices(env: Env, site_serial: str) -> dict[str, Device]:
    with env.runtime.db.session() as s:
        gw = s.scalar(select(Device).where(Device.serial == site_serial))
        assert gw is not None
        rows = s.scalars(
            select(Device).where(Device.site_id == gw.site_id, Device.deleted_at.is_(None))
        )
        return {d.serial: d for d in rows}


def quarantined(env: Env) -> int:
    with env.runtime.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(QuarantinedReading)) or 0)


@contextlib.asynccontextmanager
async def agent_running(agent: EdgeAgent) -> Any:
    task = asyncio.create_task(agent.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def test_auto_detect_adds_the_bus_and_its_readings_are_stored(env: Env, tmp_path: Path) -> None:
    ids = env.site("GWE1")
    bus = SunSpecBus(make_homes(1, seed=7), "SIME")
    serials = bus.serials

    async def scenario() -> None:
        await bus.server.start()
        bus.advance(datetime.now(UTC))
        bridge = Bridge(MqttBridgeService.of(env.runtime), env.bridge_config("bridge-edge1"))
        try:
            async with running(bridge):
                agent = EdgeAgent(
                    agent_config(env, "GWE1", ids["token"], bus.port, tmp_path / "o.db"),
                    now=lambda: datetime.now(UTC),
                )
                async with agent_running(agent):
                    await until(
                        lambda: set(serials) <= set(devices(env, "GWE1")), what="auto-detect"
                    )
                    await until(
                        lambda: all(env.count(devices(env, "GWE1")[s].id) >= 3 for s in serials),
                        what="the readings of the three devices",
                    )
        finally:
            await bus.server.stop()

    run(scenario())
    found = devices(env, "GWE1")
    gw = found["GWE1"]
    inv, bat, mtr = (found[s] for s in serials)
    assert (inv.kind, inv.subtype, inv.comm_address, inv.parent_id) == (
        "inverter",
        "hybrid",
        1,
        gw.id,
    )
    assert inv.model.startswith("Voltfleet Simulated SIM-HYB-") and inv.fw_arm == "2.4.1"
    assert (bat.kind, bat.comm_address) == ("battery", 2)
    assert (mtr.kind, mtr.subtype, mtr.comm_address) == ("meter", "grid", 3)
    assert quarantined(env) == 0
    with env.runtime.db.session() as s:
        states = sorted(s.scalars(select(DiscoveredDevice.state)))
    assert states == ["added", "added", "added"]  # unit 4 answered nothing: not in it
    # the people's view of what the gateway found
    h = env.world.accounts["admin@I1"].headers()
    r = env.client.get(f"/api/v1/devices/{ids['GWE1']}/inventory", headers=h)
    assert r.status_code == 200, r.text
    assert [(d["unit_id"], d["serial"], d["state"]) for d in r.json()] == [
        (1, serials[0], "added"),
        (2, serials[1], "added"),
        (3, serials[2], "added"),
    ]


def test_a_register_write_round_trip_is_applied_once(env: Env, tmp_path: Path) -> None:
    ids = env.site("GWE2")
    bus = SunSpecBus(make_homes(1, seed=7), "SIMF")
    home = bus.homes[0]
    inverter = home.inverter.serial
    writes: list[tuple[int, list[int]]] = []
    hook = home.inverter.bank.on_write
    assert hook is not None

    def counting(address: int, words: list[int]) -> str | None:
        writes.append((address, words))
        return hook(address, words)

    home.inverter.bank.on_write = counting

    async def scenario() -> list[Any]:
        await bus.server.start()
        bus.advance(datetime.now(UTC))
        bridge = Bridge(MqttBridgeService.of(env.runtime), env.bridge_config("bridge-edge2"))
        replies = []
        try:
            async with running(bridge):
                agent = EdgeAgent(
                    agent_config(env, "GWE2", ids["token"], bus.port, tmp_path / "o.db"),
                    now=lambda: datetime.now(UTC),
                )
                async with agent_running(agent):
                    await until(lambda: inverter in agent.devices(), what="the scan")

                    async def send(cid: str, kind: str, params: dict[str, Any]) -> Any:
                        body = {"id": cid, "kind": kind, "device": inverter, "params": params}
                        return await bridge.send_command("GWE2", cid, body, timeout_s=15)

                    w = {"model": 124, "point": "InWRte", "value": 35.5}
                    replies.append(await send("w1", "register_write", w))
                    replies.append(await send("w1", "register_write", w))  # delivered again
                    replies.append(
                        await send(
                            "m1",
                            "register_write",
                            {"model": 124, "point": "StorCtl_Mod", "value": 1},
                        )
                    )
                    commands.append(home.state.command)  # after m1
                    replies.append(
                        await send(
                            "r1",
                            "register_read",
                            {
                                "points": [
                                    {"model": 124, "point": "InWRte"},
                                    {"model": 1, "point": "SN"},
                                    {"address": 40000, "count": 2},
                                ]
                            },
                        )
                    )
                    replies.append(
                        await send(
                            "bad1",
                            "register_write",
                            {"model": 124, "point": "ChaState", "value": 10},
                        )
                    )
                    replies.append(
                        await send(
                            "bad2",
                            "register_write",
                            {"model": 124, "point": "InWRte", "value": 150},
                        )
                    )
                    replies.append(await send("s1", "scan", {"unit_ids": [1, 2, 3, 9]}))
                    bat = home.battery_device.serial  # the battery; control is the inverter's
                    body = {"id": "b1", "kind": "battery_setpoint", "device": bat,
                            "params": {"battery_power_w": -1500.0}}  # fmt: skip
                    replies.append(await bridge.send_command("GWE2", "b1", body, timeout_s=15))
                    commands.append(home.state.command)
                    body = {"id": "b2", "kind": "battery_mode", "device": bat,
                            "params": {"mode": "self_consumption"}}  # fmt: skip
                    replies.append(await bridge.send_command("GWE2", "b2", body, timeout_s=15))
        finally:
            await bus.server.stop()
        return replies

    commands: list[Any] = []
    replies = run_value(scenario())
    first, again, mode, read, read_only, too_big, scan, setpoint, own = replies
    assert first["status"] == "acknowledged", first
    assert first["details"] == {"before": 0.0, "after": 35.5}
    assert again == first  # the same reply, not applied a second time
    wrote = [w for a, w in writes if a == home.inverter.address(124, "InWRte")]
    assert wrote == [[355], [1500]]  # once 35.5 % (InOutWRte_SF -1), once 150 % (refused)
    assert mode["status"] == "acknowledged"
    assert commands[0].mode is Mode.SETPOINT
    assert commands[0].setpoint_w == home.battery.max_charge_w * 0.355
    assert read["status"] == "acknowledged"
    values = read["details"]["values"]
    assert values[0] == {"model": 124, "point": "InWRte", "value": 35.5}
    assert values[1] == {"model": 1, "point": "SN", "value": inverter}
    assert values[2] == {"address": 40000, "words": [0x5375, 0x6E53]}
    assert read["details"]["read_at"].endswith("Z")
    assert read_only["status"] == "failed" and "read-only" in read_only["message"]
    assert too_big["status"] == "failed" and "exception_code=3" in too_big["message"]
    assert scan["status"] == "acknowledged" and scan["details"] == {"found": 3}
    # the platform's battery commands, through the inverter's storage control (model 124)
    assert setpoint["status"] == "acknowledged", setpoint
    assert setpoint["details"]["applied_battery_power_w"] == -1500.0
    assert commands[1].mode is Mode.SETPOINT
    assert commands[1].setpoint_w == pytest.approx(-1500.0, abs=home.battery.max_charge_w / 1000)
    assert own["status"] == "acknowledged" and home.state.command.mode is Mode.SELF_CONSUMPTION


def run_value(scenario: Any, timeout_s: float = 60.0) -> Any:
    out: list[Any] = []

    async def bounded() -> None:
        out.append(await asyncio.wait_for(scenario, timeout_s))

    asyncio.run(bounded())
    return out[0]


class Blackhole:
    """A TCP proxy in front of the broker that can drop everything both ways (a network that
    swallows packets) and then reset the connections."""

    def __init__(self, broker_port: int) -> None:
        self.broker_port = broker_port
        self.drop = False
        self.port = 0
        self._server: asyncio.Server | None = None
        self._pairs: list[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        br, bw = await asyncio.open_connection("127.0.0.1", self.broker_port)
        self._pairs.append((cw, bw))

        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await r.read(65536):
                    if not self.drop:
                        w.write(data)
                        await w.drain()
            w.close()

        await asyncio.gather(pipe(cr, bw), pipe(br, cw))

    def cut(self) -> None:
        for a, b in self._pairs:
            a.transport.abort()
            b.transport.abort()
        self._pairs.clear()
        self.drop = False

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


def test_readings_leave_the_outbox_only_after_the_broker_acknowledged_them(
    env: Env, tmp_path: Path
) -> None:
    """Messages swallowed on the way to the broker (no PUBACK ever) stay in the outbox and go
    again on the next connection: every reading put is stored, none twice."""
    ids = env.site("GWE3")
    bus = SunSpecBus(make_homes(1, seed=7), "SIMG")

    def stored() -> int:
        found = devices(env, "GWE3")
        return sum(env.count(found[s].id) for s in bus.serials if s in found)

    async def scenario() -> tuple[int, int, int]:
        await bus.server.start()
        bus.advance(datetime.now(UTC))
        hole = Blackhole(env.files.listen_port)
        await hole.start()
        bridge = Bridge(MqttBridgeService.of(env.runtime), env.bridge_config("bridge-edge3"))
        try:
            async with running(bridge):
                config = replace(
                    agent_config(env, "GWE3", ids["token"], bus.port, tmp_path / "o.db"),
                    broker_url=f"mqtt://127.0.0.1:{hole.port}",
                    unit_ids=(1, 2, 3),
                )
                agent = EdgeAgent(config, now=lambda: datetime.now(UTC))
                async with agent_running(agent):
                    await until(lambda: stored() >= 30, what="readings flowing")
                    hole.drop = True  # what the agent publishes now never reaches the broker
                    await asyncio.sleep(1.5)
                    assert agent.outbox.pending() > 0
                    hole.cut()  # the connection resets; the agent connects again
                    await until(lambda: agent.outbox.pending() == 0, what="the outbox drained")
                    await bus.server.stop()  # the devices go silent: no new readings
                    await asyncio.sleep(0.5)
                    await until(lambda: agent.outbox.pending() == 0, what="the last poll sent")
                    put = agent.outbox.tally()["put"]
                    await until(lambda: stored() >= put, what="every reading stored")
                    return put, agent.outbox.tally()["sent"], stored()
        finally:
            await hole.close()
            await bus.server.stop()

    put, sent, total = run_value(scenario())
    assert total == put and sent == put
    assert quarantined(env) == 0
