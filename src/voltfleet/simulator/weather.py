"""Weather and household-load shapes from data that pvlib and demandlib *ship*: offline, never
fetched.

Irradiance (W/m², on the horizontal) comes from one of:

* ``clearsky``: pvlib's Ineichen model with the Linke turbidity table shipped in pvlib
  (``LinkeTurbidities.h5``): works for any latitude/longitude, always a sunny day.
* ``try``: the DWD test reference years (TRY2010, "mittleres Jahr", 1988-2007) for the 15 German
  climate regions, shipped in demandlib (``vdi/resources_weather``). demandlib's own reader returns
  only cloud cover and temperature, so the file is parsed here for direct (B) and diffuse (D)
  horizontal irradiance. The typical year is laid onto any calendar year by month/day/hour (29 Feb
  reuses 28 Feb). The nearest station to the site is used.

Household load: the BDEW 2025 household profile H25 (demandlib ``bdew.H25``), which works with
pandas 3.1 (the classic ``ElecSlp``/H0 needs pandas < 3.1 and leaves a process-wide "error"
warnings filter, so it is not used). H25 is for 1 GWh/a in kW at 15 minutes; it is returned here
normalised to W per kWh/a.
"""

from __future__ import annotations

import functools
import math
import re
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
WeatherSource = Literal["clearsky", "try"]

_CET = timedelta(hours=1)  # TRY hours are MEZ (UTC+1) all year


@dataclass(frozen=True)
class Irradiance:
    """Horizontal irradiance and air temperature at given UTC instants (arrays of equal length)."""

    times: tuple[datetime, ...]
    ghi_w_m2: FloatArray  # global horizontal
    dhi_w_m2: FloatArray  # diffuse horizontal
    dni_w_m2: FloatArray  # direct normal
    temp_air_c: FloatArray


@dataclass(frozen=True)
class TryStation:
    region: int
    name: str
    latitude: float
    longitude: float
    path: Path


def _weather_dir() -> Path:
    return Path(str(resources.files("demandlib") / "vdi" / "resources_weather"))


_LAGE = re.compile(r"(\d+)°(\d+)'N.*?(\d+)°(\d+)'O")


@functools.cache
def try_stations() -> tuple[TryStation, ...]:
    """The 15 DWD TRY2010 stations shipped with demandlib, with their coordinates."""
    out = []
    for path in sorted(_weather_dir().glob("TRY2010_*_Jahr.dat")):
        with path.open(encoding="utf-8", errors="replace") as f:
            head = [next(f) for _ in range(3)]
        m = _LAGE.search(head[2])
        if m is None:  # pragma: no cover - the shipped files all have it
            continue
        lat = int(m[1]) + int(m[2]) / 60
        lon = int(m[3]) + int(m[4]) / 60
        name = head[1].split(":", 1)[1].split("WMO")[0].strip()
        out.append(TryStation(int(path.name[8:10]), name, lat, lon, path))
    return tuple(out)


def nearest_station(latitude: float, longitude: float) -> TryStation:
    def dist(s: TryStation) -> float:
        dx = (s.longitude - longitude) * math.cos(math.radians(latitude))
        return (s.latitude - latitude) ** 2 + dx**2

    return min(try_stations(), key=dist)


