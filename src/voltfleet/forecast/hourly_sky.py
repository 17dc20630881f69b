"""Hourly weather (``domain.weather.HourlyWeather``, a weather forecast's hours) as irradiance
at any instants, for the PV model (``simulator.model.pv_power_w``).

An hour's mean GHI is turned into its *clearness*: the GHI over pvlib's clear-sky GHI at the
site, averaged over the same hour (the simulator's weather does the same with its typical years,
``simulator.weather``). The clearness is interpolated between hour centres and multiplied by the
clear sky at each instant, so a quarter hour has the sun's own shape inside the hour and the sun
rises and sets at the site's times. For hours whose clear sky is too faint for the ratio to mean
anything (dawn and dusk) the clearness of the whole span is used. The diffuse part is the
hour's DHI over GHI where the source gives it, else pvlib's Erbs model; DNI follows from closure
(GHI = DHI + DNI cos z). The air temperature is interpolated between hours (20 °C where the
source gives none).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from voltfleet.domain.weather import HourlyWeather
from voltfleet.simulator.weather import Irradiance, clearsky_irradiance, day_of_year, unix_seconds

CLEARNESS_MAX = 1.2  # cloud edges and thin air give a little more than the clear sky
MIN_SKY_W_M2 = 25.0  # below this hourly clear sky the ratio is noise
BEAM_MAX_ZENITH_DEG = 87.0  # a sun this low gives diffuse light only
SAMPLES = 4  # clear-sky samples per hour for its mean


def _column(values: tuple[float | None, ...], default: float) -> np.ndarray:
    return np.array([default if v is None else float(v) for v in values], dtype=np.float64)


def irradiance_at(
    weather: HourlyWeather, times: tuple[datetime, ...], latitude: float, longitude: float
) -> Irradiance:
    """The irradiance at ``times`` (aware) from ``weather``'s hours (which should cover them;
    beyond its ends the first or last hour's clearness holds)."""
    if not weather.hour_starts:
        raise ValueError("no hours of weather")
    sky = clearsky_irradiance(times, latitude, longitude)
    step = timedelta(hours=1) / SAMPLES
    samples = tuple(h + step * (k + 0.5) for h in weather.hour_starts for k in range(SAMPLES))
    hour_sky = clearsky_irradiance(samples, latitude, longitude).ghi_w_m2
    hour_sky = hour_sky.reshape(-1, SAMPLES).mean(axis=1)
    ghi_h = np.clip(_column(weather.ghi_w_m2, 0.0), 0.0, None)
    bright = hour_sky > MIN_SKY_W_M2
    total_sky = float(hour_sky[bright].sum())
    overall = float(ghi_h[bright].sum()) / total_sky if total_sky > 0 else 1.0
    clearness = np.where(bright, ghi_h / np.where(bright, hour_sky, 1.0), overall)
    clearness = np.clip(clearness, 0.0, CLEARNESS_MAX)
    centres = unix_seconds(weather.hour_starts) + 1800.0
    at = unix_seconds(times)
    ghi = np.interp(at, centres, clearness) * sky.ghi_w_m2
    dhi_given = [
        None if g is None or d is None else (float(d) / float(g) if g > 1.0 else 1.0)
        for g, d in zip(weather.ghi_w_m2, weather.dhi_w_m2, strict=True)
    ]
    if all(f is not None for f in dhi_given):
        fraction = np.clip(np.interp(at, centres, _column(tuple(dhi_given), 1.0)), 0.0, 1.0)
        dhi = fraction * ghi
    else:
        from pvlib import irradiance as pvirradiance  # type: ignore[import-untyped]

        erbs = pvirradiance.erbs(ghi, sky.sun_zenith_deg, day_of_year(at))
        dhi = np.nan_to_num(np.asarray(erbs["dhi"], dtype=np.float64), nan=0.0)
    dhi = np.clip(dhi, 0.0, ghi)
    cosz = np.cos(np.radians(sky.sun_zenith_deg))
    beam = sky.sun_zenith_deg < BEAM_MAX_ZENITH_DEG
    dni = np.where(beam, (ghi - dhi) / np.where(beam, cosz, 1.0), 0.0)
    dhi = ghi - dni * cosz
    temps = _column(weather.temp_air_c, 20.0)
    temp = np.interp(at, centres, temps)
    return Irradiance(times, ghi, dhi, dni, temp, sky.sun_zenith_deg, sky.sun_azimuth_deg)
