"""Day-ahead electricity prices from markets and suppliers, for automatic tariffs.

Sources, registered by key: "entsoe" (ENTSO-E Transparency Platform, needs a token),
"awattar" (DE/AT), "nordpool" (Nord Pool Data Portal), "octopus" (Octopus Agile, GB).
Each parses its vendor's answer with a pure function into :class:`MarketPrice` values (UTC,
``price_per_kwh`` in major currency units); :func:`fetch_prices` fetches over HTTP when a source
is configured. :func:`market_area` says which area a site is in and what each source calls it.
"""

from voltfleet.market.areas import AREAS, MarketArea, market_area
from voltfleet.market.awattar import AwattarSource, parse_awattar
from voltfleet.market.base import (
    MarketDataError,
    MarketPrice,
    NoDataError,
    PaginatedSource,
    PriceRequest,
    PriceSource,
    SourceSettings,
    get_source,
    merge_prices,
    register_source,
    sources,
)
from voltfleet.market.entsoe import EntsoeSource, parse_entsoe
from voltfleet.market.fetch import fetch_prices
from voltfleet.market.nordpool import NordPoolSource, parse_nordpool
from voltfleet.market.octopus import OctopusAgileSource, parse_octopus

register_source(EntsoeSource())
register_source(AwattarSource())
register_source(NordPoolSource())
register_source(OctopusAgileSource())

__all__ = [
    "AREAS",
    "AwattarSource",
    "EntsoeSource",
    "MarketArea",
    "MarketDataError",
    "MarketPrice",
    "NoDataError",
    "NordPoolSource",
    "OctopusAgileSource",
    "PaginatedSource",
    "PriceRequest",
    "PriceSource",
    "SourceSettings",
    "fetch_prices",
    "get_source",
    "market_area",
    "merge_prices",
    "parse_awattar",
    "parse_entsoe",
    "parse_nordpool",
    "parse_octopus",
    "register_source",
    "sources",
]
