"""Work modes and the power switch through the edge agent (issue 15): the platform's command goes
through a real Mosquitto to the agent, which writes SunSpec control points on a real pymodbus
server (the simulated hybrid inverter), reads them back and reports the mode the device runs;
the Mode page shows that mode. A device that refuses a write, a device that lacks the points and a
command delivered twice (applied once) are covered; the simulated home then behaves as the mode
says (edge/sunspec_modes.py, docs/edge-modes.md)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.app.test_money_pages import sign_in
from tests.edge.test_edge_agent import agent_config, agent_running, devices, run_value
from tests.protocols.test_mqtt_bridge import Env, env, running, until
from voltfleet.app.mqtt_adapter import MqttBridgeService
from voltfleet.domain.work_modes import WorkMode, WorkModeError, check_tou
from voltfleet.edge import sunspec_modes as sm
from voltfleet.edge.agent import EdgeAgent
from voltfleet.edge.commands import Executor
from voltfleet.edge.config import ConfigError, from_mapping
from voltfleet.edge.mode_commands import operate
from voltfleet.edge.outbox import Outbox
from voltfleet.edge.tou_runner import TouRunner
from voltfleet.protocols.modbus.link import LinkConfig, ModbusLink
from voltfleet.protocols.mqtt.bridge import Bridge
from voltfleet.protocols.sunspec import scan
from voltfleet.simulator.fleet import make_homes
from voltfleet.simulator.model import Mode, StepInput, step
from voltfleet.simulator.sunspec_bus import SunSpecBus
from voltfleet.simulator.sunspec_home import BASE

__all__ = ["env"]


# ---- the mapping (pure) -------------------------------------------------------------------------


def test_each_mode_maps_to_storage_control_with_the_activating_write_last() -> None:
    models = [1, 103, 124, 123]
    for mode, points in sm.MODE_POINTS.items():
        plan = sm.work_mode({"mode": mode.value}, models)
        assert [(w.model, w.point, w.value) for w in plan.writes] == [
            (124, p, v) for p, v in points
        ]
        assert plan.writes[-1].point == "StorCtl_Mod"
        assert sm.reported_mode({p: float(v) for p, v in points}) == mode.value
    assert sm.power_switch(False, models).writes == (sm.Write(123, "Conn", 0),)
    assert sm.power_switch(True, [1, 701, 703, 704]).writes == (sm.Write(703, "ES", 1),)
    lim = sm.feed_in_limit(3000, 6000, [1, 701, 704])
    assert lim.writes == (sm.Write(704, "WMaxLimPct", 50.0), sm.Write(704, "WMaxLimPctEna", 1))
    assert sm.feed_in_limit(None, 6000, models).writes == (sm.Write(123, "WMaxLim_Ena", 0),)
    assert sm.reported_mode({"StorCtl_Mod": 1.0, "InWRte": 35.5}) is None  # a setpoint


def test_what_sunspec_cannot_say_is_refused_in_words() -> None:
    models = [1, 103, 124, 123]
    for mode in ("forced_off_grid",):
        with pytest.raises(sm.NotOverSunSpec, match="not supported by this device over SunSpec"):
            sm.work_mode({"mode": mode}, models)
    with pytest.raises(sm.NotOverSunSpec, match="TOU with anti-feedback is not supported"):
        sm.tou_plan(check_tou({**TOU, "anti_feedback": True}), NOON, models)  # no WMax
    with pytest.raises(sm.NotOverSunSpec, match="intelligent load is not supported"):
        sm.intelligent_load({"mode": "manual", "on": True}, models)
    with pytest.raises(sm.NotOverSunSpec, match="no model 124"):
        sm.work_mode({"mode": "pv"}, [1, 103])
    with pytest.raises(sm.NotOverSunSpec, match="power on/off is not supported"):
        sm.power_switch(True, [1, 802])
    with pytest.raises(WorkModeError):
        sm.work_mode({"mode": "turbo"}, models)
    with pytest.raises(WorkModeError):
        sm.intelligent_load({"mode": "manual"}, models)


TOU = {
    "grid_charge": True,
    "grid_charge_power_w": 3500,
    "grid_charge_start": "23:00",
    "grid_charge_end": "05:00",
    "seasons": [
        {
            "weekday": [{"start": "00:00", "end": "24:00", "mode": "pv"}],
            "weekend": [{"start": "00:00", "end": "24:00", "mode": "full_feed_in"}],
        }
    ],
}
BERLIN = ZoneInfo("Europe/Berlin")
NOON = datetime(2031, 6, 4, 12, 0, tzinfo=BERLIN)  # a Wednesday


def test_a_tou_table_is_the_points_of_its_slot() -> None:
    table = check_tou(TOU)
    models = [1, 103, 124]
    noon = sm.tou_plan(table, NOON, models, wchamax_w=5000)
    assert noon.details == {"work_mode": "tou", "active_mode": "pv"}
    assert [(w.point, w.value) for w in noon.writes] == list(sm.MODE_POINTS[WorkMode.PV])
    night = sm.tou_plan(table, NOON.replace(hour=23, minute=30), models, wchamax_w=5000)
    assert night.details["active_mode"] == "grid_charge"
    assert [(w.point, w.value) for w in night.writes] == [
        ("ChaGriSet", 1),
        ("InWRte", 70.0),  # 3,500 W of a WChaMax of 5,000 W
        ("StorCtl_Mod", 1),
    ]
    saturday = sm.tou_plan(table, NOON.replace(day=7), models, wchamax_w=5000)
    assert saturday.details["active_mode"] == "full_feed_in"
    capped = sm.tou_plan(
        check_tou({**TOU, "anti_feedback": True, "feed_in_limit_w": 3000}),
        NOON,
        [1, 701, 704, 124],
        wchamax_w=5000,
        wmax_w=6000,
    )
    assert [(w.model, w.point, w.value) for w in capped.writes[:2]] == [
        (704, "WMaxLimPct", 50.0),
        (704, "WMaxLimPctEna", 1),
    ]


def test_the_agent_runs_a_tou_table_slot_by_slot_and_keeps_it_across_a_restart(
    tmp_path: Path,
) -> None:
    """TouRunner and the executor against a real pymodbus server (no broker): the slot's points
    at once, the next slot's when its time comes, the table still run after a restart, and
    ended by another work mode."""
    bus = SunSpecBus(make_homes(1, seed=5), "SIMU")
    home = bus.homes[0]
    inv = home.inverter.serial
    clock = [NOON.astimezone(UTC)]

    def now() -> datetime:
        return clock[0]

    async def scenario() -> dict[str, Any]:
        await bus.server.start()
        bus.advance(datetime.now(UTC))
        link = ModbusLink(LinkConfig(host="127.0.0.1", port=bus.port))
        outbox = Outbox(tmp_path / "o.db")
        out: dict[str, Any] = {}
        try:
            found = {d.serial: d for d in [await scan.scan(link, u) for u in (1, 2, 3)]}

            async def rescan(units: list[int] | None) -> int:
                return 3

            tou = TouRunner(link, lambda: found, BERLIN, outbox, now)
            ex = Executor(link, lambda: found, rescan, now, tou)
            body = {"kind": "work_mode", "device": inv, "params": {"mode": "tou", "tou": TOU}}
            out["start"] = await ex.run(body)
            out["noon"] = home.state.command
            await tou.tick()  # the same slot: nothing written
            clock[0] = NOON.replace(hour=23, minute=30).astimezone(UTC)
            await tou.tick()
            out["night"] = home.state.command
            again = TouRunner(link, lambda: found, BERLIN, outbox, now)  # the agent restarted
            out["kept"] = (again.serial, again.table == tou.table)
            clock[0] = NOON.replace(day=5, hour=9).astimezone(UTC)  # Thursday morning: pv
            await again.tick()
            out["morning"] = home.state.command
            ex = Executor(link, lambda: found, rescan, now, again)
            body = {"kind": "work_mode", "device": inv, "params": {"mode": "self_consumption"}}
            out["other"] = await ex.run(body)
            restarted = TouRunner(link, lambda: found, BERLIN, outbox, now)
            out["after"] = (again.serial, restarted.serial)
            return out
        finally:
            outbox.close()
            link.close()
            await bus.server.stop()

    out = asyncio.run(asyncio.wait_for(scenario(), 30))
    start = out["start"]
    assert start["status"] == "acknowledged", start
    assert start["details"]["work_mode"] == "tou" and start["details"]["active_mode"] == "pv"
    assert start["details"]["device_mode"] == "pv" and start["details"]["zone"] == "Europe/Berlin"
    assert out["noon"].charge_cap_w == 0.0 and out["noon"].discharge_cap_w == 0.0
    night = out["night"]
    assert night.mode is Mode.SETPOINT
    assert night.setpoint_w == pytest.approx(0.7 * home.battery.max_charge_w, rel=0.01)
    assert out["kept"] == (inv, True)
    assert out["morning"].mode is Mode.SELF_CONSUMPTION and out["morning"].charge_cap_w == 0.0
    assert out["other"]["status"] == "acknowledged"
    assert out["after"] == (None, None)  # the table no longer runs, nor after a restart


# ---- through the agent --------------------------------------------------------------------------


def test_work_modes_round_trip_through_the_agent_to_a_sunspec_device(
    env: Env, tmp_path: Path
) -> None:
    ids = env.site("GWM1")
    bus = SunSpecBus(make_homes(2, seed=7), "SIMM", controls=True)
    home, strict = bus.homes
    strict.grid_charge_allowed = False  # the second inverter may not charge from the grid
    strict.inverter.set(124, {"ChaGriSet": 0})
    writes: list[int] = []
    hook = home.inverter.bank.on_write
    assert hook is not None

    def counting(address: int, words: list[int]) -> str | None:
        writes.append(address)
        return hook(address, words)

    home.inverter.bank.on_write = counting
    h = env.world.accounts["admin@I1"].headers()

    def send(serial: str, kind: str, params: dict[str, Any]) -> str:
        device_id = devices(env, "GWM1")[serial].id
        r = env.client.post(
            f"/api/v1/devices/{device_id}/commands",
            json={"kind": kind, "params": params},
            headers=h,
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def state(cid: str) -> dict[str, Any]:
        r = env.client.get(f"/api/v1/commands/{cid}", headers=h)
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def order(serial: str, kind: str, params: dict[str, Any]) -> dict[str, Any]:
        return await done(await asyncio.to_thread(send, serial, kind, params))

    async def done(cid: str) -> dict[str, Any]:
        """The command's final state; the HTTP calls off the loop, so the bridge and the agent
        (on this loop) go on meanwhile."""
        deadline = asyncio.get_running_loop().time() + 30
        while True:
            got = await asyncio.to_thread(state, cid)
            if got["state"] in ("acknowledged", "failed"):
                return got
            assert asyncio.get_running_loop().time() < deadline, f"{cid} still {got['state']}"
            await asyncio.sleep(0.1)

    async def scenario() -> dict[str, Any]:
        await bus.server.start()
        bus.advance(datetime.now(UTC))
        config = replace(env.bridge_config("bridge-modes"), command_poll_s=0.1)
        bridge = Bridge(MqttBridgeService.of(env.runtime), config)
        out: dict[str, Any] = {}

        async def direct(cid: str, kind: str, serial: str, params: dict[str, Any]) -> Any:
            body = {"id": cid, "kind": kind, "device": serial, "params": params}
            return await bridge.send_command("GWM1", cid, body, timeout_s=15)

        try:
            async with running(bridge):
                cfg = agent_config(env, "GWM1", ids["token"], bus.port, tmp_path / "o.db")
                cfg = replace(cfg, unit_ids=(1, 2, 3, 4, 5, 6))
                agent = EdgeAgent(cfg, now=lambda: datetime.now(UTC))
                async with agent_running(agent):
                    serials = [d.serial for h_ in bus.homes for d in h_.devices]
                    await until(
                        lambda: set(serials) <= set(devices(env, "GWM1")), what="auto-detect"
                    )
                    inv = home.inverter.serial
                    out["pv"] = await order(inv, "work_mode", {"mode": "pv"})
                    out["pv_command"] = home.state.command
                    n = len(writes)
                    # the same command id delivered again: answered, not applied again
                    again = {"mode": "self_consumption"}
                    out["again"] = await direct(out["pv"]["id"], "work_mode", inv, again)
                    out["writes_again"] = len(writes) - n
                    out["feed_in"] = await order(inv, "work_mode", {"mode": "full_feed_in"})
                    out["feed_in_command"] = home.state.command
                    out["off"] = await order(inv, "power_switch", {"on": False})
                    out["on_after_off"] = home.state.inverter_on
                    out["on"] = await order(inv, "power_switch", {"on": True})
                    limit = {"model": 123, "point": "WMaxLim_Ena", "value": 1}
                    out["limit"] = await direct("lim1", "register_write", inv, limit)
                    out["refused"] = await order(
                        strict.inverter.serial, "work_mode", {"mode": "emergency_charging"}
                    )
                    out["strict_command"] = strict.state.command
                    meter = home.meter.serial
                    out["lacks"] = await direct("ps1", "power_switch", meter, {"on": False})
                    out["off_grid"] = await order(inv, "work_mode", {"mode": "forced_off_grid"})
                    out["load"] = await order(
                        inv, "intelligent_load", {"mode": "manual", "on": True}
                    )
            sign_in(env.client, env.world, "admin@I1")
            page = env.client.get(f"/device/{devices(env, 'GWM1')[home.inverter.serial].id}/mode")
            out["page"] = page.text.split('id="mode-reported">')[1].split("</dd>")[0]
        finally:
            await bus.server.stop()
        return out

    out = run_value(scenario(), timeout_s=90)
    pv = out["pv"]
    assert pv["state"] == "acknowledged", pv
    assert pv["result"]["work_mode"] == "pv"
    assert pv["result"]["read_back"] == {
        "124.ChaGriSet": 0,
        "124.InWRte": 0.0,
        "124.OutWRte": 0.0,
        "124.StorCtl_Mod": 3,
    }
    cmd = out["pv_command"]
    assert (cmd.mode, cmd.charge_cap_w, cmd.discharge_cap_w) == (Mode.SELF_CONSUMPTION, 0.0, 0.0)
    assert out["again"]["details"]["work_mode"] == "pv" and out["writes_again"] == 0
    fi = out["feed_in"]
    assert fi["state"] == "acknowledged" and fi["result"]["work_mode"] == "full_feed_in"
    assert "approximation" in fi["result"]
    assert out["feed_in_command"].charge_cap_w == 0.0
    assert out["feed_in_command"].discharge_cap_w == home.battery.max_charge_w
    assert out["off"]["result"]["on"] is False and out["on_after_off"] is False
    assert out["on"]["result"]["on"] is True and home.state.inverter_on
    assert out["limit"]["status"] == "acknowledged"
    assert home.state.ac_limit_w == home.wmax_w  # WMaxLimPct 100 %: enabled, no cut yet
    refused = out["refused"]
    assert refused["state"] == "failed"
    assert "refused ChaGriSet=1" in refused["message"]
    assert "exception_code=3" in refused["message"] and "(nothing written)" in refused["message"]
    assert out["strict_command"].mode is Mode.SELF_CONSUMPTION  # still the mode it had
    assert out["lacks"]["status"] == "failed"
    assert "power on/off is not supported by this device over SunSpec" in out["lacks"]["message"]
    assert out["off_grid"]["state"] == "failed"
    assert "forced off-grid is not supported" in out["off_grid"]["message"]
    assert out["load"]["state"] == "failed"
    assert "intelligent load is not supported" in out["load"]["message"]
    assert "Full feed-in" in out["page"]  # the mode the inverter reported


def test_the_simulated_inverter_follows_the_written_points() -> None:
    """The points the agent writes change what the simulated home does (no network: the
    register bank's write hook is what the Modbus server calls)."""
    bus = SunSpecBus(make_homes(1, seed=7), "SIMP", controls=True)
    home = bus.homes[0]
    inv = home.inverter
    sunny = StepInput(pv_w=6000.0, load_w=500.0)
    ts = datetime(2031, 6, 1, 12, tzinfo=UTC)

    def write(model: int, point: str, raw: int) -> str | None:
        at = inv.address(model, point)
        assert inv.bank.on_write is not None
        why = inv.bank.on_write(at, [raw])
        if why is None:
            inv.bank.regs[at - BASE] = raw
        return why

    def go() -> Any:
        return step(home.spec, home.state, sunny, ts, 60.0)[1]

    assert go().charge_w > 0  # self-consumption charges from surplus
    for point, raw in (("InWRte", 0), ("OutWRte", 0), ("StorCtl_Mod", 3)):  # PV mode
        assert write(124, point, raw) is None
    assert go().charge_w == 0
    assert write(123, "WMaxLimPct", 30) is None
    assert write(123, "WMaxLim_Ena", 1) is None
    s = go()
    assert s.pv_w - s.battery_w == pytest.approx(0.3 * home.wmax_w)  # the output capped
    assert -s.grid_w == pytest.approx(0.3 * home.wmax_w - 500.0)  # so is the export
    assert write(123, "WMaxLimPct", 130) is not None  # refused: out of range
    assert write(123, "Conn", 0) is None
    assert go().pv_w == 0 and not home.state.inverter_on
    home.grid_charge_allowed = False
    assert "not permitted" in (write(124, "ChaGriSet", 1) or "")


def test_a_point_the_device_does_not_implement_is_refused_before_anything_is_written() -> None:
    """The executor against a real pymodbus server (no broker): an inverter whose ``ChaGriSet``
    reads SunSpec's "not implemented" value gets no write at all for a work mode that needs it,
    and one whose write is answered by a value it does not keep fails as not applied."""
    bus = SunSpecBus(make_homes(1, seed=5), "SIMN")
    inv = bus.homes[0].inverter
    at = inv.address(124, "ChaGriSet") - BASE
    inv.bank.regs[at] = 0xFFFF  # enum16 "not implemented"
    writes: list[int] = []
    hook = inv.bank.on_write
    assert hook is not None

    def counting(address: int, words: list[int]) -> str | None:
        writes.append(address)
        return hook(address, words)

    inv.bank.on_write = counting

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        await bus.server.start()
        bus.advance(datetime.now(UTC))
        link = ModbusLink(LinkConfig(host="127.0.0.1", port=bus.port))
        try:
            found = {d.serial: d for d in [await scan.scan(link, u) for u in (1, 2, 3)]}
            lacks = await operate(
                link, found, "work_mode", inv.serial, {"mode": "pv"}, lambda: datetime.now(UTC)
            )
            inv.bank.regs[at] = 0
            inv.bank.on_write = lambda address, words: (  # takes OutWRte, keeps the old value
                None if address != inv.address(124, "OutWRte") else _keep(inv, address)
            )
            feed_in = {"mode": "full_feed_in"}
            ignored = await operate(
                link, found, "work_mode", inv.serial, feed_in, lambda: datetime.now(UTC)
            )
            return lacks, ignored
        finally:
            link.close()
            await bus.server.stop()

    lacks, ignored = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert lacks["status"] == "failed" and writes == []
    assert "does not implement ChaGriSet of model 124" in lacks["message"]
    assert "not supported by this device over SunSpec" in lacks["message"]
    assert ignored["status"] == "failed", ignored
    assert "did not apply full_feed_in: OutWRte reads 0.0 after 100" in ignored["message"]


def _keep(inv: Any, address: int) -> None:
    """A device that acknowledges a write and drops it: the register is put back after the
    server stored the new value."""
    old = inv.bank.regs[address - BASE]
    asyncio.get_running_loop().call_soon(inv.bank.regs.__setitem__, address - BASE, old)


def test_the_agent_takes_its_zone_for_tou_from_the_configuration() -> None:
    base = {"serial": "G", "token": "t", "broker_url": "mqtt://h:1883"}
    assert from_mapping(base).zone == "UTC"
    assert from_mapping({**base, "zone": "Europe/Berlin"}).zone == "Europe/Berlin"
    with pytest.raises(ConfigError, match="IANA time zone"):
        from_mapping({**base, "zone": "Mars/Olympus"})
