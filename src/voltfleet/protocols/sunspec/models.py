"""SunSpec model layouts and the codec of their points, from the model definitions shipped in
``pysunspec2`` (the SunSpec Alliance's JSON models: common 1, inverters 101-103, storage 124,
meters 201-204, battery 802 ...).

pysunspec2 is the catalogue and the codec of single values (its ``mb.point_type_info`` packs and
unpacks each SunSpec type and knows its "not implemented" sentinel). Decoding a whole model
through ``sunspec2.device.Model`` costs about half a millisecond; the edge agent decodes
thousands of models a second, so a model's layout (offset, size, type, scale factor, access of
each top-level point) is read once from pysunspec2 and reused (``layout``). Repeating groups are
not laid out (a fixed group's registers count in the model's length).

Addresses: a point's ``offset`` counts from its model's first register (the model id, then the
length), so the point lives at ``model address + offset``. Values are *scaled* (``raw * 10**sf``)
where the point names a scale factor.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import sunspec2.device as ss_device  # type: ignore[import-untyped]
import sunspec2.mb as ss_mb  # type: ignore[import-untyped]

SUNS = (0x5375, 0x6E53)  # "SunS", the marker before the first model
BASE_ADDRESSES = (40000, 0, 50000)  # where devices put the marker, in the order tried
END_MODEL = 0xFFFF
MAX_READ = 125  # registers in one Modbus read

Value = float | int | str | None


class SunSpecError(ValueError):
    """An unknown model or point, a value that does not fit, or a read-only point written."""


@dataclass(frozen=True)
class PointDef:
    name: str
    offset: int  # from the model's id register
    size: int  # registers
    type: str  # SunSpec type: int16, uint16, acc32, string, sunssf ...
    sf: str | None  # the scale factor point's name
    writable: bool  # SunSpec access RW (a holding register the device lets you write)
    units: str
    label: str


@dataclass(frozen=True)
class Layout:
    model_id: int
    length: int  # registers after the id and length registers
    points: Mapping[str, PointDef]

    def point(self, name: str) -> PointDef:
        p = self.points.get(name)
        if p is None:
            raise SunSpecError(f"model {self.model_id} has no point {name!r}")
        return p


@cache
def layout(model_id: int) -> Layout:
    """The layout of a model's top-level points (pysunspec2's definition)."""
    try:
        mdef: dict[str, Any] = ss_device.get_model_def(model_id)
    except Exception as exc:
        raise SunSpecError(f"no SunSpec model {model_id} is known") from exc
    points: dict[str, PointDef] = {}
    offset = 0
    for p in mdef["group"]["points"]:
        size = int(p.get("size", 1))
        points[p["name"]] = PointDef(
            name=p["name"],
            offset=offset,
            size=size,
            type=p["type"],
            sf=p.get("sf") if isinstance(p.get("sf"), str) else None,
            writable=p.get("access", "R") == "RW",
            units=str(p.get("units", "")),
            label=str(p.get("label", p["name"])),
        )
        offset += size
    # Groups follow the top-level points. A fixed group (no count, or a number: 704's PFWInj
    # ...) is always there and counts in the model's length; a repeating group counted by a
    # point (714's ports, ``NPrt``) is not laid out: the devices here serve none of it.
    for g in mdef["group"].get("groups", []):
        count = g.get("count", 1)
        if isinstance(count, int):
            offset += count * sum(int(q.get("size", 1)) for q in g.get("points", []))
    return Layout(model_id, offset - 2, points)


def _raw(regs: Sequence[int], p: PointDef, at: int) -> Any:
    """The point's raw value from ``regs`` (whose index ``at`` is the model's id register),
    None when the device marks it not implemented."""
    start = at + p.offset
    data = struct.pack(f">{p.size}H", *regs[start : start + p.size])
    info = ss_mb.point_type_info[p.type]
    v = info.data_to(data)
    return v if info.is_impl(v) else None


raw = _raw  # a point's raw value (the edge agent's plans decode with it)


def value(lay: Layout, regs: Sequence[int], name: str, at: int = 0) -> Value:
    """A point's value, scaled by its scale factor (None: not implemented)."""
    p = lay.point(name)
    v = _raw(regs, p, at)
    if v is None or p.sf is None:
        return v  # type: ignore[no-any-return]
    sf = _raw(regs, lay.point(p.sf), at) if p.sf in lay.points else None
    if sf is None:
        return None
    return float(v) * 10.0 ** int(sf) if sf else float(v)


def values(lay: Layout, regs: Sequence[int], names: Sequence[str], at: int = 0) -> dict[str, Value]:
    return {n: value(lay, regs, n, at) for n in names}


