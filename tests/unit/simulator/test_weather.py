"""Weather for simulated homes: the station a site gets, real cloudy and clear days, physical
bounds, a typical year on any calendar, and homes outside Germany."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from pvlib import irradiance as pvirradiance
from pvlib import solarposition

from tests.unit.simulator.test_model import assert_conserved
from voltfleet.simulator import weather
from voltfleet.simulator.fleet import Place, german_places, make_homes, simulate, step_times
from voltfleet.simulator.model import PvSpec, pv_power_w

# name: (latitude, longitude)
POTSDAM = (52.39, 13.06)  # a TRY station's own region
RALEIGH = (35.78, -78.64)  # 123 km from Greensboro's TMY3
LYON = (45.76, 4.84)  # 500 km from the nearest TRY
SYDNEY = (-33.87, 151.21)  # far from any station, south of the equator
SINGAPORE = (1.35, 103.82)
ANCHORAGE = (61.2, -149.9)
SITES = [POTSDAM, RALEIGH, LYON, SYDNEY, SINGAPORE, ANCHORAGE]


def year_of(step_s: float, year: int = 2025) -> tuple[datetime, ...]:
    """The middles of a year's steps."""
    n = round((datetime(year + 1, 1, 1) - datetime(year, 1, 1)).total_seconds() / step_s)
    start = datetime(year, 1, 1, tzinfo=UTC) + timedelta(seconds=step_s / 2)
    return tuple(start + timedelta(seconds=k * step_s) for k in range(n))


def daily_clearness(site: tuple[float, float], times: tuple[datetime, ...]) -> np.ndarray:
    """Each day's GHI over its clear-sky GHI (times: whole UTC days of equal steps)."""
    got = weather.irradiance("try", times, *site).ghi_w_m2
    sky = weather.irradiance("clearsky", times, *site).ghi_w_m2
    days = len(times) * (times[1] - times[0]).total_seconds() / 86400
    shape = (round(days), -1)
    return np.asarray(got.reshape(shape).sum(axis=1) / sky.reshape(shape).sum(axis=1))


@pytest.mark.parametrize(
    ("site", "key", "transferred", "half_year"),
    [
        (POTSDAM, "TRY2010-04", False, False),
        ((47.99, 7.85), "TRY2010-14", False, False),  # Freiburg: Stötten, 167 km
        ((54.78, 9.43), "TRY2010-03", False, False),  # Flensburg: Hamburg
        (RALEIGH, "TMY3-723170", False, False),
        (LYON, "TRY2010-14", True, False),
        ((27.95, -82.46), "TMY2-12839", True, False),  # Tampa: Miami's clouds, 323 km
        ((57.79, -152.4), "TMY3-703165", True, False),  # Kodiak: Sand Point's, 568 km
        ((41.9, 12.5), "TMY3-723170", True, False),  # Rome: 31-44 degrees
        (SYDNEY, "TMY3-723170", True, True),
        (SINGAPORE, "TMY2-12839", True, False),
        ((-23.55, -46.63), "TMY2-12839", True, True),  # Sao Paulo
        ((59.33, 18.07), "TRY2010-02", True, False),  # Stockholm: 44-60 degrees, Rostock
        (ANCHORAGE, "TMY3-703165", True, False),
    ],
)
def test_the_station_a_site_gets(
    site: tuple[float, float], key: str, transferred: bool, half_year: bool
) -> None:
    choice = weather.choose_station(*site)
    assert (choice.station.key, choice.transferred, choice.half_year_shift) == (
        key,
        transferred,
        half_year,
    ), choice.reason
    if not transferred:
        # its own measurements at the same instant: on the station's clock
        assert choice.distance_km <= weather.LOCAL_KM
        assert choice.clock_offset_h == choice.station.utc_offset_h
    else:
        # the station's hours laid on the site's solar time: 4 minutes per degree east
        shift_h = (site[1] - choice.station.longitude) / 15
        assert choice.clock_offset_h == pytest.approx(choice.station.utc_offset_h + shift_h)


