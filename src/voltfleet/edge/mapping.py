"""SunSpec points to the platform's data points (DESIGN.md names, units and signs).

    inverter (101-103)  DCW -> pv_power_w, W -> ac_power_w, WH -> pv_energy_wh and
                        lifetime_yield_wh (WH is the lifetime register: the total yield),
                        PhVphA -> grid_voltage_v, Hz -> grid_frequency_hz,
                        TmpCab -> inverter_temperature_c, St -> device_status
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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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
    124: _STORAGE,
    802: _BATTERY,
    **{m: _METER for m in (201, 202, 203, 204)},
}


@dataclass(frozen=True)
class Plan:
    """What to read of one device, and which readings it makes."""

    device: FoundDevice
    first: int  # the address of the first model read (the common model is read only at scan)
    count: int
    # (offset of the model's id register in the block, layout, SunSpec point, platform point,
    #  unit, factor)
    points: tuple[tuple[int, ss.Layout, str, str, str, float], ...]


def plan(device: FoundDevice, battery_on_bus: bool) -> Plan:
    models = [m for m in device.models if m.model_id != 1] or list(device.models)
    first = models[0].address
    last = models[-1]
    count = last.address + 2 + last.length - first
    points = []
    for m in models:
        if m.model_id == 124 and battery_on_bus:
            continue
        lay = ss.layout(m.model_id)
        for sp, pp, unit, factor in MAPS.get(m.model_id, []):
            if sp in lay.points:
                points.append((m.address - first, lay, sp, pp, unit, factor))
    return Plan(device, first, count, tuple(points))


def readings(p: Plan, regs: Sequence[int], ts: str) -> list[dict[str, Any]]:
    """The readings of one poll of a device (its registers from ``p.first``)."""
    serial = p.device.serial
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for at, lay, sp, pp, unit, factor in p.points:
        if pp in seen:
            continue
        v = ss.value(lay, regs, sp, at)
        if isinstance(v, int | float):
            if pp == "pv_power_w" and v < 0:
                v = 0.0
            seen.add(pp)
            out.append({"device": serial, "point": pp, "ts": ts, "value": v * factor, "unit": unit})
    return out


def site_load(
    polled: list[tuple[FoundDevice, list[dict[str, Any]]]], ts: str
) -> list[dict[str, Any]]:
    """load_power_w = sum of the inverters' AC power + the meter's grid power (>= 0), on the
    first inverter; nothing when the bus has no meter or no inverter answered."""
    ac = [
        r["value"]
        for d, rs in polled
        if d.kind == "inverter"
        for r in rs
        if r["point"] == "ac_power_w"
    ]
    grid = [
        r["value"]
        for d, rs in polled
        if d.kind == "meter"
        for r in rs
        if r["point"] == "grid_power_w"
    ]
    inverters = [d for d, _ in polled if d.kind == "inverter"]
    if not ac or len(grid) != 1 or not inverters:
        return []
    load = max(sum(ac) + grid[0], 0.0)
    return [
        {
            "device": inverters[0].serial,
            "point": "load_power_w",
            "ts": ts,
            "value": load,
            "unit": "W",
        }
    ]
