"""Attempt limits (login, mailed codes) with the `limits` library's moving window, in memory; and
the growing delay in front of each account's password checks.

In-memory is right for one process; several processes behind a proxy would point `limits` at a
shared storage (Redis or memcached) instead (the delays are then per process too).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from voltfleet.usecases.errors import TooMany


def too_many(message: str, retry_s: float) -> TooMany:
    retry = max(1, math.ceil(retry_s))
    return TooMany(f"{message} Try again in {retry} seconds.", retry)


@dataclass(frozen=True)
class DelayRule:
    """After ``free`` failed sign-ins of an account within ``window_s``, its password checks are
    spaced at least ``base_s`` apart, then twice as far, and so on up to ``max_s`` (one at a time,
    however many arrive together); an attempt that would wait longer than ``max_s`` for its turn is
    refused with 429 without being checked."""

    free: int = 5
    base_s: float = 1.0
    max_s: float = 30.0
    window_s: float = 900.0

    def delay_s(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        return float(min(self.max_s, self.base_s * 2.0 ** min(failures - self.free, 30)))


class LoginPacer:
    """A growing delay per account instead of a lock-out.

    A lock-out that an attacker triggers locks the real person out too (from any address, for the
    whole window). Here an account under attack only slows down: its password checks are spaced by
    a delay that doubles with the recent failures (capped), so guesses per hour stay bounded even
    from many addresses, while the right password from anywhere still gets in after at most the
    current delay. The wait happens asynchronously (no server thread sleeps), and the hard limit
    stays keyed on the account *and* the address (AttemptLimiter), where only the attacker feels it.
    """

    MAX_ACCOUNTS = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}
        self._last_start: dict[str, float] = {}  # the latest booked check

    def _recent(self, account: str, rule: DelayRule, now: float) -> int:
        stamps = self._failures.get(account)
        if not stamps:
            return 0
        while stamps and stamps[0] <= now - rule.window_s:
            stamps.popleft()
        return len(stamps)

    def reserve(self, account: str, rule: DelayRule, now: float | None = None) -> float:
        """Book this attempt's turn: returns the seconds to wait before checking the password;
        raises 429 when the account's queue is longer than ``rule.max_s``."""
        now = time.monotonic() if now is None else now
        with self._lock:
            delay = rule.delay_s(self._recent(account, rule, now))
            last = self._last_start.get(account)
            start = now if last is None else max(now, last + delay)
            wait = start - now
            if wait > rule.max_s:
                raise too_many("Too many sign-in attempts for this account.", wait - rule.max_s)
            self._last_start[account] = start
            return wait

    def failed(self, account: str, rule: DelayRule, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._failures) > self.MAX_ACCOUNTS:  # forget accounts nobody tries any more
                for name in [a for a in self._failures if not self._recent(a, rule, now)]:
                    self._failures.pop(name, None)
                    self._last_start.pop(name, None)
            self._failures.setdefault(account, deque()).append(now)

    def succeeded(self, account: str) -> None:
        with self._lock:
            self._failures.pop(account, None)
            self._last_start.pop(account, None)

    def reset(self) -> None:
        with self._lock:
            self._failures.clear()
            self._last_start.clear()


class AttemptLimiter:
    def __init__(self) -> None:
        self._storage = MemoryStorage()
        self._limiter = MovingWindowRateLimiter(self._storage)
        self.logins = LoginPacer()

    def hit(self, rule: str, *key: str, message: str) -> None:
        """Count one attempt; raise TooMany when the rule's budget is spent."""
        limit = parse(rule)
        if not self._limiter.hit(limit, *key):
            stats = self._limiter.get_window_stats(limit, *key)
            raise too_many(message, stats.reset_time - time.time())

    def reset(self) -> None:
        self._storage.reset()
        self.logins.reset()
