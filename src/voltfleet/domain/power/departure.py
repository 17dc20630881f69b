"""Departure times: a car that must have an amount of energy by a time.

The allocation gives such a car the average power it still needs (``required_w``), taken from
what the fuses leave once every admitted car has its minimum, and walks urgent cars first when
deciding who charges at all (earliest departure first, as earliest-deadline-first scheduling
does; SAP's emobility-smart-charging orders cars by departure the same way). A car whose fair
share already covers its need is not held back by anyone's departure: the reserved current is a
floor, not a ceiling.

``outlook`` answers the person at the charger: at the power the car gets now, when it will be
ready, or how much it will miss by its departure.

Pure: instants are epoch seconds, energies Wh, powers W.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

HOUR_S = 3600.0


@dataclass(frozen=True)
class Need:
    """What a car still needs (``energy_wh``, what is left to charge, not the session's total)
    and when it leaves (``departure_s``)."""

    energy_wh: float
    departure_s: float

    @property
    def urgent(self) -> bool:
        """It needs energy at all (one that has what it asked for is an ordinary car)."""
        return self.energy_wh > 0 and math.isfinite(self.energy_wh)


def required_w(need: Need, now_s: float) -> float:
    """The average power that delivers the rest of the need by the departure: remaining energy
    over the time left (infinite once the departure has passed with energy still missing; 0 when
    nothing is missing)."""
    if not need.urgent:
        return 0.0
    left_s = need.departure_s - now_s
    if left_s <= 0:
        return math.inf
    return need.energy_wh * HOUR_S / left_s


@dataclass(frozen=True)
class Outlook:
    """At a constant power: when the need is met (``ready_s``, None when never or not before
    the departure) and what is still missing at the departure (``short_wh``, 0 when ready)."""

    ready_s: float | None
    short_wh: float


def outlook(need: Need, power_w: float, now_s: float) -> Outlook:
    """Will the car be ready, charging on at ``power_w``?"""
    if not need.urgent:
        return Outlook(now_s, 0.0)
    power = max(0.0, power_w) if math.isfinite(power_w) else 0.0
    left_s = max(0.0, need.departure_s - now_s)
    by_departure_wh = power * left_s / HOUR_S
    if by_departure_wh + 1e-9 >= need.energy_wh and power > 0:
        return Outlook(now_s + need.energy_wh * HOUR_S / power, 0.0)
    return Outlook(None, need.energy_wh - by_departure_wh)


def remaining_wh(wanted_wh: float | None, charged_wh: float | None) -> float:
    """What a session still needs: what was asked for minus what it charged (never below 0)."""
    if wanted_wh is None:
        return 0.0
    return max(0.0, wanted_wh - max(0.0, charged_wh or 0.0))
