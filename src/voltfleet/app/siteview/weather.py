"""The overview's weather card: the site's coordinates and the last seven local days (today
included) from the runtime's weather source (``ports.WeatherHistory``), in the site's zone and
temperature unit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from voltfleet.app import formatting
from voltfleet.app.i18n import gettext as _
from voltfleet.domain.weather import DayWeather
from voltfleet.ports import WeatherHistory
from voltfleet.store.models import Site
from voltfleet.usecases.errors import Unavailable

DAYS = 7


@dataclass(frozen=True)
class WeatherCard:
    latitude: float | None
    longitude: float | None
    days: list[DayWeather]
    unit: str  # "C" or "F"
    source: str
    first: date
    last: date
    problem: str | None = None

    def temperature(self, celsius: float | None) -> str:
        if celsius is None:
            return "\u2013"
        value = celsius * 9 / 5 + 32 if self.unit == "F" else celsius
        return formatting.number(value, 1)  # the reader's decimal mark


def weather_card(site: Site, source: WeatherHistory | None, now: datetime) -> WeatherCard:
    tz = ZoneInfo(site.timezone or "UTC")
    last = now.astimezone(tz).date()
    first = last - timedelta(days=DAYS - 1)
    unit = "F" if site.temperature_unit == "F" else "C"
    lat, lon = site.latitude, site.longitude
    name = source.name if source is not None else ""

    def card(days: list[DayWeather], problem: str | None) -> WeatherCard:
        return WeatherCard(lat, lon, days, unit, name, first, last, problem)

    if source is None:
        return card([], _("No weather source is configured (VOLTFLEET_WEATHER)."))
    if lat is None or lon is None:
        return card([], _("The site has no coordinates: set its latitude and longitude."))
    try:
        days = source.daily(lat, lon, site.timezone or "UTC", first, last)
    except Unavailable as exc:
        return card([], _("Weather unavailable: %(reason)s") % {"reason": exc.message})
    return card(days, None)
