"""Calendar arithmetic shared by validation and pricing: slot spans, period spans.

Times of day are handled in microseconds since local midnight (``DAY_US`` per day);
days of the year on a leap-year calendar (1..366) so 02-29 has a place.
"""

from __future__ import annotations

from datetime import date, time

from voltfleet.domain.tariffs.model import MonthDay, TimeSlot

DAY_US = 86_400_000_000
"""Microseconds in a 24-hour day."""

LEAP_YEAR_DAYS = 366

_CUMULATIVE_DAYS = (0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335)
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def time_of_day_us(value: time) -> int:
    """Microseconds since midnight of a (naive) ``time``."""
    return ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond


def slot_span_us(slot: TimeSlot) -> tuple[int, int]:
    """(start, length) of a slot in microseconds of the day; ``start == end`` is 24 h."""
    start = time_of_day_us(slot.start)
    end = time_of_day_us(slot.end)
    length = (end - start) % DAY_US
    return start, (length or DAY_US)


def format_time(value: time) -> str:
    """``HH:MM`` (or ``HH:MM:SS``) as a person wrote it."""
    if value.second or value.microsecond:
        return value.strftime("%H:%M:%S")
    return value.strftime("%H:%M")


def format_slot(slot: TimeSlot) -> str:
    return f"{format_time(slot.start)}-{format_time(slot.end)}"


def format_time_of_day_us(value_us: int) -> str:
    """``HH:MM`` for microseconds of the day (``24:00`` for a full day)."""
    minutes, rest = divmod(value_us, 60_000_000)
    hours, minute = divmod(minutes, 60)
    text = f"{hours:02d}:{minute:02d}"
    if rest:
        text += f":{rest // 1_000_000:02d}"
    return text


def is_valid_month_day(value: MonthDay) -> bool:
    return 1 <= value.month <= 12 and 1 <= value.day <= _MONTH_DAYS[value.month - 1]


def leap_day_of_year(month: int, day: int) -> int:
    """Day of the year (1..366) on a leap-year calendar; 03-01 is always day 61."""
    return _CUMULATIVE_DAYS[month - 1] + day


def date_day_of_year(value: date) -> int:
    """Leap-calendar day of year of a real date (so a period lookup never depends on leapness)."""
    return _CUMULATIVE_DAYS[value.month - 1] + value.day


def period_span_days(start: MonthDay, end: MonthDay) -> tuple[int, int]:
    """(first day, length in days) of an inclusive period on the leap calendar.

    An ``end`` of 02-28 runs through 02-29 (end of February in every year).
    """
    first = leap_day_of_year(start.month, start.day)
    last = leap_day_of_year(end.month, end.day)
    if (end.month, end.day) == (2, 28):
        last += 1
    return first, (last - first) % LEAP_YEAR_DAYS + 1


def format_leap_day(day_of_year: int) -> str:
    """``MM-DD`` of a leap-calendar day of year (1..366)."""
    day = (day_of_year - 1) % LEAP_YEAR_DAYS + 1
    for month in range(12, 0, -1):
        if day > _CUMULATIVE_DAYS[month - 1]:
            return f"{month:02d}-{day - _CUMULATIVE_DAYS[month - 1]:02d}"
    raise AssertionError("unreachable")