def test_bad_places_and_times_are_refused() -> None:
    with pytest.raises(ValueError, match="latitude"):
        weather.choose_station(91.0, 0.0)
    with pytest.raises(ValueError, match="longitude"):
        weather.irradiance("try", year_of(3600.0)[:3], 50.0, float("nan"))
    with pytest.raises(ValueError, match="timezone-aware"):
        weather.irradiance("try", (datetime(2025, 6, 1, 12),), *POTSDAM)
    with pytest.raises(ValueError, match="weather source"):
        weather.irradiance("sunny", year_of(3600.0)[:3], *POTSDAM)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="latitude"):
        Place("Pole", 89.9, 0.0)
    with pytest.raises(ValueError, match="time zone"):
        Place("Olympus Mons", 18.6, -133.8, "Mars/Tharsis")


def test_the_sun_is_pvlibs_nrel_spa() -> None:
    times = year_of(3600.0 * 7 + 60)  # every 7 h 1 min: all hours of the day over the year
    unix = weather.unix_seconds(times)
    idx = pd.DatetimeIndex(times)
    for lat, lon in SITES:
        ref = solarposition.get_solarposition(idx, lat, lon, method="nrel_numpy")
        sun = weather.sun_position(unix, lat, lon)
        np.testing.assert_allclose(sun.apparent_zenith_deg, ref["apparent_zenith"], atol=1e-9)
        np.testing.assert_allclose(sun.zenith_deg, ref["zenith"], atol=1e-9)
        np.testing.assert_allclose(sun.azimuth_deg, ref["azimuth"], atol=1e-9)


@pytest.mark.parametrize("site", SITES)
@pytest.mark.parametrize("source", ["try", "clearsky"])
def test_no_light_at_night_and_never_beyond_the_sun(
    site: tuple[float, float], source: weather.WeatherSource
) -> None:
    times = year_of(1200.0, 2024)  # a leap year, every 20 minutes
    irr = weather.irradiance(source, times, *site)
    extra = pvirradiance.get_extra_radiation(weather.day_of_year(weather.unix_seconds(times)))
    cosz = np.cos(np.radians(irr.sun_zenith_deg))
    night = irr.sun_zenith_deg >= 90
    assert night.sum() > len(times) / 4  # there are nights
    for part in (irr.ghi_w_m2, irr.dhi_w_m2, irr.dni_w_m2):
        assert np.isfinite(part).all() and (part >= 0).all()
        assert (part[night] == 0).all()
    # the horizontal never gets more than the top of the atmosphere, nor the beam more than the sun
    assert (irr.ghi_w_m2 <= extra * np.maximum(cosz, 0) + 1e-9).all()
    assert (irr.dni_w_m2 <= extra + 1e-9).all() and irr.ghi_w_m2.max() < 1300
    np.testing.assert_allclose(irr.ghi_w_m2, irr.dhi_w_m2 + irr.dni_w_m2 * cosz, atol=1e-6)
    assert irr.ghi_w_m2.max() > 500  # and there is a sun
    assert irr.temp_air_c.min() > -45 and irr.temp_air_c.max() < 45


def pv_year_kwh_per_kwp(site: tuple[float, float]) -> float:
    times = year_of(900.0)
    pv = PvSpec(1000.0, tilt_deg=30.0, azimuth_deg=180.0 if site[0] > 0 else 0.0)
    return float(pv_power_w(pv, weather.irradiance("try", times, *site)).sum() * 0.25 / 1000)


@pytest.mark.parametrize(
    ("site", "low", "high"),
    [
        # PVWatts/PVGIS-like yields with 14 % losses, 30 degrees towards the equator
        (RALEIGH, 1250, 1550),  # Greensboro's own year, 36 N
        ((36.0, -83.9), 1250, 1550),  # Knoxville: Greensboro's clouds, 340 km
        (POTSDAM, 850, 1100),
        (SYDNEY, 1250, 1650),  # Greensboro's year half a year on, 34 S
        (ANCHORAGE, 500, 850),  # Sand Point's maritime clouds: low
    ],
)
def test_a_years_pv_is_plausible_for_the_latitude(
    site: tuple[float, float], low: float, high: float
) -> None:
    assert low < pv_year_kwh_per_kwp(site) < high


