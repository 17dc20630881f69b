"""The fleet's revenue in the user's currency, for the home page: each currency's figures
converted with the latest ECB reference rates on or before today (UTC), and the rates and their
day said on the page."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from voltfleet.app.exchange.rates import Converted, in_currency, rates_on
from voltfleet.app.formatting import number
from voltfleet.domain.exchange_rates import for_display
from voltfleet.domain.telemetry.kpi import PERIODS, Periods


def revenue_in(
    session: Session, revenue: Mapping[str, Periods], currency: str, now: datetime
) -> Converted:
    """``revenue`` (per currency, per period) summed in ``currency``."""
    figures = {c: {p: getattr(v, p) for p in PERIODS} for c, v in revenue.items()}
    if currency not in figures:
        figures[currency] = dict.fromkeys(PERIODS, 0.0)
    rates = None
    if any(c != currency for c in figures):
        rates = rates_on(session, now.astimezone(UTC).date())
    return in_currency(figures, currency, rates)


def money_text(amount: Decimal, currency: str) -> str:
    """An amount for display: rounded once, half-even, to the currency's minor unit, with the
    reader's marks ("1.234,56" for a German reader; it was Python's "1,234.56" for everyone)."""
    shown = for_display(amount, currency)
    exponent = shown.as_tuple().exponent
    return number(shown, -exponent if isinstance(exponent, int) and exponent < 0 else 0)
