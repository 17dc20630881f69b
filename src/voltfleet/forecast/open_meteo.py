"""Past days' weather from Open-Meteo's HTTP API (https://open-meteo.com/en/docs): free, no key,
CC BY 4.0 (the page names the source).

One GET of the forecast endpoint with ``start_date``/``end_date`` (it serves the recent past,
about three months back, from its weather models; the archive endpoint, ``ARCHIVE_URL``, has the
same parameters and answer and serves older days from ERA5 reanalysis, which lags five days
behind, so it is the ``url`` to give for older days): daily minimum and maximum air
temperature at 2 m, the day's shortwave radiation sum (MJ/m², turned into kWh/m²) and mean cloud
cover, in the site's zone. Answers are kept for ``ttl_s`` per place and days, so an overview
shown often asks the service once an hour; a failure raises ``Unavailable`` with the reason.
"""

from __future__ import annotations

import contextlib
import threading
import time
from datetime import date
from typing import Any

import httpx

from voltfleet.domain.weather import MJ_PER_KWH, DayWeather
from voltfleet.usecases.errors import Unavailable

FORECAST_URL = "https://api.open-meteo.com/v1/forecast"
ARCHIVE_URL = "https://archive-api.open-meteo.com/v1/archive"
DAILY = "temperature_2m_min,temperature_2m_max,shortwave_radiation_sum,cloud_cover_mean"


def _number(values: list[Any] | None, i: int) -> float | None:
    if values is None or i >= len(values) or values[i] is None:
        return None
    return float(values[i])


def parse_daily(body: dict[str, Any]) -> list[DayWeather]:
    """The days of an Open-Meteo answer (``daily`` columns); raises ValueError on a shape it
    does not know."""
    daily = body.get("daily")
    if not isinstance(daily, dict) or not isinstance(daily.get("time"), list):
        raise ValueError("the answer has no daily series")
    units = body.get("daily_units") or {}
    radiation_unit = units.get("shortwave_radiation_sum", "MJ/m²")
    if radiation_unit not in ("MJ/m²", "MJ/m^2"):
        raise ValueError(f"shortwave radiation in {radiation_unit!r}, expected MJ/m²")
    out = []
    for i, day in enumerate(daily["time"]):
        mj = _number(daily.get("shortwave_radiation_sum"), i)
        out.append(
            DayWeather(
                day=date.fromisoformat(day),
                temperature_min_c=_number(daily.get("temperature_2m_min"), i),
                temperature_max_c=_number(daily.get("temperature_2m_max"), i),
                irradiation_kwh_m2=None if mj is None else mj / MJ_PER_KWH,
                cloud_cover_pct=_number(daily.get("cloud_cover_mean"), i),
            )
        )
    return out


class OpenMeteoWeather:
    name = "Open-Meteo"

    def __init__(
        self,
        *,
        url: str = FORECAST_URL,
        timeout_s: float = 5.0,
        ttl_s: float = 3600.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url
        self.ttl_s = ttl_s
        self._client = httpx.Client(timeout=timeout_s, transport=transport)
        self._cache: dict[tuple[Any, ...], tuple[float, list[DayWeather]]] = {}
        self._lock = threading.Lock()

    def daily(
        self, latitude: float, longitude: float, timezone: str, first: date, last: date
    ) -> list[DayWeather]:
        key = (round(latitude, 3), round(longitude, 3), timezone, first, last)
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < self.ttl_s:
            return hit[1]
        params = {
            "latitude": f"{latitude:.4f}",
            "longitude": f"{longitude:.4f}",
            "start_date": first.isoformat(),
            "end_date": last.isoformat(),
            "daily": DAILY,
            "timezone": timezone,
        }
        body = get_json(self._client, self.url, params)
        try:
            days = parse_daily(body)
        except ValueError as exc:
            raise Unavailable(f"Open-Meteo's answer is not understood: {exc}") from exc
        days = [d for d in days if first <= d.day <= last]
        with self._lock:
            self._cache[key] = (time.monotonic(), days)
        return days


def get_json(client: httpx.Client, url: str, params: dict[str, str]) -> Any:
    """One Open-Meteo request's JSON body (the history and the forecast adapters); ``Unavailable``
    with the reason when it cannot be reached or answers an error."""
    try:
        r = client.get(url, params=params)
    except httpx.HTTPError as exc:
        raise Unavailable(f"Open-Meteo cannot be reached: {exc}", retry_after_s=60) from exc
    if r.status_code != 200:
        reason = ""
        with contextlib.suppress(ValueError, AttributeError):
            reason = str(r.json().get("reason", ""))
        raise Unavailable(
            f"Open-Meteo answered {r.status_code}{': ' + reason if reason else ''}",
            retry_after_s=60,
        )
    try:
        return r.json()
    except ValueError as exc:
        raise Unavailable(f"Open-Meteo's answer is not understood: {exc}") from exc
