"""A day of weather at a place, as a site's overview shows it (the last seven days), and hourly
weather ahead, as the PV forecast reads it (``HourlyWeather``).

Units in the names: temperatures in °C, irradiation (the day's global horizontal irradiation)
in kWh/m², cloud cover in percent of the sky (0..100). ``None``: the source did not give it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

MJ_PER_KWH = 3.6
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class DayWeather:
    day: date  # the local date at the place
    temperature_min_c: float | None
    temperature_max_c: float | None
    irradiation_kwh_m2: float | None
    cloud_cover_pct: float | None


@dataclass(frozen=True)
class HourlyWeather:
    """Hourly weather at a place, past hours and the hours ahead (a weather forecast).

    ``hour_starts``: aware UTC instants, one per hour, ascending, no gaps; every other column has
    one value per hour (``None``: the source did not give it). Irradiance is the mean over the
    hour starting at ``hour_starts[i]`` (W/m², horizontal): ``ghi_w_m2`` global, ``dhi_w_m2``
    its diffuse part; ``temp_air_c`` the air temperature at 2 m in that hour; ``cloud_cover_pct``
    the sky covered (0..100)."""

    hour_starts: tuple[datetime, ...]
    ghi_w_m2: tuple[float | None, ...]
    dhi_w_m2: tuple[float | None, ...]
    temp_air_c: tuple[float | None, ...]
    cloud_cover_pct: tuple[float | None, ...]

    def __post_init__(self) -> None:
        n = len(self.hour_starts)
        for name in ("ghi_w_m2", "dhi_w_m2", "temp_air_c", "cloud_cover_pct"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} values for {n} hours")

    def covers(self, first: datetime, last: datetime) -> bool:
        """Whether the hours reach from ``first`` to ``last`` (inclusive) with known GHI."""
        if not self.hour_starts:
            return False
        end = self.hour_starts[-1] + HOUR
        if not (self.hour_starts[0] <= first and last < end):
            return False
        for t, ghi in zip(self.hour_starts, self.ghi_w_m2, strict=True):
            if first - HOUR < t <= last and ghi is None:
                return False
        return True

    def between(self, first: datetime, last: datetime) -> HourlyWeather:
        """The hours that overlap [first, last]."""
        keep = [i for i, t in enumerate(self.hour_starts) if first - HOUR < t <= last]
        return HourlyWeather(
            tuple(self.hour_starts[i] for i in keep),
            tuple(self.ghi_w_m2[i] for i in keep),
            tuple(self.dhi_w_m2[i] for i in keep),
            tuple(self.temp_air_c[i] for i in keep),
            tuple(self.cloud_cover_pct[i] for i in keep),
        )
