"""When a site's battery plan is made again: every cycle (15 minutes), or sooner when what it
was made from has drifted: the measured state of charge away from the planned one, or the prices
of the rest of the horizon away from those it planned with. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

EVERY = timedelta(minutes=15)
SOC_TOLERANCE = 0.10  # fraction of capacity
PRICE_TOLERANCE = 0.005  # currency per kWh, any step


def replan_reason(
    planned_at: datetime,
    now: datetime,
    *,
    planned_soc: float | None,
    measured_soc: float | None,
    planned_prices: Sequence[float] = (),
    current_prices: Sequence[float] = (),
    every: timedelta = EVERY,
    soc_tolerance: float = SOC_TOLERANCE,
    price_tolerance: float = PRICE_TOLERANCE,
) -> str | None:
    """ "cycle", "drift: state of charge", "drift: prices", or None (the plan stands)."""
    if now - planned_at >= every:
        return "cycle"
    if (
        planned_soc is not None
        and measured_soc is not None
        and abs(planned_soc - measured_soc) > soc_tolerance
    ):
        return "drift: state of charge"
    if any(
        abs(a - b) > price_tolerance for a, b in zip(planned_prices, current_prices, strict=False)
    ):
        return "drift: prices"
    return None
