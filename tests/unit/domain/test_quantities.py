"""Figures scaled for people (domain.quantities) and names in natural order (domain.natural)."""

from __future__ import annotations

import math

import pytest

from voltfleet.domain import quantities as q
from voltfleet.domain.natural import natural_key


@pytest.mark.parametrize(
    ("watts", "value", "unit"),
    [
        (0, 0.0, "kW"),
        (350, 0.35, "kW"),
        (3_420, 3.42, "kW"),
        (999_994, 999.994, "kW"),
        (999_996, 0.999996, "MW"),  # rounds to 1,000.00 kW: shown as 1.00 MW
        (1_250_000, 1.25, "MW"),
        (-4_000, -4.0, "kW"),
        (-2_500_000, -2.5, "MW"),
        (3.2e9, 3.2, "GW"),
    ],
)
def test_power_picks_the_unit_people_read(watts: float, value: float, unit: str) -> None:
    scaled = q.power(watts)
    assert scaled.unit == unit
    assert scaled.value == pytest.approx(value)
    assert scaled.decimals == 2


def test_energy_and_capacity_units_and_fixed_decimals() -> None:
    assert q.energy(1_500) == q.Scaled(1.5, "kWh", 2)
    assert q.energy(12_345_678) == q.Scaled(12.345678, "MWh", 2)
    assert q.capacity(9.8) == q.Scaled(pytest.approx(9.8), "kWp", 1)  # type: ignore[arg-type]
    assert q.capacity(1_200).unit == "MWp"
    # every figure of one unit has the same decimals, whatever its size
    assert {q.energy(wh).decimals for wh in (1, 999, 5_000, 999_000)} == {2}


def test_non_finite_values_stay_in_the_smallest_unit() -> None:
    assert q.power(math.inf).unit == "kW"
    assert math.isnan(q.energy(math.nan).value)


def test_natural_order_counts_numbers_by_value() -> None:
    names = ["home 10", "Home 6", "home 2b", "home 2a", "apartment", "home 100", "home 06x"]
    assert sorted(names, key=natural_key) == [
        "apartment",
        "home 2a",
        "home 2b",
        "Home 6",
        "home 06x",
        "home 10",
        "home 100",
    ]


def test_natural_key_is_case_insensitive_and_bounded() -> None:
    assert natural_key("HOME 6") == natural_key("home 6")
    assert natural_key("  home 6 ") == natural_key("home 6")
    assert len(natural_key("x" * 1000)) == 400
