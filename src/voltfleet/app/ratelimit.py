"""Attempt limits (login, mailed codes) with the `limits` library's moving window; and the growing
delay in front of each account's password checks.

Where the counts live is ``Settings.rate_limit_storage``, a `limits` storage URI: ``memory://``
(the default: right for one process) or a storage that several processes share, such as
``redis://host:6379`` (any storage `limits` supports). With a shared storage the attempt budgets
and each account's recent sign-in failures are counted across all API processes, so N processes
do not allow N times the attempts. What stays per process is the queue of an account's booked
password checks (``LoginPacer._last_start``): each process spaces the checks it runs by the
shared failure count, so with N processes an account under attack gets at most N checks per
delay, still bounded and still doubling.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass

from limits import RateLimitItemPerSecond, parse
from limits.storage import MemoryStorage, Storage, storage_from_string
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


class SharedFailures:
    """An account's recent sign-in failures in a shared `limits` storage: a moving window as long
    as the rule's, whose hits are the failures (its budget is only a ceiling on the count)."""

    CEILING = 10_000
    KEY = "login-failures"

    def __init__(self, storage: Storage) -> None:
        self._limiter = MovingWindowRateLimiter(storage)

    def _window(self, rule: DelayRule) -> RateLimitItemPerSecond:
        return RateLimitItemPerSecond(self.CEILING, max(1, round(rule.window_s)))

    def count(self, account: str, rule: DelayRule) -> int:
        stats = self._limiter.get_window_stats(self._window(rule), self.KEY, account)
        return self.CEILING - stats.remaining

    def add(self, account: str, rule: DelayRule) -> None:
        self._limiter.hit(self._window(rule), self.KEY, account)

    def clear(self, account: str, rule: DelayRule) -> None:
        self._limiter.clear(self._window(rule), self.KEY, account)


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

    def __init__(self, shared: SharedFailures | None = None) -> None:
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}  # when not shared
        self._last_start: dict[str, float] = {}  # the latest booked check
        self.shared = shared

    def _recent(self, account: str, rule: DelayRule, now: float) -> int:
        if self.shared is not None:
            return self.shared.count(account, rule)
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
        if self.shared is not None:
            self.shared.add(account, rule)
            return
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._failures) > self.MAX_ACCOUNTS:  # forget accounts nobody tries any more
                for name in [a for a in self._failures if not self._recent(a, rule, now)]:
                    self._failures.pop(name, None)
                    self._last_start.pop(name, None)
            self._failures.setdefault(account, deque()).append(now)

    def succeeded(self, account: str, rule: DelayRule | None = None) -> None:
        if self.shared is not None:
            self.shared.clear(account, rule or DelayRule())
        with self._lock:
            self._failures.pop(account, None)
            self._last_start.pop(account, None)

    def reset(self) -> None:
        with self._lock:
            self._failures.clear()
            self._last_start.clear()


class AttemptLimiter:
    def __init__(self, storage_uri: str = "memory://") -> None:
        """``storage_uri``: where the counts live (see the module's docstring)."""
        self.storage_uri = storage_uri
        shared = not storage_uri.startswith("memory://")
        self._storage: Storage = storage_from_string(storage_uri) if shared else MemoryStorage()
        self._limiter = MovingWindowRateLimiter(self._storage)
        self.logins = LoginPacer(SharedFailures(self._storage) if shared else None)

    def reachable(self) -> bool:
        """Whether the storage answers (always, in memory)."""
        try:
            return bool(self._storage.check())
        except Exception:  # a driver's connection error: not reachable
            return False

    def hit(self, rule: str, *key: str, message: str) -> None:
        """Count one attempt; raise TooMany when the rule's budget is spent."""
        limit = parse(rule)
        if not self._limiter.hit(limit, *key):
            stats = self._limiter.get_window_stats(limit, *key)
            raise too_many(message, stats.reset_time - time.time())

    def reset(self) -> None:
        self._storage.reset()
        self.logins.reset()
