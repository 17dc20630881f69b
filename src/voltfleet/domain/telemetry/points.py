"""The catalogue of data points a device may send, with their unit and kind.

Names carry their canonical unit (``_w``, ``_wh``, ``_v``, ``_a``, ``_hz``, ``_c``); ``soc`` is a
fraction 0..1. Signs follow the site conventions (docs: DESIGN.md): ``grid_power_w`` > 0 is import,
``battery_power_w`` > 0 is charging, PV, load and EV charging power are >= 0. A driver converts
vendor signs at the edge; this catalogue only converts *units* (kW to W, % to a fraction ...), and
refuses values outside a plausible range.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


class PointKind(StrEnum):
    POWER = "power"  # W, a gauge; rolled up as averages
    ENERGY = "energy"  # Wh, a monotonic counter; rolled up as energy per period
    SOC = "soc"  # fraction 0..1
    TEMPERATURE = "temperature"  # degrees Celsius
    VOLTAGE = "voltage"  # V
    CURRENT = "current"  # A
    FREQUENCY = "frequency"  # Hz
    STATUS = "status"  # a numeric device state code, not averaged


GAUGES = frozenset(
    {
        PointKind.POWER,
        PointKind.SOC,
        PointKind.TEMPERATURE,
        PointKind.VOLTAGE,
        PointKind.CURRENT,
        PointKind.FREQUENCY,
    }
)


def _units(canonical: str, **others: float) -> Mapping[str, float]:
    return MappingProxyType({canonical: 1.0, **others})


W = _units("W", kW=1000.0)
WH = _units("Wh", kWh=1000.0, MWh=1_000_000.0)
CELSIUS = _units("°C", C=1.0, degC=1.0)


@dataclass(frozen=True)
class Point:
    """One data point: its name, kind, accepted units (factor to the canonical unit, which comes
    first) and the plausible range of its canonical value (inclusive)."""

    name: str
    kind: PointKind
    units: Mapping[str, float]
    low: float = -math.inf
    high: float = math.inf
    description: str = field(default="", compare=False)

    @property
    def unit(self) -> str:
        """The canonical unit."""
        return next(iter(self.units))

    @property
    def counter(self) -> bool:
        return self.kind is PointKind.ENERGY

    def to_canonical(self, value: float, unit: str) -> float | None:
        """The value in the canonical unit, or None when ``unit`` is not one this point takes."""
        factor = self.units.get(unit)
        return None if factor is None else value * factor


_MAX_POWER_W = 10_000_000.0  # 10 MW: far above any home, below garbage
_MAX_ENERGY_WH = 1e13

_POINTS = [
    Point("pv_power_w", PointKind.POWER, W, 0.0, _MAX_POWER_W, "PV generation, >= 0"),
    Point("grid_power_w", PointKind.POWER, W, -_MAX_POWER_W, _MAX_POWER_W, "> 0 is import"),
    Point("battery_power_w", PointKind.POWER, W, -_MAX_POWER_W, _MAX_POWER_W, "> 0 is charging"),
    Point("load_power_w", PointKind.POWER, W, 0.0, _MAX_POWER_W, "household load, >= 0"),
    Point("ev_power_w", PointKind.POWER, W, 0.0, _MAX_POWER_W, "EV charging, >= 0"),
    Point("ac_power_w", PointKind.POWER, W, -_MAX_POWER_W, _MAX_POWER_W, "inverter AC output"),
    Point("pv_energy_wh", PointKind.ENERGY, WH, 0.0, _MAX_ENERGY_WH, "PV yield counter"),
    Point(
        "lifetime_yield_wh",
        PointKind.ENERGY,
        WH,
        0.0,
        _MAX_ENERGY_WH,
        "an inverter's total yield since manufacture (its lifetime register, e.g. SunSpec WH)",
    ),
    Point("grid_import_energy_wh", PointKind.ENERGY, WH, 0.0, _MAX_ENERGY_WH, "imported"),
    Point("grid_export_energy_wh", PointKind.ENERGY, WH, 0.0, _MAX_ENERGY_WH, "exported"),
    Point("battery_charge_energy_wh", PointKind.ENERGY, WH, 0.0, _MAX_ENERGY_WH, "charged"),
    Point("battery_discharge_energy_wh", PointKind.ENERGY, WH, 0.0, _MAX_ENERGY_WH, "discharged"),
    Point("load_energy_wh", PointKind.ENERGY, WH, 0.0, _MAX_ENERGY_WH, "consumed"),
    Point("ev_energy_wh", PointKind.ENERGY, WH, 0.0, _MAX_ENERGY_WH, "charged into vehicles"),
    Point(
        "soc",
        PointKind.SOC,
        MappingProxyType({"fraction": 1.0, "1": 1.0, "%": 0.01}),
        0.0,
        1.0,
        "battery state of charge",
    ),
    Point("battery_temperature_c", PointKind.TEMPERATURE, CELSIUS, -60.0, 150.0),
    Point("inverter_temperature_c", PointKind.TEMPERATURE, CELSIUS, -60.0, 150.0),
    Point("grid_voltage_v", PointKind.VOLTAGE, _units("V", kV=1000.0), 0.0, 1000.0),
    Point("pv_voltage_v", PointKind.VOLTAGE, _units("V", kV=1000.0), 0.0, 1500.0),
    Point("battery_voltage_v", PointKind.VOLTAGE, _units("V", kV=1000.0), 0.0, 1500.0),
    Point("grid_current_a", PointKind.CURRENT, _units("A", mA=0.001), -1000.0, 1000.0),
    Point("ev_current_a", PointKind.CURRENT, _units("A", mA=0.001), 0.0, 1000.0),
    # a meter's current per grid line, > 0 is import (EV power management: a group's meter)
    *(
        Point(f"grid_current_l{n}_a", PointKind.CURRENT, _units("A", mA=0.001), -1000.0, 1000.0)
        for n in (1, 2, 3)
    ),
    # EV chargers (OCPP): per-line current and voltage, and the vehicle's state of charge
    *(
        Point(f"ev_current_l{n}_a", PointKind.CURRENT, _units("A", mA=0.001), 0.0, 1000.0)
        for n in (1, 2, 3)
    ),
    Point("ev_voltage_v", PointKind.VOLTAGE, _units("V", kV=1000.0), 0.0, 1000.0),
    *(
        Point(f"ev_voltage_l{n}_v", PointKind.VOLTAGE, _units("V", kV=1000.0), 0.0, 1000.0)
        for n in (1, 2, 3)
    ),
    Point(
        "ev_soc",
        PointKind.SOC,
        MappingProxyType({"fraction": 1.0, "1": 1.0, "%": 0.01}),
        0.0,
        1.0,
        "the charging vehicle's state of charge",
    ),
    Point("grid_frequency_hz", PointKind.FREQUENCY, _units("Hz"), 40.0, 70.0),
    Point("device_status", PointKind.STATUS, _units("code"), 0.0, 65535.0, "vendor state code"),
]

CATALOGUE: Mapping[str, Point] = MappingProxyType({p.name: p for p in _POINTS})


def point(name: str) -> Point | None:
    return CATALOGUE.get(name)
