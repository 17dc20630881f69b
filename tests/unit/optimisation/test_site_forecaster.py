"""forecast.site.SiteForecaster (pvlib + demandlib, offline): PV from the array and the sky,
corrected by what the site measured; load from the site's history or the standard profile."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from voltfleet.domain.optimisation.forecast import ForecastSite
from voltfleet.forecast.site import SiteForecaster
from voltfleet.ports import Forecaster

Q = timedelta(minutes=15)
DAY = [datetime(2026, 6, 21, tzinfo=UTC) + i * Q for i in range(96)]
BERLIN = ForecastSite(timezone="Europe/Berlin", capacity_kwp=5.0, latitude=52.52, longitude=13.40)


def test_clear_sky_pv_of_a_south_facing_array_in_june() -> None:
    f: Forecaster = SiteForecaster("clearsky")
    got = f.forecast(BERLIN, DAY)
    noon = got.pv_w[11 * 4]  # 11:00 UTC = 13:00 in Berlin
    assert 3000 < noon <= 5000 and got.pv_w[0] == 0 and got.pv_source == "clearsky"
    kwh = sum(got.pv_w) / 4000
    assert 25 < kwh < 45  # a clear June day: 5-9 kWh per kWp
    # the site measured half of what the model gives in the last days: the forecast follows
    past = [t - timedelta(days=2) for t in DAY]
    modelled = f.forecast(BERLIN, past).pv_w
    site = replace(BERLIN, pv_history=tuple(zip(past, [w / 2 for w in modelled], strict=True)))
    half = f.forecast(site, DAY)
    assert half.pv_correction == pytest.approx(0.5, abs=0.01)
    assert half.pv_w[44] == pytest.approx(noon * half.pv_correction)
    assert half.pv_source == "clearsky x 0.50"


def test_load_from_the_standard_profile_then_from_history() -> None:
    f = SiteForecaster("clearsky")
    got = f.forecast(BERLIN, DAY)
    assert got.load_source == "standard profile H25, 4000 kWh/a"
    assert 6 < sum(got.load_w) / 4000 < 16  # a June Sunday of a 4,000 kWh/a home
    history = tuple((t - timedelta(days=d), 500.0) for d in range(1, 15) for t in DAY)
    own = f.forecast(replace(BERLIN, load_history=history), DAY)
    # 14 UTC days touch 15 local days in Berlin
    assert own.load_source == "history (15 days)" and set(own.load_w) == {500.0}


def test_a_site_without_place_or_capacity_has_no_pv() -> None:
    got = SiteForecaster().forecast(ForecastSite(timezone="UTC"), DAY)
    assert got.pv_source == "none" and set(got.pv_w) == {0.0}
