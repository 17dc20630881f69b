"""Nord Pool Data Portal parser on recorded-style answers, and its request builder."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.unit.market.helpers import assert_series, fixture, utc
from voltfleet.market import MarketDataError, NoDataError, NordPoolSource, SourceSettings
from voltfleet.market.nordpool import parse_nordpool

DAY1 = "nordpool_dayahead_2025-10-01_se3_fi.json"
DAY2 = "nordpool_dayahead_2025-10-02_se3_fi.json"


def test_quarter_hours_for_one_area() -> None:
    prices = parse_nordpool(fixture(DAY1), "SE3")

    assert len(prices) == 96
    assert_series(prices, timedelta(minutes=15), "EUR")
    assert prices[0].start == utc(2025, 9, 30, 22)
    assert prices[-1].end == utc(2025, 10, 1, 22)
    assert prices[0].price_per_kwh == pytest.approx(0.0304)
    assert prices[-1].price_per_kwh == pytest.approx(0.02554)


def test_each_area_gets_its_own_prices_matching_the_published_average() -> None:
    document = json.loads(fixture(DAY1))
    averages = {a["areaCode"]: a["price"] for a in document["areaAverages"]}
    for area in ("SE3", "FI"):
        prices = parse_nordpool(fixture(DAY1), area)
        mean_per_mwh = 1000 * sum(p.price_per_kwh for p in prices) / len(prices)
        assert mean_per_mwh == pytest.approx(averages[area], abs=0.006)
    assert parse_nordpool(fixture(DAY1), "FI")[0].price_per_kwh == pytest.approx(0.03673)
    assert parse_nordpool(fixture(DAY2), "SE3")[0].start == utc(2025, 10, 1, 22)


def test_an_area_not_in_the_answer_is_named() -> None:
    with pytest.raises(MarketDataError, match=r"no price for area NO1 \(areas: FI, SE3\)"):
        parse_nordpool(fixture(DAY1), "NO1")


def test_currency_comes_from_the_answer() -> None:
    document = json.loads(fixture(DAY1))
    document["currency"] = "SEK"
    prices = parse_nordpool(json.dumps(document).encode(), "SE3")
    assert {p.currency for p in prices} == {"SEK"}


def _with(**changes: object) -> bytes:
    document = json.loads(fixture(DAY1))
    document.update(changes)
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("payload", "error", "message"),
    [
        (b"", NoDataError, "empty body"),
        (_with(multiAreaEntries=[]), NoDataError, "no prices for 2025-10-01"),
        (_with(currency=None), MarketDataError, "currency None"),
        (_with(multiAreaEntries=None), MarketDataError, "no 'multiAreaEntries' list"),
        (
            _with(multiAreaEntries=[{"deliveryStart": "2025-09-30T22:00:00Z"}]),
            MarketDataError,
            "no entryPerArea",
        ),
        (
            _with(
                multiAreaEntries=[
                    {
                        "deliveryStart": "2025-09-30T22:00:00Z",
                        "deliveryEnd": "2025-09-30T22:15:00Z",
                        "entryPerArea": {"SE3": None},
                    }
                ]
            ),
            MarketDataError,
            "SE3 is None",
        ),
        (
            _with(
                multiAreaEntries=[
                    {
                        "deliveryStart": "2025-09-30T22:00:00",
                        "deliveryEnd": "2025-09-30T22:15:00Z",
                        "entryPerArea": {"SE3": 1.0},
                    }
                ]
            ),
            MarketDataError,
            "has no UTC offset",
        ),
    ],
)
def test_bad_answers_are_refused(payload: bytes, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        parse_nordpool(payload, "SE3")


def test_request_asks_for_the_delivery_day_of_the_start() -> None:
    source = NordPoolSource()
    url, params, _ = source.request(
        "SE3", utc(2025, 9, 30, 22), utc(2025, 10, 2, 22), SourceSettings()
    )
    assert url == "https://dataportal-api.nordpoolgroup.com/api/DayAheadPrices"
    assert params == {
        "date": "2025-10-01",  # 22:00 UTC is midnight CEST
        "market": "DayAhead",
        "deliveryArea": "SE3",
        "currency": "EUR",
    }
    _, params, _ = source.request(
        "DK1", utc(2025, 1, 1, 22, 59), utc(2025, 1, 3), SourceSettings(currency="DKK")
    )
    assert params["date"] == "2025-01-01"  # 23:59 CET
    assert params["currency"] == "DKK"
    with pytest.raises(MarketDataError, match="look like SE3"):
        source.request("se 3", utc(2025, 1, 1), utc(2025, 1, 2), SourceSettings())
    with pytest.raises(MarketDataError, match="ISO 4217"):
        source.request("SE3", utc(2025, 1, 1), utc(2025, 1, 2), SourceSettings(currency="kr"))
