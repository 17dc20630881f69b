"""The shapes every day-ahead price source shares: a price, a source, its settings, its errors.

A source is an adapter with two halves: ``request`` says what to GET for an area and a window
(no I/O), and ``parse`` turns the vendor's bytes into :class:`MarketPrice` values (a pure
function). :mod:`voltfleet.market.fetch` joins the two over HTTP when a source is configured.

Units: ``price_per_kwh`` is in major currency units per kWh (EUR/kWh, GBP/kWh), whatever the
vendor sends (EUR/MWh, pence/kWh). Times are timezone-aware UTC; ``end`` is exclusive.
"""

from __future__ import annotations

import json
import math
import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, Protocol, runtime_checkable

_CURRENCY = re.compile(r"^[A-Z]{3}$")


class MarketDataError(Exception):
    """A price source could not give prices: bad payload, HTTP error, unknown area, no token.

    ``source`` is the source key ("entsoe", ...) when known; ``status`` the HTTP status when the
    error came from an HTTP response.
    """

    def __init__(self, message: str, *, source: str | None = None, status: int | None = None):
        super().__init__(message)
        self.source = source
        self.status = status


class NoDataError(MarketDataError):
    """The source answered, but has no prices for the window (not published yet, or never)."""


@dataclass(frozen=True, slots=True)
class MarketPrice:
    """One day-ahead price interval: ``[start, end)`` in UTC at ``price_per_kwh`` ``currency``."""

    start: datetime
    end: datetime
    price_per_kwh: float
    currency: str

    def __post_init__(self) -> None:
        for name, value in (("start", self.start), ("end", self.end)):
            if value.tzinfo is None or value.utcoffset() != timedelta(0):
                raise ValueError(f"MarketPrice.{name} must be timezone-aware UTC, got {value!r}")
        if self.end <= self.start:
            raise ValueError(f"MarketPrice ends ({self.end}) before it starts ({self.start})")
        if not _CURRENCY.match(self.currency):
            raise ValueError(
                f"MarketPrice.currency must be an ISO 4217 code, got {self.currency!r}"
            )

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class SourceSettings:
    """What a deployment configures for the sources; nothing secret is ever hard-coded.

    - ``token``: the ENTSO-E Transparency Platform security token (required for "entsoe").
    - ``base_url``: replaces the vendor's scheme and host (a proxy, a mirror, a test server).
    - ``currency``: the currency to ask Nord Pool for (EUR, DKK, NOK, SEK, PLN); default EUR.
    - ``octopus_product``: the Octopus Agile product code; the area gives the region letter.
    - ``page_size``: results per Octopus page (the API allows up to 1500).
    - ``timeout_s``: per HTTP request, in seconds.
    """

    token: str | None = None
    base_url: str | None = None
    currency: str | None = None
    octopus_product: str = "AGILE-24-10-01"
    page_size: int = 1500
    timeout_s: float = 10.0


class PriceRequest(NamedTuple):
    """What to GET: the URL, its query parameters and headers."""

    url: str
    params: dict[str, str]
    headers: dict[str, str]


@runtime_checkable
class PriceSource(Protocol):
    """A day-ahead price adapter, registered by ``key``.

    ``request`` may serve less than ``[start, end)`` when the vendor limits one call (Nord Pool:
    one delivery day; ENTSO-E: one year); the fetcher then asks again from where the prices end.
    """

    key: str

    def parse(self, payload: bytes, area: str) -> list[MarketPrice]: ...

    def request(
        self, area: str, start: datetime, end: datetime, settings: SourceSettings
    ) -> PriceRequest: ...


@runtime_checkable
class PaginatedSource(PriceSource, Protocol):
    """A source whose answers come in pages linked by a "next" URL (Octopus)."""

    def next_page(self, payload: bytes) -> str | None: ...


_REGISTRY: dict[str, PriceSource] = {}


