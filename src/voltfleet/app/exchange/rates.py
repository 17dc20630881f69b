"""Daily exchange reference rates: stored from the ECB by a job, read to show revenue in the
user's currency (domain.exchange_rates says how amounts are converted and rounded)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from voltfleet.domain.exchange_rates import (
    EURO,
    MissingRate,
    ReferenceRates,
    convert,
    shown_rate,
)
from voltfleet.market.ecb import KEY, fetch_ecb
from voltfleet.store.rates_models import ExchangeRateRow


def store(session: Session, days: Sequence[ReferenceRates]) -> int:
    """Upsert the rates of these days; how many rates were given."""
    n = 0
    for day in days:
        existing = {
            r.currency: r
            for r in session.scalars(
                select(ExchangeRateRow).where(
                    ExchangeRateRow.source == KEY, ExchangeRateRow.day == day.day
                )
            )
        }
        for currency, rate in day.per_eur.items():
            row = existing.get(currency)
            if row is None:
                session.add(
                    ExchangeRateRow(source=KEY, day=day.day, currency=currency, per_eur=str(rate))
                )
            else:
                row.per_eur = str(rate)
            n += 1
    session.flush()
    return n


def fetch_and_store(session: Session, url: str) -> int:
    """Fetch the ECB document at ``url`` and store its days (raises ``MarketDataError``)."""
    return store(session, asyncio.run(fetch_ecb(url)))


def rates_on(session: Session, on: date) -> ReferenceRates | None:
    """The latest day's rates on or before ``on`` (the ECB publishes on business days)."""
    day = session.scalar(
        select(func.max(ExchangeRateRow.day)).where(
            ExchangeRateRow.source == KEY, ExchangeRateRow.day <= on
        )
    )
    if day is None:
        return None
    rows = session.execute(
        select(ExchangeRateRow.currency, ExchangeRateRow.per_eur).where(
            ExchangeRateRow.source == KEY, ExchangeRateRow.day == day
        )
    )
    return ReferenceRates(day, {c: Decimal(v) for c, v in rows})


@dataclass(frozen=True)
class Used:
    """A rate used on a page: 1 ``source`` = ``rate`` ``target``, of ``day``."""

    source: str
    target: str
    rate: Decimal
    day: date


@dataclass(frozen=True)
class Converted:
    """Amounts per period in the user's currency, the rates used, and the currencies that could
    not be converted (no rate), left as they were."""

    currency: str
    periods: dict[str, Decimal]
    used: list[Used]
    unconverted: dict[str, dict[str, Decimal]]


def in_currency(
    by_currency: Mapping[str, Mapping[str, float | Decimal]],
    target: str,
    rates: ReferenceRates | None,
) -> Converted:
    """Sum amounts of several currencies (period -> amount each) in ``target`` at ``rates``,
    unrounded; a currency without a rate is listed apart, never guessed."""
    total: dict[str, Decimal] = {}
    used: list[Used] = []
    apart: dict[str, dict[str, Decimal]] = {}
    for currency, periods in sorted(by_currency.items()):
        if currency != target:
            if rates is None:
                apart[currency] = {
                    p: convert(v, currency, currency, _SAME) for p, v in periods.items()
                }
                continue
            try:
                rate = shown_rate(currency, target, rates)
            except MissingRate:
                apart[currency] = {
                    p: convert(v, currency, currency, _SAME) for p, v in periods.items()
                }
                continue
            used.append(Used(currency, target, rate, rates.day))
        for p, v in periods.items():
            value = convert(v, currency, target, rates or _SAME)
            total[p] = total.get(p, Decimal(0)) + value
    return Converted(target, total, used, apart)


_SAME = ReferenceRates(date.min, {EURO: Decimal(1)})
