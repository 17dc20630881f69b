"""A home whose inverter speaks the SunSpec DER information model (common 1, DER AC measurement
701, DER capacity 702, DER DC measurement 714, storage control 124, enter service 703, DER AC
controls 704: simulator/sunspec_home.py with ``der``) on a real pymodbus Modbus TCP server: the
agent's scan finds it with its models (pysunspec2's own client parses it too), its readings are
the physics' and the same as the same home served through model 103 gives, the feed-in limit
over 704 is written, read back and caps the inverter's AC output, and 703's ES switches it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from voltfleet.edge import mapping, mode_commands
from voltfleet.edge import sunspec_modes as sm
from voltfleet.edge.commands import Executor
from voltfleet.edge.outbox import Outbox
from voltfleet.edge.tou_runner import TouRunner
from voltfleet.protocols.modbus.link import LinkConfig, ModbusLink, ModbusLinkError
from voltfleet.protocols.sunspec import models as ss
from voltfleet.protocols.sunspec import scan
from voltfleet.simulator.fleet import make_homes
from voltfleet.simulator.model import StepInput
from voltfleet.simulator.sunspec_bus import SunSpecBus


def _bus() -> SunSpecBus:
    """Two copies of one home: the first through 103 (units 1-3), the second through 7xx (4-6)."""
    spec = make_homes(1, seed=3)[0]
    return SunSpecBus([spec, spec], "SIMD", der_homes={1})


async def _poll(link: ModbusLink, dev: scan.FoundDevice) -> dict[str, Any]:
    """One poll of a device as the agent plans it: its spans read, its readings by point."""
    p = mapping.plan(dev, battery_on_bus=True)
    blocks = [await link.read(dev.unit_id, a, n) for a, n in p.spans]
    vals = mapping.values(p, blocks)
    return {c[4]: v for c, v in zip(p.candidates, vals, strict=True) if v is not None}


def test_scan_finds_the_der_inverter_with_its_models_and_pysunspec2_parses_it() -> None:
    async def scenario() -> tuple[scan.FoundDevice, dict[str, Any]]:
        bus = _bus()
        await bus.server.start()
        bus.homes[1].advance(StepInput(4321.0, 987.0), datetime.now(UTC), 10.0)
        link = ModbusLink(LinkConfig(host="127.0.0.1", port=bus.port))
        try:
            dev = await scan.scan(link, 4)

            def own_client() -> dict[str, Any]:
                from sunspec2.modbus.client import SunSpecModbusClientDeviceTCP

                d = SunSpecModbusClientDeviceTCP(slave_id=4, ipaddr="127.0.0.1", ipport=bus.port)
                try:
                    d.scan()
                    return {
                        "models": [k for k in d.models if isinstance(k, int)],
                        "W": d.models[701][0].points["W"].cvalue,
                        "WMaxRtg": d.models[702][0].points["WMaxRtg"].cvalue,
                        "WMaxLimPct": d.models[704][0].points["WMaxLimPct"].cvalue,
                    }
                finally:
                    d.close()

            own = await asyncio.to_thread(own_client)
        finally:
            link.close()
            await bus.server.stop()
        return dev, own

    dev, own = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert dev.serial == "SIMD00002-INV" and dev.kind == "inverter"
    assert dev.model_ids == [1, 701, 702, 714, 124, 703, 704]
    m704 = dev.find(704)
    assert m704 is not None and m704.length == 65  # its fixed groups (PFWInj ...) counted
    assert sorted(own["models"]) == [1, 124, 701, 702, 703, 704, 714]
    assert own["W"] == 987
    assert own["WMaxRtg"] > 0 and own["WMaxLimPct"] == 100.0


def test_der_readings_are_the_physics_and_equal_the_10x_homes() -> None:
    async def scenario() -> tuple[dict[str, Any], dict[str, Any], Any]:
        bus = _bus()
        await bus.server.start()
        link = ModbusLink(LinkConfig(host="127.0.0.1", port=bus.port))
        try:
            now = datetime.now(UTC)
            for h in bus.homes:
                h.advance(StepInput(3000.0, 800.0), now, 60.0)
                step = h.advance(StepInput(4321.0, 987.0), now, 60.0)
            tenx = await _poll(link, await scan.scan(link, 1))
            der = await _poll(link, await scan.scan(link, 4))
        finally:
            link.close()
            await bus.server.stop()
        return tenx, der, step

    tenx, der, step = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert set(der) == {
        "pv_power_w",
        "ac_power_w",
        "pv_energy_wh",
        "lifetime_yield_wh",
        "grid_voltage_v",
        "grid_frequency_hz",
        "inverter_temperature_c",
    }
    assert der == {k: tenx[k] for k in der}
    assert der["ac_power_w"] == round(step.ac_w)
    assert der["pv_power_w"] == round(step.pv_w) > 0
    assert der["grid_voltage_v"] == pytest.approx(230.0)
    assert der["grid_frequency_hz"] in (pytest.approx(49.99), pytest.approx(50.01))
    assert der["lifetime_yield_wh"] > 1_250_000  # the counter moved on from its start


def test_feed_in_limit_over_704_is_read_back_and_caps_the_output() -> None:
    async def scenario() -> dict[str, Any]:
        bus = _bus()
        home = bus.homes[1]
        await bus.server.start()
        link = ModbusLink(LinkConfig(host="127.0.0.1", port=bus.port))
        out: dict[str, Any] = {}
        try:
            dev = await scan.scan(link, 4)
            m702 = dev.find(702)
            assert m702 is not None
            regs = await link.read(4, m702.address, m702.length + 2)
            wmax = ss.value(ss.layout(702), regs, "WMaxRtg")
            assert isinstance(wmax, float | int)
            out["wmax"] = float(wmax)
            plan = sm.feed_in_limit(2500.0, float(wmax), dev.model_ids)

            def now() -> datetime:
                return datetime.now(UTC)

            out["reply"] = await mode_commands.apply(link, dev, plan, now)
            m704 = dev.find(704)
            assert m704 is not None
            regs = await link.read(4, m704.address, m704.length + 2)
            out["pct"] = ss.value(ss.layout(704), regs, "WMaxLimPct")
            out["limit_w"] = home.state.ac_limit_w
            out["ac_w"] = home.advance(StepInput(9000.0, 300.0), now(), 10.0).ac_w
            pct_at = m704.address + ss.layout(704).point("WMaxLimPct").offset
            try:
                await link.write(4, pct_at, [1500])  # 150.0 %
            except ModbusLinkError as exc:
                out["refused"] = str(exc)
            out["off"] = await mode_commands.apply(
                link, dev, sm.feed_in_limit(None, float(wmax), dev.model_ids), now
            )
            out["limit_after"] = home.state.ac_limit_w
        finally:
            link.close()
            await bus.server.stop()
        return out

    out = asyncio.run(asyncio.wait_for(scenario(), 30))
    pct = round(2500.0 / out["wmax"] * 100, 1)
    assert out["reply"]["status"] == "acknowledged", out["reply"]
    assert out["reply"]["details"]["read_back"] == {"704.WMaxLimPct": pct, "704.WMaxLimPctEna": 1}
    assert out["pct"] == pytest.approx(pct)
    assert out["limit_w"] == pytest.approx(out["wmax"] * pct / 100)
    assert out["ac_w"] <= out["limit_w"] + 1e-6
    assert "refused" in out
    assert out["off"]["status"] == "acknowledged", out["off"]
    assert out["limit_after"] is None


def test_a_tou_table_with_anti_feedback_limits_the_der_inverter_over_704(tmp_path: Path) -> None:
    """The agent's own path: a ``work_mode`` ``tou`` command with anti-feedback, run by the
    executor and the TOU runner, takes the rated power from 702 and writes the limit to 704."""
    from tests.edge.test_edge_modes import BERLIN, NOON, TOU

    bus = SunSpecBus(make_homes(1, seed=5), "SIMDT", der_homes={0})
    home = bus.homes[0]

    def now() -> datetime:
        return NOON.astimezone(UTC)

    async def scenario() -> dict[str, Any]:
        await bus.server.start()
        bus.advance(datetime.now(UTC))
        link = ModbusLink(LinkConfig(host="127.0.0.1", port=bus.port))
        outbox = Outbox(tmp_path / "o.db")
        try:
            found = {d.serial: d for d in [await scan.scan(link, u) for u in (1, 2, 3)]}

            async def rescan(units: list[int] | None) -> int:
                return 3

            tou = TouRunner(link, lambda: found, BERLIN, outbox, now)
            ex = Executor(link, lambda: found, rescan, now, tou)
            params = {"mode": "tou", "tou": {**TOU, "anti_feedback": True, "feed_in_limit_w": 3000}}
            body = {"kind": "work_mode", "device": home.inverter.serial, "params": params}
            return await ex.run(body)
        finally:
            outbox.close()
            link.close()
            await bus.server.stop()

    reply = asyncio.run(asyncio.wait_for(scenario(), 30))
    pct = round(3000 / home.wmax_w * 100, 1)
    assert reply["status"] == "acknowledged", reply
    assert reply["details"]["read_back"]["704.WMaxLimPct"] == pct
    assert reply["details"]["read_back"]["704.WMaxLimPctEna"] == 1
    assert home.state.ac_limit_w == pytest.approx(home.wmax_w * pct / 100)


def test_the_power_switch_over_703_stops_and_starts_the_der_inverter() -> None:
    async def scenario() -> dict[str, Any]:
        bus = _bus()
        home = bus.homes[1]
        await bus.server.start()
        link = ModbusLink(LinkConfig(host="127.0.0.1", port=bus.port))
        out: dict[str, Any] = {}
        try:
            found = {d.serial: d for d in [await scan.scan(link, u) for u in (4, 5, 6)]}
            inv = home.inverter.serial

            def now() -> datetime:
                return datetime.now(UTC)

            out["off"] = await mode_commands.operate(
                link, found, "power_switch", inv, {"on": False}, now
            )
            out["off_state"] = home.state.inverter_on
            out["off_ac_w"] = home.advance(StepInput(5000.0, 300.0), now(), 10.0).ac_w
            out["on"] = await mode_commands.operate(
                link, found, "power_switch", inv, {"on": True}, now
            )
            out["on_state"] = home.state.inverter_on
        finally:
            link.close()
            await bus.server.stop()
        return out

    out = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert out["off"]["status"] == "acknowledged", out["off"]
    assert (
        out["off"]["details"]["read_back"] == {"703.ES": 0} and out["off"]["details"]["on"] is False
    )
    assert out["off_state"] is False and out["off_ac_w"] == 0.0
    assert out["on"]["status"] == "acknowledged", out["on"]
    assert out["on_state"] is True