def register_source(source: PriceSource) -> PriceSource:
    """Add ``source`` to the registry under ``source.key`` (a second one with the key wins)."""
    _REGISTRY[source.key] = source
    return source


def get_source(key: str) -> PriceSource:
    """The registered source for ``key``; :class:`MarketDataError` names the known keys."""
    try:
        return _REGISTRY[key]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise MarketDataError(f"unknown price source {key!r} (known: {known})") from None


def sources() -> Mapping[str, PriceSource]:
    """A read-only view of the registry, by key."""
    return dict(_REGISTRY)


def require_utc(value: datetime, name: str) -> datetime:
    """``value`` converted to UTC; a naive datetime is refused rather than guessed."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise MarketDataError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def merge_prices(prices: Iterable[MarketPrice]) -> list[MarketPrice]:
    """Sorted by start, one price per interval, no overlaps.

    Within one resolution a later price with the same start replaces an earlier one. Across
    resolutions the finer one wins where they overlap, so a document carrying both an hourly and a
    quarter-hourly series yields the quarter-hours (the traded product since the 15-minute market
    time unit) and keeps the hourly prices only where no quarter-hour covers them.
    """
    by_resolution: dict[timedelta, dict[datetime, MarketPrice]] = {}
    for price in prices:
        by_resolution.setdefault(price.duration, {})[price.start] = price
    kept: list[MarketPrice] = []
    for duration in sorted(by_resolution):
        batch = sorted(by_resolution[duration].values(), key=lambda p: p.start)
        if not kept:
            kept = batch
            continue
        starts = [k.start for k in kept]
        extra = []
        for price in batch:
            # kept is sorted and free of overlaps, so the last interval starting before this one
            # ends is the only one that can overlap it.
            i = bisect_left(starts, price.end)
            if i == 0 or kept[i - 1].end <= price.start:
                extra.append(price)
        kept = sorted(kept + extra, key=lambda p: p.start)
    return kept


# Helpers for the JSON adapters: each names the vendor and the field at fault.


def json_object(payload: bytes, vendor: str, source: str) -> dict[str, Any]:
    """``payload`` decoded as a JSON object, or :class:`MarketDataError` saying why not."""
    if not payload.strip():
        raise NoDataError(f"{vendor} answered with an empty body", source=source)
    try:
        document = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MarketDataError(f"{vendor} payload is not JSON: {exc}", source=source) from None
    if not isinstance(document, dict):
        raise MarketDataError(
            f"{vendor} payload is a JSON {type(document).__name__}, expected an object",
            source=source,
        )
    return document


def json_list(document: dict[str, Any], field: str, vendor: str, source: str) -> list[Any]:
    value = document.get(field)
    if not isinstance(value, list):
        raise MarketDataError(f"{vendor} payload has no {field!r} list", source=source)
    return value


def json_number(item: dict[str, Any], field: str, where: str, source: str) -> float:
    value = item.get(field)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MarketDataError(f"{where}: {field} is {value!r}, expected a number", source=source)
    return float(value)


def json_instant(item: dict[str, Any], field: str, where: str, source: str) -> datetime:
    value = item.get(field)
    if not isinstance(value, str):
        raise MarketDataError(f"{where}: {field} is {value!r}, expected a time", source=source)
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise MarketDataError(
            f"{where}: {field} {value!r} is not an ISO 8601 time", source=source
        ) from None
    if instant.tzinfo is None:
        raise MarketDataError(f"{where}: {field} {value!r} has no UTC offset", source=source)
    return instant.astimezone(UTC)


def make_price(
    start: datetime, end: datetime, price_per_kwh: float, currency: str, where: str, source: str
) -> MarketPrice:
    """A :class:`MarketPrice`, with its validation errors turned into :class:`MarketDataError`."""
    try:
        return MarketPrice(start, end, price_per_kwh, currency)
    except ValueError as exc:
        raise MarketDataError(f"{where}: {exc}", source=source) from None
