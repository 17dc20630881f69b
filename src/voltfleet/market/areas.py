"""Which day-ahead market area a site is in, and what each price source calls that area.

A site has a country (ISO 3166-1 alpha-2) and maybe a region. Most countries are one bidding
zone; Denmark, Sweden and Norway have several (the region says which), and Great Britain's
Agile prices differ by grid supply point group (the region letter A..P).

    market_area("DE").code_for("entsoe")      -> "10Y1001A1001A82H"
    market_area("SE", "SE3").code_for("nordpool") -> "SE3"
    market_area("GB", "C").code_for("octopus")    -> "C"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from voltfleet.market.base import MarketDataError
from voltfleet.market.octopus import REGIONS as OCTOPUS_REGIONS

# The order in which sources are offered for an area: keyless sources first.
SOURCE_ORDER = ("awattar", "nordpool", "octopus", "entsoe")


@dataclass(frozen=True, slots=True)
class MarketArea:
    """A day-ahead market area and its code at each source (None: the source does not cover it).

    ``timezone`` is the IANA zone of the area's delivery day; ``currency`` the currency its
    day-ahead prices settle in.
    """

    code: str
    country: str
    name: str
    timezone: str
    currency: str
    entsoe: str | None = None
    awattar: str | None = None
    nordpool: str | None = None
    octopus: str | None = None

    @property
    def sources(self) -> tuple[str, ...]:
        """The keys of the sources that cover this area, keyless ones first."""
        return tuple(key for key in SOURCE_ORDER if getattr(self, key) is not None)

    def code_for(self, source: str) -> str:
        """This area's code at ``source``; :class:`MarketDataError` if the source lacks it."""
        if source not in SOURCE_ORDER:
            raise MarketDataError(f"unknown price source {source!r}")
        code: str | None = getattr(self, source)
        if code is None:
            offered = ", ".join(self.sources) or "none"
            raise MarketDataError(
                f"{source} has no prices for {self.code} ({self.name}); sources for it: {offered}",
                source=source,
            )
        return code


# code, country, name, IANA zone, ENTSO-E EIC, Nord Pool area, aWATTar country
# fmt: off
_EU_ZONES: tuple[tuple[str, str, str, str, str, str | None, str | None], ...] = (
    ("DE",  "DE", "Germany (DE-LU)",      "Europe/Berlin",     "10Y1001A1001A82H", "GER", "de"),
    ("LU",  "LU", "Luxembourg (DE-LU)",   "Europe/Luxembourg", "10Y1001A1001A82H", "GER", None),
    ("AT",  "AT", "Austria",              "Europe/Vienna",     "10YAT-APG------L", "AT",  "at"),
    ("NL",  "NL", "Netherlands",          "Europe/Amsterdam",  "10YNL----------L", "NL",  None),
    ("BE",  "BE", "Belgium",              "Europe/Brussels",   "10YBE----------2", "BE",  None),
    ("FR",  "FR", "France",               "Europe/Paris",      "10YFR-RTE------C", "FR",  None),
    ("PL",  "PL", "Poland",               "Europe/Warsaw",     "10YPL-AREA-----S", "PL",  None),
    ("CH",  "CH", "Switzerland",          "Europe/Zurich",     "10YCH-SWISSGRIDZ", None,  None),
    ("ES",  "ES", "Spain",                "Europe/Madrid",     "10YES-REE------0", None,  None),
    ("PT",  "PT", "Portugal",             "Europe/Lisbon",     "10YPT-REN------W", None,  None),
    ("DK1", "DK", "Denmark West",         "Europe/Copenhagen", "10YDK-1--------W", "DK1", None),
    ("DK2", "DK", "Denmark East",         "Europe/Copenhagen", "10YDK-2--------M", "DK2", None),
    ("SE1", "SE", "Sweden, Luleå",        "Europe/Stockholm",  "10Y1001A1001A44P", "SE1", None),
    ("SE2", "SE", "Sweden, Sundsvall",    "Europe/Stockholm",  "10Y1001A1001A45N", "SE2", None),
    ("SE3", "SE", "Sweden, Stockholm",    "Europe/Stockholm",  "10Y1001A1001A46L", "SE3", None),
    ("SE4", "SE", "Sweden, Malmö",        "Europe/Stockholm",  "10Y1001A1001A47J", "SE4", None),
    ("NO1", "NO", "Norway, Oslo",         "Europe/Oslo",       "10YNO-1--------2", "NO1", None),
    ("NO2", "NO", "Norway, Kristiansand", "Europe/Oslo",       "10YNO-2--------T", "NO2", None),
    ("NO3", "NO", "Norway, Trondheim",    "Europe/Oslo",       "10YNO-3--------J", "NO3", None),
    ("NO4", "NO", "Norway, Tromsø",       "Europe/Oslo",       "10YNO-4--------9", "NO4", None),
    ("NO5", "NO", "Norway, Bergen",       "Europe/Oslo",       "10Y1001A1001A48H", "NO5", None),
    ("FI",  "FI", "Finland",              "Europe/Helsinki",   "10YFI-1--------U", "FI",  None),
    ("EE",  "EE", "Estonia",              "Europe/Tallinn",    "10Y1001A1001A39I", "EE",  None),
    ("LV",  "LV", "Latvia",               "Europe/Riga",       "10YLV-1001A00074", "LV",  None),
    ("LT",  "LT", "Lithuania",            "Europe/Vilnius",    "10YLT-1001A0008Q", "LT",  None),
)
# fmt: on

_ALL: list[MarketArea] = [
    MarketArea(code, country, name, tz, "EUR", entsoe=eic, nordpool=nordpool, awattar=awattar)
    for code, country, name, tz, eic, nordpool, awattar in _EU_ZONES
]
# Great Britain left the EU market coupling in 2021 (ENTSO-E has no GB day-ahead prices since);
# Agile prices differ by grid supply point group.
_ALL += [
    MarketArea(
        f"GB-{letter}",
        "GB",
        f"Great Britain, {region} ({letter})",
        "Europe/London",
        "GBP",
        octopus=letter,
    )
    for letter, region in OCTOPUS_REGIONS.items()
]

AREAS: Mapping[str, MarketArea] = MappingProxyType({area.code: area for area in _ALL})


def market_area(country: str, region: str | None = None) -> MarketArea:
    """The market area of a site in ``country`` (ISO 3166-1 alpha-2), ``region`` where it matters.

    ``region`` names the zone in countries with several: "DK1" or "1" in Denmark, "SE3" or "3" in
    Sweden, "NO5" in Norway, "C" or "GB-C" in Great Britain. Elsewhere it is ignored (a German
    site's region "BY" is still DE-LU). "UK" is taken as "GB". An area code ("SE3") is also
    accepted as ``country``.
    """
    wanted = country.strip().upper()
    wanted = "GB" if wanted == "UK" else wanted
    if wanted in AREAS:
        return AREAS[wanted]
    zones = [area for area in _ALL if area.country == wanted]
    if not zones:
        raise MarketDataError(f"no day-ahead market area known for country {country!r}")
    if len(zones) == 1:
        return zones[0]
    options = ", ".join(area.code for area in zones)
    if not region or not region.strip():
        raise MarketDataError(
            f"{wanted} has several price areas; the site needs a region: one of {options}"
        )
    key = region.strip().upper().removeprefix("_").removeprefix(f"{wanted}-")
    for candidate in (key, f"{wanted}{key}", f"{wanted}-{key}"):
        area = AREAS.get(candidate)
        if area is not None and area.country == wanted:
            return area
    raise MarketDataError(f"region {region!r} is not a price area of {wanted}; one of {options}")
