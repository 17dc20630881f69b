"""The shared price shape, the registry and the country/region map."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from tests.unit.market.helpers import utc
from voltfleet.market import (
    AREAS,
    MarketDataError,
    MarketPrice,
    PaginatedSource,
    PriceSource,
    get_source,
    market_area,
    merge_prices,
    sources,
)
from voltfleet.market.fetch import redact


def test_market_price_is_utc_with_an_iso_currency() -> None:
    price = MarketPrice(utc(2025, 1, 1), utc(2025, 1, 1, 1), 0.1234, "EUR")
    assert price.duration == timedelta(hours=1)
    with pytest.raises(ValueError, match="timezone-aware UTC"):
        MarketPrice(datetime(2025, 1, 1), utc(2025, 1, 1, 1), 0.1, "EUR")
    cet = timezone(timedelta(hours=1))
    with pytest.raises(ValueError, match="timezone-aware UTC"):
        MarketPrice(datetime(2025, 1, 1, 1, tzinfo=cet), utc(2025, 1, 1, 1), 0.1, "EUR")
    with pytest.raises(ValueError, match="before it starts"):
        MarketPrice(utc(2025, 1, 1), utc(2025, 1, 1), 0.1, "EUR")
    with pytest.raises(ValueError, match="ISO 4217"):
        MarketPrice(utc(2025, 1, 1), utc(2025, 1, 1, 1), 0.1, "eur")
    with pytest.raises(AttributeError):
        price.price_per_kwh = 1.0  # type: ignore[misc]


def test_merge_sorts_and_deduplicates() -> None:
    a = MarketPrice(utc(2025, 1, 1, 1), utc(2025, 1, 1, 2), 0.2, "EUR")
    b = MarketPrice(utc(2025, 1, 1, 0), utc(2025, 1, 1, 1), 0.1, "EUR")
    b2 = MarketPrice(utc(2025, 1, 1, 0), utc(2025, 1, 1, 1), 0.15, "EUR")
    assert merge_prices([a, b, b2]) == [b2, a]  # the later duplicate wins
    assert merge_prices([]) == []


def test_registry_has_the_four_sources() -> None:
    assert set(sources()) == {"entsoe", "awattar", "nordpool", "octopus"}
    for key, source in sources().items():
        assert source.key == key
        assert isinstance(source, PriceSource)
    assert isinstance(get_source("octopus"), PaginatedSource)
    assert not isinstance(get_source("entsoe"), PaginatedSource)
    with pytest.raises(MarketDataError, match=r"unknown price source 'tibber' \(known: awattar"):
        get_source("tibber")


@pytest.mark.parametrize(
    ("country", "region", "code", "source", "source_code"),
    [
        ("DE", None, "DE", "entsoe", "10Y1001A1001A82H"),
        ("de", "BY", "DE", "awattar", "de"),  # a German state does not change the zone
        ("DE", None, "DE", "nordpool", "GER"),
        ("LU", None, "LU", "entsoe", "10Y1001A1001A82H"),
        ("AT", None, "AT", "awattar", "at"),
        ("AT", None, "AT", "entsoe", "10YAT-APG------L"),
        ("NL", None, "NL", "entsoe", "10YNL----------L"),
        ("BE", None, "BE", "nordpool", "BE"),
        ("FR", None, "FR", "entsoe", "10YFR-RTE------C"),
        ("DK", "DK1", "DK1", "entsoe", "10YDK-1--------W"),
        ("DK", "2", "DK2", "nordpool", "DK2"),
        ("SE", "SE3", "SE3", "entsoe", "10Y1001A1001A46L"),
        ("SE", "se-4", "SE4", "nordpool", "SE4"),
        ("NO", "NO5", "NO5", "entsoe", "10Y1001A1001A48H"),
        ("NO", "1", "NO1", "nordpool", "NO1"),
        ("FI", None, "FI", "nordpool", "FI"),
        ("GB", "C", "GB-C", "octopus", "C"),
        ("UK", "GB-P", "GB-P", "octopus", "P"),
        ("GB", "_N", "GB-N", "octopus", "N"),
        ("SE3", None, "SE3", "nordpool", "SE3"),
    ],
)
def test_market_area_by_country_and_region(
    country: str, region: str | None, code: str, source: str, source_code: str
) -> None:
    area = market_area(country, region)
    assert area.code == code
    assert area.code_for(source) == source_code


def test_countries_with_several_zones_need_a_region() -> None:
    with pytest.raises(MarketDataError, match="needs a region: one of DK1, DK2"):
        market_area("DK")
    with pytest.raises(MarketDataError, match="one of SE1, SE2, SE3, SE4"):
        market_area("SE", " ")
    with pytest.raises(MarketDataError, match="region 'SE9' is not a price area of SE"):
        market_area("SE", "SE9")
    with pytest.raises(MarketDataError, match="region 'NO1' is not a price area of SE"):
        market_area("SE", "NO1")
    with pytest.raises(MarketDataError, match="GB-A, GB-B"):
        market_area("GB")
    with pytest.raises(MarketDataError, match="no day-ahead market area known for country 'XX'"):
        market_area("XX")


def test_a_source_without_the_area_says_which_sources_have_it() -> None:
    with pytest.raises(
        MarketDataError,
        match=r"awattar has no prices for SE3 \(Sweden, Stockholm\); sources for it: nordpool, ent",
    ):
        market_area("SE", "SE3").code_for("awattar")
    with pytest.raises(MarketDataError, match="unknown price source"):
        market_area("DE").code_for("tibber")


def test_every_area_is_consistent() -> None:
    eic = re.compile(r"^[0-9A-Z][0-9A-Z-]{14}[0-9A-Z]$")
    assert len([a for a in AREAS.values() if a.country == "GB"]) == 14
    assert {a.code for a in AREAS.values() if a.country == "SE"} == {"SE1", "SE2", "SE3", "SE4"}
    assert {a.code for a in AREAS.values() if a.country == "NO"} == {f"NO{i}" for i in range(1, 6)}
    for area in AREAS.values():
        assert area.sources, area.code
        assert area.currency == ("GBP" if area.country == "GB" else "EUR")
        if area.entsoe is not None:
            assert eic.match(area.entsoe), area.code
    assert market_area("DE").sources == ("awattar", "nordpool", "entsoe")


def test_redact_hides_tokens_in_urls() -> None:
    url = "https://web-api.tp.entsoe.eu/api?securityToken=s3cr3t&documentType=A44"
    assert redact(url) == "https://web-api.tp.entsoe.eu/api?securityToken=***&documentType=A44"
    assert redact("https://api.awattar.de/v1/marketdata") == "https://api.awattar.de/v1/marketdata"
