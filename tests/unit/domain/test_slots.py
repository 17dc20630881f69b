"""Threshold and time-based slot selection."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.domain.builders import series, utc
from voltfleet.domain.slots import (
    Segment,
    SlotSelection,
    SlotSelectionError,
    threshold_slots,
    time_slots,
)

T0 = utc("2024-05-01T00:00")
HOUR = timedelta(hours=1)
RAMP = [0.1, 0.2, 0.3, 0.4, 0.5]


def hours_of(selection: SlotSelection) -> list[tuple[float, float]]:
    """Selected slots as (start hour, end hour) since T0."""
    return [((s.start - T0) / HOUR, (s.end - T0) / HOUR) for s in selection.slots]


@pytest.mark.parametrize(
    ("prices", "segment", "relative", "absolute", "expected_hours"),
    [
        (RAMP, Segment.HIGH, 0.5, None, [2, 3, 4]),  # price >= 0.1 + 0.5 * 0.4 = 0.3
        (RAMP, Segment.LOW, 0.5, None, [0, 1, 2]),
        (RAMP, Segment.HIGH, 0.25, None, [3, 4]),  # top quarter of the range: >= 0.4
        (RAMP, Segment.LOW, 0.25, None, [0, 1]),  # bottom quarter: <= 0.2
        (RAMP, Segment.HIGH, 0.0, None, [4]),
        (RAMP, Segment.HIGH, 1.0, None, [0, 1, 2, 3, 4]),
        ([0.2, 0.2, 0.2], Segment.LOW, 0.1, None, [0, 1, 2]),  # flat prices: all
        (RAMP, Segment.HIGH, None, 0.35, [3, 4]),
        (RAMP, Segment.LOW, None, 0.2, [0, 1]),
        (RAMP, Segment.LOW, None, 0.05, []),
        ([-0.1, 0.05, -0.3, 0.2], Segment.LOW, None, 0.0, [0, 2]),  # negative prices
    ],
)
def test_threshold_table(
    prices: list[float],
    segment: Segment,
    relative: float | None,
    absolute: float | None,
    expected_hours: list[int],
) -> None:
    selection = threshold_slots(series(T0, prices), segment, relative=relative, absolute=absolute)
    assert hours_of(selection) == [(h, h + 1) for h in expected_hours]
    assert selection.duration == len(expected_hours) * HOUR


def test_threshold_merges_adjacent_slots() -> None:
    rates = series(T0, [0.5, 0.4, 0.1, 0.5, 0.1, 0.1])
    selection = threshold_slots(rates, Segment.HIGH, relative=0.5)
    assert [(r.start, r.end) for r in selection.ranges] == [
        (T0, T0 + 2 * HOUR),
        (T0 + 3 * HOUR, T0 + 4 * HOUR),
    ]
    first = selection.ranges[0]
    assert (first.min_price_per_kwh, first.max_price_per_kwh) == (0.4, 0.5)
    assert first.mean_price_per_kwh == pytest.approx(0.45)
    assert selection.threshold_per_kwh == pytest.approx(0.3)
    assert selection.mean_price_per_kwh == pytest.approx((0.5 + 0.4 + 0.5) / 3)


def test_threshold_in_a_window_uses_the_window_range() -> None:
    rates = series(T0, [0.9, 0.1, 0.2, 0.3, 0.9])
    selection = threshold_slots(
        rates, Segment.HIGH, relative=0.5, start=T0 + HOUR, end=T0 + 3.5 * HOUR
    )
    assert hours_of(selection) == [(2, 3), (3, 3.5)]
    assert (selection.start, selection.end) == (T0 + HOUR, T0 + 3.5 * HOUR)


@pytest.mark.parametrize(
    ("relative", "absolute", "message"),
    [
        (None, None, "exactly one"),
        (0.5, 0.2, "exactly one"),
        (1.5, None, "between 0 and 1"),
        (float("nan"), None, "between 0 and 1"),
        (None, float("inf"), "finite"),
    ],
)
def test_threshold_bad_parameters(
    relative: float | None, absolute: float | None, message: str
) -> None:
    with pytest.raises(SlotSelectionError, match=message):
        threshold_slots(series(T0, RAMP), Segment.HIGH, relative=relative, absolute=absolute)


@pytest.mark.parametrize(
    ("prices", "segment", "minutes", "continuous", "expected"),
    [
        ([0.3, 0.1, 0.2, 0.1, 0.5], Segment.LOW, 120, False, [(1, 2), (3, 4)]),
        ([0.3, 0.1, 0.2, 0.1, 0.5], Segment.LOW, 120, True, [(1, 2), (2, 3)]),  # tie: earliest
        ([0.3, 0.1, 0.2, 0.1, 0.5], Segment.LOW, 90, False, [(1, 2), (3, 3.5)]),
        ([0.3, 0.1, 0.2, 0.1, 0.5], Segment.HIGH, 60, False, [(4, 5)]),
        ([0.5, 0.1, 0.5, 0.5], Segment.HIGH, 60, False, [(0, 1)]),  # tie: earliest
        ([0.5, 0.1, 0.5, 0.5], Segment.HIGH, 120, True, [(2, 3), (3, 4)]),
        ([0.5, 0.1, 0.5, 0.5], Segment.LOW, 30, True, [(1, 1.5)]),
        ([0.5, 0.1, 0.2, 0.9], Segment.LOW, 90, True, [(1, 2), (2, 2.5)]),
        ([0.9, 0.2, 0.1, 0.9], Segment.LOW, 90, True, [(1.5, 2), (2, 3)]),  # block ends at edge
        ([0.2, 0.2], Segment.LOW, 120, True, [(0, 1), (1, 2)]),  # the whole window
    ],
)
def test_time_table(
    prices: list[float],
    segment: Segment,
    minutes: int,
    continuous: bool,
    expected: list[tuple[float, float]],
) -> None:
    selection = time_slots(
        series(T0, prices), segment, timedelta(minutes=minutes), continuous=continuous
    )
    assert hours_of(selection) == expected
    assert selection.duration == timedelta(minutes=minutes)
    if continuous:
        assert len(selection.ranges) == 1


def test_time_too_long_for_the_window() -> None:
    with pytest.raises(SlotSelectionError, match="does not fit"):
        time_slots(series(T0, RAMP), Segment.LOW, timedelta(hours=6))
    with pytest.raises(SlotSelectionError, match="positive"):
        time_slots(series(T0, RAMP), Segment.LOW, timedelta(0))


prices_strategy = st.lists(
    st.sampled_from([-0.1, 0.0, 0.05, 0.1, 0.2, 0.25, 0.3, 0.5]), min_size=1, max_size=40
)


def check_selection_shape(selection: SlotSelection) -> None:
    previous_end = None
    for s in selection.slots:
        assert selection.start <= s.start < s.end <= selection.end
        if previous_end is not None:
            assert previous_end <= s.start
        previous_end = s.end
    for before, after in zip(selection.ranges, selection.ranges[1:], strict=False):
        assert before.end < after.start
    assert sum((s.end - s.start for s in selection.slots), timedelta(0)) == selection.duration


@settings(max_examples=150, deadline=None)
@given(
    prices=prices_strategy,
    segment=st.sampled_from(list(Segment)),
    relative=st.floats(0, 1),
    window=st.tuples(st.integers(0, 40 * 60), st.integers(1, 40 * 60)),
)
def test_threshold_slots_never_overlap_and_stay_in_the_window(
    prices: list[float], segment: Segment, relative: float, window: tuple[int, int]
) -> None:
    rates = series(T0, prices, timedelta(minutes=15))
    total = len(prices) * 15
    first = min(window[0], total - 1)
    last = min(first + window[1], total)
    start, end = T0 + timedelta(minutes=first), T0 + timedelta(minutes=last)
    selection = threshold_slots(rates, segment, relative=relative, start=start, end=end)
    assert (selection.start, selection.end) == (start, end)
    check_selection_shape(selection)
    inside = rates.window(start, end).prices_per_kwh.tolist()
    low, high = min(inside), max(inside)
    bound = (
        high - relative * (high - low) if segment is Segment.HIGH else low + relative * (high - low)
    )
    for s in selection.slots:
        if segment is Segment.HIGH:
            assert s.price_per_kwh >= bound - 1e-12
        else:
            assert s.price_per_kwh <= bound + 1e-12
    assert selection.slots  # the extreme price is always selected


@settings(max_examples=150, deadline=None)
@given(
    prices=prices_strategy,
    segment=st.sampled_from(list(Segment)),
    continuous=st.booleans(),
    fraction=st.floats(0.01, 1.0),
)
def test_time_slots_never_overlap_and_are_optimal(
    prices: list[float], segment: Segment, continuous: bool, fraction: float
) -> None:
    step = 15
    rates = series(T0, prices, timedelta(minutes=step))
    minutes = max(1, int(fraction * len(prices) * step))
    selection = time_slots(rates, segment, timedelta(minutes=minutes), continuous=continuous)
    check_selection_shape(selection)
    assert selection.duration == timedelta(minutes=minutes)
    if continuous:
        assert len(selection.ranges) == 1
    # brute force on a one-minute grid
    per_minute = [p for p in prices for _ in range(step)]
    sign = 1 if segment is Segment.LOW else -1
    if continuous:
        best = min(
            sign * sum(per_minute[i : i + minutes]) for i in range(len(per_minute) - minutes + 1)
        )
    else:
        best = sum(sorted(sign * p for p in per_minute)[:minutes])
    chosen = sum(
        sign * s.price_per_kwh * ((s.end - s.start) / timedelta(minutes=1)) for s in selection.slots
    )
    assert chosen == pytest.approx(best, abs=1e-9)
