"""Converting money between currencies with a day's reference rates. Pure.

Rates are the European Central Bank's euro reference rates: how many units of a currency one
euro buys on a day (``per_eur["USD"] == Decimal("1.0826")``); the euro itself is 1. Between two
other currencies the amount goes through the euro (cross rate), as the ECB recommends.

Rounding, written once:

* Amounts and rates are ``Decimal``; a float amount (the fleet figures are sums of floats) is
  taken by its shortest repr (``Decimal(str(x))``), never by its binary expansion.
* ``convert`` keeps full precision (28 significant digits, the decimal context's default): a sum
  of converted amounts is not a sum of rounded ones.
* ``for_display`` rounds once, at the edge, to the currency's minor unit (2 places; 0 for JPY,
  KRW, ISK, HUF ...) with ROUND_HALF_EVEN (banker's rounding, so a column of amounts does not
  drift up).
* The rate shown to a person is the cross rate rounded to 6 significant digits
  (the precision the ECB publishes: 5 significant digits, plus one for the cross).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Context, Decimal

EURO = "EUR"
# ISO 4217 minor units of the ECB's currencies that are not 2 (the others have 2).
MINOR_UNITS = {"JPY": 0, "KRW": 0, "ISK": 0, "HUF": 2, "IDR": 2, "CLP": 0}
_SHOWN_RATE = Context(prec=6)


class MissingRate(LookupError):
    """No reference rate of a currency on the day (the ECB does not quote it)."""


@dataclass(frozen=True)
class ReferenceRates:
    """The rates of one day: units of each currency per euro."""

    day: date
    per_eur: Mapping[str, Decimal]

    def rate(self, currency: str) -> Decimal:
        if currency == EURO:
            return Decimal(1)
        try:
            value = self.per_eur[currency]
        except KeyError:
            raise MissingRate(f"no reference rate for {currency} on {self.day}") from None
        if value <= 0:
            raise MissingRate(f"the reference rate for {currency} on {self.day} is not positive")
        return value

    def cross(self, source: str, target: str) -> Decimal:
        """Units of ``target`` per unit of ``source`` (full precision)."""
        return self.rate(target) / self.rate(source)


def as_decimal(amount: Decimal | float | int) -> Decimal:
    """An amount as a Decimal: a float by its shortest repr (0.1 -> Decimal("0.1"))."""
    if isinstance(amount, Decimal):
        return amount
    if isinstance(amount, float):
        return Decimal(repr(amount))
    return Decimal(amount)


def convert(
    amount: Decimal | float | int, source: str, target: str, rates: ReferenceRates
) -> Decimal:
    """``amount`` of ``source`` in ``target`` at the day's rates, unrounded."""
    value = as_decimal(amount)
    if source == target:
        return value
    return value * rates.rate(target) / rates.rate(source)


def for_display(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded half-even to the currency's minor unit (see the module's docstring)."""
    places = MINOR_UNITS.get(currency, 2)
    return amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)


def shown_rate(source: str, target: str, rates: ReferenceRates) -> Decimal:
    """The cross rate as shown to a person: 6 significant digits."""
    return _SHOWN_RATE.plus(rates.cross(source, target)).normalize(_SHOWN_RATE)


def latest(days: Mapping[date, ReferenceRates], on: date) -> ReferenceRates | None:
    """The most recent day's rates on or before ``on`` (weekends and holidays have none)."""
    earlier = [d for d in days if d <= on]
    return days[max(earlier)] if earlier else None
