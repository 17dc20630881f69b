"""Demo data of issue 19's money: the ECB's reference rates of one real day, so that a person
who picks another currency in their profile sees the fleet's revenue converted at once (the
daily job replaces them with the current rates when the ECB can be reached; the home page says
which day's rate it used)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from voltfleet.app.exchange import rates
from voltfleet.domain.exchange_rates import ReferenceRates

# The ECB's published euro reference rates of 13 April 2022 (units per euro), as in
# tests/fixtures/ecb/eurofxref-daily-2022-04-13.xml.
ECB_2022_04_13 = {
    "USD": "1.0826", "JPY": "136.26", "GBP": "0.83280", "CHF": "1.0116", "SEK": "10.3323",
    "NOK": "9.5693", "DKK": "7.4377", "PLN": "4.6453", "CZK": "24.450", "HUF": "378.45",
    "AUD": "1.4603", "CAD": "1.3700",
}  # fmt: skip


def seed_exchange_rates(session: Session) -> None:
    """Store the sample day's rates unless rates are stored already."""
    if rates.rates_on(session, date.max) is None:
        day = ReferenceRates(date(2022, 4, 13), {c: Decimal(v) for c, v in ECB_2022_04_13.items()})
        rates.store(session, [day])
