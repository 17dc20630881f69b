"""Register maps as data: a device model's parameters, what may be written to them, and vendor
map files (CSV or JSON) read with the line and reason of each fault.

Pure: data in, data out. A parameter is addressed either as a SunSpec point ``(model, point)``
(the gateway finds the model on the device and applies the scale factor) or as a register
``address`` of a vendor map (the platform converts the value to 16-bit words:
``value = raw * scale + offset``, so ``raw = (value - offset) / scale``). Only holding registers
are writable; input registers and read-only points are read only.
"""

from __future__ import annotations

import csv
import io
import math
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class RegisterError(ValueError):
    """A parameter, value or map file that cannot be accepted; ``field`` names what is at fault."""

    def __init__(self, message: str, field: str = "params") -> None:
        super().__init__(message)
        self.field = field


class RegisterType(StrEnum):
    HOLDING = "holding"  # read and (when writable) write
    INPUT = "input"  # read only, always


# Register data types and their size in 16-bit words (strings: the map gives the count).
TYPES: dict[str, int] = {
    "uint16": 1,
    "int16": 1,
    "enum16": 1,
    "bitfield16": 1,
    "uint32": 2,
    "int32": 2,
    "acc32": 2,
    "enum32": 2,
    "bitfield32": 2,
    "float32": 2,
    "uint64": 4,
    "acc64": 4,
    "string": 0,
}
RAW_RANGE: dict[str, tuple[float, float]] = {
    "uint16": (0, 0xFFFE),  # 0xFFFF: "not implemented" in SunSpec
    "int16": (-0x7FFF, 0x7FFF),  # -0x8000: "not implemented"
    "enum16": (0, 0xFFFE),
    "bitfield16": (0, 0x7FFF),
    "uint32": (0, 0xFFFFFFFE),
    "int32": (-0x7FFFFFFF, 0x7FFFFFFF),
    "acc32": (0, 0xFFFFFFFF),
    "enum32": (0, 0xFFFFFFFE),
    "bitfield32": (0, 0x7FFFFFFF),
    "uint64": (0, 2**64 - 2),
    "acc64": (0, 2**64 - 1),
}
MAX_POINTS_PER_READ = 100
MAX_WORDS = 125  # one Modbus read


@dataclass(frozen=True)
class Symbol:
    name: str
    value: int
    label: str = ""


@dataclass(frozen=True)
class Parameter:
    """One readable (and maybe writable) setting or measurement of a device model."""

    group: str
    name: str  # SunSpec point path ("WMaxLimPct", "PFWInj.PF") or the vendor's name
    label: str = ""
    unit: str = ""
    model: int | None = None  # SunSpec model id
    address: int | None = None  # vendor map: the register address
    data_type: str = "uint16"
    count: int = 1  # 16-bit words
    scale: float = 1.0  # vendor map: value = raw * scale + offset
    offset: float = 0.0
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    register_type: RegisterType = RegisterType.HOLDING
    writable: bool = False
    scale_factor: str = ""  # SunSpec: the point holding the scale factor (the gateway applies it)
    symbols: tuple[Symbol, ...] = ()
    description: str = ""

    @property
    def key(self) -> str:
        """A stable id in its map: ``<model>.<point>`` or ``@<address>``."""
        return f"{self.model}.{self.name}" if self.model is not None else f"@{self.address}"

    def ref(self) -> dict[str, Any]:
        """How a command names it: ``{"model", "point"}`` or ``{"address", "count"}``."""
        if self.model is not None:
            return {"model": self.model, "point": self.name}
        return {"address": self.address, "count": self.count}

    def words(self) -> bool:
        return self.model is None


