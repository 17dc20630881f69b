"""Octopus Agile parser on two recorded-style pages, and its request builder."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.unit.market.helpers import assert_series, fixture, utc
from voltfleet.market import MarketDataError, NoDataError, OctopusAgileSource, SourceSettings
from voltfleet.market.base import merge_prices
from voltfleet.market.octopus import next_page_url, parse_octopus

PAGE1 = "octopus_agile_c_2025-01-14_page1.json"
PAGE2 = "octopus_agile_c_2025-01-14_page2.json"


def test_first_page_is_the_newest_rates_sorted_oldest_first() -> None:
    prices = parse_octopus(fixture(PAGE1), "C")

    assert len(prices) == 30
    assert_series(prices, timedelta(minutes=30), "GBP")
    assert prices[0].start == utc(2025, 1, 14, 9)
    assert prices[-1].start == utc(2025, 1, 14, 23, 30)
    assert prices[-1].end == utc(2025, 1, 15)
    assert prices[-1].price_per_kwh == pytest.approx(0.162225)  # 16.2225 p/kWh incl. VAT


def test_both_pages_make_the_whole_day() -> None:
    prices = merge_prices(parse_octopus(fixture(PAGE1)) + parse_octopus(fixture(PAGE2)))

    assert len(prices) == 48
    assert_series(prices, timedelta(minutes=30), "GBP")
    assert prices[0].start == utc(2025, 1, 14)
    assert prices[0].price_per_kwh == pytest.approx(0.15813)
    evening = [p.price_per_kwh for p in prices if 16 <= p.start.hour < 19]
    assert len(evening) == 6 and min(evening) > max(p.price_per_kwh for p in prices[:8])


def test_vat_is_included_by_default_and_can_be_left_out() -> None:
    inc = parse_octopus(fixture(PAGE2))
    exc = parse_octopus(fixture(PAGE2), include_vat=False)
    assert exc[0].price_per_kwh == pytest.approx(0.1506)
    for with_vat, without in zip(inc, exc, strict=True):
        assert with_vat.price_per_kwh == pytest.approx(without.price_per_kwh * 1.05, abs=1e-6)
    source = OctopusAgileSource(include_vat=False)
    assert source.parse(fixture(PAGE2), "C") == exc


def test_next_page_link() -> None:
    link = next_page_url(fixture(PAGE1))
    assert link is not None
    assert link.startswith("https://api.octopus.energy/v1/products/AGILE-24-10-01/")
    assert "page=2" in link
    assert next_page_url(fixture(PAGE2)) is None
    with pytest.raises(MarketDataError, match="expected a URL or null"):
        next_page_url(b'{"next": 2, "results": []}')


def _page(**item: object) -> bytes:
    rate = {
        "value_exc_vat": 15.06,
        "value_inc_vat": 15.813,
        "valid_from": "2025-01-14T00:00:00Z",
        "valid_to": "2025-01-14T00:30:00Z",
        "payment_method": None,
    }
    rate.update(item)
    return json.dumps({"count": 1, "next": None, "previous": None, "results": [rate]}).encode()


@pytest.mark.parametrize(
    ("payload", "error", "message"),
    [
        (b'{"count": 0, "next": null, "results": []}', NoDataError, "no unit rates"),
        (b'{"detail": "Not found."}', MarketDataError, "no 'results' list"),
        (_page(valid_to=None), MarketDataError, "no valid_to: an open-ended rate"),
        (_page(value_inc_vat=None), MarketDataError, "value_inc_vat is None"),
        (_page(valid_from="14/01/2025 00:00"), MarketDataError, "not an ISO 8601 time"),
    ],
)
def test_bad_pages_are_refused(payload: bytes, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        parse_octopus(payload)


def test_request_builds_the_tariff_code_from_product_and_region() -> None:
    source = OctopusAgileSource()
    url, params, _ = source.request("C", utc(2025, 1, 14), utc(2025, 1, 15), SourceSettings())
    assert url == (
        "https://api.octopus.energy/v1/products/AGILE-24-10-01/electricity-tariffs/"
        "E-1R-AGILE-24-10-01-C/standard-unit-rates/"
    )
    assert params == {
        "period_from": "2025-01-14T00:00:00Z",
        "period_to": "2025-01-15T00:00:00Z",
        "page_size": "1500",
    }
    url, _, _ = source.request(
        "_n",
        utc(2025, 1, 14),
        utc(2025, 1, 15),
        SourceSettings(octopus_product="AGILE-FLEX-22-11-25"),
    )
    assert url.endswith(
        "/AGILE-FLEX-22-11-25/electricity-tariffs/E-1R-AGILE-FLEX-22-11-25-N/standard-unit-rates/"
    )
    with pytest.raises(MarketDataError, match="region must be one of ABCDEFGHJKLMNP"):
        source.request("I", utc(2025, 1, 14), utc(2025, 1, 15), SourceSettings())
    with pytest.raises(MarketDataError, match="product code"):
        source.request(
            "C", utc(2025, 1, 14), utc(2025, 1, 15), SourceSettings(octopus_product="x/y")
        )
