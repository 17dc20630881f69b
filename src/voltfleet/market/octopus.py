"""Octopus Energy Agile (Great Britain): half-hourly import prices, public, no key needed.

Request: ``GET https://api.octopus.energy/v1/products/<PRODUCT>/electricity-tariffs/
E-1R-<PRODUCT>-<REGION>/standard-unit-rates/?period_from=...Z&period_to=...Z&page_size=1500``
where REGION is the grid supply point group letter (A..P without I and O). Answer, newest first
and paginated through ``next``::

    {"count": 48, "next": "https://api.octopus.energy/...?page=2&...", "previous": null,
     "results": [{"value_exc_vat": 21.07, "value_inc_vat": 22.1235,
                  "valid_from": "2025-01-14T22:30:00Z", "valid_to": "2025-01-14T23:00:00Z",
                  "payment_method": null}, ...]}

Prices are pence per kWh; the price a household pays includes VAT (5 % on domestic energy), so
that is the default; ``include_vat=False`` gives the price before VAT.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

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

KEY = "octopus"
VENDOR = "Octopus"
DEFAULT_BASE_URL = "https://api.octopus.energy"
REGIONS = {
    "A": "Eastern England",
    "B": "East Midlands",
    "C": "London",
    "D": "Merseyside and North Wales",
    "E": "West Midlands",
    "F": "North Eastern England",
    "G": "North Western England",
    "H": "Southern England",
    "J": "South Eastern England",
    "K": "South Wales",
    "L": "South Western England",
    "M": "Yorkshire",
    "N": "Southern Scotland",
    "P": "Northern Scotland",
}
_PRODUCT = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,40}$")


def parse_octopus(payload: bytes, area: str = "", *, include_vat: bool = True) -> list[MarketPrice]:
    """One page of standard unit rates, in GBP/kWh (incl. VAT unless told), sorted oldest first."""
    document = json_object(payload, VENDOR, KEY)
    results = json_list(document, "results", VENDOR, KEY)
    if not results:
        raise NoDataError("Octopus returned no unit rates for the window", source=KEY)
    field = "value_inc_vat" if include_vat else "value_exc_vat"
    prices: list[MarketPrice] = []
    for index, item in enumerate(results):
        where = f"Octopus results[{index}]"
        if not isinstance(item, dict):
            raise MarketDataError(f"{where} is not an object", source=KEY)
        if item.get("valid_to") is None:
            raise MarketDataError(
                f"{where} has no valid_to: an open-ended rate, not a half-hourly Agile price",
                source=KEY,
            )
        start = json_instant(item, "valid_from", where, KEY)
        end = json_instant(item, "valid_to", where, KEY)
        price = json_number(item, field, where, KEY) / 100.0
        prices.append(make_price(start, end, price, "GBP", where, KEY))
    return merge_prices(prices)


def next_page_url(payload: bytes) -> str | None:
    """The ``next`` link of an Octopus page, or None on the last page."""
    document: dict[str, Any] = json_object(payload, VENDOR, KEY)
    link = document.get("next")
    if link is None or link == "":
        return None
    if not isinstance(link, str):
        raise MarketDataError(f"Octopus next is {link!r}, expected a URL or null", source=KEY)
    return link


def _stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


class OctopusAgileSource:
    """Octopus Agile unit rates; ``area`` is the region letter ("C" for London).

    The product code (AGILE-24-10-01 ...) comes from the settings: it is the household's tariff,
    not a place.
    """

    key = KEY

    def __init__(self, *, include_vat: bool = True) -> None:
        self.include_vat = include_vat

    def parse(self, payload: bytes, area: str) -> list[MarketPrice]:
        return parse_octopus(payload, area, include_vat=self.include_vat)

    def next_page(self, payload: bytes) -> str | None:
        return next_page_url(payload)

    def request(
        self, area: str, start: datetime, end: datetime, settings: SourceSettings
    ) -> PriceRequest:
        region = area.upper().removeprefix("_")
        if region not in REGIONS:
            raise MarketDataError(
                f"Octopus region must be one of {''.join(REGIONS)}, got {area!r}", source=KEY
            )
        product = settings.octopus_product
        if not _PRODUCT.match(product):
            raise MarketDataError(f"Octopus product code looks wrong: {product!r}", source=KEY)
        if not 1 <= settings.page_size <= 1500:
            raise MarketDataError(
                f"Octopus page size must be 1..1500, got {settings.page_size}", source=KEY
            )
        base = (settings.base_url or DEFAULT_BASE_URL).rstrip("/")
        url = (
            f"{base}/v1/products/{product}/electricity-tariffs/"
            f"E-1R-{product}-{region}/standard-unit-rates/"
        )
        params = {
            "period_from": _stamp(require_utc(start, "start")),
            "period_to": _stamp(require_utc(end, "end")),
            "page_size": str(settings.page_size),
        }
        return PriceRequest(url, params, {"Accept": "application/json"})
