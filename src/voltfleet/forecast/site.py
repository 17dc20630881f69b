"""A site's PV and load forecast (``ports.Forecaster``).

PV: the array (capacity, tilt, orientation, place) under the weather of ``source``: ``"try"``
(the simulator's weather: the measured typical year of the nearest shipped station, the same the
simulated homes see) or ``"clearsky"`` (pvlib's clear sky: an upper bound), through the
simulator's PVWatts model; or, when a weather forecast is given (``weather``, a
``ports.WeatherForecast``: Open-Meteo, or the simulator's weather in the demo), the irradiance
and temperature of its hours (``forecast.hourly_sky``) for the hours ahead and for the measured
days alike. A forecast that fails (unreachable, refused, not covering the hours) falls back to
the clear sky, logged, with the reason in ``SiteForecast.pv_note`` (the plan page shows it).
Then scaled by what the site measured over the same recent quarter
hours against what the model gives for them (``domain.optimisation.forecast.pv_correction``).
A site without a place or a capacity forecasts no PV.

Load: the site's own history by day type and quarter hour (holidays as Sundays, from the
``holidays`` package for the site's country), else the BDEW H25 standard profile (demandlib)
scaled to the annual consumption.
"""

from __future__ import annotations

import logging
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
from voltfleet.domain.weather import HourlyWeather
from voltfleet.forecast.hourly_sky import irradiance_at
from voltfleet.ports import WeatherForecast
from voltfleet.simulator.model import PvSpec, pv_power_w
from voltfleet.simulator.weather import (
    Irradiance,
    WeatherSource,
    household_shape_w_per_kwh,
    irradiance,
)
from voltfleet.usecases.errors import Unavailable

HALF_STEP = timedelta(minutes=7, seconds=30)
log = logging.getLogger("voltfleet.forecast")


class SiteForecaster:
    """``source``: the sky without a weather forecast; ``weather``: the forecast, when one is
    configured (``settings.weather_forecast``), with the clear sky as its fallback."""

    def __init__(
        self, source: WeatherSource = "try", weather: WeatherForecast | None = None
    ) -> None:
        self.source: WeatherSource = source
        self.weather = weather

    def _sky(
        self, site: ForecastSite, times: Sequence[datetime]
    ) -> tuple[WeatherSource | HourlyWeather, str, str]:
        """The sky the PV comes from for ``times`` (those ahead and the measured ones), its
        name, and why the forecast was not used (``""`` when it was, or none is configured)."""
        if self.weather is None:
            return self.source, self.source, ""
        assert site.latitude is not None and site.longitude is not None
        first, last = min(times), max(times) + 2 * HALF_STEP
        try:
            got = self.weather.hourly(site.latitude, site.longitude, first, last)
        except Unavailable as exc:
            reason = exc.message
        else:
            if got.covers(first, last):
                return got, self.weather.name, ""
            span = f"{first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC"
            reason = f"{self.weather.name} does not cover {span}"
        log.warning("PV forecast falls back to the clear sky: %s", reason)
        return "clearsky", "clearsky", reason

    def _pv(
        self,
        site: ForecastSite,
        times: Sequence[datetime],
        sky: WeatherSource | HourlyWeather | None = None,
    ) -> np.ndarray:
        assert site.latitude is not None and site.longitude is not None
        # the mean over each quarter hour, taken at its middle
        mid = tuple(t + HALF_STEP for t in times)
        sky = self.source if sky is None else sky
        irr: Irradiance
        if isinstance(sky, str):
            irr = irradiance(sky, mid, site.latitude, site.longitude)
        else:
            irr = irradiance_at(sky, mid, site.latitude, site.longitude)
        spec = PvSpec(
            capacity_wp=site.capacity_kwp * 1000,
            tilt_deg=site.tilt_deg,
            azimuth_deg=site.azimuth_deg,
        )
        return pv_power_w(spec, irr)

    def forecast(self, site: ForecastSite, times: Sequence[datetime]) -> SiteForecast:
        tz = ZoneInfo(site.timezone)
        if site.capacity_kwp > 0 and site.latitude is not None and site.longitude is not None:
            both = [*times, *(t for t, _ in site.pv_history)]  # ahead, and the measured
            sky, name, note = self._sky(site, both)
            modelled = self._pv(site, both, sky)
            pv = modelled[: len(times)]
            factor = 1.0
            if site.pv_history:
                factor = pv_correction([w for _, w in site.pv_history], modelled[len(times) :])
            pv = pv * factor
            pv_source = name if factor == 1.0 else f"{name} x {factor:.2f}"
        else:
            pv, factor, pv_source, note = np.zeros(len(times)), 1.0, "none", ""
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
            pv_note=note,
        )
