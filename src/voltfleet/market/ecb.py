"""The European Central Bank's euro foreign exchange reference rates (daily XML).

Request: ``GET https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml`` (the last
business day, published around 16:00 CET) or ``eurofxref-hist-90d.xml`` (the last 90 days).

Answer: a ``gesmes:Envelope`` whose ``Cube`` holds one ``Cube time="YYYY-MM-DD"`` per day, each
with ``Cube currency="USD" rate="1.0826"`` children: units of the currency per euro. Rates are
read as decimal strings straight into ``Decimal``, never through float.

Why no library: forex-python and similar wrap other web services; the ECB's document is a dozen
lines of ElementTree (as ENTSO-E's, see entsoe.py: elements matched by local name, documents
with a DOCTYPE refused, expat limits entity expansion).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal, InvalidOperation

import httpx

from voltfleet.domain.exchange_rates import ReferenceRates
from voltfleet.market.base import MarketDataError

KEY = "ecb"
DAILY_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml"
HIST_90D_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist-90d.xml"
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def parse_ecb(payload: bytes) -> list[ReferenceRates]:
    """The days of an ECB reference-rate document, oldest first; ``MarketDataError`` when it is
    not one."""
    if b"<!DOCTYPE" in payload[:2048]:
        raise MarketDataError("ECB: refusing a document with a DOCTYPE", source=KEY)
    try:
        root = ET.fromstring(payload)
    except ET.ParseError as exc:
        raise MarketDataError(f"ECB: not XML ({exc})", source=KEY) from None
    if _local(root.tag) != "Envelope":
        raise MarketDataError(f"ECB: unexpected document {_local(root.tag)!r}", source=KEY)
    days: dict[date, ReferenceRates] = {}
    for cube in root.iter():
        when = cube.get("time")
        if _local(cube.tag) != "Cube" or when is None:
            continue
        try:
            day = date.fromisoformat(when)
        except ValueError:
            raise MarketDataError(f"ECB: bad day {when!r}", source=KEY) from None
        rates: dict[str, Decimal] = {}
        for item in cube:
            currency, rate = item.get("currency", ""), item.get("rate", "")
            if not _CURRENCY.match(currency):
                raise MarketDataError(f"ECB: bad currency {currency!r} on {day}", source=KEY)
            try:
                value = Decimal(rate)
            except InvalidOperation:
                raise MarketDataError(
                    f"ECB: bad rate {rate!r} for {currency}", source=KEY
                ) from None
            if not value.is_finite() or value <= 0:
                raise MarketDataError(f"ECB: bad rate {rate!r} for {currency}", source=KEY)
            rates[currency] = value
        if rates:
            days[day] = ReferenceRates(day, rates)
    if not days:
        raise MarketDataError("ECB: the document holds no rates", source=KEY)
    return [days[d] for d in sorted(days)]


async def fetch_ecb(
    url: str = DAILY_URL, *, client: httpx.AsyncClient | None = None, timeout_s: float = 20.0
) -> list[ReferenceRates]:
    """Fetch and parse an ECB reference-rate document (redirects not followed)."""
    http = client or httpx.AsyncClient(timeout=timeout_s)
    try:
        try:
            response = await http.get(url, timeout=timeout_s, follow_redirects=False)
        except httpx.HTTPError as exc:
            raise MarketDataError(
                f"ECB: could not reach {url} ({type(exc).__name__})", source=KEY
            ) from None
        if response.status_code != 200:
            raise MarketDataError(
                f"ECB: HTTP {response.status_code} from {url}",
                source=KEY,
                status=response.status_code,
            )
        return parse_ecb(response.content)
    finally:
        if client is None:
            await http.aclose()
