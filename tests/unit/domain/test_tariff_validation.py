"""Tariff validation: gaps, overlaps and bad values are named by period and slot."""

from __future__ import annotations

import math
from datetime import UTC, date, time

import pytest

from tests.unit.domain.builders import slots, whole_year
from voltfleet.domain.tariffs import (
    DayKind,
    FixedTariff,
    IssueKind,
    MarketTariff,
    MonthDay,
    PriceFormula,
    Tariff,
    TariffHistory,
    TariffValidationError,
    TariffVersion,
    TimeSlot,
    TouPeriod,
    TouTariff,
    TouWeekPeriod,
    TouWeekTariff,
    check_history,
    check_tariff,
    history_issues,
    tariff_issues,
)

DAY = slots(("00:00", "00:00", 0.3))


def week(
    *periods: TouWeekPeriod, country: str | None = None, subdivision: str | None = None
) -> TouWeekTariff:
    return TouWeekTariff("EUR", periods, country, subdivision)


def season(
    name: str,
    start: str,
    end: str,
    weekday: tuple[TimeSlot, ...] = DAY,
    weekend: tuple[TimeSlot, ...] = DAY,
) -> TouWeekPeriod:
    return TouWeekPeriod(name, MonthDay.parse(start), MonthDay.parse(end), weekday, weekend)


def tou(*periods: tuple[str, str, str]) -> TouTariff:
    return TouTariff(
        "EUR", tuple(TouPeriod(n, MonthDay.parse(a), MonthDay.parse(b), DAY) for n, a, b in periods)
    )


VALID: list[tuple[str, Tariff]] = [
    ("fixed", FixedTariff("EUR", 0.31)),
    ("fixed negative price", FixedTariff("EUR", -0.05)),
    ("market", MarketTariff("EUR", PriceFormula(1.0, 0.02, 0.08, 0.19))),
    ("one slot covering the day", whole_year(("00:00", "00:00", 0.3))),
    ("slots to midnight", whole_year(("00:00", "06:00", 0.2), ("06:00", "00:00", 0.3))),
    ("slot wrapping midnight", whole_year(("22:00", "06:00", 0.2), ("06:00", "22:00", 0.3))),
    ("slots out of order", whole_year(("06:00", "00:00", 0.3), ("00:00", "06:00", 0.2))),
    ("seasons wrapping new year", tou(("summer", "04-01", "09-30"), ("winter", "10-01", "03-31"))),
    ("february ends on 28th", tou(("a", "03-01", "11-30"), ("b", "12-01", "02-28"))),
    ("february ends on 29th", tou(("a", "03-01", "11-30"), ("b", "12-01", "02-29"))),
    (
        "weekday weekend with holidays",
        week(season("all", "01-01", "12-31"), country="DE", subdivision="BY"),
    ),
]


@pytest.mark.parametrize(("name", "tariff"), VALID, ids=[v[0] for v in VALID])
def test_valid_tariffs_have_no_issues(name: str, tariff: Tariff) -> None:
    assert tariff_issues(tariff) == ()
    check_tariff(tariff)


