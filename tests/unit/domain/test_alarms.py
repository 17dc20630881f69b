"""domain.alarms: the catalogue, reading events, and the life of an occurrence (table-driven)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from voltfleet.domain.alarms import (
    CATALOGUE,
    AlarmAction,
    AlarmEvent,
    EventRefusal,
    Occurrence,
    Outcome,
    Refusal,
    Severity,
    count_by_severity,
    parse_event,
    replay,
    transition,
)
from voltfleet.domain.fleet import DeviceKind, SiteStatus, site_status

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
T = [NOW - timedelta(minutes=60 - 10 * i) for i in range(6)]  # T[0] < T[1] < ... < NOW


def test_the_catalogue_covers_every_kind_and_severity_with_titles_and_actions() -> None:
    assert len(CATALOGUE) >= 12
    assert {c.device_kind for c in CATALOGUE.values()} == set(DeviceKind)
    assert {c.severity for c in CATALOGUE.values()} == set(Severity)
    for code, c in CATALOGUE.items():
        assert code == c.code and code.isupper() and " " not in code
        assert len(c.title) > 10 and len(c.action) > 30
    assert CATALOGUE["BAT_COMM_LOST"].severity is Severity.MAJOR


def raw(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "device": " BAT-1 ",
        "code": "bat_comm_lost",
        "action": "Raise",
        "ts": "2026-03-02T11:30:00+01:00",
        "message": "  no CAN frames ",
    }
    base.update(kw)
    return base


def test_a_good_event_is_normalised() -> None:
    e = parse_event(raw(), NOW)
    assert e == AlarmEvent(
        "BAT-1",
        "BAT_COMM_LOST",
        AlarmAction.RAISE,
        datetime(2026, 3, 2, 10, 30, tzinfo=UTC),
        "no CAN frames",
    )
    assert isinstance(e, AlarmEvent) and e.severity is Severity.MAJOR
    long = parse_event(raw(message="x" * 900), NOW)
    assert isinstance(long, AlarmEvent) and len(long.message) == 500


@pytest.mark.parametrize(
    ("change", "reason", "words"),
    [
        ({"code": "NOPE"}, Refusal.UNKNOWN_CODE, "not an alarm code"),
        ({"code": ""}, Refusal.BAD_EVENT, "'code' is missing"),
        ({"code": None}, Refusal.BAD_EVENT, "'code' is missing"),
        ({"action": "open"}, Refusal.BAD_ACTION, "'raise' or 'clear'"),
        ({"action": None}, Refusal.BAD_ACTION, "'raise' or 'clear'"),
        ({"ts": "yesterday"}, Refusal.BAD_TIMESTAMP, "not an ISO 8601"),
        ({"ts": "2026-03-02T11:00:00"}, Refusal.BAD_TIMESTAMP, "no UTC offset"),
        ({"ts": None}, Refusal.BAD_TIMESTAMP, "missing"),
        ({"ts": "2026-03-02T12:06:00Z"}, Refusal.IN_FUTURE, "ahead"),
        ({"ts": "2026-01-01T00:00:00Z"}, Refusal.TOO_OLD, "older than 30 days"),
        ({"device": 7}, Refusal.BAD_EVENT, "must be text"),
        ({"message": ["x"]}, Refusal.BAD_EVENT, "must be text"),
    ],
)
def test_bad_events_are_refused_with_a_reason(
    change: dict[str, object], reason: Refusal, words: str
) -> None:
    out = parse_event(raw(**change), NOW)
    assert isinstance(out, EventRefusal) and out.reason is reason and words in out.detail


def ev(action: str, ts: datetime) -> AlarmEvent:
    return AlarmEvent("BAT-1", "BAT_COMM_LOST", AlarmAction(action), ts)


OPEN = Occurrence(T[1])
DONE = Occurrence(T[1], T[3])


@pytest.mark.parametrize(
    ("event", "current", "previous", "outcome"),
    [
        (ev("raise", T[1]), None, None, Outcome.OPENED),
        (ev("raise", T[2]), OPEN, None, Outcome.ALREADY_OPEN),
        (ev("raise", T[0]), OPEN, None, Outcome.ALREADY_OPEN),
        (ev("clear", T[3]), OPEN, None, Outcome.CLEARED),
        (ev("clear", T[1]), OPEN, None, Outcome.CLEARED),  # a blip: raised and cleared at once
        (ev("clear", T[0]), OPEN, None, Outcome.NOT_OPEN),  # older than the open raise
        (ev("clear", T[3]), None, None, Outcome.NOT_OPEN),
        (ev("clear", T[3]), None, DONE, Outcome.ALREADY_CLEARED),
        (ev("raise", T[1]), None, DONE, Outcome.ALREADY_CLEARED),  # a late copy of the raise
        (ev("raise", T[2]), None, DONE, Outcome.ALREADY_CLEARED),
        (ev("raise", T[4]), None, DONE, Outcome.OPENED),  # a new occurrence
        (ev("raise", T[0]), None, DONE, Outcome.OPENED),  # an earlier one, reported late
    ],
)
def test_transition(
    event: AlarmEvent, current: Occurrence | None, previous: Occurrence | None, outcome: Outcome
) -> None:
    assert transition(event, current, previous) is outcome
    assert outcome.changes is (outcome in (Outcome.OPENED, Outcome.CLEARED))


def test_replay_makes_occurrences_and_duplicates_are_harmless() -> None:
    events = [
        ev("clear", T[0]),  # nothing open: ignored
        ev("raise", T[1]),
        ev("raise", T[2]),  # repeat
        ev("clear", T[3]),
        ev("clear", T[3]),  # repeat
        ev("raise", T[1]),  # late copy of the first raise
        ev("raise", T[4]),
        AlarmEvent("BAT-1", "BAT_OVER_TEMPERATURE", AlarmAction.RAISE, T[2]),
    ]
    once = replay(events)
    assert once == {
        ("BAT-1", "BAT_COMM_LOST"): [Occurrence(T[1], T[3]), Occurrence(T[4])],
        ("BAT-1", "BAT_OVER_TEMPERATURE"): [Occurrence(T[2])],
    }
    assert replay(events + events) == once  # everything sent twice: the same result


def test_counts_and_site_status() -> None:
    assert count_by_severity(["major", "warning", "warning", "nonsense"]) == {
        "major": 1,
        "minor": 0,
        "warning": 2,
        "total": 3,
    }
    assert site_status(["online"], major_alarm=True) is SiteStatus.ABNORMAL
    assert site_status(["online"]) is SiteStatus.ONLINE
    assert site_status([], major_alarm=True) is SiteStatus.NO_DEVICE
