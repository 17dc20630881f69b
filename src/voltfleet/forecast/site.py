"""A site's PV and load forecast (``ports.Forecaster``).

PV: the array (capacity, tilt, orientation, place) under the weather of ``source``: ``"try"``
(the simulator's weather: the measured typical year of the nearest shipped station, the same the
simulated homes see) or ``"clearsky"`` (pvlib's clear sky: an upper bound), through the
simulator's PVWatts model; then scaled by what the site measured over the same recent quarter
hours against what the model gives for them (``domain.optimisation.forecast.pv_correction``).
A site without a place or a capacity forecasts no PV.

Load: the site's own history by day type and quarter hour (holidays as Sundays, from the
``holidays`` package for the site's country), else the BDEW H25 standard profile (demandlib)
scaled to the annual consumption.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays as holiday_calendars
import numpy as np

from voltfleet.domain.optimisation.forecast import (
    ForecastSite,
    SiteForecast,
    load_from_history,
    pv_correction,
)
from voltfleet.simulator.model import PvSpec, pv_power_w
from voltfleet.simulator.weather import WeatherSource, household_shape_w_per_kwh, irradiance

HALF_STEP = timedelta(minutes=7, seconds=30)


class SiteForecaster:
    def __init__(self, source: WeatherSource = "try") -> None:
        self.source = source

    def _pv(self, site: ForecastSite, times: Sequence[datetime]) -> np.ndarray:
        assert site.latitude is not None and site.longitude is not None
        # the mean over each quarter hour, taken at its middle
        mid = tuple(t + HALF_STEP for t in times)
        irr = irradiance(self.source, mid, site.latitude, site.longitude)
        spec = PvSpec(
            capacity_wp=site.capacity_kwp * 1000,
            tilt_deg=site.tilt_deg,
            azimuth_deg=site.azimuth_deg,
        )
        return pv_power_w(spec, irr)

    def forecast(self, site: ForecastSite, times: Sequence[datetime]) -> SiteForecast:
        tz = ZoneInfo(site.timezone)
        if site.capacity_kwp > 0 and site.latitude is not None and site.longitude is not None:
            pv = self._pv(site, times)
            factor = 1.0
            if site.pv_history:
                modelled = self._pv(site, [t for t, _ in site.pv_history])
                factor = pv_correction([w for _, w in site.pv_history], modelled)
            pv = pv * factor
            pv_source = self.source if factor == 1.0 else f"{self.source} x {factor:.2f}"
        else:
            pv, factor, pv_source = np.zeros(len(times)), 1.0, "none"
        years = sorted(
            {t.astimezone(tz).year for t in times} | {t.year for t, _ in site.load_history}
        )
        hol: Container[date]
        try:
            hol = holiday_calendars.country_holidays(site.country or "DE", years=years)
        except NotImplementedError:  # a country the package does not know: no holidays
            hol = frozenset()
        own = load_from_history(site.load_history, times, tz, hol)
        if own is not None:
            days = len({t.astimezone(tz).date() for t, _ in site.load_history})
            load = np.asarray(own, dtype=np.float64)
            load_source = f"history ({days} days)"
        else:
            shape = household_shape_w_per_kwh(
                tuple(t + HALF_STEP for t in times), site.timezone, site.country or "DE"
            )
            load = shape * site.annual_kwh
            load_source = f"standard profile H25, {site.annual_kwh:.0f} kWh/a"
        return SiteForecast(
            pv_w=tuple(float(x) for x in np.clip(pv, 0, None)),
            load_w=tuple(float(x) for x in np.clip(load, 0, None)),
            pv_source=pv_source,
            load_source=load_source,
            pv_correction=factor,
        )
