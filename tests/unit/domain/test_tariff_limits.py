"""domain.tariffs.limits: every limit is named when broken, and tariffs within them pass."""

from __future__ import annotations

from datetime import date, time

import pytest

from voltfleet.domain.tariffs import (
    FixedTariff,
    MarketTariff,
    MonthDay,
    PriceFormula,
    TimeSlot,
    TouPeriod,
    TouTariff,
    TouWeekPeriod,
    TouWeekTariff,
)
from voltfleet.domain.tariffs.limits import (
    MAX_PERIODS,
    MAX_SLOTS_PER_DAY,
    TariffLimitError,
    check_limits,
)

DAY = (TimeSlot(time(0), time(0), 0.3),)


def period(slots: tuple[TimeSlot, ...] = DAY, name: str = "all") -> TouPeriod:
    return TouPeriod(name, MonthDay(1, 1), MonthDay(12, 31), slots)


def quarter_hours(n: int, price: float = 0.3) -> tuple[TimeSlot, ...]:
    return tuple(
        TimeSlot(
            time(i * 15 // 60 % 24, i * 15 % 60),
            time((i + 1) * 15 // 60 % 24, (i + 1) * 15 % 60),
            price,
        )
        for i in range(n)
    )


@pytest.mark.parametrize(
    "tariff",
    [
        FixedTariff("EUR", 10_000.0),
        FixedTariff("EUR", -10_000.0),
        TouTariff("EUR", (period(quarter_hours(MAX_SLOTS_PER_DAY)),)),
        TouTariff("EUR", tuple(period(name=f"p{i}") for i in range(MAX_PERIODS))),
        MarketTariff("EUR", PriceFormula(multiplier=1000, markup_per_kwh=-5), "awattar", "DE"),
    ],
)
def test_within_the_limits(tariff: FixedTariff | TouTariff | MarketTariff) -> None:
    check_limits(tariff, date(2026, 1, 1))


@pytest.mark.parametrize(
    ("tariff", "valid_from", "message"),
    [
        (FixedTariff("EUR", 1.7e308), None, "within +-10,000 per kWh"),
        (FixedTariff("EUR", float("nan")), None, "within +-10,000 per kWh"),
        (FixedTariff("EUR", 0.3), date(1, 1, 1), "valid_from 0001-01-01 is outside"),
        (FixedTariff("EUR", 0.3), date(9999, 12, 31), "valid_from 9999-12-31 is outside"),
        (FixedTariff("EUR", 0.3), date(1999, 12, 31), "outside 2000-01-01 .. 2100-12-31"),
        (
            TouTariff("EUR", (period(quarter_hours(MAX_SLOTS_PER_DAY + 1)),)),
            None,
            f"at most {MAX_SLOTS_PER_DAY} slots, not {MAX_SLOTS_PER_DAY + 1}",
        ),
        (
            TouTariff("EUR", tuple(period(name=f"p{i}") for i in range(MAX_PERIODS + 1))),
            None,
            f"at most {MAX_PERIODS} periods, not {MAX_PERIODS + 1}",
        ),
        (
            TouWeekTariff(
                "EUR",
                (
                    TouWeekPeriod(
                        "all",
                        MonthDay(1, 1),
                        MonthDay(12, 31),
                        DAY,
                        (TimeSlot(time(0), time(0), -2e4),),
                    ),
                ),
            ),
            None,
            "period 'all' weekend_slots slot 0: price -20000.0",
        ),
        (
            MarketTariff("EUR", PriceFormula(multiplier=1e6), "awattar", "DE"),
            None,
            "multiplier 1000000.0 must be within +-1,000",
        ),
        (
            MarketTariff("EUR", PriceFormula(grid_fee_per_kwh=float("inf")), "awattar", "DE"),
            None,
            "grid_fee_per_kwh inf",
        ),
    ],
)
def test_beyond_a_limit_the_message_names_it(
    tariff: FixedTariff | TouTariff | TouWeekTariff | MarketTariff,
    valid_from: date | None,
    message: str,
) -> None:
    with pytest.raises(TariffLimitError, match=None) as caught:
        check_limits(tariff, valid_from)
    assert message in str(caught.value)