INVALID: list[tuple[str, Tariff, IssueKind, str, str | None, int | None]] = [
    (
        "slot overlap (example from the brief)",
        TouWeekTariff(
            "EUR",
            (
                TouWeekPeriod(
                    "winter",
                    MonthDay(1, 1),
                    MonthDay(12, 31),
                    slots(
                        ("05:00", "07:00", 0.2), ("06:00", "09:00", 0.3), ("09:00", "05:00", 0.25)
                    ),
                    DAY,
                ),
            ),
        ),
        IssueKind.OVERLAP,
        "period 'winter', weekday slot 2 (06:00-09:00) overlaps slot 1 (05:00-07:00)",
        "winter",
        1,
    ),
    (
        "slot gap",
        whole_year(("00:00", "06:00", 0.2), ("07:00", "00:00", 0.3)),
        IssueKind.GAP,
        "period 'year', slots leave 06:00-07:00 uncovered between slot 1 (00:00-06:00) and "
        "slot 2 (07:00-00:00)",
        "year",
        1,
    ),
    (
        "gap before midnight",
        whole_year(("00:00", "06:00", 0.2), ("06:00", "23:00", 0.3)),
        IssueKind.GAP,
        "slots leave 23:00-00:00 uncovered between slot 2 (06:00-23:00) and slot 1 (00:00-06:00)",
        "year",
        0,
    ),
    (
        "single slot short of a day",
        whole_year(("06:00", "22:00", 0.2)),
        IssueKind.GAP,
        "period 'year', slot 1 (06:00-22:00) leaves 22:00-06:00 uncovered",
        "year",
        0,
    ),
    (
        "same start twice",
        whole_year(("00:00", "12:00", 0.2), ("00:00", "00:00", 0.3)),
        IssueKind.OVERLAP,
        "slot 2 (00:00-00:00) overlaps slot 1 (00:00-12:00)",
        "year",
        1,
    ),
    (
        "NaN price",
        whole_year(("00:00", "06:00", math.nan), ("06:00", "00:00", 0.3)),
        IssueKind.INVALID_PRICE,
        "period 'year', slot 1 (00:00-06:00) has price nan; prices must be finite numbers",
        "year",
        0,
    ),
    (
        "infinite price",
        whole_year(("00:00", "06:00", 0.2), ("06:00", "00:00", math.inf)),
        IssueKind.INVALID_PRICE,
        "slot 2 (06:00-00:00) has price inf",
        "year",
        1,
    ),
    (
        "weekend slots gap",
        week(
            season(
                "summer",
                "01-01",
                "12-31",
                weekend=slots(("00:00", "08:00", 0.1), ("09:00", "00:00", 0.2)),
            )
        ),
        IssueKind.GAP,
        "period 'summer', weekend slots leave 08:00-09:00 uncovered",
        "summer",
        1,
    ),
    (
        "empty slot list",
        week(season("summer", "01-01", "12-31", weekday=())),
        IssueKind.EMPTY,
        "period 'summer', weekday slot list is empty",
        "summer",
        None,
    ),
    (
        "period gap",
        tou(("summer", "04-01", "09-29"), ("winter", "10-01", "03-31")),
        IssueKind.GAP,
        "date periods leave 09-30..09-30 uncovered between period 'summer' (04-01..09-29) and "
        "period 'winter' (10-01..03-31)",
        "winter",
        None,
    ),
    (
        "period overlap",
        tou(("summer", "04-01", "10-15"), ("winter", "10-01", "03-31")),
        IssueKind.OVERLAP,
        "period 'winter' (10-01..03-31) overlaps period 'summer' (04-01..10-15)",
        "winter",
        None,
    ),
    (
        "periods do not reach the new year",
        tou(("a", "01-01", "06-30"), ("b", "07-01", "12-30")),
        IssueKind.GAP,
        "12-31..12-31 uncovered",
        "a",
        None,
    ),
    (
        "one period short of a year",
        tou(("a", "01-02", "12-31")),
        IssueKind.GAP,
        "period 'a' (01-02..12-31) leaves 01-01..01-01 uncovered",
        "a",
        None,
    ),
    (
        "impossible date",
        tou(("a", "01-01", "06-31"), ("b", "07-01", "12-31")),
        IssueKind.INVALID_DATE,
        "period 'a' end 06-31 is not a day of the year",
        "a",
        None,
    ),
    (
        "start on leap day",
        tou(("a", "02-29", "12-31"), ("b", "01-01", "02-28")),
        IssueKind.INVALID_DATE,
        "period 'a' starts on 02-29",
        "a",
        None,
    ),
    (
        "duplicate period names",
        tou(("a", "01-01", "06-30"), ("a", "07-01", "12-31")),
        IssueKind.DUPLICATE_NAME,
        "period name 'a' is used 2 times",
        "a",
        None,
    ),
    ("no periods", TouTariff("EUR", ()), IssueKind.EMPTY, "tariff has no date periods", None, None),
    ("bad currency", FixedTariff("euro", 0.3), IssueKind.INVALID_CURRENCY, "'euro'", None, None),
    (
        "NaN fixed price",
        FixedTariff("EUR", math.nan),
        IssueKind.INVALID_PRICE,
        "fixed price nan",
        None,
        None,
    ),
    (
        "NaN formula",
        MarketTariff("EUR", PriceFormula(markup_per_kwh=math.nan)),
        IssueKind.INVALID_FORMULA,
        "formula terms must be finite",
        None,
        None,
    ),
    (
        "negative VAT",
        MarketTariff("EUR", PriceFormula(vat_rate=-0.19)),
        IssueKind.INVALID_FORMULA,
        "vat_rate -0.19 is negative",
        None,
        None,
    ),
    (
        "unknown holiday region",
        week(season("all", "01-01", "12-31"), country="DE", subdivision="XX"),
        IssueKind.UNKNOWN_HOLIDAY_REGION,
        "no public holiday calendar for 'DE-XX'",
        None,
        None,
    ),
]


