"""SunSpec points to the platform's data points (DESIGN.md names, units and signs).

    inverter (101-103)  DCW -> pv_power_w, W -> ac_power_w, WH -> pv_energy_wh and
                        lifetime_yield_wh (WH is the lifetime register: the total yield),
                        PhVphA -> grid_voltage_v, Hz -> grid_frequency_hz,
                        TmpCab -> inverter_temperature_c, St -> device_status
    DER AC (701)        W -> ac_power_w, TotWhInj -> pv_energy_wh and lifetime_yield_wh (the
                        lifetime counter, as 10x's WH), VL1 (or LNV) -> grid_voltage_v (10x's
                        PhVphA), Hz -> grid_frequency_hz, TmpCab -> inverter_temperature_c;
                        no device_status (701's St and InvSt are other codes than 10x's St)
    DER DC (714)        DCW -> pv_power_w (the DC side of a 7xx DER)
    storage (124)       ChaState -> soc (%), InBatV -> battery_voltage_v  (only when no battery
                        model 802 is on the bus, so a state of charge is reported once)
    battery (802)       SoC -> soc (%), W -> battery_power_w with its sign turned (SunSpec counts
                        a DER's power out as positive; the platform counts charging as > 0),
                        V -> battery_voltage_v
    meter (201-204)     W -> grid_power_w (a meter at the grid connection: > 0 is import),
                        TotWhImp / TotWhExp -> grid_import / grid_export_energy_wh,
                        PhV (or PhVphA) -> grid_voltage_v, Hz -> grid_frequency_hz
    the site            load_power_w = the inverters' AC power + the grid's (what the house
                        draws), on the first inverter, when the bus has a meter

A point the device marks "not implemented" is not sent.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sunspec2.mb as ss_mb  # type: ignore[import-untyped]

from voltfleet.edge import reads
from voltfleet.protocols.sunspec import models as ss
from voltfleet.protocols.sunspec.scan import FoundDevice

# (model ids, SunSpec point, platform point, unit, factor)
_INVERTER = [
    ("DCW", "pv_power_w", "W", 1.0),
    ("W", "ac_power_w", "W", 1.0),
    ("WH", "pv_energy_wh", "Wh", 1.0),
    ("WH", "lifetime_yield_wh", "Wh", 1.0),  # SunSpec WH is the lifetime register: total yield
    ("PhVphA", "grid_voltage_v", "V", 1.0),
    ("Hz", "grid_frequency_hz", "Hz", 1.0),
    ("TmpCab", "inverter_temperature_c", "°C", 1.0),
    ("St", "device_status", "code", 1.0),
]
_DER_AC = [
    ("W", "ac_power_w", "W", 1.0),
    ("TotWhInj", "pv_energy_wh", "Wh", 1.0),
    ("TotWhInj", "lifetime_yield_wh", "Wh", 1.0),
    ("VL1", "grid_voltage_v", "V", 1.0),
    ("LNV", "grid_voltage_v", "V", 1.0),  # when VL1 is not implemented
    ("Hz", "grid_frequency_hz", "Hz", 1.0),
    ("TmpCab", "inverter_temperature_c", "°C", 1.0),
]
_STORAGE = [("ChaState", "soc", "%", 1.0), ("InBatV", "battery_voltage_v", "V", 1.0)]
_BATTERY = [
    ("SoC", "soc", "%", 1.0),
    ("W", "battery_power_w", "W", -1.0),
    ("V", "battery_voltage_v", "V", 1.0),
]
_METER = [
    ("W", "grid_power_w", "W", 1.0),
    ("TotWhImp", "grid_import_energy_wh", "Wh", 1.0),
    ("TotWhExp", "grid_export_energy_wh", "Wh", 1.0),
    ("PhV", "grid_voltage_v", "V", 1.0),
    ("Hz", "grid_frequency_hz", "Hz", 1.0),
]
MAPS: dict[int, list[tuple[str, str, str, float]]] = {
    **{m: _INVERTER for m in (101, 102, 103)},
    701: _DER_AC,
    714: [("DCW", "pv_power_w", "W", 1.0)],
    124: _STORAGE,
    802: _BATTERY,
    **{m: _METER for m in (201, 202, 203, 204)},
}


Decoder = Callable[[Sequence[int], int], Any]
# One candidate reading of a plan: (span index, offset of its first register in that span, raw
# decoder, scale factor as (span index, offset, decoder) or None when unscaled, or False when the
# point names a scale factor its model lacks, platform point, unit, factor, whether the value
# is clamped at 0 (PV power), whether another candidate of the plan gives the same point, its
# JSON text up to its timestamp, and after its value)
Candidate = tuple[
    int, int, Decoder, tuple[int, int, Decoder] | bool | None, str, str, float, bool, bool,
    str, str,
]  # fmt: skip


@dataclass(frozen=True)
class Plan:
    """What to read of one device, and which readings it makes: worked out once per device (at
    scan), so a poll only reads the spans and decodes its registers with the decoders here."""

    device: FoundDevice
    first: int  # the address of the first model after the common model (``readings``' block)
    count: int  # registers from ``first`` to the end of the last model
    # the reads of a poll: (address, count), each at most 125 registers (reads.py)
    spans: tuple[tuple[int, int], ...]
    candidates: tuple[Candidate, ...]
    ac_slots: tuple[int, ...]  # the candidates giving ac_power_w (an inverter's)
    grid_slots: tuple[int, ...]  # the candidates giving grid_power_w (a meter's)


def plan(device: FoundDevice, battery_on_bus: bool) -> Plan:
    models = [m for m in device.models if m.model_id != 1] or list(device.models)
    first = models[0].address
    last = models[-1]
    count = last.address + 2 + last.length - first
    wanted: list[tuple[int, ss.Layout, ss.PointDef, ss.PointDef | None, bool, str, str, float]] = []
    for m in models:
        if m.model_id == 124 and battery_on_bus:
            continue
        lay = ss.layout(m.model_id)
        for sp, pp, unit, factor in MAPS.get(m.model_id, []):
            if sp in lay.points:
                pd = lay.points[sp]
                sf = lay.points.get(pd.sf) if pd.sf is not None else None
                missing_sf = pd.sf is not None and sf is None
                wanted.append((m.address, lay, pd, sf, missing_sf, pp, unit, factor))
    # every register a candidate needs: its own and its scale factor's
    needed = {(a + pd.offset, pd.size) for a, _, pd, _, _, _, _, _ in wanted}
    needed |= {(a + sf.offset, sf.size) for a, _, _, sf, _, _, _, _ in wanted if sf is not None}
    spans = tuple(reads.spans(needed))

    def where(address: int) -> tuple[int, int]:
        for i, (start, n) in enumerate(spans):
            if start <= address < start + n:
                return i, address - start
        raise AssertionError(f"register {address} is in no span")  # spans cover every need

    points = [pp for *_, pp, _, _ in wanted]
    candidates: list[Candidate] = []
    for a, _, pd, sf, missing_sf, pp, unit, factor in wanted:
        span, at = where(a + pd.offset)
        scale: tuple[int, int, Decoder] | bool | None = None
        if missing_sf:
            scale = False
        elif sf is not None:
            scale = (*where(a + sf.offset), decoder(sf))
        head = json.dumps({"device": device.serial, "point": pp, "ts": ""}, separators=(",", ":"))
        candidates.append(
            (span, at, decoder(pd), scale, pp, unit, factor, pp == "pv_power_w",
             points.count(pp) > 1, head[:-3], f',"unit":{json.dumps(unit)}}}')
        )  # fmt: skip

    def slots(kind: str, point: str) -> tuple[int, ...]:
        if device.kind != kind:
            return ()
        return tuple(i for i, c in enumerate(candidates) if c[4] == point)

    return Plan(
        device, first, count, spans, tuple(candidates),
        slots("inverter", "ac_power_w"), slots("meter", "grid_power_w"),
    )  # fmt: skip


def decoder(p: ss.PointDef) -> Decoder:
    """The raw value of ``p`` from registers (its first at the index given), None when the
    device marks it not implemented: pysunspec2's codec (``ss.raw``), with the integer types
    (all the points mapped here) decoded without packing bytes first."""
    info = ss_mb.point_type_info[p.type]
    impl = info.is_impl
    conv = info.data_to
    if conv is ss_mb.data_to_u16 and p.size == 1:

        def u16(regs: Sequence[int], i: int) -> Any:
            v = regs[i]
            return v if impl(v) else None

        return u16
    if conv is ss_mb.data_to_s16 and p.size == 1:

        def s16(regs: Sequence[int], i: int) -> Any:
            v = regs[i]
            if v & 0x8000:
                v -= 0x10000
            return v if impl(v) else None

        return s16
    if conv is ss_mb.data_to_u32 and p.size == 2:

        def u32(regs: Sequence[int], i: int) -> Any:
            v = regs[i] << 16 | regs[i + 1]
            return v if impl(v) else None

        return u32
    if conv is ss_mb.data_to_s32 and p.size == 2:

        def s32(regs: Sequence[int], i: int) -> Any:
            v = regs[i] << 16 | regs[i + 1]
            if v & 0x80000000:
                v -= 0x100000000
            return v if impl(v) else None

        return s32

    def other(regs: Sequence[int], i: int) -> Any:
        return ss.raw(regs, p, i - p.offset)

    return other


# scale factors SunSpec allows (-10..10), and a margin; any other is not sent (a device that
# sends 32767 would otherwise overflow the float)
_POW10 = {k: 10.0**k for k in range(-20, 21)}


def values(p: Plan, blocks: Sequence[Sequence[int]]) -> list[float | None]:
    """One value per candidate of the plan from one poll's reads (``blocks``, one per span):
    scaled, signed and clamped as the platform counts; None when not sent (not implemented, or
    the point was given by an earlier candidate)."""
    out: list[float | None] = []
    seen: set[str] = set()
    for span, at, raw, scale, pp, _, factor, clamp, shared, _, _ in p.candidates:
        if shared and pp in seen:
            out.append(None)
            continue
        v = raw(blocks[span], at)
        if v is not None and scale is not None:
            if scale is False:
                v = None
            else:
                s_span, s_at, s_raw = scale  # type: ignore[misc]
                sf = s_raw(blocks[s_span], s_at)
                if sf:
                    # None (not implemented) or out of SunSpec's -10..10: nothing is sent
                    mul = _POW10.get(sf)
                    v = None if mul is None else float(v) * mul
                else:
                    v = None if sf is None else float(v)
        if not isinstance(v, int | float):
            out.append(None)
            continue
        if clamp and v < 0:
            v = 0.0
        if shared:
            seen.add(pp)
        out.append(v * factor)
    return out


def json_readings(p: Plan, vals: Sequence[float | None], ts: str) -> list[str]:
    """The readings of ``values`` as JSON texts (the outbox's), as ``json.dumps`` of
    ``readings``' dicts writes them, without making the dicts."""
    t = json.dumps(ts)
    out = []
    for c, v in zip(p.candidates, vals, strict=True):
        if v is not None:
            num = repr(v) if math.isfinite(v) else json.dumps(v)
            out.append(f'{c[9]}{t},"value":{num}{c[10]}')
    return out


def blocks_of(p: Plan, regs: Sequence[int]) -> list[Sequence[int]]:
    """The spans' registers cut from one block read from ``p.first``."""
    return [regs[a - p.first : a - p.first + n] for a, n in p.spans]


def readings(p: Plan, regs: Sequence[int], ts: str) -> list[dict[str, Any]]:
    """The readings of one poll of a device, from its registers from ``p.first``."""
    serial = p.device.serial
    return [
        {"device": serial, "point": c[4], "ts": ts, "value": v, "unit": c[5]}
        for c, v in zip(p.candidates, values(p, blocks_of(p, regs)), strict=True)
        if v is not None
    ]


def site_load_json(
    first_inverter: Plan, ac: Sequence[float], grid: Sequence[float], ts: str
) -> list[str]:
    """load_power_w = the inverters' AC power + the meter's grid power (>= 0), on the first
    inverter that answered, from the values a poll gave, as the outbox's JSON text; nothing when
    no inverter gave its AC power or the bus has not exactly one meter that gave its power."""
    if not ac or len(grid) != 1:
        return []
    load = max(sum(ac) + grid[0], 0.0)
    body = {"device": first_inverter.device.serial, "point": "load_power_w", "ts": ts,
            "value": load, "unit": "W"}  # fmt: skip
    return [json.dumps(body, separators=(",", ":"))]