@dataclass(frozen=True)
class RegisterMap:
    """A device model's parameters (a SunSpec set of models, or a vendor map)."""

    name: str
    parameters: tuple[Parameter, ...]
    _by_key: dict[str, Parameter] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_key.update({p.key: p for p in self.parameters})

    def point(self, model: int, point: str) -> Parameter | None:
        return self._by_key.get(f"{model}.{point}")

    def at(self, address: int) -> Parameter | None:
        return self._by_key.get(f"@{address}")

    def get(self, key: str) -> Parameter | None:
        return self._by_key.get(key)

    def groups(self) -> list[str]:
        return sorted({p.group for p in self.parameters})

    def search(self, keyword: str = "", group: str = "", limit: int = 200) -> list[Parameter]:
        """Parameters whose key, name, label, unit or description holds every word of ``keyword``
        (case-insensitive), in ``group`` when given; in map order."""
        words = keyword.lower().split()
        out = []
        for p in self.parameters:
            if group and p.group != group:
                continue
            hay = f"{p.key} {p.name} {p.label} {p.unit} {p.description} {p.group}".lower()
            if all(w in hay for w in words):
                out.append(p)
                if len(out) >= limit:
                    break
        return out

    def merged(self, other: RegisterMap) -> RegisterMap:
        return RegisterMap(f"{self.name} + {other.name}", self.parameters + other.parameters)


# ---- values --------------------------------------------------------------------------------------


def _number(value: Any, what: str) -> float:
    try:
        v = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    except OverflowError:  # an int beyond any float
        v = None
    if v is None or not math.isfinite(v):
        raise RegisterError(f"{what} must be a number, got {str(value)[:40]}", "value")
    return v


def check_value(p: Parameter, value: Any) -> float | str:
    """The value to write to ``p``, checked: writable, the right type, within range, on a step.
    An enum takes a symbol's name or value (and becomes its value)."""
    if p.register_type is RegisterType.INPUT or not p.writable:
        raise RegisterError(f"{p.label or p.name} is read-only", "point")
    if p.data_type == "string":
        if not isinstance(value, str):
            raise RegisterError(f"{p.name} takes text, got {value!r}", "value")
        if len(value.encode()) > 2 * p.count:
            raise RegisterError(f"{p.name} takes at most {2 * p.count} bytes of text", "value")
        return value
    if p.symbols:
        for s in p.symbols:
            if value == s.name or (not isinstance(value, bool) and value == s.value):
                return float(s.value)
        names = ", ".join(f"{s.name} ({s.value})" for s in p.symbols)
        raise RegisterError(f"{p.name} must be one of {names}, got {value!r}", "value")
    v = _number(value, p.name)
    lo, hi = p.minimum, p.maximum
    if p.model is None and (lo is None or hi is None) and p.data_type in RAW_RANGE:
        rlo, rhi = RAW_RANGE[p.data_type]
        ends = sorted((rlo * p.scale + p.offset, rhi * p.scale + p.offset))
        lo = ends[0] if lo is None else lo
        hi = ends[1] if hi is None else hi
    unit = f" {p.unit}" if p.unit else ""
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        lo_s = "-∞" if lo is None else f"{lo:g}"
        hi_s = "∞" if hi is None else f"{hi:g}"
        raise RegisterError(
            f"{p.label or p.name}: {v:g}{unit} is out of range {lo_s}..{hi_s}{unit}", "value"
        )
    if p.step:
        base = lo if lo is not None else p.offset
        n = (v - base) / p.step
        if abs(n - round(n)) > 1e-6:
            raise RegisterError(
                f"{p.label or p.name}: {v:g}{unit} is not a multiple of the step {p.step:g}"
                f"{unit} (from {base:g})",
                "value",
            )
    return v


