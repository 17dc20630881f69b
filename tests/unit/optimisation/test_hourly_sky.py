"""forecast.hourly_sky: a weather forecast's hourly means rebuilt at any instant keep each
hour's energy and the sun's shape, and domain.weather.HourlyWeather says which hours it holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from voltfleet.domain.weather import HourlyWeather
from voltfleet.forecast.hourly_sky import irradiance_at
from voltfleet.simulator.weather import clearsky_irradiance

BERLIN = (52.52, 13.41)
DAY = datetime(2026, 6, 4, tzinfo=UTC)
HOURS = tuple(DAY + timedelta(hours=h) for h in range(24))


def hours(clearness: float, dhi_share: float | None = 0.3) -> HourlyWeather:
    per_minute = tuple(DAY + timedelta(minutes=m + 0.5) for m in range(24 * 60))
    sky = clearsky_irradiance(per_minute, *BERLIN).ghi_w_m2.reshape(24, 60).mean(axis=1)
    ghi = tuple(float(g) * clearness for g in sky)
    return HourlyWeather(
        HOURS,
        ghi,
        tuple(None if dhi_share is None else g * dhi_share for g in ghi),
        (15.0,) * 24,
        (None,) * 24,
    )


@pytest.mark.parametrize("dhi_share", [0.3, None])
def test_each_hours_energy_is_kept_and_the_light_follows_the_sun(dhi_share: float | None) -> None:
    w = hours(0.6, dhi_share)
    minutes = tuple(DAY + timedelta(minutes=m + 0.5) for m in range(24 * 60))
    irr = irradiance_at(w, minutes, *BERLIN)
    means = irr.ghi_w_m2.reshape(24, 60).mean(axis=1)
    given = np.asarray(w.ghi_w_m2, dtype=float)
    bright = given > 100
    assert np.allclose(means[bright], given[bright], rtol=0.03)
    assert irr.ghi_w_m2[0] == 0 and irr.ghi_w_m2[11 * 60] > 0  # midnight dark, noon bright
    closure = irr.dhi_w_m2 + irr.dni_w_m2 * np.cos(np.radians(irr.sun_zenith_deg))
    assert np.allclose(closure, irr.ghi_w_m2, atol=1e-6)
    assert (irr.dhi_w_m2 >= 0).all() and (irr.dni_w_m2 >= 0).all()
    if dhi_share is not None:
        noon = irr.dhi_w_m2[11 * 60] / irr.ghi_w_m2[11 * 60]
        assert noon == pytest.approx(0.3, abs=0.01)


def test_which_hours_a_forecast_holds() -> None:
    w = hours(1.0)
    assert w.covers(DAY, DAY + timedelta(hours=23, minutes=59))
    assert not w.covers(DAY, DAY + timedelta(hours=24))
    assert not w.covers(DAY - timedelta(minutes=1), DAY)
    unknown = HourlyWeather(HOURS, (None,) * 24, (None,) * 24, (None,) * 24, (None,) * 24)
    assert not unknown.covers(DAY, DAY + timedelta(hours=2))
    part = w.between(DAY + timedelta(hours=3, minutes=30), DAY + timedelta(hours=5))
    assert part.hour_starts == HOURS[3:6]
    with pytest.raises(ValueError, match="ghi_w_m2 has 2 values for 24 hours"):
        HourlyWeather(HOURS, (1.0, 2.0), (None,) * 24, (None,) * 24, (None,) * 24)
