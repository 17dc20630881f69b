"""Rate limits and sign-in failures shared by several API processes through a real Redis
(``VOLTFLEET_RATE_LIMIT_STORAGE``): N processes do not allow N times the attempts. Two
runtimes on one database stand for two processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from tests.app.test_login_limits import client_at, sign_in
from tests.conftest import test_settings as settings_for
from tests.support.redis_server import redis_server
from voltfleet.app.ratelimit import AttemptLimiter, DelayRule
from voltfleet.bootstrap import build_runtime, create_app


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


def two_processes(tmp_path: Path, storage: str) -> tuple[FastAPI, FastAPI]:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    apps = []
    for name in ("a", "b"):
        settings = settings_for(tmp_path / name, url)
        settings.rate_limit_storage = storage
        runtime = build_runtime(settings)
        runtime.limiter.reset()
        apps.append(create_app(runtime=runtime))
    return apps[0], apps[1]


def failures_from(app: FastAPI, address: str, count: int, start: int) -> list[int]:
    with client_at(app, address) as c:  # a different unknown account each time: no pacing
        return [sign_in(c, f"nobody{start + i}@example.com", "Wrong#123")[0] for i in range(count)]


def test_the_address_budget_is_shared_by_the_processes(redis_url: str, tmp_path: Path) -> None:
    a, b = two_processes(tmp_path / "shared", redis_url)
    assert failures_from(a, "203.0.113.9", 15, 0) == [401] * 15
    assert failures_from(b, "203.0.113.9", 15, 15) == [401] * 15
    assert failures_from(a, "203.0.113.9", 1, 30) == [429]  # the 31st, counted across both
    assert failures_from(b, "203.0.113.10", 1, 31) == [401]  # another address is not affected


def test_in_memory_each_process_counts_alone(tmp_path: Path) -> None:
    a, b = two_processes(tmp_path / "memory", "memory://")
    assert failures_from(a, "203.0.113.9", 15, 0) == [401] * 15
    assert failures_from(b, "203.0.113.9", 15, 15) == [401] * 15
    assert failures_from(a, "203.0.113.9", 1, 30) == [401]  # what the shared storage prevents


def test_an_accounts_failures_slow_it_down_in_every_process(redis_url: str) -> None:
    rule = DelayRule(free=2, base_s=1.0, max_s=4.0, window_s=60.0)
    a, b = AttemptLimiter(redis_url), AttemptLimiter(redis_url)
    a.reset()
    assert a.reachable() and b.reachable()
    for _ in range(3):
        a.logins.failed("victim@example.com", rule)
    assert b.logins.reserve("victim@example.com", rule) == 0.0  # the first check: booked now
    assert b.logins.reserve("victim@example.com", rule) == pytest.approx(2.0, abs=0.1)
    assert b.logins.reserve("other@example.com", rule) == 0.0
    b.logins.succeeded("victim@example.com", rule)  # the right password, in process b
    assert a.logins.shared is not None
    assert a.logins.shared.count("victim@example.com", rule) == 0


def test_an_unreachable_storage_is_reported() -> None:
    assert not AttemptLimiter("redis://127.0.0.1:1/0").reachable()
