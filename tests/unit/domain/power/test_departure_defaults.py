"""Default departures (domain.power.departure_defaults): the card's default before the
connector's, the next such time of day on the site's clock after the start, right across both
DST changes of Europe/Berlin and on the nights whose time happens twice or not at all."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from voltfleet.domain.power.departure_defaults import (
    DepartureDefault,
    choose,
    next_departure,
    parse_time_of_day,
)

BERLIN = ZoneInfo("Europe/Berlin")
SEVEN_THIRTY = time(7, 30)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("start", "at", "want"),
    [
        # an evening plug-in: tomorrow 07:30 CET (06:30 UTC)
        (utc(2026, 12, 6, 18, 0), SEVEN_THIRTY, utc(2026, 12, 7, 6, 30)),
        # after midnight local (23:30 UTC is 00:30 CET the next day): that same local morning
        (utc(2026, 12, 6, 23, 30), SEVEN_THIRTY, utc(2026, 12, 7, 6, 30)),
        # a plug-in before 07:30 local leaves the same morning; exactly at 07:30: the next day
        (utc(2026, 12, 7, 5, 0), SEVEN_THIRTY, utc(2026, 12, 7, 6, 30)),
        (utc(2026, 12, 7, 6, 30), SEVEN_THIRTY, utc(2026, 12, 8, 6, 30)),
        # spring forward (29 March 2026, 02:00 CET -> 03:00 CEST): 07:30 CEST is 05:30 UTC
        (utc(2026, 3, 28, 20, 0), SEVEN_THIRTY, utc(2026, 3, 29, 5, 30)),
        # fall back (25 October 2026, 03:00 CEST -> 02:00 CET): 07:30 CET is 06:30 UTC
        (utc(2026, 10, 24, 19, 0), SEVEN_THIRTY, utc(2026, 10, 25, 6, 30)),
        # 02:30 does not exist on 29 March: the wall clock would show it at 03:30 CEST
        (utc(2026, 3, 28, 22, 0), time(2, 30), utc(2026, 3, 29, 1, 30)),
        # 02:30 happens twice on 25 October: the first (CEST, 00:30 UTC) ...
        (utc(2026, 10, 24, 22, 0), time(2, 30), utc(2026, 10, 25, 0, 30)),
        # ... and the second (CET, 01:30 UTC) for a plug-in between them
        (utc(2026, 10, 25, 0, 45), time(2, 30), utc(2026, 10, 25, 1, 30)),
    ],
)
def test_the_next_time_of_day_on_the_site_clock(start: datetime, at: time, want: datetime) -> None:
    got = next_departure(start, at, BERLIN)
    assert got == want and got.tzinfo is UTC
    assert got.astimezone(BERLIN).time() == at or at == time(2, 30)


def test_a_start_in_another_offset_is_the_same_instant() -> None:
    start = datetime(2026, 3, 28, 21, 0, tzinfo=ZoneInfo("America/New_York"))  # 01:00Z
    assert next_departure(start, SEVEN_THIRTY, BERLIN) == utc(2026, 3, 29, 5, 30)


def test_the_card_comes_before_the_connector() -> None:
    card = DepartureDefault(SEVEN_THIRTY, 20_000)
    connector = DepartureDefault(time(17, 0), 8_000)
    start = utc(2026, 12, 6, 18, 0)
    got = choose(start, BERLIN, card, connector)
    assert got is not None and (got.source, got.energy_need_wh) == ("tag", 20_000)
    got = choose(start, BERLIN, None, connector)
    assert got is not None and got.source == "connector"
    assert got.departure_at == utc(2026, 12, 7, 16, 0)
    assert choose(start, BERLIN, None, None) is None


@pytest.mark.parametrize("text", ["7:30", "07:30", " 23:59 ", "00:00"])
def test_times_of_day(text: str) -> None:
    assert parse_time_of_day(text).strftime("%H:%M") == text.strip().zfill(5)


@pytest.mark.parametrize("text", ["24:00", "07:60", "7.30", "", "07:30:00", "morning"])
def test_bad_times_of_day_say_why(text: str) -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        parse_time_of_day(text)


@pytest.mark.parametrize("wh", [0.0, -1.0, 500_001.0, float("nan")])
def test_an_energy_need_is_positive_and_bounded(wh: float) -> None:
    with pytest.raises(ValueError, match="energy need"):
        DepartureDefault(SEVEN_THIRTY, wh)


def test_a_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_departure(datetime(2026, 12, 6, 18, 0), SEVEN_THIRTY, BERLIN)
