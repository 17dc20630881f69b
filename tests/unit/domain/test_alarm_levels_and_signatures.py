"""The manual's alarm levels over the catalogue, and the alarm webhooks' signatures, retries and
choice of subscriptions (domain/alarms.py, domain/alarm_notifications.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook

from voltfleet.domain.alarm_notifications import (
    Backoff,
    checked_levels,
    new_secret,
    signature,
    signed_headers,
    verify,
    wants,
)
from voltfleet.domain.alarms import (
    CATALOGUE,
    LEVEL_OF_SEVERITY,
    SEVERITY_OF_LEVEL,
    Level,
    Severity,
    codes_matching,
    count_by_level,
    level_of,
    read_level,
)

NOW = datetime(2026, 12, 6, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("severity", "level"),
    [("major", "urgent"), ("minor", "important"), ("warning", "common"), ("bogus", "common")],
)
def test_a_stored_severity_reads_as_the_manuals_level(severity: str, level: str) -> None:
    assert level_of(severity).value == level


def test_every_code_has_a_level_that_agrees_with_its_severity() -> None:
    assert {c.level for c in CATALOGUE.values()} == set(Level)  # all four are in use
    for c in CATALOGUE.values():
        assert SEVERITY_OF_LEVEL[c.level] is c.severity, c.code
        if c.level is not Level.PROMPT:
            assert LEVEL_OF_SEVERITY[c.severity] is c.level, c.code
    assert CATALOGUE["BAT_COMM_LOST"].level is Level.URGENT  # the battery stays idle
    assert CATALOGUE["INV_OVER_TEMPERATURE"].level is Level.IMPORTANT  # output reduced
    assert CATALOGUE["INV_FAN_FAULT"].level is Level.COMMON  # no effect yet
    assert CATALOGUE["INV_EXPORT_LIMITED"].level is Level.PROMPT  # information
    assert [lv.value for lv in Level] == ["urgent", "important", "common", "prompt"]
    assert set(LEVEL_OF_SEVERITY) == set(Severity)


def test_levels_are_read_and_counted() -> None:
    assert read_level(" Urgent ") is Level.URGENT and read_level("major") is None
    assert count_by_level(["urgent", "prompt", "prompt", "x"]) == {
        "urgent": 1,
        "important": 0,
        "common": 0,
        "prompt": 2,
        "total": 3,
    }
    assert checked_levels(["prompt", "URGENT", "urgent"]) == ["urgent", "prompt"]
    with pytest.raises(ValueError, match="unknown level 'loud'"):
        checked_levels(["loud"])
    with pytest.raises(ValueError, match="at least one"):
        checked_levels([])


def test_free_text_finds_codes_by_code_or_title_in_any_language() -> None:
    assert codes_matching("grid") == {"INV_GRID_LOST", "INV_GRID_OVERVOLTAGE", "INV_EXPORT_LIMITED"}
    assert codes_matching("bat_comm") == {"BAT_COMM_LOST"}
    assert codes_matching("Lüfter", {"INV_FAN_FAULT": ["Lüfterfehler"]}) == {"INV_FAN_FAULT"}
    assert codes_matching("nothing like this") == set()


def test_the_signature_matches_the_standard_webhooks_test_vector() -> None:
    # The specification's own example (standard-webhooks, libraries' tests).
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    sig = signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
    assert sig == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_signed_requests_verify_and_tampering_or_replay_does_not() -> None:
    secret = new_secret(bytes(range(24)))
    assert secret.startswith("whsec_")
    body = json.dumps({"type": "alarm.raised"}).encode()
    headers = signed_headers(secret, "d-1", NOW, body)
    assert headers["webhook-timestamp"] == str(int(NOW.timestamp()))
    assert verify(secret, headers, body, NOW + timedelta(minutes=4))
    assert not verify(secret, headers, body + b" ", NOW)  # body changed
    assert not verify(secret, {**headers, "webhook-id": "d-2"}, body, NOW)  # id changed
    assert not verify(new_secret(b"x" * 24), headers, body, NOW)  # another secret
    assert not verify(secret, headers, body, NOW + timedelta(minutes=6))  # a replay, later
    assert not verify(secret, headers, body, NOW - timedelta(minutes=6))  # from the future
    assert not verify(secret, {**headers, "webhook-timestamp": "soon"}, body, NOW)
    assert not verify(secret, {"webhook-id": "d-1"}, body, NOW)  # headers missing
    # Several signatures (a receiver during a secret rotation): one that matches is enough.
    both = {**headers, "webhook-signature": "v1,AAAA " + headers["webhook-signature"]}
    assert verify(secret, both, body, NOW)
    # The reference implementation accepts what we sign (it reads the wall clock).
    now = datetime.now(UTC)
    assert Webhook(secret).verify(body, signed_headers(secret, "d-1", now, body)) == {
        "type": "alarm.raised"
    }


def test_backoff_doubles_up_to_an_hour_then_gives_up() -> None:
    b = Backoff(attempts=8, first=timedelta(seconds=30), longest=timedelta(hours=1))
    delays = [b.next_attempt(n, NOW) for n in range(1, 9)]
    assert [(d - NOW).total_seconds() if d else None for d in delays] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        None,
    ]
    assert Backoff(attempts=20).next_attempt(15, NOW) == NOW + timedelta(hours=1)


@pytest.mark.parametrize(
    ("levels", "sites", "level", "site", "want"),
    [
        (["urgent"], [], "urgent", "s1", True),
        (["urgent"], [], "important", "s1", False),
        (["urgent", "prompt"], ["s1", "s2"], "prompt", "s2", True),
        (["urgent"], ["s1"], "urgent", "s3", False),
        ([], [], "urgent", "s1", False),
    ],
)
def test_a_subscription_wants_its_levels_on_its_sites(
    levels: list[str], sites: list[str], level: str, site: str, want: bool
) -> None:
    assert wants(levels, sites, level, site) is want
