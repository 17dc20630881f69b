"""Rounding for display only: money is kept at full float precision inside."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal


def round_for_display(value: float, places: int = 2) -> float:
    """Round half away from zero on the decimal text of ``value`` (2 for money, 4 for prices).

    ``round_for_display(0.125) == 0.13`` (where ``round(0.125, 2) == 0.12``).
    """
    if places < 0:
        raise ValueError("places must be >= 0")
    if not math.isfinite(value):
        raise ValueError(f"cannot round {value!r} for display")
    quantum = Decimal(1).scaleb(-places)
    return float(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))


def round_money(amount: float) -> float:
    """Money to 2 decimals for display."""
    return round_for_display(amount, 2)


def round_price(price_per_kwh: float) -> float:
    """A price per kWh to 4 decimals for display."""
    return round_for_display(price_per_kwh, 4)