@pytest.mark.parametrize(
    ("name", "tariff", "kind", "message", "period", "slot_index"),
    INVALID,
    ids=[case[0] for case in INVALID],
)
def test_invalid_tariffs_name_the_fault(
    name: str,
    tariff: Tariff,
    kind: IssueKind,
    message: str,
    period: str | None,
    slot_index: int | None,
) -> None:
    with pytest.raises(TariffValidationError) as caught:
        check_tariff(tariff)
    error = caught.value
    assert message in str(error)
    assert error.kind is kind
    assert error.period == period
    assert error.slot_index == slot_index


def test_overlap_issue_carries_structured_fields() -> None:
    tariff = week(
        season(
            "winter",
            "01-01",
            "12-31",
            weekday=slots(
                ("05:00", "07:00", 0.2), ("06:00", "09:00", 0.3), ("09:00", "05:00", 0.25)
            ),
        )
    )
    (issue,) = tariff_issues(tariff)
    assert issue.kind is IssueKind.OVERLAP
    assert issue.period == "winter"
    assert issue.day_kind is DayKind.WEEKDAY
    assert (issue.slot_index, issue.other_slot_index) == (1, 0)
    assert issue.message == (
        "period 'winter', weekday slot 2 (06:00-09:00) overlaps slot 1 (05:00-07:00)"
    )


def test_every_problem_is_reported() -> None:
    tariff = whole_year(("00:00", "06:00", math.nan), ("07:00", "00:00", 0.3))
    kinds = [issue.kind for issue in tariff_issues(tariff)]
    assert kinds == [IssueKind.INVALID_PRICE, IssueKind.GAP]


def test_history_names_the_version() -> None:
    history = TariffHistory(
        (
            TariffVersion(date(2024, 1, 1), FixedTariff("EUR", 0.3)),
            TariffVersion(date(2024, 7, 1), whole_year(("00:00", "23:00", 0.2))),
            TariffVersion(date(2025, 1, 1), FixedTariff("USD", 0.3)),
        )
    )
    issues = history_issues(history)
    assert [(i.kind, i.version_index) for i in issues] == [
        (IssueKind.CURRENCY_MISMATCH, 0),
        (IssueKind.CURRENCY_MISMATCH, 1),
        (IssueKind.GAP, 1),
    ]
    gap = next(i for i in issues if i.kind is IssueKind.GAP)
    assert gap.message.startswith("version 2 (valid from 2024-07-01): period 'year'")


def test_history_duplicate_dates_and_empty() -> None:
    same_day = TariffHistory(
        (
            TariffVersion(date(2024, 1, 1), FixedTariff("EUR", 0.3)),
            TariffVersion(date(2024, 1, 1), FixedTariff("EUR", 0.4)),
        )
    )
    assert {i.kind for i in history_issues(same_day)} == {IssueKind.DUPLICATE_VERSION}
    with pytest.raises(TariffValidationError, match="no versions"):
        check_history(TariffHistory(()))


def test_time_with_zone_is_refused() -> None:
    zoned = TimeSlot(time(0, tzinfo=UTC), time(0), 0.3)
    bad = TouTariff("EUR", (TouPeriod("year", MonthDay(1, 1), MonthDay(12, 31), (zoned,)),))
    (issue,) = tariff_issues(bad)
    assert issue.kind is IssueKind.INVALID_TIME
    assert issue.slot_index == 0


def test_month_day_parse() -> None:
    assert MonthDay.parse("10-01") == MonthDay(10, 1)
    assert str(MonthDay(3, 5)) == "03-05"
    with pytest.raises(ValueError):
        MonthDay.parse("October")
