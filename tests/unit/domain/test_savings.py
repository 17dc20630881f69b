"""Savings: the worked example, export earnings, and the honest extra lines."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.unit.domain.builders import BERLIN, local, whole_year
from voltfleet.domain.accounting import (
    Aggregation,
    CostRates,
    MeterRecord,
    StoredEnergySample,
    accept_batch,
    round_for_display,
    round_money,
    savings_line,
    savings_report,
)
from voltfleet.domain.tariffs import FixedTariff, price_series

IMPORT_TARIFF = whole_year(
    ("00:00", "06:00", 0.10),
    ("06:00", "17:00", 0.16),
    ("17:00", "20:00", 0.35),
    ("20:00", "00:00", 0.40),
)
DAY_START = local("2024-05-01T00:00")
DAY_END = local("2024-05-02T00:00")


def rates(export_price: float | None = None) -> CostRates:
    return CostRates(
        "EUR",
        import_rates=price_series(IMPORT_TARIFF, BERLIN, DAY_START, local("2024-05-03T00:00")),
        export_rates=None
        if export_price is None
        else price_series(
            FixedTariff("EUR", export_price), BERLIN, DAY_START, local("2024-05-03T00:00")
        ),
    )


def meter(
    start: str, end: str, value: float, units: str, direction: str, tariff_rate: str
) -> MeterRecord:
    return MeterRecord(
        "site-1",
        local(start),
        local(end),
        value,
        units,
        direction,
        tariff_rate,
        device_id="battery-1",
    )


# 5.5 kWh imported for 0.64 EUR (4 kWh at 0.10 + 1.5 kWh at 0.16);
# 3.2 kWh supplied worth 1.18 EUR (2 kWh at 0.35 + 1.2 kWh at 0.40).
WORKED_EXAMPLE = [
    *(
        meter(f"2024-05-01T0{h}:00", f"2024-05-01T0{h + 1}:00", 1.0, "KWH", "IMPORT", "IMPORT")
        for h in range(1, 5)
    ),
    meter("2024-05-01T07:00", "2024-05-01T08:00", 1500, "WH", "IMPORT", "IMPORT"),
    meter("2024-05-01T17:00", "2024-05-01T19:00", 1000, "W", "EXPORT", "IMPORT"),
    meter("2024-05-01T20:00", "2024-05-01T21:00", 1.2, "KWH", "EXPORT", "IMPORT"),
]


def test_worked_example_from_the_brief() -> None:
    batch = accept_batch(WORKED_EXAMPLE)
    assert batch.refused == ()
    report = savings_report(batch.accepted, rates(), BERLIN, DAY_START, DAY_END, Aggregation.DAY)
    total = report.total
    assert total.imported_kwh == pytest.approx(5.5)
    assert total.import_cost == pytest.approx(0.64)
    assert total.supplied_kwh == pytest.approx(3.2)
    assert total.supplied_value == pytest.approx(1.18)
    assert total.export_earnings == 0.0
    assert total.savings == pytest.approx(0.54)
    assert total.savings_fraction is not None
    assert round_money(total.savings) == 0.54
    assert round_for_display(total.savings_fraction * 100, 1) == 45.8
    assert [b.label for b in report.buckets] == ["2024-05-01"]
    assert report.buckets[0].savings == total


def test_savings_line_directly() -> None:
    line = savings_line(5.5, 0.64, 3.2, 1.18)
    assert line.savings == pytest.approx(0.54)
    assert line.savings_fraction == pytest.approx(0.54 / 1.18)
    assert line.round_trip_losses_kwh is None
    assert savings_line(0, 0, 0, 0).savings_fraction is None


def test_export_earnings_count_as_avoided_cost() -> None:
    records = [
        *WORKED_EXAMPLE,
        meter("2024-05-01T22:00", "2024-05-01T23:00", 1.0, "KWH", "EXPORT", "EXPORT"),
    ]
    report = savings_report(accept_batch(records).accepted, rates(0.08), BERLIN, DAY_START, DAY_END)
    total = report.total
    assert total.exported_kwh == pytest.approx(1.0)
    assert total.export_earnings == pytest.approx(0.08)
    assert total.savings == pytest.approx(1.18 + 0.08 - 0.64)
    assert total.savings_fraction == pytest.approx((1.18 + 0.08 - 0.64) / (1.18 + 0.08))


def test_honest_lines_stored_energy_and_round_trip_losses() -> None:
    stored = [
        StoredEnergySample(local("2024-05-01T00:00"), 2.0),
        StoredEnergySample(local("2024-05-01T12:00"), 7.0),
        StoredEnergySample(local("2024-05-02T00:00"), 3.0),
    ]
    report = savings_report(
        accept_batch(WORKED_EXAMPLE).accepted,
        rates(),
        BERLIN,
        DAY_START,
        DAY_END,
        stored_energy=stored,
        stored_energy_price_per_kwh=0.10,
    )
    total = report.total
    assert (total.stored_energy_start_kwh, total.stored_energy_end_kwh) == (2.0, 3.0)
    assert total.stored_energy_change_kwh == pytest.approx(1.0)
    assert total.stored_energy_change_value == pytest.approx(0.10)
    # charged 5.5 - discharged 3.2 - 1.0 still stored = 1.3 kWh lost
    assert total.round_trip_losses_kwh == pytest.approx(1.3)
    assert total.savings == pytest.approx(0.54)  # the simple figure is unchanged


def test_per_bucket_lines_add_up_and_unknown_storage_is_none() -> None:
    second_day = [
        meter("2024-05-02T02:00", "2024-05-02T03:00", 2.0, "KWH", "IMPORT", "IMPORT"),
        meter("2024-05-02T18:00", "2024-05-02T19:00", 1.5, "KWH", "EXPORT", "IMPORT"),
        meter("2024-05-02T12:00", "2024-05-02T13:00", 1.0, "KWH", "IMPORT", "LOCAL"),
    ]
    stored = [
        StoredEnergySample(local("2024-05-01T00:00"), 1.0),
        StoredEnergySample(local("2024-05-02T00:00"), 2.0),
    ]
    end: datetime = local("2024-05-03T00:00")
    report = savings_report(
        accept_batch(WORKED_EXAMPLE + second_day).accepted,
        rates(),
        BERLIN,
        DAY_START,
        end,
        Aggregation.DAY,
        stored_energy=stored,
    )
    first, second = (b.savings for b in report.buckets)
    assert second.imported_kwh == pytest.approx(3.0)  # LOCAL and IMPORT add up
    assert second.import_cost == pytest.approx(0.2)  # LOCAL energy is free
    assert second.supplied_value == pytest.approx(1.5 * 0.35)
    assert report.total.savings == pytest.approx(first.savings + second.savings)
    assert first.round_trip_losses_kwh == pytest.approx(5.5 - 3.2 - 1.0)
    assert first.stored_energy_change_value is None  # no price given
    assert second.stored_energy_end_kwh is None  # no sample after the window
    assert second.round_trip_losses_kwh is None
