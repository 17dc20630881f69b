"""Validation of readings, table-driven: each bad reading is quarantined with its reason."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from voltfleet.domain.telemetry.points import CATALOGUE, PointKind
from voltfleet.domain.telemetry.readings import Reading, Sample
from voltfleet.domain.telemetry.validate import (
    Limits,
    RawReading,
    Reason,
    Rejection,
    check,
    check_counter,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def raw(point: str = "pv_power_w", value: float = 1.0, unit: str = "W", **kw: object) -> RawReading:
    ts = kw.get("ts", NOW - timedelta(seconds=10))
    assert isinstance(ts, datetime)
    return RawReading(0, "dev", point, ts, value, unit)


@pytest.mark.parametrize(
    ("reading", "reason"),
    [
        (raw(point="magic_w"), Reason.UNKNOWN_POINT),
        (raw(unit="V"), Reason.WRONG_UNIT),
        (raw(unit="w"), Reason.WRONG_UNIT),  # units are case sensitive: mW is not MW
        (raw(value=math.nan), Reason.NOT_A_NUMBER),
        (raw(value=math.inf), Reason.NOT_A_NUMBER),
        (raw(value=-math.inf, point="grid_power_w"), Reason.NOT_A_NUMBER),
        (raw(ts=datetime(2026, 3, 2, 11, 59)), Reason.NAIVE_TIMESTAMP),
        (raw(ts=NOW + timedelta(minutes=5, seconds=1)), Reason.FUTURE_TIMESTAMP),
        (raw(ts=datetime(9999, 1, 1, tzinfo=UTC)), Reason.FUTURE_TIMESTAMP),
        (raw(ts=NOW - timedelta(days=30, seconds=1)), Reason.TOO_OLD),
        (raw(ts=datetime(1970, 1, 1, tzinfo=UTC)), Reason.TOO_OLD),
        (raw(point="pv_energy_wh", value=-0.5, unit="Wh"), Reason.NEGATIVE_COUNTER),
        (raw(point="pv_power_w", value=-10.0), Reason.OUT_OF_RANGE),  # PV power is >= 0
        (raw(point="soc", value=101.0, unit="%"), Reason.OUT_OF_RANGE),
        (raw(point="soc", value=1.01, unit="fraction"), Reason.OUT_OF_RANGE),
        (raw(point="grid_frequency_hz", value=0.0, unit="Hz"), Reason.OUT_OF_RANGE),
        (raw(point="battery_temperature_c", value=500.0, unit="°C"), Reason.OUT_OF_RANGE),
    ],
)
def test_bad_readings_are_rejected_with_their_reason(reading: RawReading, reason: Reason) -> None:
    got = check(reading, NOW)
    assert isinstance(got, Rejection) and got.reason is reason and got.detail


@pytest.mark.parametrize(
    ("reading", "point", "value"),
    [
        (raw(value=1.5, unit="kW"), "pv_power_w", 1500.0),
        (raw(point="grid_power_w", value=-3200.0), "grid_power_w", -3200.0),  # export
        (raw(point="battery_power_w", value=-2.0, unit="kW"), "battery_power_w", -2000.0),
        (raw(point="pv_energy_wh", value=12.5, unit="kWh"), "pv_energy_wh", 12500.0),
        (raw(point="soc", value=55.0, unit="%"), "soc", 0.55),
        (raw(point="soc", value=0.55, unit="fraction"), "soc", 0.55),
        (raw(point="grid_current_a", value=1500.0, unit="mA"), "grid_current_a", 1.5),
        (raw(point="inverter_temperature_c", value=45.0, unit="C"), "inverter_temperature_c", 45.0),
        (raw(ts=NOW + timedelta(minutes=5)), "pv_power_w", 1.0),  # skew within the limit
        (raw(ts=NOW - timedelta(days=29, hours=23)), "pv_power_w", 1.0),  # late but in the window
    ],
)
def test_good_readings_come_out_in_canonical_units(
    reading: RawReading, point: str, value: float
) -> None:
    got = check(reading, NOW)
    assert isinstance(got, Reading)
    assert got.point == point and got.value == pytest.approx(value)
    assert got.ts.tzinfo is UTC


def test_limits_are_configurable_and_offsets_become_utc() -> None:
    limits = Limits(future=timedelta(seconds=30), late_window=timedelta(days=1))
    assert isinstance(check(raw(ts=NOW + timedelta(minutes=1)), NOW, limits), Rejection)
    assert isinstance(check(raw(ts=NOW - timedelta(days=2)), NOW, limits), Rejection)
    from zoneinfo import ZoneInfo

    local = datetime(2026, 3, 2, 12, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    got = check(raw(ts=local), NOW)
    assert isinstance(got, Reading) and got.ts == datetime(2026, 3, 2, 11, 30, tzinfo=UTC)


def test_the_catalogue_names_carry_their_unit() -> None:
    suffix = {
        PointKind.POWER: "_w",
        PointKind.ENERGY: "_wh",
        PointKind.VOLTAGE: "_v",
        PointKind.CURRENT: "_a",
        PointKind.FREQUENCY: "_hz",
        PointKind.TEMPERATURE: "_c",
    }
    for p in CATALOGUE.values():
        if p.kind in suffix:
            assert p.name.endswith(suffix[p.kind]), p.name
        assert p.units[p.unit] == 1.0
    # The sign conventions: grid and battery may go both ways, generation and load may not.
    assert CATALOGUE["grid_power_w"].low < 0 and CATALOGUE["battery_power_w"].low < 0
    assert CATALOGUE["pv_power_w"].low == 0 and CATALOGUE["load_power_w"].low == 0


def T(minutes: int) -> datetime:
    return NOW - timedelta(hours=1) + timedelta(minutes=minutes)


def new(*pairs: tuple[int, float]) -> list[tuple[int, Reading]]:
    return [(i, Reading("m", "pv_energy_wh", T(m), v)) for i, (m, v) in enumerate(pairs)]


@pytest.mark.parametrize(
    ("stored", "incoming", "accepted", "reset"),
    [
        # Rising, nothing stored.
        ([], [(0, 10), (5, 20), (10, 20)], [0, 1, 2], []),
        # Out of order inside the batch is fine as long as the values rise with time.
        ([], [(10, 30), (0, 10), (5, 20)], [1, 2, 0], []),
        # A drop inside the batch: the lower value is quarantined, the series carries on.
        ([], [(0, 100), (5, 3), (10, 110)], [0, 2], [1]),
        # Below the last stored value.
        ([(0, 500.0)], [(5, 400)], [], [0]),
        # A late reading between stored ones must fit between them.
        ([(0, 100.0), (10, 200.0)], [(5, 150)], [0], []),
        ([(0, 100.0), (10, 200.0)], [(5, 250)], [], [0]),
        ([(0, 100.0), (10, 200.0)], [(5, 50)], [], [0]),
        # A reading at a stored instant is a duplicate: not judged here, stored once.
        ([(0, 100.0)], [(0, 7)], [0], []),
        # Two readings at one instant in the batch: the first is judged, the second a duplicate.
        ([], [(0, 10), (0, 5)], [0, 1], []),
    ],
)
def test_counters_must_not_go_backwards(
    stored: list[tuple[int, float]],
    incoming: list[tuple[int, float]],
    accepted: list[int],
    reset: list[int],
) -> None:
    ok, bad = check_counter(new(*incoming), [Sample(T(m), v) for m, v in stored])
    assert [i for i, _ in ok] == accepted
    assert [r.index for r in bad] == reset
    assert all(r.reason is Reason.COUNTER_RESET for r in bad)
