"""Weather and household-load shapes from data that pvlib and demandlib *ship*: offline, never
fetched. Everything inside is in UTC; a weather file's own clock is a fixed offset from UTC
(standard time all year), so DST never shifts the weather.

Irradiance (W/m²) at a site comes from one of two sources (``WeatherSource``):

* ``clearsky``: pvlib's Ineichen model with the Linke turbidity and altitude tables shipped in
  pvlib: any place, always a sunny day. Explicit only (tests that want the same sun every day).
* ``try`` (the default): a test reference (typical) year of *measured* weather, cloudy and sunny
  days as they come, from the 18 weather files that are shipped:

  - the DWD test reference years (TRY2010, "mittleres Jahr" 1988-2007) of the 15 German climate
    regions, in demandlib (``vdi/resources_weather``; demandlib's reader keeps only cloud cover
    and temperature, so the file is parsed here for the direct (B) and diffuse (D) irradiance);
  - the NREL typical meteorological years in ``pvlib/data``, read with ``pvlib.iotools``: TMY3
    Greensboro NC (36.1° N, humid subtropical), TMY3 Sand Point AK (55.3° N, maritime subarctic)
    and TMY2 Miami FL (25.8° N, tropical).

How a station's year becomes a site's weather: each station hour is reduced to its *clearness*,
the measured GHI over pvlib's clear-sky GHI at the station for the same hour (the clear sky
averaged over the hour; for the hours of dawn and dusk, whose ratio is noise, the day's), kept in
its day-to-day and hour-to-hour sequence. A site's GHI is that clearness, interpolated between
hour centres, times the site's *own* clear-sky GHI at each instant (its sun position, latitude,
turbidity and altitude), so the sun rises and sets at the site's times and a minute-by-minute run
has the shape of the sun inside each hour. The split into diffuse and direct light is the
station's measured diffuse fraction when the site is near the station, else pvlib's Erbs model
(from the clearness index); DNI then follows from closure (GHI = DHI + DNI cos z), bounded by the
extraterrestrial irradiance. Air temperature is the station's.

A file's hours are taken on the clock it states, corrected by what its own clear days show: the
median, over days with more than 65 % of the clear sky, of the measured light's centre in the day
less the clear sky's, to 10 minutes. The TMYs need none (0 min); the TRY files' light stands 10-30
minutes before the sun (their hours are evidently not all the MEZ hours ending at HH that the
header states), and some months of the stitched TRY years keep a residual of +-15 minutes, which
shows only around dawn and dusk.

Which station a site gets (``choose_station``, distances along the great circle):

1. A station within ``LOCAL_KM`` (210 km; a TRY stands for its whole climate region, and every
   place in Germany is within about 205 km of one of the 15): that station's measurements at the
   same instant: real local weather (German sites, and e.g. Raleigh NC from Greensboro).
2. Else the nearest station within ``REGIONAL_KM`` (600 km): its cloudiness, laid onto the site's
   solar time (the station's noon on the site's noon), e.g. Lyon, Graz or Paris from a German TRY,
   Tampa from Miami, Kodiak from Sand Point.
3. Else a climate analogue by absolute latitude: below 31° Miami, 31-44° Greensboro, 44-60° the
   nearest German TRY, from 60° Sand Point; south of the equator the station's year is shifted by
   half a year, so that the southern winter gets the station's winter.

Limits: cases 2 and 3 give a plausible *sequence* of cloudy and clear days of the analogue
climate, not the site's local weather. No shipped station is arid or Mediterranean, so deserts
and dry summers (Madrid, Phoenix, Perth) get too many clouds and too little PV, perhaps a fifth;
monsoon seasons are not those of Miami. All homes of one station see the same clouds at the same
moment (no spatial decorrelation), and the clearness is interpolated between hours, so clouds
passing within minutes are not there.

A typical year is laid onto any calendar year by day of the year on the station's clock: 29 Feb
repeats 28 Feb and the days after it move back by one, so 1 March is 1 March in every year. Each
station's year is read and reduced once per process (cached, for every calendar year), the sun's
geocentric position once per set of instants (shared by all homes of a fleet step), and turbidity
and altitude once per 0.25° cell: what remains per home is its own sun angle and the clear sky.

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
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
WeatherSource = Literal["clearsky", "try"]

LOCAL_KM = 210.0  # a station this near: its own measurements
REGIONAL_KM = 600.0  # this near: its cloudiness on the site's clear sky
EARTH_RADIUS_KM = 6371.0
HOURS = 8760  # a typical year: 365 days of hours
HALF_YEAR_H = HOURS / 2

_CLEARNESS_MAX = 1.2  # hourly measured GHI over the clear sky (thin turbidity, cloud edges)
_CLEARNESS_MIN_SKY_W_M2 = 25.0  # below this hourly clear sky (dawn, dusk) the day's clearness
_BEAM_MAX_ZENITH_DEG = 87.0  # below the horizon and close to it all light is diffuse
_CELL_DEG = 0.25  # turbidity and altitude are looked up once per cell of this size
_SUBSTEPS = 6  # clear-sky samples per station hour (every 10 minutes)
_DAYS_BEFORE_MONTH = np.cumsum([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30])
_MONTH_MIDDLES = _DAYS_BEFORE_MONTH + np.diff([*_DAYS_BEFORE_MONTH, 365]) / 2 + 1  # day of year
# the sun as pvlib's get_solarposition computes it by default (NREL SPA)
_PRESSURE_MBAR = 1013.25
_TEMP_C = 12.0
_REFRACTION_DEG = 0.5667
_DELTA_T_S = 67.0

_GREENSBORO, _SAND_POINT, _MIAMI = "TMY3-723170", "TMY3-703165", "TMY2-12839"
# The files' own headers say the same (checked when a file is read); listed here so that choosing
# a station does not read (and parse, seconds for the TMY2) every file.
_TMY_STATIONS = (
    (_GREENSBORO, "723170TYA.CSV", "Greensboro, NC", 36.1, -79.95, -5.0),
    (_SAND_POINT, "703165TY.csv", "Sand Point, AK", 55.317, -160.517, -9.0),
    (_MIAMI, "12839.tm2", "Miami, FL", 25.8, -80.267, -5.0),
)


@dataclass(frozen=True)
class Irradiance:
    """Horizontal irradiance, air temperature and the sun at given UTC instants (arrays of equal
    length). ``ghi = dhi + dni * cos(sun_zenith)`` at every instant."""

    times: tuple[datetime, ...]
    ghi_w_m2: FloatArray  # global horizontal
    dhi_w_m2: FloatArray  # diffuse horizontal
    dni_w_m2: FloatArray  # direct normal
    temp_air_c: FloatArray
    sun_zenith_deg: FloatArray  # apparent (refraction-corrected)
    sun_azimuth_deg: FloatArray  # clockwise from north


@dataclass(frozen=True)
class Sun:
    """The sun's position at a site at given instants (arrays of equal length)."""

    apparent_zenith_deg: FloatArray  # refraction-corrected
    zenith_deg: FloatArray  # geometric
    azimuth_deg: FloatArray  # clockwise from north


