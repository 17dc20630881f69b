"""The one instant parser (domain.instants) over every offset (-23:59 .. +23:59) and every year:
it either gives an aware UTC instant inside the supported range, whose local time in any offset
is representable, or refuses with a sentence; it never raises anything but InstantError."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from voltfleet.domain.instants import (
    EARLIEST,
    LATEST,
    InstantError,
    Problem,
    check_instant,
    parse_instant,
    read_instant,
    to_utc,
)
from voltfleet.protocols.ocpp.v16_words import parse_timestamp

offsets = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda m: timedelta(minutes=m))
walls = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59))


def _offset_text(offset: timedelta) -> str:
    minutes = int(offset / timedelta(minutes=1))
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _utc_wall(wall: datetime, offset: timedelta) -> datetime | None:
    """The UTC wall time, computed without datetime (None when outside years 1..9999)."""
    try:
        return wall - offset
    except OverflowError:
        return None


@settings(max_examples=3000, deadline=None)
@given(wall=walls, offset=offsets)
@example(wall=datetime(9999, 12, 31, 23, 59, 59), offset=-timedelta(minutes=23 * 60 + 59))
@example(wall=datetime(1, 1, 1), offset=timedelta(hours=1))
@example(wall=datetime(1, 1, 2), offset=timedelta(0))
@example(wall=datetime(9999, 12, 30, 23, 59, 59), offset=timedelta(0))
def test_every_offset_and_year_gives_an_instant_in_range_or_a_sentence(
    wall: datetime, offset: timedelta
) -> None:
    text = wall.isoformat() + _offset_text(offset)
    utc = _utc_wall(wall, offset)
    inside = utc is not None and EARLIEST.replace(tzinfo=None) <= utc <= LATEST.replace(tzinfo=None)
    try:
        got = parse_instant(text)
    except InstantError as exc:
        assert not inside
        assert exc.problem is Problem.OUT_OF_RANGE
        assert "outside the supported range" in str(exc) and text in str(exc)
        assert parse_timestamp(text) is None
        return
    assert inside and utc is not None
    assert got.tzinfo is UTC and got.replace(tzinfo=None) == utc
    # Everything the platform does with an instant later stays representable.
    extreme = timedelta(hours=24) - timedelta(microseconds=1)
    for zone_offset in (-extreme, -timedelta(hours=14), timedelta(0), timedelta(hours=14), extreme):
        got.astimezone(timezone(zone_offset))
    assert got.astimezone(UTC) == got
    assert parse_timestamp(text) == got
    assert read_instant(text) == got and to_utc(read_instant(text)) == got


@settings(max_examples=500, deadline=None)
@given(text=st.text(max_size=40))
def test_any_text_is_an_instant_or_an_instant_error(text: str) -> None:
    try:
        got = parse_instant(text)
    except InstantError as exc:
        assert str(exc)
        return
    assert got.tzinfo is UTC and EARLIEST <= got <= LATEST


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("9999-12-31T23:59:59-23:59", Problem.OUT_OF_RANGE),
        ("0001-01-01T00:00:00+01:00", Problem.OUT_OF_RANGE),
        ("0001-01-01T00:00:00Z", Problem.OUT_OF_RANGE),  # its local time in UTC-1 is year 0
        ("9999-12-31T00:00:00+00:00", Problem.OUT_OF_RANGE),
        ("2026-03-01T12:00:00", Problem.NAIVE),
        ("yesterday", Problem.MALFORMED),
        ("2026-03-01T12:00:00+24:00", Problem.MALFORMED),
        ("", Problem.MALFORMED),
    ],
)
def test_refusals_name_their_problem(text: str, problem: Problem) -> None:
    with pytest.raises(InstantError) as caught:
        parse_instant(text)
    assert caught.value.problem is problem


def test_read_instant_keeps_the_offset_and_lets_a_naive_one_through() -> None:
    assert read_instant("2026-03-01T13:00:00+01:00").utcoffset() == timedelta(hours=1)
    assert read_instant("2026-03-01T13:00:00").tzinfo is None
    with pytest.raises(InstantError):
        read_instant("9999-12-31T23:00:00")  # naive, but not readable in every zone
    assert parse_instant("2026-03-01T13:00:00+01:00") == datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_check_instant_on_made_datetimes() -> None:
    far = datetime(9999, 12, 31, 23, 59, tzinfo=timezone(-timedelta(hours=23, minutes=59)))
    with pytest.raises(InstantError, match="outside the supported range"):
        check_instant(far)
    with pytest.raises(InstantError):
        to_utc(datetime(2026, 1, 1))
    assert check_instant(EARLIEST) is EARLIEST and check_instant(LATEST) is LATEST
