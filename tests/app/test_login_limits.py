"""Sign-in and code limits that an attacker cannot turn against the real user, and that do not
tell who has an account (issue 12, defect 10)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.support.world import PASSWORD, build_world
from voltfleet.app.ratelimit import DelayRule, LoginPacer
from voltfleet.app.runtime import Runtime
from voltfleet.bootstrap import create_app
from voltfleet.store.models import OutboxMail
from voltfleet.usecases.errors import TooMany


@contextmanager
def client_at(app: FastAPI, address: str) -> Iterator[TestClient]:
    with TestClient(app, client=(address, 40000)) as c:
        yield c


def sign_in(c: TestClient, email: str, password: str) -> tuple[int, float]:
    started = time.monotonic()
    r = c.post("/api/v1/auth/token", data={"username": email, "password": password})
    return r.status_code, time.monotonic() - started


def mails_to(runtime: Runtime, email: str) -> list[str]:
    with runtime.db.session() as s:
        return list(s.scalars(select(OutboxMail.body).where(OutboxMail.to == email)))


def test_registration_code_does_not_tell_who_is_registered(
    client: TestClient, runtime: Runtime
) -> None:
    build_world(runtime)
    answers = {}
    for email in ("admin.i1@example.com", "fresh@example.com"):
        r = client.post("/api/v1/auth/register/code", json={"email": email})
        answers[email] = (r.status_code, r.json()["detail"].replace(email, "<email>"))
    assert answers["admin.i1@example.com"] == answers["fresh@example.com"]
    assert answers["fresh@example.com"][0] == 202
    # The registered person is told, and gets no code; the new address gets one.
    (notice,) = mails_to(runtime, "admin.i1@example.com")
    assert "already has one" in notice and "Your code is" not in notice
    assert "Your code is" in mails_to(runtime, "fresh@example.com")[0]
    # Registering a taken address with a guessed code is the same refusal as for a free one.
    for email in ("admin.i1@example.com", "other@example.com"):
        r = client.post(
            "/api/v1/auth/register",
            json={
                "account_type": "owner",
                "email": email,
                "code": "123456",
                "password": "Fresh#123",
                "username": "x",
                "access_code": "NOSUCHCODE",
            },
        )
        assert r.status_code == 400, r.text


def test_registration_code_is_limited_per_email_and_per_address(
    client: TestClient, runtime: Runtime
) -> None:
    build_world(runtime)
    for email in ("admin.i1@example.com", "fresh@example.com"):
        statuses = [
            client.post("/api/v1/auth/register/code", json={"email": email}).status_code
            for _ in range(6)
        ]
        assert statuses == [202] * 5 + [429], email
    runtime.limiter.reset()
    # 20 an hour from one client address, whatever the emails.
    statuses = [
        client.post("/api/v1/auth/register/code", json={"email": f"n{i}@example.com"}).status_code
        for i in range(21)
    ]
    assert statuses == [202] * 20 + [429]


def test_attacks_on_an_account_slow_it_down_but_do_not_lock_out_its_owner(
    app: FastAPI, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_world(runtime)
    monkeypatch.setattr(runtime.settings, "login_delay_base_s", 0.3)
    monkeypatch.setattr(runtime.settings, "login_delay_max_s", 1.2)
    victim = "om.i1@example.com"
    with client_at(app, "198.51.100.1") as attacker:
        got = [sign_in(attacker, victim, "Wrong#123")[0] for _ in range(5)]
        fifth_done = time.monotonic()
        got += [sign_in(attacker, victim, "Wrong#123")[0]]
        # The hard limit is keyed on the account and the address: it stops this address ...
        assert got == [401] * 5 + [429]
        assert sign_in(attacker, victim, PASSWORD)[0] == 429
    with client_at(app, "198.51.100.2") as attacker:
        # ... while the account's further checks, from anywhere, are spaced 0.3 s, then 0.6 s
        # apart (and 1.2 s after 7 failures) instead of locked.
        assert [sign_in(attacker, victim, "Wrong#123")[0] for _ in range(2)] == [401, 401]
    with client_at(app, "192.0.2.7") as owner:
        # The owner, from their own address, still signs in, after the current delay.
        assert sign_in(owner, victim, PASSWORD)[0] == 200
        assert time.monotonic() - fifth_done >= 0.3 + 0.6 + 1.2 - 0.1
        # A success clears the account's failures: no more delay.
        status, took = sign_in(owner, victim, PASSWORD)
        assert status == 200 and took < 1.0


def test_login_pacer_spaces_attempts_and_refuses_a_long_queue() -> None:
    rule = DelayRule(free=2, base_s=1.0, max_s=4.0, window_s=60.0)
    pacer = LoginPacer()
    for _ in range(2):
        assert pacer.reserve("a", rule, now=0.0) == 0.0
        pacer.failed("a", rule, now=0.0)
    # Two failures: each further check is booked 1 s after the previous one ...
    waits = [pacer.reserve("a", rule, now=0.0) for _ in range(4)]
    assert waits == [1.0, 2.0, 3.0, 4.0]
    # ... and one that would wait more than max_s is refused, without being checked.
    with pytest.raises(TooMany) as refused:
        pacer.reserve("a", rule, now=0.0)
    assert refused.value.retry_after_s >= 1
    # Delays double with the failures, up to max_s; old failures leave the window.
    assert [rule.delay_s(n) for n in range(2, 7)] == [1.0, 2.0, 4.0, 4.0, 4.0]
    assert pacer.reserve("b", rule, now=0.0) == 0.0
    pacer.failed("a", rule, now=100.0)
    assert pacer.reserve("a", rule, now=100.0) == 0.0


def test_forwarded_for_is_believed_from_configured_proxies_only(runtime: Runtime) -> None:
    proxied = create_app(
        runtime.settings.model_copy(update={"trusted_proxies": "10.1.1.1, 10.9.0.0/16"}),
        runtime,
        migrate=False,
    )

    def statuses(peer: str) -> list[int]:
        runtime.limiter.reset()
        with client_at(proxied, peer) as c:
            return [
                c.post(
                    "/api/v1/auth/token",
                    data={"username": f"nobody{i}@example.com", "password": "Wrong#123"},
                    headers={"X-Forwarded-For": f"203.0.113.{i + 1}"},
                ).status_code
                for i in range(31)
            ]

    assert statuses("10.1.1.1") == [401] * 31  # a proxy: each forwarded address counts alone
    assert statuses("10.9.3.4") == [401] * 31  # in a trusted network
    assert statuses("10.2.2.2") == [401] * 30 + [429]  # anyone else: the header is ignored