@dataclass(frozen=True)
class Station:
    """A shipped weather file and where it was measured."""

    key: str  # "TRY2010-04", "TMY3-723170", "TMY2-12839"
    name: str
    latitude: float
    longitude: float
    utc_offset_h: float  # the file's clock (standard time all year): UTC + this
    path: Path


@dataclass(frozen=True)
class WeatherChoice:
    """Which station's year a site gets, and how (see the module's docstring)."""

    station: Station
    distance_km: float
    transferred: bool  # False: the station's own measurements at the same instant
    half_year_shift: bool  # a southern site on a northern station's year: seasons swapped
    clock_offset_h: float  # the instant's position on the station's clock: UTC + this
    reason: str


@dataclass(frozen=True)
class TypicalYear:
    """A station's year: hour i holds the mean over hour i of a non-leap year on its clock."""

    station: Station
    clock_correction_h: float  # the hours stand at UTC + station.utc_offset_h + this
    ghi_w_m2: FloatArray  # measured
    clear_sky_ghi_w_m2: FloatArray  # pvlib's clear sky at the station, mean over the hour
    clearness: FloatArray  # measured over clear sky (the day's at dawn and dusk)
    diffuse_fraction: FloatArray  # measured DHI over GHI (1 in the dark)
    temp_air_c: FloatArray


