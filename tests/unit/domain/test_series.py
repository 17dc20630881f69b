"""Instants as microseconds and the rate series container."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.domain.builders import BERLIN, local, utc
from voltfleet.domain.tariffs import RateSeries, from_us, to_us
from voltfleet.domain.tariffs.series import datetimes_from_us, format_utc, many_to_us

moments = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2300, 1, 1), timezones=st.just(UTC)
)


@given(moments)
def test_microseconds_round_trip(moment: datetime) -> None:
    assert from_us(to_us(moment)) == moment
    assert to_us(moment) == (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


@given(st.lists(moments, max_size=50))
def test_many_to_us_matches_to_us(values: list[datetime]) -> None:
    assert many_to_us(values).tolist() == [to_us(v) for v in values]


def test_conversions_respect_offsets_and_refuse_naive() -> None:
    assert to_us(local("2024-10-27T02:30", fold=0)) == to_us(utc("2024-10-27T00:30"))
    assert to_us(local("2024-10-27T02:30", fold=1)) == to_us(utc("2024-10-27T01:30"))
    plus_two = datetime(2024, 5, 1, 2, 0, tzinfo=timezone(timedelta(hours=2)))
    assert many_to_us([plus_two]).tolist() == [to_us(utc("2024-05-01T00:00"))]
    with pytest.raises(ValueError, match="time zone"):
        to_us(datetime(2024, 5, 1))
    with pytest.raises(ValueError, match="time zone"):
        many_to_us([datetime(2024, 5, 1)])
    assert from_us(0).tzinfo is UTC
    assert datetimes_from_us([5, 5, 0]) == {5: from_us(5), 0: from_us(0)}
    assert format_utc(to_us(utc("2024-05-01T02:00"))) == "2024-05-01T02:00Z"
    assert local("2024-05-01T00:00", BERLIN).utcoffset() == timedelta(hours=2)


def test_regular_and_irregular_lookup_agree() -> None:
    regular = RateSeries([5, 10, 20, 30], [10, 20, 30, 35], [1.0, 2.0, 3.0, 4.0], "EUR")
    irregular = RateSeries([5, 10, 22, 30], [10, 22, 30, 35], [1.0, 2.0, 3.0, 4.0], "EUR")
    instants = np.arange(5, 35, dtype=np.int64)
    expected_regular = [0] * 5 + [1] * 10 + [2] * 10 + [3] * 5
    expected_irregular = [0] * 5 + [1] * 12 + [2] * 8 + [3] * 5
    assert regular.locate(instants).tolist() == expected_regular
    assert irregular.locate(instants).tolist() == expected_irregular
    a = np.array([5, 7, 12], dtype=np.int64)
    b = np.array([35, 21, 13], dtype=np.int64)
    assert regular.integral(a, b).tolist() == pytest.approx(
        [5 * 1 + 10 * 2 + 10 * 3 + 5 * 4, 3 * 1 + 10 * 2 + 1 * 3, 1 * 2]
    )
