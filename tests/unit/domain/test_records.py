"""Meter records: validation with reasons, unit normalisation, de-duplication."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest

from tests.unit.domain.builders import utc
from voltfleet.domain.accounting import (
    EnergyUnit,
    MeterColumns,
    MeterRecord,
    RefusalCode,
    TariffRate,
    accept_batch,
    check_record,
    deduplicate,
    energy_wh,
    normalise_record,
)
from voltfleet.domain.tariffs import Direction

T0 = utc("2024-05-01T00:00")


def record(
    minutes: float = 15,
    value: object = 1.0,
    units: str = "KWH",
    direction: str = "IMPORT",
    tariff_rate: str = "IMPORT",
    ref: str | None = None,
    start: datetime = T0,
    site_id: str = "site-1",
) -> MeterRecord:
    return MeterRecord(
        site_id=site_id,
        start=start,
        end=start + timedelta(minutes=minutes),
        value=value,  # type: ignore[arg-type]
        units=units,
        direction=direction,
        tariff_rate=tariff_rate,
        record_reference_id=ref,
    )


@pytest.mark.parametrize(
    ("value", "units", "minutes", "expected_wh"),
    [
        (300, "WH", 15, 300.0),
        (1.5, "KWH", 15, 1500.0),
        (1000, "W", 15, 250.0),  # average power over a quarter hour
        (2, "KW", 30, 1000.0),
        (0.0, "KW", 60, 0.0),
        (2, "kWh", 60, 2000.0),  # units are case-insensitive
    ],
)
def test_units_are_normalised_to_wh(
    value: float, units: str, minutes: int, expected_wh: float
) -> None:
    interval = normalise_record(record(minutes, value, units))
    assert interval.energy_wh == pytest.approx(expected_wh)
    assert interval.direction is Direction.IMPORT
    assert interval.tariff_rate is TariffRate.IMPORT


def test_energy_wh_helper() -> None:
    assert energy_wh(3, EnergyUnit.KW, timedelta(minutes=20)) == pytest.approx(1000.0)


REFUSALS = [
    ("end equals start", record(minutes=0), RefusalCode.END_NOT_AFTER_START, "is not after"),
    ("end before start", record(minutes=-15), RefusalCode.END_NOT_AFTER_START, "is not after"),
    ("negative", record(value=-1.0), RefusalCode.NEGATIVE_VALUE, "negative"),
    ("nan", record(value=math.nan), RefusalCode.NOT_FINITE, "not a finite"),
    ("inf", record(value=math.inf), RefusalCode.NOT_FINITE, "not a finite"),
    ("text value", record(value="12"), RefusalCode.NOT_A_NUMBER, "not a number"),
    ("bool value", record(value=True), RefusalCode.NOT_A_NUMBER, "not a number"),
    ("unknown units", record(units="MWH"), RefusalCode.UNKNOWN_UNITS, "'MWH'"),
    ("unknown direction", record(direction="IN"), RefusalCode.UNKNOWN_DIRECTION, "'IN'"),
    ("unknown tariff rate", record(tariff_rate="FREE"), RefusalCode.UNKNOWN_TARIFF_RATE, "'FREE'"),
    ("too long", record(minutes=32 * 24 * 60), RefusalCode.TOO_LONG, "32 days"),
    ("naive time", record(start=datetime(2024, 5, 1)), RefusalCode.NAIVE_TIME, "no time zone"),
    ("no site", record(site_id=" "), RefusalCode.MISSING_SITE, "site_id"),
]


@pytest.mark.parametrize(("name", "bad", "code", "reason"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refusals_say_why(name: str, bad: MeterRecord, code: RefusalCode, reason: str) -> None:
    refusal = check_record(bad, 7)
    assert refusal is not None
    assert refusal.code is code
    assert reason in refusal.reason
    assert refusal.index == 7
    with pytest.raises(ValueError):
        normalise_record(bad)


def test_31_days_is_allowed_and_limit_is_configurable() -> None:
    assert check_record(record(minutes=31 * 24 * 60)) is None
    refusal = check_record(record(minutes=120), max_duration=timedelta(hours=1))
    assert refusal is not None and refusal.code is RefusalCode.TOO_LONG


def test_deduplicate_by_reference() -> None:
    batch = [normalise_record(record(ref=r)) for r in ("a", "b", "a", None, None, "c")]
    fresh, duplicates = deduplicate(batch, known_refs={"c"})
    assert [i.record_reference_id for i in fresh] == ["a", "b", None, None]
    assert [(d.index, d.record_reference_id, d.already_known) for d in duplicates] == [
        (2, "a", False),
        (5, "c", True),
    ]


def test_accept_batch_reports_positions_in_the_batch() -> None:
    batch = [
        record(ref="r1"),
        record(value=-5, ref="r2"),
        record(ref="r1"),
        record(ref="r2", start=T0 + timedelta(minutes=15)),  # corrected re-send of r2
        record(ref="old"),
    ]
    result = accept_batch(batch, known_refs={"old"})
    assert [i.record_reference_id for i in result.accepted] == ["r1", "r2"]
    assert [(r.index, r.code) for r in result.refused] == [(1, RefusalCode.NEGATIVE_VALUE)]
    assert [(d.index, d.already_known) for d in result.duplicates] == [(2, False), (4, True)]
    resent = accept_batch(batch[:1], known_refs={"r1", "r2"})
    assert resent.accepted == ()
    assert len(resent.duplicates) == 1


def test_columns_from_intervals() -> None:
    intervals = [
        normalise_record(record(direction="EXPORT", tariff_rate="LOCAL", value=2)),
        normalise_record(record(value=1, units="WH")),
    ]
    columns = MeterColumns.from_intervals(intervals)
    assert len(columns) == 2
    assert columns.direction.tolist() == [1, 0]
    assert columns.tariff_rate.tolist() == [2, 0]
    assert columns.energy_wh.tolist() == [2000.0, 1.0]
