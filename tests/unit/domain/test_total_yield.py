"""Total yield (issue 19): the inverters' lifetime counters where every counted inverter reports
one, else honestly the yield since the site or inverter joined, with the date."""

from __future__ import annotations

from datetime import date

import pytest

from voltfleet.domain.telemetry.points import CATALOGUE, PointKind
from voltfleet.domain.telemetry.total_yield import (
    LIFETIME_POINT,
    TotalYield,
    device_total,
    site_total,
)

JOINED = date(2025, 3, 14)


def test_the_lifetime_counter_is_a_checked_energy_counter() -> None:
    p = CATALOGUE[LIFETIME_POINT]
    assert p.kind is PointKind.ENERGY and p.counter and p.unit == "Wh"
    assert p.to_canonical(7.5, "MWh") == 7_500_000.0


@pytest.mark.parametrize(
    ("lifetime", "since", "want"),
    [
        ({"a": 5_000.0, "b": 7_000.0}, 900.0, TotalYield(12_000.0, True)),
        ({"a": 5_000.0, "b": None}, 900.0, TotalYield(900.0, False, JOINED)),  # never mixed
        ({}, 900.0, TotalYield(900.0, False, JOINED)),  # no counted inverter
        ({"a": None}, 0.0, TotalYield(0.0, False, JOINED)),
        ({"a": 0.0}, 900.0, TotalYield(0.0, True)),  # a new inverter's register at zero
    ],
)
def test_site_total(lifetime: dict[str, float | None], since: float, want: TotalYield) -> None:
    assert site_total(lifetime, since, JOINED) == want


def test_device_total() -> None:
    assert device_total(3_000.0, 10.0, JOINED) == TotalYield(3_000.0, True)
    assert device_total(None, 10.0, JOINED) == TotalYield(10.0, False, JOINED)