def to_words(p: Parameter, value: float | str) -> list[int]:
    """A checked value of a vendor-map parameter as the 16-bit words to write (big-endian
    words, as Modbus holds them)."""
    if p.data_type == "string":
        raw = str(value).encode().ljust(2 * p.count, b"\0")
        return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, 2 * p.count, 2)]
    if p.data_type == "float32":
        try:
            b = struct.pack(">f", (float(value) - p.offset) / p.scale)
        except OverflowError:
            raise RegisterError(f"{p.name}: {value} does not fit a float32", "value") from None
        return [int.from_bytes(b[0:2], "big"), int.from_bytes(b[2:4], "big")]
    raw_n = round((float(value) - p.offset) / p.scale)
    size = TYPES.get(p.data_type, 1) or p.count
    raw_n %= 1 << (16 * size)  # two's complement for signed types
    return [(raw_n >> (16 * (size - 1 - i))) & 0xFFFF for i in range(size)]


def from_words(p: Parameter, words: Sequence[int]) -> float | str:
    """The value a vendor-map parameter's words hold."""
    if p.data_type == "string":
        b = b"".join(int(w).to_bytes(2, "big") for w in words)
        return b.rstrip(b"\0").decode("utf-8", "replace")
    if p.data_type == "float32":
        raw_f = struct.unpack(
            ">f", int(words[0]).to_bytes(2, "big") + int(words[1]).to_bytes(2, "big")
        )[0]
        return float(raw_f) * p.scale + p.offset
    n = 0
    for w in words:
        n = (n << 16) | (int(w) & 0xFFFF)
    bits = 16 * len(words)
    if p.data_type.startswith("int") and n >= 1 << (bits - 1):
        n -= 1 << bits
    return n * p.scale + p.offset


# ---- vendor map files ----------------------------------------------------------------------

COLUMNS = (
    "group",
    "address",
    "name",
    "label",
    "unit",
    "type",
    "count",
    "scale",
    "offset",
    "min",
    "max",
    "step",
    "register",
    "access",
    "description",
)
REQUIRED = ("group", "address", "name")
MAX_PARAMETERS = 5000


def _float(raw: Any, column: str, where: str) -> float | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        v = float(raw)
    except (TypeError, ValueError, OverflowError):
        raise RegisterError(f"{where}: {column} must be a number, got {raw!r}", column) from None
    if not math.isfinite(v):
        raise RegisterError(f"{where}: {column} must be a finite number", column)
    return v


def parameter_of(row: Mapping[str, Any], where: str) -> Parameter:
    """One vendor-map row (CSV columns or a JSON object with the same names) as a parameter;
    ``RegisterError`` naming ``where`` (the line) and the reason."""
    unknown = sorted(k for k in row if k and k not in COLUMNS)
    if unknown:
        raise RegisterError(
            f"{where}: unknown column(s) {', '.join(unknown)}; known: {', '.join(COLUMNS)}",
            unknown[0],
        )
    for col in REQUIRED:
        if row.get(col) in (None, ""):
            raise RegisterError(f"{where}: {col} is required", col)
    address = _float(row["address"], "address", where)
    if address is None or address != int(address) or not 0 <= address <= 0xFFFF:
        raise RegisterError(f"{where}: address must be a whole number 0..65535", "address")
    dtype = str(row.get("type") or "uint16").strip().lower()
    if dtype not in TYPES:
        raise RegisterError(f"{where}: type {dtype!r} is not one of {', '.join(TYPES)}", "type")
    count_f = _float(row.get("count"), "count", where)
    count = int(count_f) if count_f is not None else (TYPES[dtype] or 1)
    if count < 1 or count > MAX_WORDS or (TYPES[dtype] and count != TYPES[dtype]):
        raise RegisterError(
            f"{where}: count {count} does not fit type {dtype} (1..{MAX_WORDS} for strings)",
            "count",
        )
    scale = _float(row.get("scale"), "scale", where)
    if scale == 0:
        raise RegisterError(f"{where}: scale must not be 0", "scale")
    step = _float(row.get("step"), "step", where)
    if step is not None and step <= 0:
        raise RegisterError(f"{where}: step must be > 0", "step")
    lo, hi = _float(row.get("min"), "min", where), _float(row.get("max"), "max", where)
    if lo is not None and hi is not None and lo > hi:
        raise RegisterError(f"{where}: min {lo:g} is above max {hi:g}", "min")
    reg = str(row.get("register") or "holding").strip().lower()
    if reg not in ("holding", "input"):
        raise RegisterError(f"{where}: register must be holding or input, got {reg!r}", "register")
    access = str(row.get("access") or "R").strip().upper()
    if access not in ("R", "RW", "W"):
        raise RegisterError(f"{where}: access must be R or RW, got {access!r}", "access")
    writable = access in ("RW", "W")
    if writable and reg == "input":
        raise RegisterError(
            f"{where}: an input register cannot be writable (only holding registers are)",
            "access",
        )
    name = str(row["name"]).strip()
    return Parameter(
        group=str(row["group"]).strip()[:80],
        name=name[:80],
        label=str(row.get("label") or name).strip()[:120],
        unit=str(row.get("unit") or "").strip()[:20],
        address=int(address),
        data_type=dtype,
        count=count,
        scale=1.0 if scale is None else scale,
        offset=_float(row.get("offset"), "offset", where) or 0.0,
        minimum=lo,
        maximum=hi,
        step=step,
        register_type=RegisterType(reg),
        writable=writable,
        description=str(row.get("description") or "").strip()[:500],
    )


