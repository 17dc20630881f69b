"""Nord Pool Data Portal: day-ahead prices for the Nordic, Baltic and several CWE areas.

Request: ``GET https://dataportal-api.nordpoolgroup.com/api/DayAheadPrices?date=YYYY-MM-DD
&market=DayAhead&deliveryArea=SE3&currency=EUR`` for one delivery day (a CET/CEST calendar day).
HTTP 204 (no body) means the day is not published yet. Answer::

    {"deliveryDateCET": "2025-10-01", "version": 3, "updatedAt": "...", "market": "DayAhead",
     "deliveryAreas": ["SE3", "FI"], "currency": "EUR",
     "multiAreaEntries": [{"deliveryStart": "2025-09-30T22:00:00Z",
                           "deliveryEnd": "2025-09-30T22:15:00Z",
                           "entryPerArea": {"SE3": 38.61, "FI": 41.02}}, ...],
     "blockPriceAggregates": [...], "areaStates": [...], "areaAverages": [...]}

Prices are per MWh in ``currency``. The portal is public but unofficial and its terms apply; the
official Market Data API is a paid product with the same shapes behind a login.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from voltfleet.market.base import (
    MarketDataError,
    MarketPrice,
    NoDataError,
    PriceRequest,
    SourceSettings,
    json_instant,
    json_list,
    json_number,
    json_object,
    make_price,
    merge_prices,
    require_utc,
)

KEY = "nordpool"
VENDOR = "Nord Pool"
DEFAULT_BASE_URL = "https://dataportal-api.nordpoolgroup.com"
PATH = "/api/DayAheadPrices"
DELIVERY_DAY_ZONE = ZoneInfo("Europe/Oslo")  # the CET/CEST day every area's auction delivers on
_AREA = re.compile(r"^[A-Z][A-Z0-9]{1,4}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def parse_nordpool(payload: bytes, area: str) -> list[MarketPrice]:
    """Prices for ``area`` (e.g. "SE3", "GER") from a DayAheadPrices answer, per kWh, sorted."""
    document = json_object(payload, VENDOR, KEY)
    currency = document.get("currency")
    if not isinstance(currency, str) or not _CURRENCY.match(currency):
        raise MarketDataError(
            f"Nord Pool payload has currency {currency!r}, expected ISO 4217", source=KEY
        )
    entries = json_list(document, "multiAreaEntries", VENDOR, KEY)
    if not entries:
        day = document.get("deliveryDateCET", "the day")
        raise NoDataError(f"Nord Pool has no prices for {day} yet", source=KEY)
    prices: list[MarketPrice] = []
    for index, entry in enumerate(entries):
        where = f"Nord Pool multiAreaEntries[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("entryPerArea"), dict):
            raise MarketDataError(f"{where} has no entryPerArea object", source=KEY)
        per_area = entry["entryPerArea"]
        if area not in per_area:
            known = ", ".join(sorted(per_area)) or "none"
            raise MarketDataError(
                f"{where} has no price for area {area} (areas: {known})", source=KEY
            )
        start = json_instant(entry, "deliveryStart", where, KEY)
        end = json_instant(entry, "deliveryEnd", where, KEY)
        price = json_number(per_area, area, where, KEY) / 1000.0
        prices.append(make_price(start, end, price, currency, where, KEY))
    return merge_prices(prices)


class NordPoolSource:
    """Nord Pool day-ahead prices; ``area`` is a delivery area ("SE3", "DK1", "GER", "NL" ...).

    One request covers the delivery day in which ``start`` falls; the fetcher asks again for the
    following days.
    """

    key = KEY

    def parse(self, payload: bytes, area: str) -> list[MarketPrice]:
        return parse_nordpool(payload, area)

    def request(
        self, area: str, start: datetime, end: datetime, settings: SourceSettings
    ) -> PriceRequest:
        if not _AREA.match(area):
            raise MarketDataError(
                f"Nord Pool area must look like SE3 or GER, got {area!r}", source=KEY
            )
        currency = settings.currency or "EUR"
        if not _CURRENCY.match(currency):
            raise MarketDataError(
                f"Nord Pool currency must be ISO 4217, got {currency!r}", source=KEY
            )
        require_utc(end, "end")
        day = require_utc(start, "start").astimezone(DELIVERY_DAY_ZONE).date()
        params = {
            "date": day.isoformat(),
            "market": "DayAhead",
            "deliveryArea": area,
            "currency": currency,
        }
        base = (settings.base_url or DEFAULT_BASE_URL).rstrip("/")
        return PriceRequest(base + PATH, params, {"Accept": "application/json"})
