"""Finding SunSpec devices on a Modbus link and reading their models.

A device announces SunSpec with the marker "SunS" at 40000 (or 0, or 50000); the models follow
one after another, each as its id, its length and that many registers, until the id 0xFFFF.
The common model (1) names the device: manufacturer, model, version, serial number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from voltfleet.protocols.sunspec import models as ss


class RegisterReader(Protocol):
    async def read(self, unit_id: int, address: int, count: int) -> list[int]: ...


@dataclass(frozen=True)
class ModelAt:
    model_id: int
    address: int  # of its id register
    length: int  # registers after id and length


@dataclass(frozen=True)
class FoundDevice:
    unit_id: int
    base: int
    models: tuple[ModelAt, ...]
    manufacturer: str
    model: str
    serial: str
    firmware: str
    kind: str | None  # inverter | battery | meter | None (none of these)

    @property
    def model_ids(self) -> list[int]:
        return [m.model_id for m in self.models]

    @property
    def span(self) -> tuple[int, int]:
        """(first address, count) covering every model but the marker: one block read."""
        first = self.models[0].address
        last = self.models[-1]
        return first, last.address + 2 + last.length - first

    def find(self, model_id: int) -> ModelAt | None:
        return next((m for m in self.models if m.model_id == model_id), None)

    def inventory(self) -> dict[str, object]:
        """As the inventory message carries it (protocols/mqtt/topics.py, inventory)."""
        return {
            "unit_id": self.unit_id,
            "kind": self.kind,
            "manufacturer": self.manufacturer,
            "model": self.model,
            "serial": self.serial,
            "firmware": self.firmware,
            "sunspec_models": self.model_ids,
        }


class NotSunSpec(LookupError):
    """No SunSpec marker at any base address, or a broken model chain."""


MAX_MODELS = 64


async def scan(reader: RegisterReader, unit_id: int) -> FoundDevice:
    """The device at ``unit_id``: its models and its name plate. ``NotSunSpec`` when it is not
    a SunSpec device; the reader's error when it does not answer at all."""
    base = None
    last_error: Exception | None = None
    for b in ss.BASE_ADDRESSES:
        try:
            if tuple(await reader.read(unit_id, b, 2)) == ss.SUNS:
                base = b
                break
        except OSError as exc:
            last_error = exc
    if base is None:
        if last_error is not None and "exception" not in str(last_error):
            raise last_error  # nobody answered: not the same as "not SunSpec"
        raise NotSunSpec(f"unit {unit_id}: no SunSpec marker at {ss.BASE_ADDRESSES}")
    found: list[ModelAt] = []
    address = base + 2
    for _ in range(MAX_MODELS):
        model_id, length = await reader.read(unit_id, address, 2)
        if model_id == ss.END_MODEL:
            break
        found.append(ModelAt(model_id, address, length))
        address += 2 + length
    else:
        raise NotSunSpec(f"unit {unit_id}: more than {MAX_MODELS} models, or no end marker")
    if not found or found[0].model_id != 1:
        raise NotSunSpec(f"unit {unit_id}: the first model is not the common model (1)")
    common = found[0]
    regs = await reader.read(unit_id, common.address, common.length + 2)
    lay = ss.layout(1)

    def text(name: str) -> str:
        v = ss.value(lay, regs, name)
        return v.strip() if isinstance(v, str) else ""

    ids = [m.model_id for m in found]
    return FoundDevice(
        unit_id=unit_id,
        base=base,
        models=tuple(found),
        manufacturer=text("Mn"),
        model=text("Md"),
        serial=text("SN"),
        firmware=text("Vr"),
        kind=ss.kind_of(ids),
    )


async def read_all(reader: RegisterReader, device: FoundDevice) -> list[int]:
    """Every model's registers in one block (reads of 125): index 0 is the first model's id."""
    first, count = device.span
    return await reader.read(device.unit_id, first, count)


def model_offset(device: FoundDevice, model_id: int) -> int | None:
    """Where a model's id register is in ``read_all``'s block."""
    m = device.find(model_id)
    return None if m is None else m.address - device.span[0]


def known_points(model_ids: Sequence[int]) -> dict[int, list[str]]:
    """The top-level point names of these models (for a settings page or a register read)."""
    return {mid: list(ss.layout(mid).points) for mid in model_ids}
