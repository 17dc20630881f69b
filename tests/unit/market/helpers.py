"""Shared by the market tests: fixture bytes, UTC times and series checks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

from voltfleet.market import MarketPrice

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "market"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def assert_series(prices: Sequence[MarketPrice], step: timedelta, currency: str) -> None:
    """Contiguous, sorted, one resolution, one currency, UTC."""
    assert prices, "no prices"
    for price in prices:
        assert price.start.utcoffset() == timedelta(0)
        assert price.end - price.start == step
        assert price.currency == currency
    for before, after in pairwise(prices):
        assert before.end == after.start
