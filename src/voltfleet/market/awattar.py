"""aWATTar (Germany and Austria): EPEX day-ahead prices, no key needed.

Request: ``GET https://api.awattar.de/v1/marketdata?start=<epoch ms>&end=<epoch ms>`` (Austria:
``api.awattar.at``). Answer::

    {"object": "list", "url": "/de/v1/marketdata",
     "data": [{"start_timestamp": 1718402400000, "end_timestamp": 1718406000000,
               "marketprice": 85.3, "unit": "Eur/MWh"}, ...]}

Times are epoch milliseconds (UTC); the resolution is ``end - start`` (hourly historically,
quarter-hourly once the market moved to 15 minutes). Prices are EUR/MWh.
"""

from __future__ import annotations

from datetime import UTC, datetime

from voltfleet.market.base import (
    MarketDataError,
    MarketPrice,
    NoDataError,
    PriceRequest,
    SourceSettings,
    json_list,
    json_number,
    json_object,
    make_price,
    merge_prices,
    require_utc,
)

KEY = "awattar"
VENDOR = "aWATTar"
BASE_URLS = {"de": "https://api.awattar.de", "at": "https://api.awattar.at"}
PATH = "/v1/marketdata"
_UNITS = {"eur/mwh": ("EUR", 1000.0), "eur/kwh": ("EUR", 1.0)}


def _instant_ms(item: dict[str, object], field: str, where: str) -> datetime:
    value = item.get(field)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MarketDataError(
            f"{where}: {field} is {value!r}, expected epoch milliseconds", source=KEY
        )
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def parse_awattar(payload: bytes, area: str = "") -> list[MarketPrice]:
    """Prices from an aWATTar ``/v1/marketdata`` answer, in EUR/kWh, sorted, UTC."""
    document = json_object(payload, VENDOR, KEY)
    data = json_list(document, "data", VENDOR, KEY)
    if not data:
        raise NoDataError("aWATTar returned no prices for the window", source=KEY)
    prices: list[MarketPrice] = []
    for index, item in enumerate(data):
        where = f"aWATTar data[{index}]"
        if not isinstance(item, dict):
            raise MarketDataError(f"{where} is not an object", source=KEY)
        unit = str(item.get("unit", "")).strip()
        if unit.lower() not in _UNITS:
            raise MarketDataError(f"{where} has unit {unit!r}, expected Eur/MWh", source=KEY)
        currency, per_kwh = _UNITS[unit.lower()]
        start = _instant_ms(item, "start_timestamp", where)
        end = _instant_ms(item, "end_timestamp", where)
        price = json_number(item, "marketprice", where, KEY) / per_kwh
        prices.append(make_price(start, end, price, currency, where, KEY))
    return merge_prices(prices)


def _epoch_ms(value: datetime) -> str:
    return str(int(value.timestamp()) * 1000 + value.microsecond // 1000)


class AwattarSource:
    """aWATTar market data; ``area`` is ``"de"`` or ``"at"``."""

    key = KEY

    def parse(self, payload: bytes, area: str) -> list[MarketPrice]:
        return parse_awattar(payload, area)

    def request(
        self, area: str, start: datetime, end: datetime, settings: SourceSettings
    ) -> PriceRequest:
        if area not in BASE_URLS:
            raise MarketDataError(f"aWATTar area must be 'de' or 'at', got {area!r}", source=KEY)
        base = (settings.base_url or BASE_URLS[area]).rstrip("/")
        params = {
            "start": _epoch_ms(require_utc(start, "start")),
            "end": _epoch_ms(require_utc(end, "end")),
        }
        return PriceRequest(base + PATH, params, {"Accept": "application/json"})
