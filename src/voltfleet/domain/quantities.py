"""Power, energy and capacity scaled for people: which unit and how many decimals.

A figure is shown in the smallest "human" unit (kW, kWh, kWp) until it reaches a thousand of
them, then in the next (MW, MWh, MWp, then G...), so a home reads "3.42 kW" and a fleet
"1.25 MWh". Each unit has a fixed number of decimals, so the figures of a column line up and a
page never shows "3.4 kWh" beside "3.417 kWh". Pure: numbers in, a ``Scaled`` out; the portal
formats it for the reader's locale (app/portal/quantity_filters.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# (unit, factor to the base unit W, Wh or Wp) from smallest to largest; each with its decimals.
POWER = (("kW", 1e3, 2), ("MW", 1e6, 2), ("GW", 1e9, 2))
ENERGY = (("kWh", 1e3, 2), ("MWh", 1e6, 2), ("GWh", 1e9, 2))
CAPACITY = (("kWp", 1e3, 1), ("MWp", 1e6, 2), ("GWp", 1e9, 2))

Units = tuple[tuple[str, float, int], ...]


@dataclass(frozen=True)
class Scaled:
    """``value`` in ``unit``, to be shown with ``decimals`` places."""

    value: float
    unit: str
    decimals: int


def scale(base_value: float, units: Units) -> Scaled:
    """``base_value`` (in W, Wh or Wp) in the first of ``units`` where it rounds to less than a
    thousand (999.994 kWh is "999.99 kWh", 999.996 kWh is "1.00 MWh", not "1,000.00 kWh"); the
    last unit beyond that; negatives by their size; non-finite values in the first unit."""
    if not math.isfinite(base_value):
        return Scaled(base_value, units[0][0], units[0][2])
    chosen = units[-1]
    for candidate in units:
        if round(abs(base_value) / candidate[1], candidate[2]) < 1000:
            chosen = candidate
            break
    unit, factor, decimals = chosen
    return Scaled(base_value / factor, unit, decimals)


def power(power_w: float) -> Scaled:
    return scale(power_w, POWER)


def energy(energy_wh: float) -> Scaled:
    return scale(energy_wh, ENERGY)


def capacity(capacity_kwp: float) -> Scaled:
    return scale(capacity_kwp * 1e3, CAPACITY)
