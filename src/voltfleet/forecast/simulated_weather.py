"""Past days' weather from the simulator's weather (``simulator.weather``): the measured typical
year of the nearest shipped station, laid onto the site's sun, the same the simulated homes'
PV sees. The demo's overview shows it; figures per local day from hourly samples (at each
hour's middle): minimum and maximum air temperature, the global horizontal irradiation, and a
cloud cover read from the light: one less the day's irradiation over the clear sky's (a
clearness, not an observed cloud cover, so it is labelled by the source's name)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from voltfleet.domain.weather import DayWeather
from voltfleet.simulator.weather import irradiance


class SimulatedWeather:
    name = "voltfleet simulator (typical year)"

    def daily(
        self, latitude: float, longitude: float, timezone: str, first: date, last: date
    ) -> list[DayWeather]:
        tz = ZoneInfo(timezone)
        out = []
        day = first
        while day <= last:
            start = datetime(day.year, day.month, day.day, tzinfo=tz)
            end = datetime(day.year, day.month, day.day, tzinfo=tz) + timedelta(days=1)
            hours = int((end.astimezone(ZoneInfo("UTC")) - start.astimezone(ZoneInfo("UTC")))
                        .total_seconds() // 3600)  # fmt: skip
            times = tuple(
                (start + timedelta(hours=h, minutes=30)).astimezone(ZoneInfo("UTC"))
                for h in range(hours)
            )
            sky = irradiance("try", times, latitude, longitude)
            clear = irradiance("clearsky", times, latitude, longitude)
            ghi_kwh = float(np.sum(sky.ghi_w_m2)) / 1000
            clear_kwh = float(np.sum(clear.ghi_w_m2)) / 1000
            cloud = None
            if clear_kwh > 0.05:
                cloud = float(np.clip(100 * (1 - ghi_kwh / clear_kwh), 0, 100))
            out.append(
                DayWeather(
                    day=day,
                    temperature_min_c=float(np.min(sky.temp_air_c)),
                    temperature_max_c=float(np.max(sky.temp_air_c)),
                    irradiation_kwh_m2=ghi_kwh,
                    cloud_cover_pct=cloud,
                )
            )
            day += timedelta(days=1)
        return out