@functools.cache
def _try_year(region: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(direct horizontal B, diffuse horizontal D, temperature t), 8760 hourly values each, row
    i holding the mean over hour i of a non-leap year in MEZ."""
    station = next(s for s in try_stations() if s.region == region)
    rows: list[tuple[float, float, float]] = []
    with station.path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("***"):
                break
        for line in f:
            parts = line.split()
            if len(parts) < 15:
                continue
            rows.append((float(parts[13]), float(parts[14]), float(parts[8])))
    arr = np.asarray(rows, dtype=np.float64)
    return arr[:, 0].copy(), arr[:, 1].copy(), arr[:, 2].copy()


def _try_hour_index(ts: datetime) -> float:
    """Fractional position of ``ts`` in the TRY's hour rows (row centres at hh:30 MEZ)."""
    local = ts.astimezone(UTC) + _CET
    day = local.timetuple().tm_yday - 1
    if local.month > 2 and _is_leap(local.year):
        day -= 1
    if local.month == 2 and local.day == 29:
        day = 58  # 29 Feb: reuse 28 Feb
    return day * 24 + local.hour + local.minute / 60 + local.second / 3600 - 0.5


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def solar_zenith_deg(times: tuple[datetime, ...], latitude: float, longitude: float) -> FloatArray:
    import pandas as pd  # type: ignore[import-untyped]
    from pvlib import solarposition  # type: ignore[import-untyped]

    idx = pd.DatetimeIndex(times).tz_convert("UTC")
    pos = solarposition.get_solarposition(idx, latitude, longitude, method="nrel_numpy")
    return np.asarray(pos["apparent_zenith"].to_numpy(), dtype=np.float64)


def try_irradiance(
    times: tuple[datetime, ...], latitude: float, longitude: float, region: int | None = None
) -> Irradiance:
    """Irradiance from the TRY of ``region`` (default: the station nearest to the site),
    linearly interpolated between hour centres; DNI derived from the direct horizontal part."""
    region = region if region is not None else nearest_station(latitude, longitude).region
    b, d, t = _try_year(region)
    pos = np.asarray([_try_hour_index(ts) for ts in times], dtype=np.float64)
    xp = np.arange(len(b), dtype=np.float64)
    bh = np.interp(pos, xp, b, period=len(b))
    dh = np.interp(pos, xp, d, period=len(d))
    temp = np.interp(pos, xp, t, period=len(t))
    zenith = solar_zenith_deg(times, latitude, longitude)
    cosz = np.cos(np.radians(zenith))
    up = zenith < 87.0
    dni = np.where(up, np.minimum(bh / np.maximum(cosz, 0.05), 1100.0), 0.0)
    bh = np.where(up, bh, 0.0)
    dh = np.where(up, dh, 0.0)
    return Irradiance(times, bh + dh, dh, dni, temp)


def clearsky_irradiance(
    times: tuple[datetime, ...], latitude: float, longitude: float, temp_air_c: float = 20.0
) -> Irradiance:
    """pvlib clear-sky (Ineichen, shipped Linke turbidity): an upper bound on a sunny day."""
    import pandas as pd
    from pvlib.location import Location  # type: ignore[import-untyped]

    idx = pd.DatetimeIndex(times).tz_convert("UTC")
    cs = Location(latitude, longitude, tz="UTC").get_clearsky(idx)
    n = len(times)
    return Irradiance(
        times,
        np.asarray(cs["ghi"].to_numpy(), dtype=np.float64),
        np.asarray(cs["dhi"].to_numpy(), dtype=np.float64),
        np.asarray(cs["dni"].to_numpy(), dtype=np.float64),
        np.full(n, temp_air_c, dtype=np.float64),
    )


def irradiance(
    source: WeatherSource, times: tuple[datetime, ...], latitude: float, longitude: float
) -> Irradiance:
    if source == "try":
        return try_irradiance(times, latitude, longitude)
    return clearsky_irradiance(times, latitude, longitude)


# ---- household load -----------------------------------------------------------------------------


@functools.cache
def _h25_year(year: int, country: str) -> tuple[datetime, FloatArray]:
    """H25 for ``year`` at 15 min in W per kWh/a, from its first instant (naive local time)."""
    import holidays
    import pandas as pd
    from demandlib import bdew  # type: ignore[import-untyped]

    hol = holidays.country_holidays(country or "DE", years=year)
    idx = pd.date_range(f"{year}-01-01", f"{year + 1}-01-01", freq="15min", inclusive="left")
    with warnings.catch_warnings():  # demandlib 0.2.2 uses pandas' deprecated inplace=
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        profile = bdew.H25(idx, holidays=hol)
    kw_per_gwh = np.asarray(profile.to_numpy(), dtype=np.float64)
    # kW for 1 GWh/a == W for 1 MWh/a == W/1000 per kWh/a
    return datetime(year, 1, 1), kw_per_gwh / 1000.0


def household_shape_w_per_kwh(
    times: tuple[datetime, ...], tz_name: str = "Europe/Berlin", country: str = "DE"
) -> FloatArray:
    """Mean household power (W) per kWh of annual consumption at each instant, from BDEW H25
    (local time of the site), linearly interpolated between quarter-hour centres."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(tz_name)
    out = np.empty(len(times), dtype=np.float64)
    for i, ts in enumerate(times):
        local = ts.astimezone(tz).replace(tzinfo=None)
        start, profile = _h25_year(local.year, country)
        pos = (local - start).total_seconds() / 900.0 - 0.5
        lo = math.floor(pos)
        frac = pos - lo
        a = profile[lo % len(profile)]
        b = profile[(lo + 1) % len(profile)]
        out[i] = a + (b - a) * frac
    return out