# ---- time ---------------------------------------------------------------------------------------


def unix_seconds(times: tuple[datetime, ...]) -> FloatArray:
    """Seconds since 1970 (UTC) of timezone-aware instants."""
    if any(t.tzinfo is None for t in times):
        raise ValueError("weather needs timezone-aware times (UTC inside)")
    return np.fromiter((t.timestamp() for t in times), dtype=np.float64, count=len(times))


def _year_start(unix: FloatArray) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """(start of the calendar year in seconds, is it a leap year?) of each instant."""
    years = np.floor(unix).astype(np.int64).astype("datetime64[s]").astype("datetime64[Y]")
    start = years.astype("datetime64[s]").astype(np.int64).astype(np.float64)
    y = years.astype(np.int64) + 1970
    return start, (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))


def day_of_year(unix: FloatArray) -> FloatArray:
    """Fractional day of the year of UTC instants, 1.0 at 1 January 00:00."""
    start, _ = _year_start(unix)
    return (unix - start) / 86400.0 + 1.0


def typical_hours(unix: FloatArray, clock_offset_h: float) -> FloatArray:
    """Where UTC instants fall in a typical (non-leap) year on a clock ``clock_offset_h`` from
    UTC, in hours from 1 January 00:00: by day of the year, 29 Feb repeating 28 Feb and the
    days after it moved back by one."""
    clock = unix + clock_offset_h * 3600.0
    start, leap = _year_start(clock)
    seconds = clock - start
    day = np.floor(seconds / 86400.0)
    hour = (seconds - day * 86400.0) / 3600.0
    day = np.where(leap & (day >= 59), np.where(day == 59, 58.0, day - 1), day)
    return np.asarray(day * 24.0 + hour, dtype=np.float64)


# ---- the sun and the clear sky ------------------------------------------------------------------


@functools.lru_cache(maxsize=32)
def _ephemeris(key: bytes) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """The sun's place seen from the earth's centre at the instants packed in ``key`` (pvlib's
    NREL SPA: apparent sidereal time, right ascension, declination, horizontal parallax), the
    costly part of the sun's position that no site changes."""
    from pvlib import spa  # type: ignore[import-untyped]

    unix = np.frombuffer(key, dtype=np.float64)
    args = (unix, 0.0, 0.0, 0.0, _PRESSURE_MBAR, _TEMP_C, _DELTA_T_S, _REFRACTION_DEG, 1)
    nu, alpha, delta = spa.solar_position_numpy(*args, sst=True)
    (radius,) = spa.solar_position_numpy(*args, esd=True)
    return nu, alpha, delta, spa.equatorial_horizontal_parallax(radius)


def sun_position(unix: FloatArray, latitude: float, longitude: float) -> Sun:
    """The sun at UTC instants as seen from a site at sea level: pvlib's NREL SPA (what
    ``solarposition.get_solarposition`` gives by default), its geocentric part shared by all
    sites at the same instants."""
    from pvlib import spa

    nu, alpha, delta, xi = _ephemeris(np.ascontiguousarray(unix, dtype=np.float64).tobytes())
    h = spa.local_hour_angle(nu, longitude, alpha)
    u = spa.uterm(latitude)
    x = spa.xterm(u, latitude, 0.0)
    y = spa.yterm(u, latitude, 0.0)
    d_alpha = spa.parallax_sun_right_ascension(x, xi, h, delta)
    delta_p = spa.topocentric_sun_declination(delta, x, y, xi, d_alpha, h)
    h_p = spa.topocentric_local_hour_angle(h, d_alpha)
    e0 = spa.topocentric_elevation_angle_without_atmosphere(latitude, delta_p, h_p)
    de = spa.atmospheric_refraction_correction(_PRESSURE_MBAR, _TEMP_C, e0, _REFRACTION_DEG)
    gamma = spa.topocentric_astronomers_azimuth(h_p, delta_p, latitude)
    return Sun(
        np.asarray(spa.topocentric_zenith_angle(spa.topocentric_elevation_angle(e0, de))),
        np.asarray(spa.topocentric_zenith_angle(e0)),
        np.asarray(spa.topocentric_azimuth_angle(gamma)),
    )


