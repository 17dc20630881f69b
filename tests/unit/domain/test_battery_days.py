"""Savings per day from metered grid and battery power: hand-checked quarter hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from voltfleet.domain.accounting.battery_days import Step, daily_savings

Q = 0.25  # hours per step
T0 = datetime(2026, 6, 1, 22, 0, tzinfo=UTC)  # 00:00 on 2 June in Berlin (CEST)


def at(i: int) -> datetime:
    return T0 + timedelta(minutes=15 * i)


def test_night_charge_evening_discharge_and_solar_storage() -> None:
    steps = [
        # 02:00 local: 2 kW from the grid into the battery at 0.20 -> with 0.10, without 0
        Step(at(8), 2000, 2000, 0.20, 0.08),
        # noon: PV surplus 3 kW, 1 kW exported, 2 kW stored: with -0.02, without -0.06
        Step(at(48), -1000, 2000, 0.30, 0.08),
        # 19:00: home 1.5 kW, battery gives 1.2 kW: with 0.3*0.25*0.40 = 0.03, without 0.15
        Step(at(76), 300, -1200, 0.40, 0.08),
        # 20:00: battery 2 kW, home 1 kW: 1 kW exported at 0.08: with -0.02, without 0.10
        Step(at(80), -1000, -2000, 0.40, 0.08),
    ]  # fmt: skip
    (day,) = daily_savings(steps, Q, "Europe/Berlin")
    assert day.day.isoformat() == "2026-06-02" and day.steps == 4
    assert day.imported_kwh == pytest.approx(0.5 + 0.075)
    assert day.exported_kwh == pytest.approx(0.25 + 0.25)
    assert day.charged_kwh == pytest.approx(1.0) and day.discharged_kwh == pytest.approx(0.8)
    assert day.cost_with == pytest.approx(0.10 - 0.02 + 0.03 - 0.02)
    assert day.cost_without == pytest.approx(0.0 - 0.06 + 0.15 + 0.10)
    assert day.savings == pytest.approx(0.19 - 0.09)


def test_days_are_the_sites_local_days_and_no_battery_saves_nothing() -> None:
    steps = [
        Step(at(-1), 1000, 0, 0.3, 0.1),  # 23:45 on 1 June in Berlin
        Step(at(0), 1000, 0, 0.3, 0.1),
        Step(at(1), -400, 0, 0.3, 0.1),
    ]
    first, second = daily_savings(steps, Q, "Europe/Berlin")
    assert (first.day.isoformat(), second.day.isoformat()) == ("2026-06-01", "2026-06-02")
    assert first.cost_with == pytest.approx(0.075) and second.cost_with == pytest.approx(0.065)
    assert first.savings == pytest.approx(0.0) and second.savings == pytest.approx(0.0)
    assert daily_savings([], Q, "UTC") == []
