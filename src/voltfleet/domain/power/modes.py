"""A location's power-management mode and its settings."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum


class Mode(StrEnum):
    """How the current the tree allows is shared (docs/power-management.md).

    - ``sharing``: load balancing and power sharing: every connector within its groups' limits,
      fair shares when they must share; with a meter on a group, dynamic load balancing.
    - ``fast``: first come, first served: each car the highest current the tree still allows.
    - ``solar_balancing``: measured solar surplus, topped up from the grid to the minimum.
    - ``solar_only``: only surplus; ``solar_backup_s`` lets the grid bridge a short dip.
    - ``smart_solar``: a car starts when the surplus covers ``min_solar_share`` of its minimum
      charge (the minimum charge threshold); the grid tops up the rest.
    """

    SHARING = "sharing"
    FAST = "fast"
    SOLAR_BALANCING = "solar_balancing"
    SOLAR_ONLY = "solar_only"
    SMART_SOLAR = "smart_solar"

    @property
    def solar(self) -> bool:
        return self in (Mode.SOLAR_BALANCING, Mode.SOLAR_ONLY, Mode.SMART_SOLAR)


@dataclass(frozen=True)
class PowerSettings:
    mode: Mode = Mode.SHARING
    solar_backup_s: float = 0.0  # solar only: how long the grid may bridge a dip in surplus
    min_solar_share: float = 0.5  # smart solar: share of a car's minimum that must be solar
    meter_stale_s: float = 30.0  # a meter older than this is silent: its group falls back
    raise_hold_s: float = 60.0  # a limit is raised only after the higher target held this long
    min_charge_a: float = 6.0

    def __post_init__(self) -> None:
        for name in ("solar_backup_s", "meter_stale_s", "raise_hold_s"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be >= 0")
        if not (0.0 <= self.min_solar_share <= 1.0):
            raise ValueError("min_solar_share is a fraction between 0 and 1")
        if not (math.isfinite(self.min_charge_a) and self.min_charge_a > 0):
            raise ValueError("min_charge_a must be positive")
