"""Mailed codes under parallel guessing (defect 7b of issue 12): the 5-guess limit holds when
40 threads guess at once (it let 6-9 through on PostgreSQL: the count was read, then increased),
and a code is used once even when it is sent many times at once."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from voltfleet.app.auth import codes
from voltfleet.app.runtime import Runtime
from voltfleet.store.models import OutboxMail, VerificationCode
from voltfleet.usecases.errors import AppError

THREADS = 40
EMAIL = "guessed@example.com"


def _issue(runtime: Runtime, purpose: str) -> str:
    with runtime.db.session() as s:
        codes.issue(s, runtime, EMAIL, purpose)
    with runtime.db.session() as s:
        body = s.scalars(select(OutboxMail.body).where(OutboxMail.to == EMAIL)).one()
    return body.split("Your code is ")[1].split()[0]


def _guess_in_parallel(runtime: Runtime, purpose: str, code: str) -> Counter[str]:
    barrier = threading.Barrier(THREADS)

    def guess(_: int) -> str:
        barrier.wait()
        try:
            with runtime.db.session() as s:
                codes.consume(s, runtime, EMAIL, purpose, code)
            return "accepted"
        except AppError as exc:
            return exc.message.split(" (")[0]

    with ThreadPoolExecutor(THREADS) as pool:
        return Counter(pool.map(guess, range(THREADS)))


def _attempts(runtime: Runtime) -> int:
    with runtime.db.session() as s:
        return s.scalars(select(VerificationCode.attempts)).one()


def test_at_most_five_guesses_are_evaluated_under_40_threads(runtime: Runtime) -> None:
    code = _issue(runtime, "reset_password")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    outcomes = _guess_in_parallel(runtime, "reset_password", wrong)
    limit = runtime.settings.verification_code_attempts
    assert outcomes == {"wrong code": limit, "too many wrong codes: ask for a new code": 35}
    assert _attempts(runtime) == limit
    # The right code is refused now: the guesses are spent.
    with runtime.db.session() as s:
        try:
            codes.consume(s, runtime, EMAIL, "reset_password", code)
            raise AssertionError("the right code was accepted after 5 wrong guesses")
        except AppError as exc:
            assert "too many wrong codes" in exc.message


def test_a_code_is_used_once_when_sent_40_times_at_once(runtime: Runtime) -> None:
    code = _issue(runtime, "register")
    outcomes = _guess_in_parallel(runtime, "register", code)
    assert outcomes["accepted"] == 1, outcomes
    assert _attempts(runtime) <= runtime.settings.verification_code_attempts
