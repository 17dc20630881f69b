"""Codes mailed to an address to prove it is yours: issue, then consume once."""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from voltfleet.app.i18n import _
from voltfleet.app.i18n import gettext_noop as N_
from voltfleet.app.runtime import Runtime
from voltfleet.app.security import new_code, sha256
from voltfleet.store.models import VerificationCode
from voltfleet.usecases.errors import Invalid

EXPIRED = "the code has expired or was never requested: ask for a new code"

SUBJECTS = {  # translated when sent (app/i18n.py)
    "register": N_("Your voltfleet registration code"),
    "reset_password": N_("Your voltfleet password reset code"),
    "email_old": N_("Confirm the change of your voltfleet email"),
    "email_new": N_("Confirm your new voltfleet email"),
    "site_delete": N_("A site of yours is about to be deleted: authorisation code"),
}


def count_request(runtime: Runtime, email: str, purpose: str) -> None:
    """Count a request for a code mailed to ``email`` (429 past ``code_limit_per_email``)."""
    runtime.limiter.hit(
        runtime.settings.code_limit_per_email,
        "code",
        purpose,
        email.strip().lower(),
        message="Too many codes were requested for this address.",
    )


def subject(purpose: str) -> str:
    """The subject of a code's mail, in the current language."""
    return _(SUBJECTS[purpose])


def issue(
    session: Session,
    runtime: Runtime,
    email: str,
    purpose: str,
    payload: dict[str, Any] | None = None,
    note: str = "",
) -> None:
    """Mail a fresh code for ``purpose``; ``note`` (optional) says above the code what it is for."""
    email = email.strip().lower()
    count_request(runtime, email, purpose)
    session.execute(
        update(VerificationCode)
        .where(VerificationCode.email == email, VerificationCode.purpose == purpose)
        .values(used=True)
    )
    code = new_code()
    minutes = runtime.settings.verification_code_minutes
    session.add(
        VerificationCode(
            email=email,
            purpose=purpose,
            code_hash=sha256(f"{purpose}:{email}:{code}"),
            expires_at=runtime.clock.now() + timedelta(minutes=minutes),
            payload=payload or {},
        )
    )
    runtime.mailer.send(
        session,
        email,
        subject(purpose),
        (f"{note}\n\n" if note else "")
        + _(
            "Your code is %(code)s\n\nIt is valid for %(minutes)s minutes. "
            "If you did not ask for it, ignore this mail."
        )
        % {"code": code, "minutes": minutes},
    )


def consume(
    session: Session, runtime: Runtime, email: str, purpose: str, code: str
) -> dict[str, Any]:
    """Check a code; returns what was stored with it.

    Every guess counts against the code *before* it is compared, in one atomic statement
    (``UPDATE ... SET attempts = attempts + 1 WHERE attempts < limit RETURNING attempts``), so
    that parallel guesses cannot all read the same count: at most ``verification_code_attempts``
    guesses are ever compared. The count is committed at once, so that the rollback of a refused
    request keeps it; this is the one place a service commits, and it is safe because a code is
    the gate in front of every change its callers make (nothing of theirs is pending here). The
    count is kept on the request's own connection: a second one per guess could exhaust the pool
    under many parallel guesses. The right code is then claimed once (``used`` false -> true).
    """
    email = email.strip().lower()
    row = session.scalar(
        select(VerificationCode)
        .where(
            VerificationCode.email == email,
            VerificationCode.purpose == purpose,
            VerificationCode.used.is_(False),
        )
        .order_by(VerificationCode.created_at.desc())
    )
    if row is None or row.expires_at < runtime.clock.now():
        raise Invalid(EXPIRED)
    limit = runtime.settings.verification_code_attempts
    attempts = session.scalar(
        update(VerificationCode)
        .where(VerificationCode.id == row.id, VerificationCode.attempts < limit)
        .values(attempts=VerificationCode.attempts + 1)
        .returning(VerificationCode.attempts)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if attempts is None:
        raise Invalid("too many wrong codes: ask for a new code")
    if not hmac.compare_digest(row.code_hash, sha256(f"{purpose}:{email}:{code.strip()}")):
        raise Invalid(f"wrong code ({limit - attempts} attempts left)")
    claimed = session.execute(
        update(VerificationCode)
        .where(VerificationCode.id == row.id, VerificationCode.used.is_(False))
        .values(used=True)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise Invalid(EXPIRED)  # used by a parallel request a moment ago
    return dict(row.payload or {})
