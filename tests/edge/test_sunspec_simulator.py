"""The simulated SunSpec devices (simulator/sunspec_home.py, sunspec_bus.py) on a real pymodbus
Modbus TCP server: pysunspec2's own client (its own socket code, not ours) finds the models and
reads the home model's values with the right scale factors; writes to storage control steer the
battery; a read-only register or a value out of range is refused with the Modbus exception a
device sends."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from voltfleet.protocols.modbus.link import LinkConfig, ModbusLink, ModbusLinkError
from voltfleet.protocols.sunspec import models as ss
from voltfleet.protocols.sunspec import scan
from voltfleet.simulator.fleet import make_homes
from voltfleet.simulator.model import Mode, StepInput
from voltfleet.simulator.sunspec_bus import SunSpecBus


def test_pysunspec2_reads_what_the_home_model_says() -> None:
    async def scenario() -> None:
        bus = SunSpecBus(make_homes(1, seed=3), "SIMT")
        home = bus.homes[0]
        await bus.server.start()
        try:
            step = home.advance(StepInput(4321.0, 987.0), datetime.now(UTC), 10.0)

            def own_client() -> dict[str, object]:
                from sunspec2.modbus.client import SunSpecModbusClientDeviceTCP

                out: dict[str, object] = {}
                for unit in (1, 2, 3):
                    d = SunSpecModbusClientDeviceTCP(
                        slave_id=unit, ipaddr="127.0.0.1", ipport=bus.port
                    )
                    try:
                        d.scan()
                        out[f"{unit}.SN"] = d.common[0].SN.cvalue
                        out[f"{unit}.models"] = sorted(k for k in d.models if isinstance(k, int))
                        for mid in (103, 124, 802, 203):
                            if mid in d.models:
                                m = d.models[mid][0]
                                for name in ("W", "DCW", "Hz", "ChaState", "SoC", "TotWhImp"):
                                    if name in m.points:
                                        out[f"{unit}.{mid}.{name}"] = m.points[name].cvalue
                    finally:
                        d.close()
                return out

            got = await asyncio.to_thread(own_client)
        finally:
            await bus.server.stop()
        assert got["1.SN"] == "SIMT00001-INV" and got["1.models"] == [1, 103, 124]
        assert got["2.SN"] == "SIMT00001-BAT" and got["2.models"] == [1, 802]
        assert got["3.SN"] == "SIMT00001-MTR" and got["3.models"] == [1, 203]
        assert got["1.103.DCW"] == round(step.pv_w)
        assert got["1.103.W"] == round(step.ac_w)
        assert got["1.103.Hz"] in (49.99, 50.01)
        assert got["1.124.ChaState"] == pytest.approx(step.soc * 100, abs=0.05)
        assert got["2.802.SoC"] == pytest.approx(step.soc * 100, abs=0.05)
        assert got["2.802.W"] == -round(step.battery_w)  # a DER counts power out as positive
        assert got["3.203.W"] == round(step.grid_w)

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_storage_control_writes_steer_the_battery_and_bad_writes_are_refused() -> None:
    async def scenario() -> None:
        bus = SunSpecBus(make_homes(1, seed=3), "SIMT")
        home = bus.homes[0]
        await bus.server.start()
        link = ModbusLink(LinkConfig(host="127.0.0.1", port=bus.port))
        try:
            dev = await scan.scan(link, 1)
            m = dev.find(124)
            assert m is not None
            lay = ss.layout(124)
            regs = await link.read(1, m.address, m.length + 2)
            at = m.address
            await link.write(
                1, at + lay.point("InWRte").offset, ss.encode(lay, "InWRte", 40.0, regs)
            )
            await link.write(1, at + lay.point("StorCtl_Mod").offset, [1])  # charge
            limit = home.battery.max_charge_w
            assert home.state.command.mode is Mode.SETPOINT
            assert home.state.command.setpoint_w == pytest.approx(0.4 * limit)
            again = await link.read(1, m.address, m.length + 2)
            assert ss.value(lay, again, "InWRte") == 40.0
            with pytest.raises(ModbusLinkError, match="exception_code=2"):  # read-only
                await link.write(1, at + lay.point("ChaState").offset, [500])
            with pytest.raises(ModbusLinkError, match="exception_code=3"):  # out of range
                await link.write(
                    1, at + lay.point("InWRte").offset, ss.encode(lay, "InWRte", 150.0, regs)
                )
            assert ss.value(lay, await link.read(1, m.address, m.length + 2), "InWRte") == 40.0
            await link.write(1, at + lay.point("StorCtl_Mod").offset, [0])
            assert home.state.command.mode is Mode.SELF_CONSUMPTION
            with pytest.raises(ModbusLinkError, match="exception_code=11"):  # nobody at unit 9
                await link.read(9, 40000, 2)
        finally:
            link.close()
            await bus.server.stop()

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_the_bus_moves_the_homes_in_time() -> None:
    bus = SunSpecBus(make_homes(2, seed=5), "SIMT", tick_s=1.0)
    noon = datetime(2026, 6, 21, 10, 0, tzinfo=UTC)
    bus.advance(noon)
    bus.advance(noon.replace(second=30))
    for home in bus.homes:
        assert home.last is not None and home.last.dt_s == 30.0
        assert home.last.pv_w > 0  # a June noon in Germany
    assert [d.unit_id for h in bus.homes for d in h.devices] == [1, 2, 3, 4, 5, 6]
