"""Display rounding."""

from __future__ import annotations

import pytest

from voltfleet.domain.accounting import round_for_display, round_money, round_price


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        (0.125, 2, 0.13),  # half away from zero (round() gives 0.12)
        (2.675, 2, 2.68),  # decimal text, not the binary value 2.67499...
        (-0.125, 2, -0.13),
        (0.54, 2, 0.54),
        (0.116363636, 4, 0.1164),
        (45.7627, 1, 45.8),
        (3.0, 0, 3.0),
    ],
)
def test_round_for_display(value: float, places: int, expected: float) -> None:
    assert round_for_display(value, places) == expected


def test_helpers_and_bad_input() -> None:
    assert round_money(9.2799999) == 9.28
    assert round_price(0.36875) == 0.3688
    with pytest.raises(ValueError):
        round_for_display(float("nan"))
    with pytest.raises(ValueError):
        round_for_display(1.0, -1)
