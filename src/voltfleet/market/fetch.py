"""Fetch day-ahead prices over HTTP: the adapter says what to GET, httpx gets it, it parses.

Only used when a source is configured; the parsers work without it. Behaviour:

- every request has a timeout (``SourceSettings.timeout_s``); redirects are not followed, so a
  token in the query never travels to another host;
- HTTP errors raise :class:`MarketDataError` with the status and a short reason taken from the
  body (ENTSO-E's acknowledgement text, Octopus's ``detail``), never with the security token;
- pages linked by "next" (Octopus) are followed, but only on the same scheme and host;
- a source that serves less than the window per call (Nord Pool: a day) is asked again from where
  its prices end, until the window is covered or the source has nothing more (prices for
  tomorrow are published around noon; what exists is returned). Nothing at all raises
  :class:`NoDataError`.

The result holds the prices overlapping ``[start, end)``, sorted, one per interval.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from voltfleet.market.areas import MarketArea
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
    require_utc,
)

MAX_REQUESTS = 400  # windows per fetch: over a year of Nord Pool days
MAX_PAGES = 100  # pages per request
_SECRET_PARAMS = {"securitytoken", "token", "api_key", "apikey", "key"}
_XML_TEXT = re.compile(rb"<(?:[\w.-]+:)?text>(.*?)</(?:[\w.-]+:)?text>", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_NO_DATA = ("No matching data found",)


def redact(url: str) -> str:
    """``url`` with the values of secret query parameters (securityToken ...) replaced by ***."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = [
        (name, "***" if name.lower() in _SECRET_PARAMS else value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(query, safe="*:")))


def _reason(response: httpx.Response) -> str:
    """A short, human reason from an error body, or the status phrase."""
    body = response.content[:8192]
    reason = ""
    match = _XML_TEXT.search(body)
    if match:
        reason = match.group(1).decode("utf-8", "replace")
    else:
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            document = None
        if isinstance(document, dict):
            for field in ("detail", "message", "error", "title"):
                if isinstance(document.get(field), str):
                    reason = document[field]
                    break
        elif document is None:
            reason = _TAG.sub(" ", body.decode("utf-8", "replace"))
    reason = " ".join(reason.split()) or response.reason_phrase or "no reason given"
    return reason if len(reason) <= 200 else reason[:197] + "..."


async def _get(
    client: httpx.AsyncClient,
    key: str,
    url: str,
    params: dict[str, str] | None,
    headers: dict[str, str],
    timeout_s: float,
) -> bytes:
    shown = redact(str(httpx.URL(url, params=params))) if params else redact(url)
    try:
        response = await client.get(
            url, params=params, headers=headers, timeout=timeout_s, follow_redirects=False
        )
    except httpx.TimeoutException:
        raise MarketDataError(
            f"{key}: no answer from {shown} within {timeout_s:g} s", source=key
        ) from None
    except httpx.HTTPError as exc:
        raise MarketDataError(
            f"{key}: could not reach {shown} ({type(exc).__name__})", source=key
        ) from None
    status = response.status_code
    if status == 204:
        return b""
    if not 200 <= status < 300:
        reason = _reason(response)
        kind = NoDataError if any(text in reason for text in _NO_DATA) else MarketDataError
        raise kind(f"{key}: HTTP {status} from {shown}: {reason}", source=key, status=status)
    return response.content


def _same_origin(first: str, link: str) -> bool:
    a, b = urlsplit(first), urlsplit(link)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


async def _fetch_request(
    client: httpx.AsyncClient,
    source: PriceSource,
    area: str,
    request: PriceRequest,
    settings: SourceSettings,
) -> list[MarketPrice]:
    url, params, headers = request
    prices: list[MarketPrice] = []
    query: dict[str, str] | None = params
    for _ in range(MAX_PAGES):
        payload = await _get(client, source.key, url, query, headers, settings.timeout_s)
        prices += source.parse(payload, area)
        if not isinstance(source, PaginatedSource):
            return prices
        link = source.next_page(payload)
        if link is None:
            return prices
        if not _same_origin(request.url, link):
            raise MarketDataError(
                f"{source.key}: refusing to follow a next page to another host: {redact(link)}",
                source=source.key,
            )
        url, query = link, None  # the link carries its own query
    raise MarketDataError(f"{source.key}: more than {MAX_PAGES} pages", source=source.key)


async def fetch_prices(
    source: PriceSource | str,
    area: str | MarketArea,
    start: datetime,
    end: datetime,
    settings: SourceSettings | None = None,
    *,
    client: httpx.AsyncClient | None = None,
) -> list[MarketPrice]:
    """Day-ahead prices for ``area`` over ``[start, end)`` from ``source``, fetched over HTTP.

    ``source`` is an adapter or a registry key; ``area`` is the source's own area code or a
    :class:`MarketArea`. ``client`` lets the caller share a connection pool; otherwise one is
    opened and closed here.
    """
    adapter = get_source(source) if isinstance(source, str) else source
    code = area.code_for(adapter.key) if isinstance(area, MarketArea) else area
    first, last = require_utc(start, "start"), require_utc(end, "end")
    if last <= first:
        raise MarketDataError(f"the window ends ({last}) before it starts ({first})")
    settings = settings or SourceSettings()
    http = client or httpx.AsyncClient(timeout=settings.timeout_s)
    collected: list[MarketPrice] = []
    try:
        cursor = first
        for _ in range(MAX_REQUESTS):
            request = adapter.request(code, cursor, last, settings)
            try:
                batch = await _fetch_request(http, adapter, code, request, settings)
            except NoDataError:
                if collected:
                    break  # the rest is not published yet
                raise
            collected += batch
            reached = max((price.end for price in batch), default=cursor)
            if reached <= cursor or reached >= last:
                break
            cursor = reached
        else:
            raise MarketDataError(
                f"{adapter.key}: more than {MAX_REQUESTS} requests for one window"
            )
    finally:
        if client is None:
            await http.aclose()
    return [price for price in merge_prices(collected) if price.end > first and price.start < last]