@pytest.mark.parametrize("site", [POTSDAM, RALEIGH, LYON, SYDNEY])
def test_cloudy_days_and_clear_days(site: tuple[float, float]) -> None:
    k = daily_clearness(site, year_of(900.0))
    assert len(k) == 365
    assert k.min() < 0.4 and k.max() > 0.85  # overcast and clear days...
    assert np.std(k) > 0.15
    assert np.mean(np.abs(np.diff(k))) > 0.1  # ...that follow each other, not smoothed out
    assert (np.isfinite(k) & (k >= 0) & (k <= weather._CLEARNESS_MAX + 0.05)).all()


def test_regions_have_their_own_weather() -> None:
    times = year_of(900.0)[: 60 * 96]  # January and February
    potsdam = daily_clearness(POTSDAM, times)
    mannheim = daily_clearness((49.5, 8.5), times)
    greensboro = daily_clearness(RALEIGH, times)
    assert np.mean(np.abs(potsdam - mannheim)) > 0.1
    assert np.mean(np.abs(potsdam - greensboro)) > 0.1
    # the same region on the same day: the same clouds
    np.testing.assert_allclose(potsdam, daily_clearness((52.3, 13.3), times), atol=0.05)


@pytest.mark.parametrize("key", ["TMY3-723170", "TRY2010-04", "TRY2010-12"])
def test_at_a_station_its_hours_come_back(key: str) -> None:
    """The station's own site, averaged over the file's hours (on the file's corrected clock),
    gives the file's hourly GHI back: the same energy, in the same hours."""
    year = weather.typical_year(key)
    st = year.station
    offset = timedelta(hours=st.utc_offset_h + year.clock_correction_h)
    start = datetime(2025, 1, 1, tzinfo=UTC) - offset + timedelta(minutes=2.5)
    times = tuple(start + timedelta(minutes=5 * k) for k in range(weather.HOURS * 12))
    ghi = weather.irradiance("try", times, st.latitude, st.longitude).ghi_w_m2

    def fit(minutes_late: int) -> float:
        hourly = np.roll(ghi, -minutes_late // 5).reshape(weather.HOURS, 12).mean(axis=1)
        return float(np.corrcoef(hourly, year.ghi_w_m2)[0, 1])

    assert ghi.sum() / 12 == pytest.approx(year.ghi_w_m2.sum(), rel=0.03)
    assert fit(0) > 0.99
    # ten minutes off either way fits worse: the file's hours are where they are taken to be
    assert fit(0) > max(fit(-10), fit(10))


def test_the_shipped_years_are_whole() -> None:
    for st in weather.stations():
        y = weather.typical_year(st.key)
        assert len(y.ghi_w_m2) == len(y.clearness) == len(y.temp_air_c) == weather.HOURS
        assert 800 < y.ghi_w_m2.sum() / 1000 < 1900  # kWh/m2 a year
        assert ((y.clearness >= 0) & (y.clearness <= weather._CLEARNESS_MAX)).all()
        assert ((y.diffuse_fraction >= 0) & (y.diffuse_fraction <= 1)).all()
        assert y.temp_air_c.min() > -40 and y.temp_air_c.max() < 40
        if st.key.startswith("TMY"):
            assert y.clock_correction_h == 0  # NREL's hours are where they say
        else:
            assert -0.5 <= y.clock_correction_h <= 0  # the TRY's light stands early
    assert [s.name for s in weather.try_stations()][:2] == ["Bremerhaven", "Rostock"]
    assert weather.choose_station(36.1, -79.95).station.name == "Greensboro, NC"


def test_a_typical_year_on_any_calendar_in_utc() -> None:
    def hours(*stamps: str) -> np.ndarray:
        unix = weather.unix_seconds(tuple(datetime.fromisoformat(s) for s in stamps))
        return weather.typical_hours(unix, 1.0)

    # 29 Feb repeats 28 Feb; 1 March is 1 March in every year
    a, b, c, d = hours(
        "2024-02-28T11:00+00:00",
        "2024-02-29T11:00+00:00",
        "2024-03-01T11:00+00:00",
        "2025-03-01T11:00+00:00",
    )
    assert a == b == (31 + 27) * 24 + 12 and c == d == (31 + 28) * 24 + 12
    assert hours("2023-12-31T23:30+00:00")[0] == pytest.approx(0.5)  # new year on the clock
    # DST changes nothing: 15-minute steps across both switches of 2025 in Berlin
    for day in ("2025-03-30T00:00+01:00", "2025-10-26T00:00+02:00"):
        start = datetime.fromisoformat(day)
        steps = tuple(start + timedelta(minutes=15 * k) for k in range(16))
        assert np.diff(weather.typical_hours(weather.unix_seconds(steps), 1.0)) == pytest.approx(
            0.25
        )
    # the weather itself: a day's temperatures on 29 Feb are those of 28 Feb
    day = tuple(
        datetime(2024, 2, 28, h, tzinfo=UTC) for h in range(22)
    )  # 28 Feb on the TRY's clock
    leap = tuple(t + timedelta(days=1) for t in day)
    assert (
        weather.irradiance("try", day, *POTSDAM).temp_air_c.tolist()
        == weather.irradiance("try", leap, *POTSDAM).temp_air_c.tolist()
    )


def test_south_of_the_equator_the_seasons_turn() -> None:
    """Sydney gets Greensboro's year half a year on: its January is Greensboro's July."""

    def mean_temp(site: tuple[float, float], month: int) -> float:
        times = tuple(datetime(2025, month, 1, tzinfo=UTC) + timedelta(hours=h) for h in range(720))
        return float(weather.irradiance("try", times, *site).temp_air_c.mean())

    assert mean_temp(SYDNEY, 1) == pytest.approx(mean_temp(RALEIGH, 7), abs=1.0)
    assert mean_temp(SYDNEY, 7) == pytest.approx(mean_temp(RALEIGH, 1), abs=1.0)
    assert mean_temp(SYDNEY, 1) > mean_temp(SYDNEY, 7) + 10


def test_homes_outside_germany() -> None:
    greensboro = Place("Greensboro", 36.07, -79.79, "America/New_York", "US")
    homes = make_homes(12, 5, places=(greensboro,))
    assert make_homes(5, 7) == make_homes(5, 7, places=german_places())  # the default: Germany
    for h in homes:
        assert (h.timezone, h.country) == ("America/New_York", "US")
        assert abs(h.latitude - 36.07) <= 0.3 and abs(h.longitude + 79.79) <= 0.3
        assert weather.choose_station(h.latitude, h.longitude).station.key == "TMY3-723170"
    spec = replace(homes[0], pv=replace(homes[0].pv, azimuth_deg=180.0))
    start = datetime(2025, 6, 1, 4, tzinfo=UTC)  # local midnight
    steps = [s for _, s in simulate(spec, start, 3 * 1440, 60.0)]
    for s in steps:
        assert_conserved(spec, s)
    pv = np.asarray([s.pv_w for s in steps])
    assert pv.sum() / 60 > 10_000  # Wh in three June days
    # the sun is at its highest around 13:20 EDT (17:20 UTC): so is the PV, on average
    minute_of_day = np.asarray([(s.ts - start).total_seconds() / 60 % 1440 for s in steps])
    centre = (minute_of_day * pv).sum() / pv.sum()  # minutes after local midnight
    assert 12.5 * 60 < centre < 14.2 * 60


def test_a_fleet_step_shares_the_sun_and_the_station_years() -> None:
    homes = make_homes(30, 3)
    times = step_times(datetime(2025, 9, 1, tzinfo=UTC), 0, 1440, 60.0)
    weather.irradiance("try", times, homes[0].latitude, homes[0].longitude)
    before = weather._ephemeris.cache_info()
    for h in homes:
        weather.irradiance("try", times, h.latitude, h.longitude)
    after = weather._ephemeris.cache_info()
    assert after.misses == before.misses  # the sun's place computed once for all homes
    assert weather.typical_year.cache_info().currsize <= len(weather.stations())
