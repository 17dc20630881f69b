"""Energy-by-deadline schedules."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.domain.builders import BERLIN, as_local, local, series, utc, whole_year
from voltfleet.domain.accounting import round_money
from voltfleet.domain.schedule import ScheduleError, plan_schedule
from voltfleet.domain.tariffs import Direction, price_series

HOUR = timedelta(hours=1)

# Night import prices cheapest from 01:00 to 05:00
IMPORT_TARIFF = whole_year(
    ("00:00", "01:00", 0.22),
    ("01:00", "05:00", 0.12),
    ("05:00", "17:00", 0.28),
    ("17:00", "21:00", 0.36),
    ("21:00", "00:00", 0.25),
)
# Export prices highest from 18:00 to 23:00
EXPORT_TARIFF = whole_year(
    ("00:00", "18:00", 0.50),
    ("18:00", "19:00", 0.95),
    ("19:00", "20:00", 0.93),
    ("20:00", "21:00", 0.92),
    ("21:00", "22:00", 0.94),
    ("22:00", "23:00", 0.90),
    ("23:00", "00:00", 0.50),
)


@pytest.mark.parametrize("continuous", [False, True])
def test_brief_example_import_5_3_kwh_charges_from_1_to_5(continuous: bool) -> None:
    rates = price_series(
        IMPORT_TARIFF, BERLIN, local("2024-05-01T19:00"), local("2024-05-02T05:00"), resolution=HOUR
    )
    plan = plan_schedule(rates, Direction.IMPORT, 5.3, 1.5, continuous=continuous)
    assert plan.start is not None and plan.end is not None
    assert (as_local(plan.start), as_local(plan.end)) == ("01:00", "05:00")
    assert [(as_local(s.start), s.power_kw) for s in plan.slots] == [
        ("01:00", 1.5),
        ("02:00", 1.5),
        ("03:00", 1.5),
        ("04:00", pytest.approx(0.8)),
    ]
    assert plan.energy_kwh == pytest.approx(5.3)
    assert plan.cost == pytest.approx(5.3 * 0.12)
    assert plan.earnings is None
    assert all(
        s.earnings is None and s.cost == pytest.approx(s.energy_kwh * 0.12) for s in plan.slots
    )


def test_brief_example_import_at_15_minutes_spreads_over_1_to_5() -> None:
    rates = price_series(
        IMPORT_TARIFF, BERLIN, local("2024-05-01T19:00"), local("2024-05-02T05:00")
    )
    plan = plan_schedule(rates, Direction.IMPORT, 5.3, 5.3 / 4)
    assert plan.start is not None and plan.end is not None
    assert (as_local(plan.start), as_local(plan.end)) == ("01:00", "05:00")
    assert len(plan.slots) == 16


def test_brief_example_export_10_kwh_from_18_to_23() -> None:
    rates = price_series(
        EXPORT_TARIFF, BERLIN, local("2024-05-01T18:00"), local("2024-05-02T06:00")
    )
    plan = plan_schedule(rates, Direction.EXPORT, 10.0, 2.0)
    assert plan.start is not None and plan.end is not None
    assert (as_local(plan.start), as_local(plan.end)) == ("18:00", "23:00")
    assert {s.power_kw for s in plan.slots} == {2.0}
    assert len(plan.slots) == 20
    assert plan.energy_kwh == pytest.approx(10.0)
    assert plan.earnings is not None
    assert round_money(plan.earnings) == 9.28  # the vendor guide's figure
    assert plan.cost is None
    continuous = plan_schedule(rates, Direction.EXPORT, 10.0, 2.0, continuous=True)
    assert [(s.start, s.end) for s in continuous.slots] == [(s.start, s.end) for s in plan.slots]


def test_partial_power_in_the_first_slot_when_that_is_cheaper() -> None:
    t0 = utc("2024-05-01T00:00")
    plan = plan_schedule(
        series(t0, [0.9, 0.5, 0.1, 0.1]), Direction.IMPORT, 2.5, 1.0, continuous=True
    )
    assert [((s.start - t0) / HOUR, s.power_kw) for s in plan.slots] == [
        (1, 0.5),
        (2, 1.0),
        (3, 1.0),
    ]
    assert plan.cost == pytest.approx(0.45)


def test_energy_that_does_not_fit_says_how_much_fits() -> None:
    rates = price_series(
        IMPORT_TARIFF, BERLIN, local("2024-05-01T19:00"), local("2024-05-02T05:00")
    )
    with pytest.raises(ScheduleError, match="at most 15 kWh fit") as caught:
        plan_schedule(rates, Direction.IMPORT, 15.5, 1.5)
    assert caught.value.max_fit_kwh == pytest.approx(15.0)
    assert caught.value.requested_kwh == 15.5
    full = plan_schedule(rates, Direction.IMPORT, 15.0, 1.5)
    assert full.energy_kwh == pytest.approx(15.0)
    assert len(full.slots) == 40


def test_window_inside_the_series() -> None:
    t0 = utc("2024-05-01T00:00")
    plan = plan_schedule(
        series(t0, [0.1, 0.5, 0.5, 0.1]),
        Direction.IMPORT,
        1.0,
        1.0,
        start=t0 + HOUR,
        end=t0 + 3 * HOUR,
    )
    assert plan.start is not None and plan.start >= t0 + HOUR
    assert plan.end is not None and plan.end <= t0 + 3 * HOUR


@pytest.mark.parametrize(
    ("energy", "power", "message"),
    [
        (-1.0, 1.0, "energy_kwh"),
        (float("nan"), 1.0, "energy_kwh"),
        (1.0, 0.0, "max_power_kw"),
        (1.0, float("inf"), "max_power_kw"),
    ],
)
def test_bad_parameters(energy: float, power: float, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        plan_schedule(series(utc("2024-05-01T00:00"), [0.1]), Direction.IMPORT, energy, power)


def test_zero_energy_is_an_empty_schedule() -> None:
    plan = plan_schedule(series(utc("2024-05-01T00:00"), [0.1]), Direction.EXPORT, 0.0, 1.0)
    assert plan.slots == ()
    assert plan.energy_kwh == 0.0
    assert plan.earnings == 0.0
    assert plan.start is None


@settings(max_examples=200, deadline=None)
@given(
    prices=st.lists(
        st.sampled_from([-0.1, 0.0, 0.1, 0.12, 0.2, 0.3, 0.45]), min_size=1, max_size=48
    ),
    direction=st.sampled_from(list(Direction)),
    power=st.sampled_from([0.7, 1.5, 2.0, 3.3, 11.0]),
    fill=st.floats(0.0, 1.0),
    continuous=st.booleans(),
    step_minutes=st.sampled_from([15, 60]),
)
def test_schedule_respects_power_window_and_energy(
    prices: list[float],
    direction: Direction,
    power: float,
    fill: float,
    continuous: bool,
    step_minutes: int,
) -> None:
    t0 = utc("2024-05-01T00:00")
    step = timedelta(minutes=step_minutes)
    rates = series(t0, prices, step)
    capacity = power * len(prices) * step / HOUR
    energy = capacity * fill
    plan = plan_schedule(rates, direction, energy, power, continuous=continuous)
    assert plan.energy_kwh == pytest.approx(energy, rel=1e-9, abs=1e-9)
    assert sum(s.energy_kwh for s in plan.slots) == pytest.approx(energy, rel=1e-9, abs=1e-9)
    previous_end = t0
    for s in plan.slots:
        assert t0 <= s.start < s.end <= t0 + len(prices) * step
        assert s.start >= previous_end
        previous_end = s.end
        assert 0 < s.power_kw <= power
        assert s.energy_kwh <= power * ((s.end - s.start) / HOUR) * (1 + 1e-12)
        assert s.power_kw == pytest.approx(s.energy_kwh / ((s.end - s.start) / HOUR))
    sign = 1 if direction is Direction.IMPORT else -1
    money = plan.cost if direction is Direction.IMPORT else plan.earnings
    assert money is not None
    if continuous:
        for before, after in zip(plan.slots, plan.slots[1:], strict=False):
            assert before.end == after.start
        if energy > 0:
            assert sign * money == pytest.approx(
                best_run(prices, power * step / HOUR, energy, sign), abs=1e-9
            )
    else:
        # optimal: the best minutes at full power (brute force on a one-minute grid)
        per_minute = sorted(sign * p for p in prices for _ in range(step_minutes))
        minute_kwh = power / 60
        remaining, best = energy, 0.0
        for p in per_minute:
            take = min(minute_kwh, remaining)
            best += take * p
            remaining -= take
            if remaining <= 0:
                break
        assert sign * money == pytest.approx(best, abs=1e-9)


def best_run(prices: list[float], slot_kwh: float, energy: float, sign: int) -> float:
    """Brute force over every run of slots: full power inside, the remainder in the first or
    the last slot of the run (runs that need every slot at full power or leave one empty are
    covered by a shorter run)."""
    best = float("inf")
    n = len(prices)
    for first in range(n):
        for last in range(first, n):
            count = last - first + 1
            if count * slot_kwh < energy * (1 - 1e-12) or (count - 1) * slot_kwh >= energy * (
                1 - 1e-12
            ):
                continue
            rest = energy - (count - 1) * slot_kwh
            inner = [sign * p for p in prices[first : last + 1]]
            best = min(
                best,
                sum(inner[1:]) * slot_kwh + rest * inner[0],
                sum(inner[:-1]) * slot_kwh + rest * inner[-1],
            )
    return best
