"""aWATTar parser on a recorded-style answer, and its request builder."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.unit.market.helpers import assert_series, fixture, utc
from voltfleet.market import AwattarSource, MarketDataError, NoDataError, SourceSettings
from voltfleet.market.awattar import parse_awattar


def test_day_of_hourly_prices_in_eur_per_kwh() -> None:
    prices = parse_awattar(fixture("awattar_de_2024-06-16.json"), "de")

    assert len(prices) == 24
    assert_series(prices, timedelta(hours=1), "EUR")
    assert prices[0].start == utc(2024, 6, 15, 22)  # local midnight, CEST
    assert prices[-1].end == utc(2024, 6, 16, 22)
    assert prices[0].price_per_kwh == pytest.approx(0.07852)  # 78.52 Eur/MWh
    assert prices[-1].price_per_kwh == pytest.approx(0.08915)
    cheapest = min(prices, key=lambda p: p.price_per_kwh)
    assert cheapest.price_per_kwh == pytest.approx(-0.01996)
    assert cheapest.start == utc(2024, 6, 16, 10)  # 12:00 local


def test_unsorted_and_repeated_entries_come_out_sorted_once() -> None:
    document = json.loads(fixture("awattar_de_2024-06-16.json"))
    document["data"] = list(reversed(document["data"])) + document["data"][:3]
    prices = parse_awattar(json.dumps(document).encode(), "de")
    assert len(prices) == 24
    assert [p.start for p in prices] == sorted(p.start for p in prices)


def _one(**item: object) -> bytes:
    entry = {
        "start_timestamp": 1718488800000,
        "end_timestamp": 1718492400000,
        "marketprice": 78.52,
        "unit": "Eur/MWh",
    }
    entry.update(item)
    return json.dumps({"object": "list", "data": [entry]}).encode()


@pytest.mark.parametrize(
    ("payload", "error", "message"),
    [
        (b'{"object": "list", "data": []}', NoDataError, "no prices"),
        (b"", NoDataError, "empty body"),
        (b"<html>502</html>", MarketDataError, "not JSON"),
        (b"[1, 2]", MarketDataError, "JSON list, expected an object"),
        (b'{"object": "list"}', MarketDataError, "no 'data' list"),
        (_one(unit="ct/kWh"), MarketDataError, r"data\[0\] has unit 'ct/kWh'"),
        (_one(marketprice=None), MarketDataError, "marketprice is None"),
        (_one(marketprice="78.5"), MarketDataError, "marketprice is '78.5'"),
        (_one(start_timestamp="2024-06-16"), MarketDataError, "expected epoch milliseconds"),
        (_one(end_timestamp=1718488800000), MarketDataError, "ends .* before it starts"),
    ],
)
def test_bad_answers_are_refused(payload: bytes, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        parse_awattar(payload, "de")


def test_request_per_country() -> None:
    source = AwattarSource()
    start, end = utc(2024, 6, 15, 22), utc(2024, 6, 16, 22)
    url, params, _ = source.request("de", start, end, SourceSettings())
    assert url == "https://api.awattar.de/v1/marketdata"
    assert params == {"start": "1718488800000", "end": "1718575200000"}
    url, _, _ = source.request("at", start, end, SourceSettings())
    assert url == "https://api.awattar.at/v1/marketdata"
    with pytest.raises(MarketDataError, match="'de' or 'at'"):
        source.request("ch", start, end, SourceSettings())
