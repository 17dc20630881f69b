"""Storing day-ahead prices: from the API, from a recorded payload file, or fetched over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from voltfleet.market import MarketPrice, SourceSettings, fetch_prices, get_source, market_area
from voltfleet.store.tariff_repository import store_market_price_rows


def store(session: Session, source: str, area: str, prices: Sequence[MarketPrice]) -> int:
    """Upsert prices of (source, area); ``area`` is the name tariffs use (e.g. "DE")."""
    return store_market_price_rows(session, source, area, prices)


def source_code(source: str, area: str) -> str:
    """The source's own code for a tariff's area ("DE" -> "DE-LU" at ENTSO-E...)."""
    try:
        return market_area(area).code_for(source)
    except Exception:
        return area  # already the source's own code


def parse_file(source: str, area: str, payload: bytes) -> list[MarketPrice]:
    return get_source(source).parse(payload, source_code(source, area))


def fetch(
    source: str,
    area: str,
    days: int,
    token: str | None = None,
    *,
    now: datetime,
    base_url: str | None = None,
) -> list[MarketPrice]:
    """Today's and the next days' prices (needs the network and, for ENTSO-E, a token); "today"
    is the UTC day of ``now`` (the job's instant, or the CLI's clock); ``base_url`` replaces the
    vendor's scheme and host (a proxy, a mirror)."""
    today = now.astimezone(UTC)
    today = today.replace(hour=0, minute=0, second=0, microsecond=0)
    return asyncio.run(
        fetch_prices(
            source,
            source_code(source, area),
            today - timedelta(days=1),
            today + timedelta(days=days),
            SourceSettings(token=token, base_url=base_url),
        )
    )