def _checked(name: str, params: Iterable[tuple[str, Parameter]]) -> RegisterMap:
    seen: dict[int, str] = {}
    out = []
    for where, p in params:
        assert p.address is not None
        if p.address in seen:
            raise RegisterError(
                f"{where}: address {p.address} is already used by {seen[p.address]}", "address"
            )
        seen[p.address] = p.name
        out.append(p)
        if len(out) > MAX_PARAMETERS:
            raise RegisterError(f"a map holds at most {MAX_PARAMETERS} parameters", "file")
    if not out:
        raise RegisterError("the map has no parameters", "file")
    return RegisterMap(name, tuple(out))


def parse_csv(name: str, text: str) -> RegisterMap:
    """A vendor map as CSV: a header line with the ``COLUMNS`` (group, address and name
    required), one parameter per line. ``RegisterError`` with the line number and the reason."""
    reader = csv.DictReader(io.StringIO(text))
    try:
        return _parse_csv(name, reader)
    except csv.Error as exc:  # a NUL byte, an unclosed quote at the end ...
        raise RegisterError(f"line {reader.line_num}: unreadable CSV ({exc})", "file") from None


def _parse_csv(name: str, reader: csv.DictReader[str]) -> RegisterMap:
    if not reader.fieldnames:
        raise RegisterError("line 1: the file is empty; it needs a header line", "file")
    header = [h.strip().lower() for h in reader.fieldnames]
    reader.fieldnames = header
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise RegisterError(f"line 1: the header lacks {', '.join(missing)}", missing[0])

    def rows() -> Iterable[tuple[str, Parameter]]:
        for row in reader:
            where = f"line {reader.line_num}"
            if None in row:
                raise RegisterError(f"{where}: more fields than the header has", "file")
            if not any((v or "").strip() for v in row.values()):
                continue
            yield where, parameter_of(row, where)

    return _checked(name, rows())


def parse_json(name: str, doc: Any) -> RegisterMap:
    """A vendor map as JSON: ``{"parameters": [{column: value, ...}, ...]}`` or the list
    itself; faults name the entry (``parameters[3]``)."""
    items = doc.get("parameters") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise RegisterError('a JSON map is {"parameters": [{...}, ...]} or a list', "file")

    def rows() -> Iterable[tuple[str, Parameter]]:
        for i, item in enumerate(items):
            where = f"parameters[{i}]"
            if not isinstance(item, dict):
                raise RegisterError(f"{where}: must be an object", "file")
            yield where, parameter_of({str(k): v for k, v in item.items()}, where)

    return _checked(name, rows())
