"""The simulated bus answers reads of a bank's holding registers from the bank itself
(protocols/modbus/server.py ``FastReads``): what it serves is what pymodbus's simulator datastore
serves, for reads inside and across the edges of a bank, other function codes and unknown units;
and over Modbus TCP a write still goes through the bank's hook and shows in the next read."""

from __future__ import annotations

import asyncio

from pymodbus.simulator.simcore import SimCore

from voltfleet.protocols.modbus.link import LinkConfig, ModbusLink, ModbusLinkError
from voltfleet.protocols.modbus.server import BusServer, FastReads, RegisterBank
from voltfleet.simulator.fleet import make_homes
from voltfleet.simulator.sunspec_home import BASE, SunSpecHome


def _banks() -> dict[int, RegisterBank]:
    home = SunSpecHome(make_homes(1, seed=4)[0], "SIMFR", first_unit=1)
    return {d.unit_id: d.bank for d in home.devices}


def test_fast_reads_serve_what_the_simulator_datastore_serves() -> None:
    banks = _banks()
    core = SimCore(BusServer(banks).devices())
    fast = FastReads(SimCore(BusServer(banks).devices()), banks)

    async def both(unit: int, fc: int, address: int, count: int) -> None:
        want = await core.async_getValues(unit, fc, address, count)
        got = await fast.async_getValues(unit, fc, address, count)
        assert got == want, (unit, fc, address, count)

    async def go() -> None:
        for unit in (1, 2, 3, 4, 99):
            n = len(banks[unit].regs) if unit in banks else 100
            for address in (0, BASE - 1, BASE, BASE + 1, BASE + 70, BASE + n - 125, BASE + n - 1,
                            BASE + n, BASE + n + 10):  # fmt: skip
                for count in (1, 2, 50, 125):
                    for fc in (3, 4):
                        await both(unit, fc, address, count)
        # the bank moves on: the next read shows it
        banks[1].regs[10] = 4321
        assert await fast.async_getValues(1, 3, BASE + 10, 1) == [4321]
        await both(1, 3, BASE, 60)

    asyncio.run(go())


def test_over_tcp_a_write_goes_through_the_bank_and_reads_see_it() -> None:
    banks = _banks()
    seen: list[tuple[int, list[int]]] = []
    inverter = banks[1]
    inverter.on_write = lambda address, words: seen.append((address, words)) or None
    writable = min(inverter.writable)

    async def go() -> None:
        server = BusServer(banks)
        await server.start()
        link = ModbusLink(LinkConfig(host="127.0.0.1", port=server.port, timeout_s=2.0))
        try:
            assert await link.read(1, BASE, 2) == [0x5375, 0x6E53]  # "SunS"
            await link.write(1, writable, [7])
            assert seen == [(writable, [7])]
            assert await link.read(1, writable, 1) == [7]
            try:
                await link.write(1, BASE, [1])  # read-only: exception 2, as before
                raise AssertionError("a read-only register was written")
            except ModbusLinkError as exc:
                assert "exception" in str(exc)
            try:
                await link.read(1, BASE + len(inverter.regs) - 1, 2)  # past the bank's end
                raise AssertionError("a read past the bank was answered")
            except ModbusLinkError as exc:
                assert "exception" in str(exc)
        finally:
            link.close()
            await server.stop()

    asyncio.run(go())