@functools.cache
def _cell_climate(lat_cell: float, lon_cell: float) -> tuple[FloatArray, float]:
    """(monthly Linke turbidity, altitude in m) at a cell's centre, from pvlib's tables."""
    import pandas as pd  # type: ignore[import-untyped]
    from pvlib import clearsky, location

    months = pd.DatetimeIndex([f"2001-{m:02d}-15" for m in range(1, 13)], tz="UTC")
    linke = clearsky.lookup_linke_turbidity(months, lat_cell, lon_cell, interp_turbidity=False)
    return np.asarray(linke.to_numpy(), dtype=np.float64), float(
        location.lookup_altitude(lat_cell, lon_cell)
    )


def _clear_sky(
    doy: FloatArray, dni_extra: FloatArray, sun: Sun, latitude: float, longitude: float
) -> tuple[FloatArray, FloatArray]:
    """pvlib's Ineichen clear sky (GHI, DHI), with the turbidity and altitude of the site's
    0.25° cell (turbidity interpolated between mid-months, as pvlib does); 0 at night."""
    from pvlib import atmosphere, clearsky

    cell = (
        min(max(round(latitude / _CELL_DEG) * _CELL_DEG, -89.9), 89.9),
        min(max(round(longitude / _CELL_DEG) * _CELL_DEG, -179.9), 179.9),
    )
    linke_monthly, altitude = _cell_climate(*cell)
    linke = np.interp(doy, _MONTH_MIDDLES, linke_monthly, period=365.0)
    up = sun.apparent_zenith_deg < 90.0
    zenith = np.where(up, sun.apparent_zenith_deg, 89.9)
    airmass = atmosphere.get_absolute_airmass(
        atmosphere.get_relative_airmass(zenith), atmosphere.alt2pres(altitude)
    )
    cs = clearsky.ineichen(zenith, airmass, linke, altitude, dni_extra=dni_extra)
    ghi = np.where(up, np.nan_to_num(np.asarray(cs["ghi"], dtype=np.float64)), 0.0)
    dhi = np.where(up, np.nan_to_num(np.asarray(cs["dhi"], dtype=np.float64)), 0.0)
    return ghi, dhi


def _extraterrestrial_w_m2(doy: FloatArray) -> FloatArray:
    """The sun's irradiance at the top of the atmosphere, normal to its rays (pvlib, Spencer)."""
    from pvlib import irradiance as pvirradiance

    return np.asarray(pvirradiance.get_extra_radiation(doy), dtype=np.float64)


def _bounded(
    times: tuple[datetime, ...],
    ghi: FloatArray,
    dhi: FloatArray,
    temp: FloatArray,
    sun: Sun,
    dni_extra: FloatArray,
) -> Irradiance:
    """The irradiance with GHI within [0, extraterrestrial on the horizontal], zero with the sun
    below the horizon, DHI within [0, GHI], and DNI from closure (beam light of a sun within 3°
    of the horizon, or beyond the extraterrestrial DNI, counted as diffuse)."""
    cosz = np.cos(np.radians(sun.apparent_zenith_deg))
    up = sun.apparent_zenith_deg < 90.0
    ghi = np.where(up, np.clip(ghi, 0.0, dni_extra * np.maximum(cosz, 0.0)), 0.0)
    dhi = np.clip(dhi, 0.0, ghi)
    beam = sun.apparent_zenith_deg < _BEAM_MAX_ZENITH_DEG
    dni = np.where(beam, np.minimum((ghi - dhi) / np.where(beam, cosz, 1.0), dni_extra), 0.0)
    dhi = ghi - dni * cosz
    return Irradiance(times, ghi, dhi, dni, temp, sun.apparent_zenith_deg, sun.azimuth_deg)


def clearsky_irradiance(
    times: tuple[datetime, ...], latitude: float, longitude: float, temp_air_c: float = 20.0
) -> Irradiance:
    """pvlib clear-sky (Ineichen, shipped Linke turbidity): an upper bound on a sunny day."""
    _check_place(latitude, longitude)
    unix = unix_seconds(times)
    sun = sun_position(unix, latitude, longitude)
    doy = day_of_year(unix)
    dni_extra = _extraterrestrial_w_m2(doy)
    ghi, dhi = _clear_sky(doy, dni_extra, sun, latitude, longitude)
    return _bounded(times, ghi, dhi, np.full(len(times), temp_air_c), sun, dni_extra)


