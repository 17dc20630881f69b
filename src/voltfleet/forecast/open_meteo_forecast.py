"""Hourly weather ahead from Open-Meteo's forecast API (https://open-meteo.com/en/docs): free,
no key, CC BY 4.0 (the plan page names the source).

One GET of ``/v1/forecast`` per place and clock hour: ``hourly`` GHI (``shortwave_radiation``),
its diffuse part (``diffuse_radiation``), DNI (``direct_normal_irradiance``, read but not
needed: the PV model rebuilds it from GHI and DHI), air temperature at 2 m and cloud cover, in
UTC (``timezone=GMT``), the last 3 days (``past_days``: what the correction by measured days
compares with) and 3 days ahead (``forecast_days``: at least 48 hours from any hour of today).
Open-Meteo gives radiation as the mean of the *preceding* hour, so the value stamped 13:00 is
the hour from 12:00 (``HourlyWeather`` keys hours by their start); temperature and cloud cover
are instants, taken for the hour they end.

Places are rounded to ``CELL_DEG`` (0.1°, about 11 km north-south; the weather models behind
the service have cells of 1-11 km), so one answer serves every site in the cell; it is kept
until the clock hour ends. A failure is kept ``retry_s`` (a minute), so a fleet planned in one
cycle asks a dead service once per cell, and raises ``Unavailable`` with the reason.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from voltfleet.domain.weather import HourlyWeather
from voltfleet.forecast.open_meteo import get_json
from voltfleet.usecases.errors import Unavailable

FORECAST_URL = "https://api.open-meteo.com/v1/forecast"
HOURLY = "shortwave_radiation,diffuse_radiation,direct_normal_irradiance,temperature_2m,cloud_cover"
CELL_DEG = 0.1
PAST_DAYS = 3
FORECAST_DAYS = 3
_W_M2 = ("W/m²", "W/m^2", "W/m2")


def _number(values: Any, i: int) -> float | None:
    if not isinstance(values, list) or i >= len(values) or values[i] is None:
        return None
    return float(values[i])


def parse_hourly(body: dict[str, Any]) -> HourlyWeather:
    """The hours of an Open-Meteo answer (``hourly`` columns, UTC); raises ValueError on a
    shape it does not know."""
    hourly = body.get("hourly")
    if not isinstance(hourly, dict) or not isinstance(hourly.get("time"), list):
        raise ValueError("the answer has no hourly series")
    units = body.get("hourly_units") or {}
    for name in ("shortwave_radiation", "diffuse_radiation"):
        unit = units.get(name, "W/m²")
        if unit not in _W_M2:
            raise ValueError(f"{name} in {unit!r}, expected W/m²")
    if units.get("temperature_2m", "°C") != "°C":
        raise ValueError(f"temperature in {units['temperature_2m']!r}, expected °C")
    offset = timedelta(seconds=int(body.get("utc_offset_seconds") or 0))
    starts = []
    for stamp in hourly["time"]:
        if isinstance(stamp, int | float):  # timeformat=unixtime
            end = datetime.fromtimestamp(stamp, UTC)
        else:
            end = (datetime.fromisoformat(str(stamp)) - offset).replace(tzinfo=UTC)
        starts.append(end - timedelta(hours=1))  # radiation: the mean of the preceding hour
    if any(b - a != timedelta(hours=1) for a, b in itertools.pairwise(starts)):
        raise ValueError("the hours are not consecutive")
    n = len(starts)

    def column(name: str) -> tuple[float | None, ...]:
        return tuple(_number(hourly.get(name), i) for i in range(n))

    return HourlyWeather(
        hour_starts=tuple(starts),
        ghi_w_m2=column("shortwave_radiation"),
        dhi_w_m2=column("diffuse_radiation"),
        temp_air_c=column("temperature_2m"),
        cloud_cover_pct=column("cloud_cover"),
    )


def cell(latitude: float, longitude: float) -> tuple[float, float]:
    """The place rounded to the cache's cell."""
    return round(round(latitude / CELL_DEG) * CELL_DEG, 4), round(
        round(longitude / CELL_DEG) * CELL_DEG, 4
    )


class OpenMeteoForecast:
    name = "Open-Meteo forecast"

    def __init__(
        self,
        *,
        url: str = FORECAST_URL,
        timeout_s: float = 5.0,
        retry_s: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        clock_s: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.retry_s = retry_s
        self._client = httpx.Client(timeout=timeout_s, transport=transport)
        self._clock_s = clock_s  # wall-clock seconds: the cache's hour (a test moves it)
        self._cache: dict[tuple[float, float], tuple[int, HourlyWeather]] = {}
        self._failed: dict[tuple[float, float], tuple[float, Unavailable]] = {}
        self._lock = threading.Lock()
        self.fetches = 0  # how many requests were sent (the cache's effect, for tests and ops)

    def hourly(
        self, latitude: float, longitude: float, first: datetime, last: datetime
    ) -> HourlyWeather:
        key = cell(latitude, longitude)
        with self._lock:  # one fetch per cell at a time; the others wait and read the cache
            now = self._clock_s()
            hit = self._cache.get(key)
            if hit is None or hit[0] != int(now // 3600):
                failed = self._failed.get(key)
                if failed is not None and now - failed[0] < self.retry_s:
                    raise failed[1]
                try:
                    got = self._fetch(*key)
                except Unavailable as exc:
                    self._failed[key] = (now, exc)
                    raise
                self._failed.pop(key, None)
                hit = self._cache[key] = (int(now // 3600), got)
        return hit[1].between(first, last)

    def _fetch(self, latitude: float, longitude: float) -> HourlyWeather:
        params = {
            "latitude": f"{latitude:.4f}",
            "longitude": f"{longitude:.4f}",
            "hourly": HOURLY,
            "timezone": "GMT",
            "past_days": str(PAST_DAYS),
            "forecast_days": str(FORECAST_DAYS),
        }
        self.fetches += 1
        body = get_json(self._client, self.url, params)
        try:
            return parse_hourly(body)
        except ValueError as exc:
            raise Unavailable(f"Open-Meteo's answer is not understood: {exc}") from exc
