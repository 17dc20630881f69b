"""The demo's simulated homes: the seeded sites keep the place, country and clock the demo gave
them, so their household load follows their own country's holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from voltfleet.demo import HOMES
from voltfleet.simulator import weather
from voltfleet.simulator.demo_fleet import DEMO_SEED, on_seeded_sites
from voltfleet.simulator.fleet import make_homes

# a public holiday on a weekday in the home's country that is none in Germany
HOLIDAYS = {
    "Casa Verde Graz": date(2026, 12, 8),  # Mariä Empfängnis, a Tuesday
    "Villa Zon Utrecht": date(2026, 4, 27),  # Koningsdag, a Monday
    "Ferme Solaire Lyon": date(2026, 7, 14),  # Fête nationale, a Tuesday
}


def day_of_quarters(day: date, tz: str) -> tuple[datetime, ...]:
    """The middles of a local day's quarter hours, in UTC."""
    start = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz)).astimezone(UTC)
    return tuple(start + timedelta(minutes=7.5 + 15 * k) for k in range(96))


def test_the_seeded_homes_take_the_demo_sites_country_and_clock() -> None:
    made = make_homes(20, DEMO_SEED)
    homes = on_seeded_sites(made)
    assert len(homes) == 20
    for home, (name, country, tz, kwp, lat, lon) in zip(homes, HOMES, strict=False):
        assert (home.name, home.country, home.timezone) == (name, country, tz)
        assert (home.latitude, home.longitude, home.pv.capacity_wp) == (lat, lon, kwp * 1000)
    assert homes[len(HOMES) :] == made[len(HOMES) :]  # the others as the seed made them


@pytest.mark.parametrize("name", sorted(HOLIDAYS))
def test_a_seeded_home_abroad_keeps_its_own_holidays(name: str) -> None:
    home = next(h for h in on_seeded_sites(make_homes(5, DEMO_SEED)) if h.name == name)
    holiday = HOLIDAYS[name]
    times = day_of_quarters(holiday, home.timezone)
    own = weather.household_shape_w_per_kwh(times, home.timezone, home.country)
    german = weather.household_shape_w_per_kwh(times, home.timezone, "DE")
    assert not np.allclose(own, german), f"{holiday} is no holiday in {home.country}'s profile"
    # the day after is an ordinary working day in both countries
    after = day_of_quarters(holiday + timedelta(days=1), home.timezone)
    assert np.allclose(
        weather.household_shape_w_per_kwh(after, home.timezone, home.country),
        weather.household_shape_w_per_kwh(after, home.timezone, "DE"),
    )