# ---- the shipped weather files ------------------------------------------------------------------


def _weather_dir() -> Path:
    return Path(str(resources.files("demandlib") / "vdi" / "resources_weather"))


def _pvlib_data_dir() -> Path:
    return Path(str(resources.files("pvlib") / "data"))


_LAGE = re.compile(r"(\d+)°(\d+)'N.*?(\d+)°(\d+)'O")


@functools.cache
def try_stations() -> tuple[Station, ...]:
    """The 15 DWD TRY2010 stations shipped with demandlib (hours in MEZ, UTC+1)."""
    out = []
    for path in sorted(_weather_dir().glob("TRY2010_*_Jahr.dat")):
        with path.open(encoding="utf-8", errors="replace") as f:
            head = [next(f) for _ in range(3)]
        m = _LAGE.search(head[2])
        if m is None:  # pragma: no cover - the shipped files all have it
            raise ValueError(f"{path.name}: no station position in its header")
        lat = int(m[1]) + int(m[2]) / 60
        lon = int(m[3]) + int(m[4]) / 60
        name = head[1].split(":", 1)[1].split("WMO")[0].strip()
        out.append(Station(f"TRY2010-{path.name[8:10]}", name, lat, lon, 1.0, path))
    return tuple(out)


@functools.cache
def tmy_stations() -> tuple[Station, ...]:
    """The NREL TMY3/TMY2 stations shipped in pvlib/data (hours in local standard time)."""
    return tuple(
        Station(key, name, lat, lon, utc, _pvlib_data_dir() / file)
        for key, file, name, lat, lon, utc in _TMY_STATIONS
    )


def _read_tmy(station: Station) -> tuple[FloatArray, FloatArray, FloatArray]:
    """A TMY3 or TMY2 file's hourly (GHI, DHI, air temperature) in typical-year order, read with
    pvlib.iotools."""
    import pandas as pd
    from pvlib import iotools

    if station.key.startswith("TMY3"):
        data, meta = iotools.read_tmy3(station.path, coerce_year=2001, map_variables=True)
        start = data.index - pd.Timedelta(hours=1)  # TMY3 stamps an hour at its end
        values = (data["ghi"], data["dhi"], data["temp_air"])
    else:
        data, meta = iotools.read_tmy2(str(station.path))
        start = data.index  # read_tmy2 stamps an hour at its start
        values = (data["GHI"], data["DHI"], data["DryBulb"] / 10.0)  # tenths of a degree
    stated = (float(meta["latitude"]), float(meta["longitude"]), float(meta["TZ"]))
    if not np.allclose(
        stated, (station.latitude, station.longitude, station.utc_offset_h), atol=0.01
    ):
        raise ValueError(f"{station.path.name}: its header says {stated}, not {station}")
    order = _hour_order(
        station.path, start.month.to_numpy(), start.day.to_numpy(), start.hour.to_numpy()
    )
    ghi, dhi, temp = (np.asarray(v.to_numpy(), dtype=np.float64)[order] for v in values)
    return ghi, dhi, temp


def _hour_order(path: Path, month: IntArray, day: IntArray, hour: IntArray) -> IntArray:
    """The row order that puts a file's hours into typical-year order (hour 0 = 1 Jan 00-01)."""
    position = (_DAYS_BEFORE_MONTH[month - 1] + day - 1) * 24 + hour
    order = np.argsort(position, kind="stable")
    if not np.array_equal(position[order], np.arange(HOURS)):
        raise ValueError(f"{path.name}: not the {HOURS} hours of a typical year")
    return np.asarray(order, dtype=np.int64)


def stations() -> tuple[Station, ...]:
    """All shipped weather stations: the German TRYs, then the US TMYs."""
    return try_stations() + tmy_stations()


def _station(key: str) -> Station:
    for s in stations():
        if s.key == key:
            return s
    raise ValueError(f"no shipped weather station {key!r}")


