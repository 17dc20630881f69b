"""Alarm notifications as data: which subscription wants an alarm, how a webhook body is signed,
and when a failed delivery is tried again.

Pure: no I/O, no clock (``now`` and secrets come in as arguments).

Webhooks are signed as the Standard Webhooks specification says (standardwebhooks.com, used by
Svix, Zapier, Supabase...), so a receiver can verify them with that project's libraries in any
language or with the few lines in docs/alarms.md:

- ``webhook-id``: the delivery's id (the same on every retry, so a receiver can drop repeats);
- ``webhook-timestamp``: the attempt's Unix time in seconds (a receiver refuses one more than
  five minutes away from its clock: a recorded request cannot be replayed later);
- ``webhook-signature``: ``v1,`` and the base64 HMAC-SHA256, keyed with the subscription's
  secret, of ``"{webhook-id}.{webhook-timestamp}.{body}"``.

The secret is ``whsec_`` and base64 of 24 random bytes. Written with the standard library's
``hmac`` (the specification is one line; the reference library is used in the tests to check it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from voltfleet.domain.alarms import Level

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24
TOLERANCE = timedelta(minutes=5)


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after the last attempt


# ---- who wants what -----------------------------------------------------------------------------


def wants(levels: Collection[str], site_ids: Collection[str], level: str, site_id: str) -> bool:
    """Does a subscription to ``levels`` (empty: none) on ``site_ids`` (empty: every site it can
    see) want an alarm of ``level`` at ``site_id``? (Its reach is checked by the store.)"""
    return level in levels and (not site_ids or site_id in site_ids)


def checked_levels(levels: Collection[str]) -> list[str]:
    """The levels asked for, in the manual's order; ``ValueError`` names an unknown one."""
    asked = {str(x).strip().lower() for x in levels}
    unknown = asked - {lvl.value for lvl in Level}
    if unknown:
        raise ValueError(
            f"unknown level {sorted(unknown)[0]!r}: use {', '.join(lvl.value for lvl in Level)}"
        )
    if not asked:
        raise ValueError("choose at least one level")
    return [lvl.value for lvl in Level if lvl.value in asked]


# ---- signatures ---------------------------------------------------------------------------------


def new_secret(random_bytes: bytes) -> str:
    """A secret from ``random_bytes`` (the caller draws them, e.g. ``secrets.token_bytes``)."""
    return SECRET_PREFIX + base64.b64encode(random_bytes).decode()


def _key(secret: str) -> bytes:
    raw = secret.removeprefix(SECRET_PREFIX)
    return base64.b64decode(raw + "=" * (-len(raw) % 4))


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header of ``body`` sent as ``message_id`` at ``timestamp``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(secret: str, message_id: str, now: datetime, body: bytes) -> dict[str, str]:
    """The three headers of a webhook request sent ``now``."""
    ts = int(now.timestamp())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": signature(secret, message_id, ts, body),
    }


def verify(
    secret: str,
    headers: dict[str, str],
    body: bytes,
    now: datetime,
    tolerance: timedelta = TOLERANCE,
) -> bool:
    """Is the request genuine and fresh? (What a receiver does; used by the tests and the demo.)"""
    h = {k.lower(): v for k, v in headers.items()}
    message_id, ts_text, sent = (
        h.get("webhook-id"),
        h.get("webhook-timestamp"),
        h.get("webhook-signature"),
    )
    if not (message_id and ts_text and sent):
        return False
    try:
        ts = int(ts_text)
    except ValueError:
        return False
    if abs(now.timestamp() - ts) > tolerance.total_seconds():
        return False
    want = signature(secret, message_id, ts, body)
    return any(hmac.compare_digest(want, s) for s in sent.split(" ") if s.startswith("v1,"))


# ---- retries ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Backoff:
    """Attempt n (1-based) failed: the next comes ``first * factor**(n-1)`` later, at most
    ``longest``; after ``attempts`` attempts the delivery is given up."""

    attempts: int = 8
    first: timedelta = timedelta(seconds=30)
    factor: float = 2.0
    longest: timedelta = timedelta(hours=1)

    def next_attempt(self, failed_attempts: int, now: datetime) -> datetime | None:
        """When to try again after ``failed_attempts`` failures as of ``now``; None: give up."""
        if failed_attempts >= self.attempts:
            return None
        delay = self.first * (self.factor ** max(failed_attempts - 1, 0))
        return now + min(delay, self.longest)
