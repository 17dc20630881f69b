"""ENTSO-E Transparency Platform: day-ahead prices (document type A44), EUR/MWh in XML.

Request: ``GET https://web-api.tp.entsoe.eu/api?securityToken=...&documentType=A44&in_Domain=EIC
&out_Domain=EIC&periodStart=yyyyMMddHHmm&periodEnd=yyyyMMddHHmm`` (UTC, at most one year).

Answer: a ``Publication_MarketDocument`` with one ``TimeSeries`` per delivery day (currency in
``currency_Unit.name``, ``price_Measure_Unit.name`` MWH), each with ``Period`` elements
(``timeInterval`` start/end in UTC, ``resolution`` PT15M/PT30M/PT60M) holding ``Point`` elements
(``position`` from 1, ``price.amount``). With curve type A03 a position left out repeats the price
before it, up to the end of the period; with A01 every position must be there. When nothing
matches, the API answers with an ``Acknowledgement_MarketDocument`` whose ``Reason/text`` says why.

Why no library: entsoe-py's parser needs pandas, lxml and bs4 and is driven through its client
object; the A44 shape is small, so the standard library's ElementTree does it in ~100 lines.
Namespaces differ between document versions (publicationdocument:7:0, 7:3, ...), so elements are
matched by local name. Expat (>= 2.4.1) limits entity expansion and ElementTree never fetches
external entities; documents carrying a DOCTYPE are refused anyway, since the API sends none.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from voltfleet.market.base import (
    MarketDataError,
    MarketPrice,
    NoDataError,
    PriceRequest,
    SourceSettings,
    make_price,
    merge_prices,
    require_utc,
)

KEY = "entsoe"
DEFAULT_BASE_URL = "https://web-api.tp.entsoe.eu"
PATH = "/api"
MAX_WINDOW = timedelta(days=365)
NO_DATA_CODE = "999"

_EIC = re.compile(r"^[0-9A-Z][0-9A-Z-]{14}[0-9A-Z]$")
_RESOLUTION = re.compile(r"^PT(\d+)([MH])$")
_PER_KWH = {"MWH": 1000.0, "KWH": 1.0}


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if _local(child.tag) == name]


def _child(element: ET.Element, name: str, where: str) -> ET.Element:
    for child in element:
        if _local(child.tag) == name:
            return child
    raise MarketDataError(f"ENTSO-E {where} has no {name}", source=KEY)


def _text(element: ET.Element, name: str, where: str) -> str:
    text = (_child(element, name, where).text or "").strip()
    if not text:
        raise MarketDataError(f"ENTSO-E {where} has an empty {name}", source=KEY)
    return text


def _optional_text(element: ET.Element, name: str) -> str | None:
    found = _children(element, name)
    if not found:
        return None
    return (found[0].text or "").strip() or None


def _instant(text: str, where: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise MarketDataError(f"ENTSO-E {where} has a bad time {text!r}", source=KEY) from None
    if value.tzinfo is None:
        raise MarketDataError(f"ENTSO-E {where} time {text!r} has no UTC offset", source=KEY)
    return value.astimezone(UTC)


def _resolution(text: str, where: str) -> timedelta:
    match = _RESOLUTION.match(text)
    if not match or int(match.group(1)) == 0:
        raise MarketDataError(f"ENTSO-E {where} has an unsupported resolution {text!r}", source=KEY)
    amount = int(match.group(1))
    return timedelta(minutes=amount) if match.group(2) == "M" else timedelta(hours=amount)


def _root(payload: bytes) -> ET.Element:
    if not payload.strip():
        raise MarketDataError("ENTSO-E payload is empty", source=KEY)
    if b"<!DOCTYPE" in payload[:4096].upper():
        raise MarketDataError("ENTSO-E payload has a DOCTYPE; refused", source=KEY)
    try:
        return ET.fromstring(payload)
    except ET.ParseError as exc:
        raise MarketDataError(
            f"ENTSO-E payload is not well-formed XML: {exc}", source=KEY
        ) from None


def _raise_acknowledgement(root: ET.Element) -> None:
    reasons = _children(root, "Reason")
    texts = [_optional_text(r, "text") or f"code {_optional_text(r, 'code')}" for r in reasons]
    codes = {_optional_text(r, "code") for r in reasons}
    message = "; ".join(" ".join(t.split()) for t in texts) or "no reason given"
    error = (
        NoDataError if NO_DATA_CODE in codes or "No matching data" in message else MarketDataError
    )
    raise error(f"ENTSO-E acknowledgement instead of prices: {message}", source=KEY)


def _period_prices(
    period: ET.Element, curve: str, currency: str, factor: float, where: str
) -> list[MarketPrice]:
    interval = _child(period, "timeInterval", where)
    start = _instant(_text(interval, "start", where), where)
    end = _instant(_text(interval, "end", where), where)
    step = _resolution(_text(period, "resolution", where), where)
    slots, remainder = divmod(end - start, step)
    if end <= start or remainder:
        raise MarketDataError(
            f"ENTSO-E {where}: {start}..{end} is not a whole number of {step}", source=KEY
        )
    amounts: dict[int, float] = {}
    for point in _children(period, "Point"):
        raw_position, raw_amount = (
            _text(point, "position", where),
            _text(point, "price.amount", where),
        )
        try:
            position, amount = int(raw_position), float(raw_amount)
        except ValueError:
            raise MarketDataError(
                f"ENTSO-E {where}: bad Point {raw_position!r}: {raw_amount!r}", source=KEY
            ) from None
        if not 1 <= position <= slots:
            raise MarketDataError(
                f"ENTSO-E {where}: position {position} is outside 1..{slots}", source=KEY
            )
        if position in amounts:
            raise MarketDataError(f"ENTSO-E {where}: position {position} repeats", source=KEY)
        amounts[position] = amount
    if 1 not in amounts:
        raise MarketDataError(f"ENTSO-E {where} has no Point at position 1", source=KEY)
    missing = [p for p in range(1, slots + 1) if p not in amounts]
    if missing and curve != "A03":
        raise MarketDataError(
            f"ENTSO-E {where} (curve {curve}) misses positions {missing[:10]}", source=KEY
        )
    prices, amount = [], amounts[1]
    for position in range(1, slots + 1):
        amount = amounts.get(position, amount)  # A03: a missing position repeats the price before
        begin = start + (position - 1) * step
        prices.append(make_price(begin, begin + step, amount / factor, currency, where, KEY))
    return prices


def _sequence(series: ET.Element) -> int:
    """The classification sequence of a TimeSeries (1 when the document has none)."""
    text = _optional_text(series, "classificationSequence_AttributeInstanceComponent.position")
    if text is None:
        return 1
    if not text.isdigit():
        raise MarketDataError(f"ENTSO-E TimeSeries has a bad classification {text!r}", source=KEY)
    return int(text)


def parse_entsoe(payload: bytes, area: str = "") -> list[MarketPrice]:
    """Day-ahead prices from an A44 document, in currency/kWh, sorted, UTC.

    ``area`` (an EIC code) keeps only the TimeSeries of that bidding zone when given. Where a
    document has several classification sequences, the first (lowest) is taken.
    """
    root = _root(payload)
    kind = _local(root.tag)
    if kind == "Acknowledgement_MarketDocument":
        _raise_acknowledgement(root)
    if kind != "Publication_MarketDocument":
        raise MarketDataError(
            f"ENTSO-E document is a {kind}, not a Publication_MarketDocument", source=KEY
        )
    series = _children(root, "TimeSeries")
    if not series:
        raise MarketDataError("ENTSO-E document has no TimeSeries", source=KEY)
    if area:
        series = [ts for ts in series if _optional_text(ts, "in_Domain.mRID") in (None, area)]
        if not series:
            raise MarketDataError(f"ENTSO-E document has no TimeSeries for area {area}", source=KEY)
    first = min(_sequence(ts) for ts in series)
    prices: list[MarketPrice] = []
    for number, ts in enumerate(series, start=1):
        if _sequence(ts) != first:
            continue
        where = f"TimeSeries {_optional_text(ts, 'mRID') or number}"
        currency = _text(ts, "currency_Unit.name", where).upper()
        unit = _text(ts, "price_Measure_Unit.name", where).upper()
        if unit not in _PER_KWH:
            raise MarketDataError(
                f"ENTSO-E {where} has prices per {unit}, expected MWH", source=KEY
            )
        curve = _optional_text(ts, "curveType") or "A01"
        periods = _children(ts, "Period")
        if not periods:
            raise MarketDataError(f"ENTSO-E {where} has no Period", source=KEY)
        for period in periods:
            prices += _period_prices(period, curve, currency, _PER_KWH[unit], where)
    return merge_prices(prices)


def _stamp(value: datetime) -> str:
    return value.strftime("%Y%m%d%H%M")


class EntsoeSource:
    """ENTSO-E A44 day-ahead prices; ``area`` is the bidding zone's EIC code."""

    key = KEY

    def parse(self, payload: bytes, area: str) -> list[MarketPrice]:
        return parse_entsoe(payload, area)

    def request(
        self, area: str, start: datetime, end: datetime, settings: SourceSettings
    ) -> PriceRequest:
        if not settings.token:
            raise MarketDataError(
                "ENTSO-E needs a security token: set it in the source settings "
                "(request one from the Transparency Platform account page)",
                source=KEY,
            )
        if not _EIC.match(area):
            raise MarketDataError(
                f"ENTSO-E area must be an EIC code like 10Y1001A1001A82H, got {area!r}", source=KEY
            )
        first = require_utc(start, "start").replace(second=0, microsecond=0)
        last = min(require_utc(end, "end"), first + MAX_WINDOW)
        if last > last.replace(second=0, microsecond=0):
            last = last.replace(second=0, microsecond=0) + timedelta(minutes=1)
        params = {
            "securityToken": settings.token,
            "documentType": "A44",
            "in_Domain": area,
            "out_Domain": area,
            "contract_MarketAgreement.type": "A01",
            "periodStart": _stamp(first),
            "periodEnd": _stamp(last),
        }
        base = (settings.base_url or DEFAULT_BASE_URL).rstrip("/")
        return PriceRequest(base + PATH, params, {"Accept": "application/xml"})
