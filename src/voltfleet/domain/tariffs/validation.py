"""Tariff validation: every problem named by version, period and slot, with structured fields.

Rules: date periods cover the whole year with no gap and no overlap (they may wrap over the
new year); the slots of each day cover 24 h with no gap and no overlap; prices and formula
terms are finite (negative prices are fine); currencies are ISO 4217 style codes and agree
across the versions of a history. Slot numbers in messages count from 1 in the order given;
``slot_index`` fields count from 0.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from voltfleet.domain.tariffs.calendar import (
    DAY_US,
    LEAP_YEAR_DAYS,
    format_leap_day,
    format_slot,
    format_time_of_day_us,
    is_valid_month_day,
    period_span_days,
    slot_span_us,
)
from voltfleet.domain.tariffs.holidays_calendar import is_supported_region
from voltfleet.domain.tariffs.model import (
    DayKind,
    FixedTariff,
    MarketTariff,
    Tariff,
    TariffHistory,
    TimeSlot,
    TouPeriod,
    TouTariff,
    TouWeekPeriod,
    TouWeekTariff,
)

_CURRENCY = re.compile(r"^[A-Z]{3}$")


class IssueKind(StrEnum):
    GAP = "gap"
    OVERLAP = "overlap"
    EMPTY = "empty"
    INVALID_PRICE = "invalid_price"
    INVALID_DATE = "invalid_date"
    INVALID_TIME = "invalid_time"
    INVALID_CURRENCY = "invalid_currency"
    INVALID_FORMULA = "invalid_formula"
    INVALID_WEEKEND = "invalid_weekend"
    UNKNOWN_HOLIDAY_REGION = "unknown_holiday_region"
    DUPLICATE_NAME = "duplicate_name"
    DUPLICATE_VERSION = "duplicate_version"
    CURRENCY_MISMATCH = "currency_mismatch"


@dataclass(frozen=True, slots=True)
class TariffIssue:
    """One problem in a tariff, ready to be returned by an API.

    ``slot_index``/``other_slot_index`` are 0-based positions in the slot list given;
    ``version_index`` is the 0-based position in ``TariffHistory.versions``.
    """

    kind: IssueKind
    message: str
    period: str | None = None
    day_kind: DayKind | None = None
    slot_index: int | None = None
    other_period: str | None = None
    other_slot_index: int | None = None
    version_index: int | None = None


class TariffValidationError(ValueError):
    """A tariff or history is invalid; ``issues`` lists every problem found."""

    def __init__(self, issues: Sequence[TariffIssue]) -> None:
        if not issues:
            raise ValueError("TariffValidationError needs at least one issue")
        self.issues: tuple[TariffIssue, ...] = tuple(issues)
        super().__init__("; ".join(issue.message for issue in self.issues))

    @property
    def kind(self) -> IssueKind:
        return self.issues[0].kind

    @property
    def period(self) -> str | None:
        return self.issues[0].period

    @property
    def slot_index(self) -> int | None:
        return self.issues[0].slot_index


def tariff_issues(tariff: Tariff) -> tuple[TariffIssue, ...]:
    """All problems of one tariff (empty when valid)."""
    issues: list[TariffIssue] = []
    if not isinstance(tariff.currency, str) or not _CURRENCY.match(tariff.currency):
        issues.append(
            TariffIssue(
                IssueKind.INVALID_CURRENCY,
                f"currency {tariff.currency!r} is not a 3-letter ISO 4217 code",
            )
        )
    if isinstance(tariff, FixedTariff):
        if not _finite(tariff.price_per_kwh):
            issues.append(
                TariffIssue(
                    IssueKind.INVALID_PRICE,
                    f"fixed price {tariff.price_per_kwh!r} is not a finite number",
                )
            )
    elif isinstance(tariff, MarketTariff):
        if tariff.formula is not None and not tariff.formula.is_finite():
            issues.append(
                TariffIssue(IssueKind.INVALID_FORMULA, "price formula terms must be finite numbers")
            )
        elif tariff.formula is not None and tariff.formula.vat_rate < 0:
            issues.append(
                TariffIssue(
                    IssueKind.INVALID_FORMULA,
                    f"vat_rate {tariff.formula.vat_rate} is negative (use a fraction, 0.19 = 19 %)",
                )
            )
    elif isinstance(tariff, TouTariff):
        issues.extend(_period_issues(tariff.periods))
        for period in tariff.periods:
            issues.extend(_slot_issues(period.slots, period.name, DayKind.ALL))
    elif isinstance(tariff, TouWeekTariff):
        issues.extend(_period_issues(tariff.periods))
        for wp in tariff.periods:
            issues.extend(_slot_issues(wp.weekday_slots, wp.name, DayKind.WEEKDAY))
            issues.extend(_slot_issues(wp.weekend_slots, wp.name, DayKind.WEEKEND))
        if not tariff.weekend_days <= frozenset(range(7)):
            issues.append(
                TariffIssue(
                    IssueKind.INVALID_WEEKEND,
                    f"weekend_days {sorted(tariff.weekend_days)} must be weekday numbers 0..6",
                )
            )
        if tariff.holiday_country is not None and not is_supported_region(
            tariff.holiday_country, tariff.holiday_subdivision
        ):
            region = tariff.holiday_country
            if tariff.holiday_subdivision is not None:
                region += f"-{tariff.holiday_subdivision}"
            issues.append(
                TariffIssue(
                    IssueKind.UNKNOWN_HOLIDAY_REGION,
                    f"no public holiday calendar for {region!r}",
                )
            )
    else:  # pragma: no cover - the union is closed
        raise TypeError(f"not a tariff: {tariff!r}")
    return tuple(issues)


def history_issues(history: TariffHistory) -> tuple[TariffIssue, ...]:
    """All problems of a tariff history; messages start with the version at fault."""
    if not history.versions:
        return (TariffIssue(IssueKind.EMPTY, "tariff history has no versions"),)
    issues: list[TariffIssue] = []
    counts = Counter(v.valid_from for v in history.versions)
    currency = history.currency
    for index, version in enumerate(history.versions):
        prefix = f"version {index + 1} (valid from {version.valid_from.isoformat()}): "
        if counts[version.valid_from] > 1:
            issues.append(
                TariffIssue(
                    IssueKind.DUPLICATE_VERSION,
                    prefix + "another version is valid from the same date",
                    version_index=index,
                )
            )
        if version.tariff.currency != currency:
            issues.append(
                TariffIssue(
                    IssueKind.CURRENCY_MISMATCH,
                    prefix + f"currency {version.tariff.currency!r} differs from {currency!r}",
                    version_index=index,
                )
            )
        for issue in tariff_issues(version.tariff):
            issues.append(replace(issue, message=prefix + issue.message, version_index=index))
    return tuple(issues)


def check_tariff(tariff: Tariff) -> None:
    """Raise ``TariffValidationError`` if the tariff has any issue."""
    issues = tariff_issues(tariff)
    if issues:
        raise TariffValidationError(issues)


def check_history(history: TariffHistory) -> None:
    """Raise ``TariffValidationError`` if the history has any issue."""
    issues = history_issues(history)
    if issues:
        raise TariffValidationError(issues)


def _finite(value: float) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _format_period(period: TouPeriod | TouWeekPeriod) -> str:
    return f"period '{period.name}' ({period.start}..{period.end})"


def _period_issues(periods: Sequence[TouPeriod | TouWeekPeriod]) -> list[TariffIssue]:
    if not periods:
        return [TariffIssue(IssueKind.EMPTY, "tariff has no date periods")]
    issues: list[TariffIssue] = []
    for name, count in Counter(p.name for p in periods).items():
        if count > 1:
            issues.append(
                TariffIssue(
                    IssueKind.DUPLICATE_NAME, f"period name '{name}' is used {count} times", name
                )
            )
    for period in periods:
        for label, value in (("start", period.start), ("end", period.end)):
            if not is_valid_month_day(value):
                issues.append(
                    TariffIssue(
                        IssueKind.INVALID_DATE,
                        f"period '{period.name}' {label} {value} is not a day of the year",
                        period.name,
                    )
                )
        if (period.start.month, period.start.day) == (2, 29):
            issues.append(
                TariffIssue(
                    IssueKind.INVALID_DATE,
                    f"period '{period.name}' starts on 02-29; start it on 03-01 "
                    "(a period ending 02-28 runs through 02-29 in leap years)",
                    period.name,
                )
            )
    if issues:
        return issues

    spans = [period_span_days(p.start, p.end) for p in periods]
    order = sorted(range(len(periods)), key=lambda i: (spans[i][0], i))
    for position, index in enumerate(order):
        following = order[(position + 1) % len(order)]
        first, length = spans[index]
        distance = (spans[following][0] - first) % LEAP_YEAR_DAYS
        if distance == 0 and (index == following or position == len(order) - 1):
            distance = LEAP_YEAR_DAYS
        period, other = periods[index], periods[following]
        if length > distance:
            issues.append(
                TariffIssue(
                    IssueKind.OVERLAP,
                    f"{_format_period(other)} overlaps {_format_period(period)}",
                    other.name,
                    other_period=period.name,
                )
            )
        elif length < distance:
            gap_first = first + length
            gap_last = first + distance - 1
            gap = f"{format_leap_day(gap_first)}..{format_leap_day(gap_last)}"
            if index == following:
                message = f"{_format_period(period)} leaves {gap} uncovered"
            else:
                message = (
                    f"date periods leave {gap} uncovered between {_format_period(period)} "
                    f"and {_format_period(other)}"
                )
            issues.append(TariffIssue(IssueKind.GAP, message, other.name, other_period=period.name))
    return issues


def _slot_issues(
    slots: Sequence[TimeSlot], period_name: str, day_kind: DayKind
) -> list[TariffIssue]:
    kind_text = "" if day_kind is DayKind.ALL else f"{day_kind.lower()} "
    where = f"period '{period_name}', {kind_text}"
    if not slots:
        return [TariffIssue(IssueKind.EMPTY, f"{where}slot list is empty", period_name, day_kind)]
    issues: list[TariffIssue] = []
    for index, slot in enumerate(slots):
        label = f"{where}slot {index + 1} ({format_slot(slot)})"
        if slot.start.tzinfo is not None or slot.end.tzinfo is not None:
            issues.append(
                TariffIssue(
                    IssueKind.INVALID_TIME,
                    f"{label} must use local wall-clock times without a time zone",
                    period_name,
                    day_kind,
                    index,
                )
            )
        if not _finite(slot.price_per_kwh):
            issues.append(
                TariffIssue(
                    IssueKind.INVALID_PRICE,
                    f"{label} has price {slot.price_per_kwh!r}; prices must be finite numbers",
                    period_name,
                    day_kind,
                    index,
                )
            )
    spans = [slot_span_us(s) for s in slots]
    order = sorted(range(len(slots)), key=lambda i: (spans[i][0], i))
    for position, index in enumerate(order):
        following = order[(position + 1) % len(order)]
        start, length = spans[index]
        distance = (spans[following][0] - start) % DAY_US
        if distance == 0 and (index == following or position == len(order) - 1):
            distance = DAY_US
        slot, other = slots[index], slots[following]
        if length > distance:
            issues.append(
                TariffIssue(
                    IssueKind.OVERLAP,
                    f"{where}slot {following + 1} ({format_slot(other)}) overlaps "
                    f"slot {index + 1} ({format_slot(slot)})",
                    period_name,
                    day_kind,
                    following,
                    period_name,
                    index,
                )
            )
        elif length < distance:
            gap = (
                f"{format_time_of_day_us((start + length) % DAY_US)}-"
                f"{format_time_of_day_us((start + distance) % DAY_US)}"
            )
            if index == following:
                message = f"{where}slot {index + 1} ({format_slot(slot)}) leaves {gap} uncovered"
            else:
                message = (
                    f"{where}slots leave {gap} uncovered between slot {index + 1} "
                    f"({format_slot(slot)}) and slot {following + 1} ({format_slot(other)})"
                )
            issues.append(
                TariffIssue(
                    IssueKind.GAP, message, period_name, day_kind, following, period_name, index
                )
            )
    return issues
