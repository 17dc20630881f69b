"""The ECB's reference rates: the recorded daily document parsed into Decimal rates, bad
documents refused with a reason, and conversion and rounding as domain.exchange_rates writes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from voltfleet.domain.exchange_rates import (
    MissingRate,
    ReferenceRates,
    convert,
    for_display,
    latest,
    shown_rate,
)
from voltfleet.market import MarketDataError
from voltfleet.market.ecb import parse_ecb

DAILY = Path(__file__).parents[2] / "fixtures" / "ecb" / "eurofxref-daily-2022-04-13.xml"


def test_the_daily_document_is_read_into_decimals() -> None:
    (day,) = parse_ecb(DAILY.read_bytes())
    assert day.day == date(2022, 4, 13)
    assert len(day.per_eur) == 31
    assert day.per_eur["USD"] == Decimal("1.0826")
    assert day.per_eur["GBP"] == Decimal("0.83280")
    assert day.per_eur["JPY"] == Decimal("136.26")


def test_conversion_goes_through_the_euro_and_rounds_once_half_even() -> None:
    (rates,) = parse_ecb(DAILY.read_bytes())
    assert convert(Decimal("100"), "EUR", "USD", rates) == Decimal("108.26")
    # USD -> GBP through the euro, unrounded inside; 10.825 rounds half-even to 10.82
    usd_gbp = convert(Decimal("100"), "USD", "GBP", rates)
    assert usd_gbp == Decimal("100") * Decimal("0.83280") / Decimal("1.0826")
    assert for_display(usd_gbp, "GBP") == Decimal("76.93")
    assert for_display(Decimal("10.825"), "EUR") == Decimal("10.82")
    assert for_display(Decimal("10.835"), "EUR") == Decimal("10.84")
    assert for_display(convert(1.8, "EUR", "JPY", rates), "JPY") == Decimal("245")  # no minor unit
    assert convert(0.1, "EUR", "EUR", rates) == Decimal("0.1")  # a float by its repr
    assert shown_rate("USD", "EUR", rates) == Decimal("0.923702")
    with pytest.raises(MissingRate, match="XAU"):
        convert(Decimal(1), "XAU", "EUR", rates)


def test_latest_rates_on_or_before_a_day() -> None:
    friday = ReferenceRates(date(2022, 4, 14), {"USD": Decimal("1.08")})
    days = {friday.day: friday}
    assert latest(days, date(2022, 4, 17)) is friday  # the weekend has the Friday's rates
    assert latest(days, date(2022, 4, 13)) is None


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"not xml", "not XML"),
        (b"<html/>", "unexpected document"),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><Envelope/>', "DOCTYPE"),
        (b"<Envelope><Cube><Cube time='2022-04-13'/></Cube></Envelope>", "holds no rates"),
        (
            b"<Envelope><Cube><Cube time='2022-04-13'><Cube currency='USD' rate='x'/>"
            b"</Cube></Cube></Envelope>",
            "bad rate",
        ),
        (
            b"<Envelope><Cube><Cube time='2022-04-13'><Cube currency='USD' rate='-1'/>"
            b"</Cube></Cube></Envelope>",
            "bad rate",
        ),
        (b"<Envelope><Cube><Cube time='13.4.2022'/></Cube></Envelope>", "bad day"),
    ],
)
def test_bad_documents_are_refused_with_a_reason(payload: bytes, reason: str) -> None:
    with pytest.raises(MarketDataError, match=reason):
        parse_ecb(payload)
