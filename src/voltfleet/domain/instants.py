"""Reading an instant that a person or a device wrote: the one parser every edge uses. Pure.

An instant is ISO 8601 text with a UTC offset (``2026-03-01T12:00:00Z``,
``2026-03-01T13:00:00+01:00``). Offsets run from -23:59 to +23:59, so text whose wall time is a
valid date can still name an instant Python cannot hold once its offset is applied
(``9999-12-31T23:59:59-23:59`` is in the year 10000 in UTC, ``0001-01-01T00:00:00+01:00`` in the
year 0). Such text is refused here with a sentence, rather than failing later wherever the instant
is first converted (a quarantine row, a query, a local calendar).

The supported range is ``EARLIEST`` .. ``LATEST`` (UTC): one day inside the years 1..9999, so that
the instant's local time in any zone (offsets within a day) is representable as well.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum

EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
"""The earliest supported instant (inclusive)."""
LATEST = datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC)
"""The latest supported instant (inclusive)."""
_EARLIEST_WALL = EARLIEST.replace(tzinfo=None)
_LATEST_WALL = LATEST.replace(tzinfo=None)
_ZERO = timedelta(0)
_RANGE = f"{EARLIEST.date().isoformat()} .. {LATEST.date().isoformat()}"
_MAX_TEXT = 64  # characters of the text quoted in a message


class Problem(StrEnum):
    MALFORMED = "malformed"  # not ISO 8601 date and time text
    NAIVE = "naive"  # no UTC offset
    OUT_OF_RANGE = "out_of_range"  # outside EARLIEST .. LATEST once its offset is applied


class InstantError(ValueError):
    """Why a text or a datetime is not a supported instant; ``str()`` is a sentence."""

    def __init__(self, problem: Problem, message: str) -> None:
        super().__init__(message)
        self.problem = problem


def _quote(text: str) -> str:
    return repr(text[:_MAX_TEXT] + ("..." if len(text) > _MAX_TEXT else ""))


def _out_of_range(shown: str) -> InstantError:
    return InstantError(
        Problem.OUT_OF_RANGE,
        f"{shown} is outside the supported range {_RANGE} (UTC) once its offset is applied",
    )


def check_instant(ts: datetime, shown: str | None = None) -> datetime:
    """``ts`` unchanged when it is within the supported range: an aware one by its UTC instant,
    a naive one by its wall time (so that reading it in any zone stays representable).
    ``shown``: how to name it in the message (the text it was read from)."""
    offset = ts.utcoffset()
    wall = ts.replace(tzinfo=None)
    if offset is None or offset == _ZERO:
        ok = _EARLIEST_WALL <= wall <= _LATEST_WALL
    else:
        # wall - offset is the UTC wall time; compare without computing it (it may not exist).
        ok = _EARLIEST_WALL + offset <= wall <= _LATEST_WALL + offset if _fits(offset) else False
    if not ok:
        raise _out_of_range(shown if shown is not None else ts.isoformat())
    return ts


def _fits(offset: timedelta) -> bool:
    # EARLIEST and LATEST lie a day inside the representable range and |offset| < 1 day.
    return -timedelta(days=1) < offset < timedelta(days=1)


def read_instant(text: str) -> datetime:
    """The datetime ``text`` writes, as written (its offset kept; a naive one let through for
    the caller to refuse in its own words), once it is known to be ISO 8601 and in range.
    Raises ``InstantError`` (a ``ValueError``)."""
    if not isinstance(text, str):
        raise InstantError(Problem.MALFORMED, f"{text!r} is not ISO 8601 text")
    try:
        ts = datetime.fromisoformat(text)
    except ValueError:
        raise InstantError(
            Problem.MALFORMED,
            f"{_quote(text)} is not an ISO 8601 date and time with a UTC offset"
            " (e.g. 2026-03-01T12:00:00Z)",
        ) from None
    return check_instant(ts, _quote(text))


def parse_instant(text: str) -> datetime:
    """The instant ``text`` names, timezone-aware in UTC. Refuses (``InstantError``) text that
    is not ISO 8601, has no UTC offset, or lies outside ``EARLIEST`` .. ``LATEST``."""
    ts = read_instant(text)
    offset = ts.utcoffset()
    if offset is None:
        raise InstantError(
            Problem.NAIVE, f"{_quote(text)} has no UTC offset (add Z or e.g. +01:00)"
        )
    return (ts.replace(tzinfo=None) - offset).replace(tzinfo=UTC)


def to_utc(ts: datetime) -> datetime:
    """An aware datetime made elsewhere (e.g. by a schema library), checked like
    ``parse_instant`` checks text, in UTC."""
    offset = ts.utcoffset()
    if offset is None:
        raise InstantError(Problem.NAIVE, f"{ts.isoformat()} has no UTC offset")
    check_instant(ts)
    return (ts.replace(tzinfo=None) - offset).replace(tzinfo=UTC)
