"""When a periodic job is next due, and its schedule as a cron expression (for procrastinate)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from croniter import croniter  # type: ignore[import-untyped]

from voltfleet.ports import Cron, Every

_DIVISORS_60 = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60)
_DIVISORS_24 = (1, 2, 3, 4, 6, 8, 12, 24)


def next_due(schedule: Every | Cron, after: datetime) -> datetime:
    """The first instant strictly after ``after`` at which the job is due (UTC)."""
    if isinstance(schedule, Every):
        return after + timedelta(seconds=schedule.seconds)
    start = after.astimezone(UTC)
    due: datetime = croniter(schedule.expression, start).get_next(datetime)
    return due if due.tzinfo else due.replace(tzinfo=UTC)


def _largest_divisor(n: float, divisors: tuple[int, ...]) -> int:
    return max(d for d in divisors if d <= max(n, 1))


def cron_for(schedule: Every | Cron) -> str:
    """A cron expression for the schedule. A period becomes the largest period a cron can keep
    exactly (dividing the minute, hour or day) that is not longer: every 7 s -> every 6 s,
    every 90 s -> every minute; a job never runs less often than asked."""
    if isinstance(schedule, Cron):
        return schedule.expression
    s = schedule.seconds
    if s < 60:
        return f"* * * * * */{_largest_divisor(s, _DIVISORS_60)}"
    if s < 3600:
        return f"*/{_largest_divisor(s / 60, _DIVISORS_60)} * * * *"
    if s < 86400:
        return f"0 */{_largest_divisor(s / 3600, _DIVISORS_24)} * * *"
    return "0 0 * * *"


def validate(schedule: Every | Cron) -> None:
    """Raise ValueError for a cron expression croniter cannot read."""
    if isinstance(schedule, Cron) and not croniter.is_valid(schedule.expression):
        raise ValueError(f"not a cron expression: {schedule.expression!r}")
