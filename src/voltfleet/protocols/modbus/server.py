"""A Modbus TCP server with pymodbus's simulator API, for simulated devices: each unit id is a
``RegisterBank`` (a block of holding registers its owner keeps up to date, some of them writable)
served by one ``ModbusTcpServer`` (a bus: several unit ids behind one address, like a gateway's
RS485 line behind a Modbus TCP converter).

Reads see the bank as it is at that moment. A write to a register the bank does not mark writable
is refused by pymodbus with exception 2 (illegal data address); one the bank's ``on_write``
refuses gets exception 3 (illegal data value), as a device refuses a value out of its range.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.server.requesthandler import ServerRequestHandler
from pymodbus.simulator import DataType, SimData, SimDevice

# (address, words written) -> None to accept, or a reason to refuse
WriteHook = Callable[[int, list[int]], str | None]


@dataclass
class RegisterBank:
    base: int  # address of regs[0]
    regs: list[int]  # the owner updates it in place
    writable: frozenset[int] = frozenset()  # addresses a client may write
    on_write: WriteHook | None = None
    refused: list[str] = field(default_factory=list)  # why writes were refused, newest last

    def blocks(self) -> list[SimData]:
        """The bank as pymodbus blocks: runs of read-only and of writable registers."""
        out: list[SimData] = []
        start = 0
        for i in range(1, len(self.regs) + 1):
            if i == len(self.regs) or (self.base + i in self.writable) != (
                self.base + start in self.writable
            ):
                out.append(
                    SimData(
                        address=self.base + start,
                        values=self.regs[start:i],
                        datatype=DataType.REGISTERS,
                        readonly=self.base + start not in self.writable,
                    )
                )
                start = i
        return out

    async def action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        current: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """pymodbus's hook on every request: reads get the bank's current registers; writes go
        through ``on_write`` and into the bank."""
        lo = address - self.base
        if set_values is None:
            current[address - start_address : address - start_address + count] = self.regs[
                lo : lo + count
            ]
            return None
        words = [int(v) for v in set_values]
        if self.on_write is not None:
            why = self.on_write(address, words)
            if why is not None:
                self.refused.append(why)
                return ExcCodes.ILLEGAL_VALUE
        self.regs[lo : lo + len(words)] = words
        return None


class BusServer:
    """``await start()``, ``await stop()``; ``port`` is known once started (0 picks a free one)."""

    def __init__(
        self,
        banks: dict[int, RegisterBank],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        reuse_port: bool = False,
    ):
        """``reuse_port``: listen with SO_REUSEPORT, so several processes serving the same
        devices share one port and the kernel spreads the connections over them (a load
        generator's option: each process has its own copy of the devices)."""
        self.reuse_port = reuse_port
        self.banks = banks
        self.host = host
        self.port = port
        self._server: ModbusTcpServer | None = None
        self._task: asyncio.Task[None] | None = None

    def devices(self) -> list[SimDevice]:
        """The banks, and for any other unit id the answer of a Modbus TCP gateway whose RS485
        device stays silent: exception 11 (gateway target device failed to respond)."""
        return [
            SimDevice(
                id=0,
                simdata=[SimData(0, count=65535, values=0, datatype=DataType.REGISTERS)],
                action=_absent,
            ),
            *(
                SimDevice(id=unit, simdata=bank.blocks(), action=bank.action)
                for unit, bank in sorted(self.banks.items())
            ),
        ]

    async def start(self) -> None:
        if self.port == 0:
            import socket

            with socket.socket() as s:
                s.bind((self.host, 0))
                self.port = int(s.getsockname()[1])
        self._server = _TcpServer(self.devices(), address=(self.host, self.port))
        self._server.context = FastReads(self._server.context, self.banks)  # type: ignore[assignment]
        if self.reuse_port:
            # pymodbus has no reuse_port option: its prepared create_server call gets it added
            create = self._server.call_create
            assert isinstance(create, functools.partial)
            self._server.call_create = functools.partial(
                create.func, *create.args, **{**create.keywords, "reuse_port": True}
            )
        self._task = asyncio.create_task(self._server.serve_forever())
        for _ in range(200):  # until it listens
            try:
                _, w = await asyncio.open_connection(self.host, self.port)
                w.close()
                return
            except OSError:
                await asyncio.sleep(0.02)
        raise OSError(f"the Modbus server did not listen on {self.host}:{self.port}")

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        self._server = self._task = None


class FastReads:
    """pymodbus's simulator datastore (``SimCore``) with the hot request, a read of a bank's
    holding registers within the bank, answered from the bank itself: the same registers, without
    the simulator's per-register flag checks, its copy of the bank and its three awaited layers
    (about a quarter of the simulated bus's work per read). Anything else (writes, other
    function codes, reads outside a bank, other unit ids) goes to ``SimCore`` as before."""

    def __init__(self, core: Any, banks: dict[int, RegisterBank]) -> None:
        self.core = core
        self.banks = banks

    async def async_getValues(
        self, device_id: int, func_code: int, address: int, count: int = 1
    ) -> Any:
        bank = self.banks.get(device_id)
        if func_code == 3 and bank is not None:
            lo = address - bank.base
            if lo >= 0 and lo + count <= len(bank.regs):
                return bank.regs[lo : lo + count]
        return await self.core.async_getValues(device_id, func_code, address, count)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.core, name)


class _Handler(ServerRequestHandler):
    """pymodbus 3.16's handler passes each request to its own loop with
    ``run_coroutine_threadsafe`` from that loop's thread: a self-pipe write and read and a
    concurrent future a request (about a sixth of the simulated bus's work per read). Here it is
    a task on the loop, started the same way (in turn, after the data that brought it)."""

    def handle_later(self) -> None:
        task = self.loop.create_task(self.handle_request())  # type: ignore[no-untyped-call]
        _running.add(task)  # the loop keeps only a weak reference
        task.add_done_callback(_running.discard)


_running: set[asyncio.Task[None]] = set()


class _TcpServer(ModbusTcpServer):
    def callback_new_connection(self) -> _Handler:
        return _Handler(self, self.trace_packet, self.trace_pdu, self.trace_connect)  # type: ignore[no-untyped-call]


async def _absent(*_: object) -> ExcCodes:
    return ExcCodes.GATEWAY_NO_RESPONSE


def addresses(start: int, words: Sequence[int]) -> range:
    return range(start, start + len(words))