def encode(
    lay: Layout, name: str, v: Value, regs: Sequence[int] | None = None, at: int = 0
) -> list[int]:
    """The registers of a point holding the scaled value ``v`` (divided by 10**sf, the scale
    factor read from ``regs``, whose index ``at`` is the model's id register).
    ``SunSpecError`` when it does not fit its type."""
    p = lay.point(name)
    raw: Any = v
    if p.sf is not None and v is not None:
        if regs is None:
            raise SunSpecError(f"{name} is scaled by {p.sf}: the model's registers are needed")
        sf = _raw(regs, lay.point(p.sf), at)
        if sf is None:
            raise SunSpecError(f"the scale factor {p.sf} of {name} is not implemented")
        if isinstance(v, str | bool) or not math.isfinite(float(v)):
            raise SunSpecError(f"{name} takes a number, got {v!r}")
        raw = round(float(v) / 10.0 ** int(sf))
    return encode_raw(p, raw, shown=v)


def encode_raw(p: PointDef, raw: Any, shown: Any = None) -> list[int]:
    """The registers of a point holding the raw (unscaled) value ``raw``."""
    shown = raw if shown is None else shown
    info = ss_mb.point_type_info[p.type]
    if p.type == "string":
        if not isinstance(raw, str) or len(raw.encode()) > p.size * 2:
            raise SunSpecError(f"{p.name} takes a text of at most {p.size * 2} bytes")
    elif p.type in ("float32", "float64"):
        raw = float(raw)
    else:
        if isinstance(raw, str | bool) or raw is None:
            raise SunSpecError(f"{p.name} takes a number, got {shown!r}")
        if not math.isfinite(float(raw)) or float(raw) != int(raw):
            raise SunSpecError(f"{p.name} takes a whole number, got {shown!r}")
        raw = int(raw)
        lo, hi = _bounds(p)
        if not lo <= raw <= hi:
            scale = "" if p.sf is None else " after its scale factor"
            raise SunSpecError(f"{shown!r} does not fit {p.name} ({p.type}{scale}: {lo}..{hi})")
    data = info.to_data(raw, p.size * 2)
    return list(struct.unpack(f">{p.size}H", data.ljust(p.size * 2, b"\0")[: p.size * 2]))


def _bounds(p: PointDef) -> tuple[int, int]:
    bits = 16 * p.size
    if p.type.startswith("int") or p.type == "sunssf":
        return -(1 << (bits - 1)) + 1, (1 << (bits - 1)) - 1  # the lowest is "not implemented"
    return 0, (1 << bits) - 2  # all ones is "not implemented"


def model_image(model_id: int, point_values: Mapping[str, Value]) -> list[int]:
    """The registers of one model (id and length included) holding raw ``point_values`` (scale
    factors are points too; unset points read as not implemented): pysunspec2 encodes it."""
    lay = layout(model_id)
    # made from zeros, so the count of a repeating group (714's NPrt ...) is 0, not unset
    zeros = struct.pack(f">{lay.length + 2}H", model_id, lay.length, *([0] * lay.length))
    m = ss_device.Model(model_id, model_len=lay.length, data=zeros)
    for name in lay.points:
        m.points[name].value = None
    m.points["ID"].value = model_id
    m.points["L"].value = lay.length
    for name, v in point_values.items():
        if name not in m.points:
            raise SunSpecError(f"model {model_id} has no point {name!r}")
        m.points[name].value = v
    data: bytes = m.get_mb()
    return list(struct.unpack(f">{len(data) // 2}H", data))


def device_image(models: Sequence[tuple[int, Mapping[str, Value]]]) -> list[int]:
    """A whole device from its base address: "SunS", its models, the end marker."""
    regs = list(SUNS)
    for model_id, vals in models:
        regs += model_image(model_id, vals)
    return [*regs, END_MODEL, 0]


# ---- what a device is, from its models ---------------------------------------------------------

INVERTER_MODELS = frozenset({101, 102, 103, 111, 112, 113, 701})
STORAGE_MODELS = frozenset({124, 802, 803})
METER_MODELS = frozenset({201, 202, 203, 204, 211, 212, 213, 214})


def kind_of(model_ids: Sequence[int]) -> str | None:
    """``inverter`` (a hybrid one too, with a storage model), ``battery`` or ``meter``; None when
    the device is none of these."""
    ids = set(model_ids)
    if ids & INVERTER_MODELS:
        return "inverter"
    if ids & STORAGE_MODELS:
        return "battery"
    if ids & METER_MODELS:
        return "meter"
    return None
