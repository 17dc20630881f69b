"""Clocks that satisfy ``voltfleet.ports.Clock``: the wall clock, and one that tests move by hand.

Only the CLI and bootstrap choose a clock; everything else receives one.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class SystemClock:
    """The machine's clock, timezone-aware UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that stands still until it is moved: tests and simulations step time with
    ``advance`` or ``set`` instead of sleeping. Safe to share between threads."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("a clock's instant must be timezone-aware")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("a clock's instant must be timezone-aware")
        with self._lock:
            self._now = instant.astimezone(UTC)
