"""A Modbus link (TCP, or RTU on a serial port) with pymodbus's async client: holding registers
read and written by unit id, failures as ``ModbusLinkError`` (a device that does not answer, an
exception code, a lost connection), so callers never see pymodbus's types."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

MAX_READ = 125  # registers in one read (Modbus application protocol)
MAX_WRITE = 123  # registers in one write


class ModbusLinkError(OSError):
    """A read or write that did not succeed."""


@dataclass(frozen=True)
class LinkConfig:
    host: str = ""  # Modbus TCP host ...
    port: int = 502
    serial_port: str = ""  # ... or a serial port for RTU (then host is ignored)
    baudrate: int = 9600
    parity: str = "N"
    stopbits: int = 1
    timeout_s: float = 1.0
    retries: int = 1

    def describe(self) -> str:
        if self.serial_port:
            return f"RTU {self.serial_port} {self.baudrate} {self.parity}{self.stopbits}"
        return f"TCP {self.host}:{self.port}"


class ModbusLink:
    """One connection to a bus; requests go one at a time (a serial bus cannot do otherwise)."""

    def __init__(self, config: LinkConfig) -> None:
        self.config = config
        self._lock = asyncio.Lock()
        self.reads = 0
        self.client: AsyncModbusTcpClient | AsyncModbusSerialClient
        if config.serial_port:
            self.client = AsyncModbusSerialClient(
                config.serial_port,
                baudrate=config.baudrate,
                parity=config.parity,
                stopbits=config.stopbits,
                timeout=config.timeout_s,
                retries=config.retries,
            )
        else:
            self.client = AsyncModbusTcpClient(
                config.host, port=config.port, timeout=config.timeout_s, retries=config.retries
            )

    async def connect(self) -> None:
        if not self.client.connected and not await self.client.connect():
            raise ModbusLinkError(f"cannot connect to Modbus {self.config.describe()}")

    def close(self) -> None:
        self.client.close()

    async def reset(self) -> None:
        """Close the connection once the request under way (if any) is answered; the next
        request opens it again."""
        async with self._lock:
            self.close()

    async def read(self, unit_id: int, address: int, count: int) -> list[int]:
        """``count`` holding registers from ``address`` (split into reads of 125)."""
        out: list[int] = []
        while count > 0:
            n = min(count, MAX_READ)
            out += await self._read(unit_id, address, n)
            address += n
            count -= n
        return out

    async def _read(self, unit_id: int, address: int, count: int) -> list[int]:
        async with self._lock:
            await self.connect()
            try:
                rr = await self.client.read_holding_registers(
                    address, count=count, device_id=unit_id
                )
            except ModbusException as exc:
                raise ModbusLinkError(f"unit {unit_id} @{address}: {exc}") from exc
        self.reads += 1
        if rr.isError():
            raise ModbusLinkError(f"unit {unit_id} @{address}+{count}: exception {rr}")
        return list(rr.registers)

    async def write(self, unit_id: int, address: int, words: Sequence[int]) -> None:
        """Write holding registers (function 16; 6 for a single one)."""
        if not words or len(words) > MAX_WRITE or not all(0 <= w <= 0xFFFF for w in words):
            raise ModbusLinkError(f"1..{MAX_WRITE} words of 0..65535 are written at once")
        async with self._lock:
            await self.connect()
            try:
                if len(words) == 1:
                    rr = await self.client.write_register(address, words[0], device_id=unit_id)
                else:
                    rr = await self.client.write_registers(address, list(words), device_id=unit_id)
            except ModbusException as exc:
                raise ModbusLinkError(f"unit {unit_id} @{address}: {exc}") from exc
        if rr.isError():
            raise ModbusLinkError(f"unit {unit_id} refused the write at {address}: {rr}")
