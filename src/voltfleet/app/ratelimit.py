"""Attempt limits (login, mailed codes) with the `limits` library's moving window, in memory.

In-memory is right for one process; several processes behind a proxy would point `limits` at a
shared storage (Redis or memcached) instead.
"""

from __future__ import annotations

import time

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from voltfleet.usecases.errors import TooMany


class AttemptLimiter:
    def __init__(self) -> None:
        self._storage = MemoryStorage()
        self._limiter = MovingWindowRateLimiter(self._storage)

    def hit(self, rule: str, *key: str, message: str) -> None:
        """Count one attempt; raise TooMany when the rule's budget is spent."""
        limit = parse(rule)
        if not self._limiter.hit(limit, *key):
            stats = self._limiter.get_window_stats(limit, *key)
            retry = max(1, int(stats.reset_time - time.time()))
            raise TooMany(f"{message} Try again in {retry} seconds.", retry)

    def reset(self) -> None:
        self._storage.reset()
