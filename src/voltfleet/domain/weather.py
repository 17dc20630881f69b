"""A day of weather at a place, as a site's overview shows it (the last seven days).

Units in the names: temperatures in °C, irradiation (the day's global horizontal irradiation)
in kWh/m², cloud cover in percent of the sky (0..100). ``None``: the source did not give it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

MJ_PER_KWH = 3.6


@dataclass(frozen=True)
class DayWeather:
    day: date  # the local date at the place
    temperature_min_c: float | None
    temperature_max_c: float | None
    irradiation_kwh_m2: float | None
    cloud_cover_pct: float | None
