"""A weather forecast from the simulator's weather (``simulator.weather``: the measured typical
year of the nearest shipped station on the site's sun), the weather the simulated homes' PV
will see: the demo's forecast. Hourly means of 6 samples an hour (every 10 minutes), so what the
PV forecast rebuilds from it differs from what the homes see only within each hour. A perfect
forecast, then: its forecast error is the floor a real weather forecast cannot go below (the
array's model, the correction by measured days), not what a weather service achieves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from voltfleet.domain.weather import HOUR, HourlyWeather
from voltfleet.simulator.weather import irradiance

SAMPLES = 6


def _hour(t: datetime) -> datetime:
    t = t.astimezone(UTC)
    return t.replace(minute=0, second=0, microsecond=0)


class SimulatedForecast:
    name = "voltfleet simulator (typical year)"

    def hourly(
        self, latitude: float, longitude: float, first: datetime, last: datetime
    ) -> HourlyWeather:
        start = _hour(first)
        hours = int((_hour(last) - start) / HOUR) + 1
        step = HOUR / SAMPLES
        instants = tuple(
            start + h * HOUR + step * (k + 0.5) for h in range(hours) for k in range(SAMPLES)
        )
        sky = irradiance("try", instants, latitude, longitude)

        def means(values: np.ndarray) -> tuple[float | None, ...]:
            return tuple(float(v) for v in values.reshape(hours, SAMPLES).mean(axis=1))

        ghi = means(sky.ghi_w_m2)
        return HourlyWeather(
            hour_starts=tuple(start + timedelta(hours=h) for h in range(hours)),
            ghi_w_m2=ghi,
            dhi_w_m2=means(sky.dhi_w_m2),
            temp_air_c=means(sky.temp_air_c),
            cloud_cover_pct=(None,) * hours,
        )