def _read_try(path: Path) -> tuple[FloatArray, FloatArray, FloatArray]:
    """A TRY2010 file's hourly (GHI = B + D, DHI = D, air temperature), in typical-year order.
    Its hours HH 1..24 (MEZ) are stated as means over the hour ending at HH (but see
    ``_clock_correction_h``)."""
    rows: list[tuple[int, int, int, float, float, float]] = []
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("***"):
                break
        for line in f:
            p = line.split()
            if len(p) >= 15:
                month, day, hour = int(p[2]), int(p[3]), int(p[4]) - 1
                rows.append((month, day, hour, float(p[13]), float(p[14]), float(p[8])))
    arr = np.asarray(rows, dtype=np.float64)
    order = _hour_order(path, *(arr[:, i].astype(np.int64) for i in range(3)))
    b, d, t = arr[order, 3], arr[order, 4], arr[order, 5]
    return b + d, d, t


@functools.cache
def typical_year(key: str) -> TypicalYear:
    """A station's year reduced to clearness and diffuse fraction (see the module docstring);
    read and computed once per process."""
    station = _station(key)
    if key.startswith("TRY"):
        ghi, dhi, temp = _read_try(station.path)
    else:
        ghi, dhi, temp = _read_tmy(station)
    # the clear sky at the station every 10 minutes of a non-leap year (2001) on the file's clock
    step_s = 3600.0 / _SUBSTEPS
    year_start = datetime.fromisoformat("2001-01-01T00:00:00+00:00").timestamp()
    offsets = (np.arange(HOURS * _SUBSTEPS, dtype=np.float64) + 0.5) * step_s
    unix = year_start - station.utc_offset_h * 3600 + offsets
    sun = sun_position(unix, station.latitude, station.longitude)
    doy = day_of_year(unix)
    samples, _ = _clear_sky(
        doy, _extraterrestrial_w_m2(doy), sun, station.latitude, station.longitude
    )
    correction = _clock_correction_h(ghi, _hour_means(samples, 0.0))
    sky = _hour_means(samples, correction)
    day_ghi, day_sky = ghi.reshape(365, 24).sum(axis=1), sky.reshape(365, 24).sum(axis=1)
    day_k = np.repeat(np.divide(day_ghi, day_sky, out=np.zeros(365), where=day_sky > 0), 24)
    lit = sky >= _CLEARNESS_MIN_SKY_W_M2
    hour_k = np.divide(ghi, sky, out=np.zeros(HOURS), where=lit)
    clearness = np.clip(np.where(lit, hour_k, day_k), 0.0, _CLEARNESS_MAX)
    diffuse = np.clip(np.divide(dhi, ghi, out=np.ones(HOURS), where=ghi > 0), 0.0, 1.0)
    return TypicalYear(station, correction, ghi, sky, clearness, diffuse, temp)


def _hour_means(samples: FloatArray, correction_h: float) -> FloatArray:
    """Hourly means of 10-minute samples on a file's stated clock, for hours that stand at the
    stated clock + ``correction_h`` (a multiple of 10 minutes; around the year)."""
    shifted = np.roll(samples, round(correction_h * _SUBSTEPS))
    return np.asarray(shifted.reshape(HOURS, _SUBSTEPS).mean(axis=1), dtype=np.float64)


def _clock_correction_h(ghi: FloatArray, sky: FloatArray) -> float:
    """How far a file's hours stand from the clock it states: the median over its clear days
    (more than 65 % of the clear sky) of the measured light's centre in the day less the clear
    sky's, to the nearest 10 minutes."""
    g, c = ghi.reshape(365, 24), sky.reshape(365, 24)
    clear = g.sum(axis=1) > 0.65 * c.sum(axis=1)
    if not clear.any():
        return 0.0
    hours = np.arange(24) + 0.5
    g, c = g[clear], c[clear]
    shift = (g @ hours) / g.sum(axis=1) - (c @ hours) / c.sum(axis=1)
    return round(float(np.median(shift)) * _SUBSTEPS) / _SUBSTEPS


# ---- which station a site gets ------------------------------------------------------------------


