"""Charging limits: what a sound limit is, and the composite rule (stack levels per purpose, the
transaction's limit over the default, the station maximum as a cap, schedules in time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from voltfleet.domain.charging_limits import (
    ChargingLimit,
    LimitError,
    LimitPeriod,
    Purpose,
    check_limit,
    limit_at,
)

T0 = datetime(2026, 6, 1, 8, tzinfo=UTC)


def lim(
    purpose: Purpose, amps: float, level: int = 0, phases: int | None = None, **kw: object
) -> ChargingLimit:
    return ChargingLimit(1, purpose, (LimitPeriod(0, amps, phases),), level, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("limits", "transaction", "want"),
    [
        ([], False, (None, None)),
        ([lim(Purpose.TX_DEFAULT, 16)], False, (16, None)),
        ([lim(Purpose.TX_DEFAULT, 16), lim(Purpose.TX_DEFAULT, 10, level=3)], False, (10, None)),
        ([lim(Purpose.TX_DEFAULT, 16), lim(Purpose.TX, 8, transaction_id=1)], True, (8, None)),
        ([lim(Purpose.TX_DEFAULT, 16), lim(Purpose.TX, 8, transaction_id=1)], False, (16, None)),
        (
            [lim(Purpose.TX_DEFAULT, 16, phases=3), lim(Purpose.STATION_MAX, 11, phases=1)],
            False,
            (11, 1),
        ),
        ([lim(Purpose.STATION_MAX, 25)], True, (25, None)),
    ],
)
def test_the_composite_rule(
    limits: list[ChargingLimit], transaction: bool, want: tuple[float | None, int | None]
) -> None:
    assert limit_at(limits, T0, T0, transaction) == want


def test_a_schedule_follows_its_periods_and_ends_with_its_duration() -> None:
    stepped = ChargingLimit(
        1, Purpose.TX_DEFAULT, (LimitPeriod(0, 16), LimitPeriod(600, 6, 1)), duration_s=1200
    )
    assert limit_at([stepped], T0 + timedelta(minutes=5), T0, False) == (16, None)
    assert limit_at([stepped], T0 + timedelta(minutes=15), T0, False) == (6, 1)
    assert limit_at([stepped], T0 + timedelta(minutes=25), T0, False) == (None, None)


@pytest.mark.parametrize(
    "bad",
    [
        ChargingLimit(1, Purpose.TX_DEFAULT, ()),
        ChargingLimit(1, Purpose.TX_DEFAULT, (LimitPeriod(60, 10),)),
        ChargingLimit(1, Purpose.TX_DEFAULT, (LimitPeriod(0, -1),)),
        ChargingLimit(1, Purpose.TX_DEFAULT, (LimitPeriod(0, float("nan")),)),
        ChargingLimit(1, Purpose.TX_DEFAULT, (LimitPeriod(0, 10, 4),)),
        ChargingLimit(1, Purpose.TX_DEFAULT, (LimitPeriod(0, 10), LimitPeriod(0, 8))),
        ChargingLimit(1, Purpose.TX, (LimitPeriod(0, 10),)),  # no transaction
        ChargingLimit(1, Purpose.TX_DEFAULT, (LimitPeriod(0, 10),), stack_level=-1),
    ],
)
def test_unsound_limits_are_refused(bad: ChargingLimit) -> None:
    with pytest.raises(LimitError):
        check_limit(bad)
