"""PV forecast error with and without a weather forecast, on the simulator's homes.

The homes are the simulator's (``simulator.fleet.make_homes``: German places, PV 3-12 kWp), their
PV what the simulator gives under its weather (the DWD typical year of their station, so cloudy
and sunny days as they come): that is what happens. Every day at 00:00 UTC a forecast of the
next 24 hours is made the way the platform makes it (``forecast.site.SiteForecaster``, the
array's capacity and place; tilt and orientation as entered, the model's defaults otherwise),
corrected by the last 3 days the home measured, with three skies:

- ``clear sky``: no weather forecast (``VOLTFLEET_WEATHER_FORECAST=off``, the production
  default): pvlib's clear sky scaled by the measured days;
- ``persistence``: yesterday's hourly weather as today's forecast (the simulator's weather shifted
  by a day): the usual floor any real weather forecast has to beat;
- ``weather forecast``: the simulator's weather (``forecast.simulated_forecast``, what
  ``VOLTFLEET_WEATHER_FORECAST=simulated`` gives the demo): the weather that will happen, in
  hourly means, so its error is what the array's model and the correction leave, a floor no
  weather service reaches. A real service (Open-Meteo) lies between it and persistence.

Printed per sky: the mean over site-days of the day's MAE and RMSE (``domain.optimisation.
forecast.daily_errors``, the figures the plan page shows O&M), in W and per kWp, and the error of
the day's energy. ``--quick``: 5 homes, 10 days.

    .venv/bin/python benchmarks/forecast_error.py
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from voltfleet.domain.optimisation.forecast import ForecastSite, daily_errors
from voltfleet.domain.weather import HourlyWeather
from voltfleet.forecast.simulated_forecast import SimulatedForecast
from voltfleet.forecast.site import SiteForecaster
from voltfleet.simulator.fleet import make_homes
from voltfleet.simulator.model import pv_power_w
from voltfleet.simulator.weather import irradiance

QUICK = "--quick" in sys.argv
HOMES = 5 if QUICK else 20
DAYS = 10 if QUICK else 31
START = datetime(2026, 3, 1, tzinfo=UTC)
HISTORY_DAYS = 3
STEP = timedelta(minutes=15)


class Persistence:
    """Yesterday's weather as the forecast: the simulator's hours shifted by a day."""

    name = "persistence (yesterday's weather)"

    def __init__(self) -> None:
        self.sim = SimulatedForecast()

    def hourly(
        self, latitude: float, longitude: float, first: datetime, last: datetime
    ) -> HourlyWeather:
        day = timedelta(days=1)
        got = self.sim.hourly(latitude, longitude, first - day, last - day)
        return HourlyWeather(
            tuple(t + day for t in got.hour_starts),
            got.ghi_w_m2,
            got.dhi_w_m2,
            got.temp_air_c,
            got.cloud_cover_pct,
        )


def main() -> None:
    homes = make_homes(HOMES, seed=1)
    skies = {
        "clear sky": SiteForecaster("clearsky"),
        "persistence": SiteForecaster("clearsky", Persistence()),
        "weather forecast": SiteForecaster("clearsky", SimulatedForecast()),
    }
    n = (HISTORY_DAYS + DAYS) * 96
    t0 = START - timedelta(days=HISTORY_DAYS)
    times = [t0 + i * STEP for i in range(n)]
    mid = tuple(t + STEP / 2 for t in times)
    results: dict[str, list[tuple[float, float, float, float]]] = {k: [] for k in skies}
    spent = dict.fromkeys(skies, 0.0)
    for spec in homes:
        actual = pv_power_w(spec.pv, irradiance("try", mid, spec.latitude, spec.longitude))
        kwp = spec.pv.capacity_wp / 1000
        for d in range(HISTORY_DAYS, HISTORY_DAYS + DAYS):
            ahead = times[d * 96 : (d + 1) * 96]
            past = slice((d - HISTORY_DAYS) * 96, d * 96)
            site = ForecastSite(
                timezone=spec.timezone,
                country=spec.country,
                capacity_kwp=kwp,
                latitude=spec.latitude,
                longitude=spec.longitude,
                tilt_deg=spec.pv.tilt_deg,
                azimuth_deg=spec.pv.azimuth_deg,
                pv_history=tuple(zip(times[past], (float(w) for w in actual[past]), strict=True)),
            )
            got = actual[d * 96 : (d + 1) * 96]
            for name, f in skies.items():
                began = time.process_time()
                fc = f.forecast(site, ahead)
                spent[name] += time.process_time() - began
                assert fc.pv_note == "", fc.pv_note
                (e,) = daily_errors(ahead, fc.pv_w, [float(w) for w in got], ZoneInfo("UTC"))
                energy = abs(sum(fc.pv_w) - float(got.sum())) / 4000  # kWh
                results[name].append((e.mae_w, e.rmse_w, e.mae_w / kwp, energy))
    print(f"PV forecast error, {HOMES} simulated homes x {DAYS} days from {START:%Y-%m-%d}, "
          f"24 h ahead from 00:00 UTC, corrected by {HISTORY_DAYS} measured days")  # fmt: skip
    print(f"{'sky':<18}{'MAE W':>9}{'RMSE W':>9}{'MAE W/kWp':>11}{'|day kWh err|':>15}{'CPU s':>8}")
    base = None
    for name, rows in results.items():
        a = np.asarray(rows)
        mae, rmse, per_kwp, energy = a.mean(axis=0)
        base = base or mae
        print(f"{name:<18}{mae:>9.0f}{rmse:>9.0f}{per_kwp:>11.1f}{energy:>15.2f}"
              f"{spent[name]:>8.1f}   MAE {100 * mae / base:.0f} % of clear sky's")  # fmt: skip


if __name__ == "__main__":
    main()
