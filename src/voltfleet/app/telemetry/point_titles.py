"""Data points as a person reads them on a chart: a name and the unit of the axis ("PV power,
kW"), not the stored name and unit (``pv_power_w`` in W). Power and energy are charted in kW and
kWh (a home's figures are a few of them), a state of charge in percent; other points keep their
unit. The names are English texts translated for the page's language (lists.po)."""

from __future__ import annotations

from voltfleet.app.i18n import _
from voltfleet.domain.telemetry.points import Point

TITLES = {
    "pv_power_w": "PV power",
    "grid_power_w": "Grid power",
    "battery_power_w": "Battery power",
    "load_power_w": "Household load",
    "ev_power_w": "EV charging power",
    "ac_power_w": "AC output power",
    "pv_energy_wh": "PV yield",
    "lifetime_yield_wh": "Total yield",  # the inverter's lifetime energy counter
    "grid_import_energy_wh": "Grid import",
    "grid_export_energy_wh": "Grid export",
    "battery_charge_energy_wh": "Battery charge",
    "battery_discharge_energy_wh": "Battery discharge",
    "load_energy_wh": "Consumption",
    "ev_energy_wh": "EV charged energy",
    "soc": "Battery state of charge",
    "ev_soc": "Vehicle state of charge",
    "battery_temperature_c": "Battery temperature",
    "inverter_temperature_c": "Inverter temperature",
    "grid_voltage_v": "Grid voltage",
    "pv_voltage_v": "PV voltage",
    "battery_voltage_v": "Battery voltage",
    "grid_current_a": "Grid current",
    "ev_current_a": "EV current",
    "ev_voltage_v": "EV voltage",
    "grid_frequency_hz": "Grid frequency",
}
# The stored unit -> (the unit a chart shows, factor from the stored value).
SHOWN_UNITS = {"W": ("kW", 0.001), "Wh": ("kWh", 0.001), "fraction": ("%", 100.0)}
_PHASE = {"_l1_": " L1", "_l2_": " L2", "_l3_": " L3"}


def title(point: Point) -> str:
    """The point's name for people; a phase's point is its total's name with the phase."""
    return name_title(point.name)


def name_title(name: str) -> str:
    """``title`` for a point known by its stored name (a counter restart's ``pv_energy_wh``)."""
    for marker, phase in _PHASE.items():
        if marker in name:
            total = name.replace(marker, "_")
            if total in TITLES:
                return _(TITLES[total]) + phase
    return _(TITLES[name]) if name in TITLES else name


def unit_of(point: Point) -> tuple[str, float]:
    """The unit a chart shows the point in, and the factor from the stored value."""
    return SHOWN_UNITS.get(point.unit, (point.unit, 1.0))


def label(point: Point) -> str:
    """The name and unit of a chart's series: "PV power, kW"."""
    return f"{title(point)}, {unit_of(point)[0]}"