def _check_place(latitude: float, longitude: float) -> None:
    if not (math.isfinite(latitude) and -90.0 <= latitude <= 90.0):
        raise ValueError(f"latitude must be -90..90 degrees, not {latitude}")
    if not (math.isfinite(longitude) and -180.0 <= longitude <= 180.0):
        raise ValueError(f"longitude must be -180..180 degrees, not {longitude}")


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _nearest(latitude: float, longitude: float, among: tuple[Station, ...]) -> Station:
    return min(among, key=lambda s: distance_km(latitude, longitude, s.latitude, s.longitude))


def _climate_analogue(latitude: float, longitude: float) -> tuple[Station, str]:
    band = abs(latitude)
    if band < 31.0:
        return _station(_MIAMI), "below 31° of latitude: Miami's tropical year"
    if band < 44.0:
        return _station(_GREENSBORO), "31-44° of latitude: Greensboro's warm temperate year"
    if band < 60.0:
        near = _nearest(latitude, longitude, try_stations())
        return near, "44-60° of latitude: the nearest German test reference year"
    return _station(_SAND_POINT), "from 60° of latitude: Sand Point's subarctic year"


def choose_station(latitude: float, longitude: float) -> WeatherChoice:
    """The shipped weather a site at ``latitude``/``longitude`` gets, by the rules of the module
    docstring."""
    _check_place(latitude, longitude)
    near = _nearest(latitude, longitude, stations())
    km = distance_km(latitude, longitude, near.latitude, near.longitude)
    if km <= LOCAL_KM:
        reason = f"within {LOCAL_KM:.0f} km: its own measurements"
        return WeatherChoice(near, km, False, False, near.utc_offset_h, reason)
    if km <= REGIONAL_KM:
        station, reason = near, f"nearest within {REGIONAL_KM:.0f} km: its cloudiness"
    else:
        station, reason = _climate_analogue(latitude, longitude)
    # the station's clock at the instant when its mean solar time equals the site's
    clock = station.utc_offset_h + (longitude - station.longitude) / 15.0
    return WeatherChoice(
        station,
        distance_km(latitude, longitude, station.latitude, station.longitude),
        True,
        (latitude < 0) != (station.latitude < 0),
        clock,
        reason,
    )


def _hourly(values: FloatArray, position_h: FloatArray) -> FloatArray:
    """Hourly means (centred at hh:30) linearly interpolated, around the year."""
    around = np.append(values, values[0])  # 31 Dec 23:30 .. 1 Jan 00:30
    got = np.interp(np.mod(position_h - 0.5, HOURS), np.arange(HOURS + 1.0), around)
    return np.asarray(got, dtype=np.float64)


def try_irradiance(
    times: tuple[datetime, ...],
    latitude: float,
    longitude: float,
    choice: WeatherChoice | None = None,
) -> Irradiance:
    """Irradiance at a site from a shipped typical year (``choice``, default
    ``choose_station``): the station's clearness on the site's own clear sky."""
    choice = choice or choose_station(latitude, longitude)
    year = typical_year(choice.station.key)
    unix = unix_seconds(times)
    sun = sun_position(unix, latitude, longitude)
    doy = day_of_year(unix)
    dni_extra = _extraterrestrial_w_m2(doy)
    sky, _ = _clear_sky(doy, dni_extra, sun, latitude, longitude)
    position = typical_hours(unix, choice.clock_offset_h + year.clock_correction_h)
    if choice.half_year_shift:
        position = position + HALF_YEAR_H
    ghi = _hourly(year.clearness, position) * sky
    if choice.transferred:
        from pvlib import irradiance as pvirradiance

        dhi = np.asarray(pvirradiance.erbs(ghi, sun.zenith_deg, doy)["dhi"], dtype=np.float64)
    else:
        dhi = _hourly(year.diffuse_fraction, position) * ghi
    return _bounded(times, ghi, dhi, _hourly(year.temp_air_c, position), sun, dni_extra)


def irradiance(
    source: WeatherSource, times: tuple[datetime, ...], latitude: float, longitude: float
) -> Irradiance:
    if source == "try":
        return try_irradiance(times, latitude, longitude)
    if source == "clearsky":
        return clearsky_irradiance(times, latitude, longitude)
    raise ValueError(f"weather source must be 'try' or 'clearsky', not {source!r}")


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
