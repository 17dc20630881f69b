"""Recorded counter restarts (domain.telemetry.restarts): the monotonic check starts again at
each restart, and the energy across a restart is the new value minus the start value."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.telemetry.test_batch import _apply, _full, _same
from voltfleet.domain.telemetry.batch import from_us, to_us
from voltfleet.domain.telemetry.readings import Reading, Sample
from voltfleet.domain.telemetry.restarts import (
    Restart,
    check_counter_us,
    continuous,
    energy_across,
    segment_of,
)
from voltfleet.domain.telemetry.rollup import Resolution, energy, energy_delta, ladder_deltas
from voltfleet.domain.telemetry.validate import Reason, check_counter
from voltfleet.domain.telemetry.validate import check_counter_us as plain_check

T0 = datetime(2026, 3, 10, 0, 0, tzinfo=UTC)
P = "grid_import_energy_wh"


def us(minutes: float) -> int:
    return to_us(T0 + timedelta(minutes=minutes))


def new(*items: tuple[float, float]) -> list[tuple[int, int, float]]:
    return [(i, us(m), float(v)) for i, (m, v) in enumerate(items)]


def old(*items: tuple[float, float]) -> list[tuple[int, float]]:
    return [(us(m), float(v)) for m, v in items]


# ---- the check ------------------------------------------------------------------------------


def test_without_a_restart_a_lower_value_is_a_counter_reset() -> None:
    keep, bad = check_counter_us(P, new((70, 5)), old((55, 11_000)))
    assert keep == [] and [r.reason for r in bad] == [Reason.COUNTER_RESET]


def test_after_a_restart_readings_are_judged_against_the_new_counter_only() -> None:
    stored = old((50, 10_900), (55, 11_000))
    restart = [Restart(us(56))]
    keep, bad = check_counter_us(P, new((60, 100), (65, 200), (70, 150)), stored, restart)
    assert keep == [0, 1] and [(r.index, r.reason) for r in bad] == [(2, Reason.COUNTER_RESET)]
    assert "went backwards: 150.0 after 200.0" in bad[0].detail


def test_a_reading_at_the_restart_instant_belongs_to_the_new_counter() -> None:
    keep, bad = check_counter_us(P, new((56, 0)), old((55, 11_000)), [Restart(us(56))])
    assert keep == [0] and bad == []


def test_readings_before_a_restart_are_not_capped_by_the_new_counter() -> None:
    # the old meter's late readings (back-fill) after the new meter's readings are stored
    stored = old((50, 10_900), (60, 100), (65, 200))
    keep, bad = check_counter_us(P, new((52, 10_950), (54, 10_800)), stored, [Restart(us(56))])
    assert keep == [0] and [r.index for r in bad] == [1]  # 10,800 went backwards in the old one
    # without the restart the same back-fill is above the later stored 100: refused
    keep, bad = check_counter_us(P, new((52, 10_950)), stored)
    assert keep == [] and "above the later stored value 100.0" in bad[0].detail


def test_a_reading_below_the_start_value_is_refused_but_a_duplicate_is_not_judged() -> None:
    restart = [Restart(us(56), start_wh=50_000.0)]
    stored = old((55, 11_000), (60, 40_000))  # stored before the restart was recorded
    keep, bad = check_counter_us(P, new((58, 49_999), (60, 1), (62, 50_100)), stored, restart)
    assert keep == [1, 2]  # 60 is a duplicate instant: dropped on write, not judged
    assert [r.index for r in bad] == [0]
    assert "is below 50000.0, the value it restarted from at 2026-03-10T00:56:00Z" in bad[0].detail


def test_restarts_outside_the_stretch_change_nothing() -> None:
    stored, fresh = old((50, 10), (55, 20)), new((60, 30), (65, 25))
    far = [Restart(us(-600)), Restart(us(600), 7)]
    assert check_counter_us(P, fresh, stored, far) == plain_check(P, fresh, stored)
    assert segment_of(us(0), [us(-600), us(600)]) == 0
    assert segment_of(us(-601), [us(-600)]) == -1


@settings(max_examples=300, deadline=None)
@given(
    stored=st.dictionaries(st.integers(0, 60), st.integers(0, 100), max_size=10),
    fresh=st.dictionaries(st.integers(0, 60), st.integers(0, 100), max_size=12),
    cuts=st.dictionaries(st.integers(1, 60), st.sampled_from([0, 0, 20]), max_size=3),
)
def test_the_check_is_the_plain_check_run_in_each_segment(
    stored: dict[int, int], fresh: dict[int, int], cuts: dict[int, int]
) -> None:
    """The definition: split stored and new samples at the restarts, run the plain
    ``validate.check_counter`` (on datetimes) in each segment, after refusing the new readings
    below the segment's start value (except duplicates of stored instants)."""
    restarts = [Restart(us(m), float(s)) for m, s in cuts.items()]
    st_ = sorted((us(m), float(v)) for m, v in stored.items())
    nw = sorted((us(m), float(v)) for m, v in fresh.items())
    keep, bad = check_counter_us(P, [(i, t, v) for i, (t, v) in enumerate(nw)], st_, restarts)

    bounds = sorted(restarts)
    want_ok: set[int] = set()
    want_bad: set[int] = set()
    for k in range(-1, len(bounds)):
        lo = bounds[k].at_us if k >= 0 else -(2**62)
        hi = bounds[k + 1].at_us if k + 1 < len(bounds) else 2**62
        start = bounds[k].start_wh if k >= 0 else 0.0
        seg_stored = [(t, v) for t, v in st_ if lo <= t < hi]
        at_stored = {t for t, _ in seg_stored}
        items = []
        for i, (t, v) in enumerate(nw):
            if not lo <= t < hi:
                continue
            if v < start and t not in at_stored:
                want_bad.add(i)
            else:
                items.append((i, Reading("d", P, from_us(t), v)))
        ok, no = check_counter(items, [Sample(from_us(t), v) for t, v in seg_stored])
        want_ok |= {i for i, _ in ok}
        want_bad |= {r.index for r in no}
    assert set(keep) == want_ok
    assert {r.index for r in bad} == want_bad
    assert all(r.reason is Reason.COUNTER_RESET for r in bad)


# ---- energy across a restart -----------------------------------------------------------------


def _total(samples: list[tuple[int, float]], restarts: list[Restart]) -> float:
    series = [Sample(from_us(t), v) for t, v in continuous(samples, restarts)]
    start, end = T0 - timedelta(days=1), T0 + timedelta(days=2)
    rows = energy(series, start, end, Resolution.HOUR)
    return sum(r.value for r in rows)


@pytest.mark.parametrize(
    ("new_value", "start_wh", "rise"),
    [
        (100.0, 0.0, 100.0),  # restarted from zero, below the old value: the new value
        (50_100.0, 0.0, 50_100.0),  # from zero, and already above the old value: still the value
        (50_100.0, 50_000.0, 100.0),  # a replacement meter that started at 50 kWh
        (40_000.0, 50_000.0, 40_000.0),  # below its start: an unrecorded reset, the reset rule
    ],
)
def test_the_rise_across_a_restart_is_the_new_value_minus_the_start_value(
    new_value: float, start_wh: float, rise: float
) -> None:
    samples = old((50, 10_900), (55, 11_000), (60, new_value), (65, new_value + 100))
    restarts = [Restart(us(56), start_wh)]
    assert _total(samples, restarts) == pytest.approx(100 + rise + 100)
    assert energy_across(11_000, new_value, restarts[0]) == pytest.approx(rise)


def test_without_restarts_the_samples_are_returned_as_they_are() -> None:
    samples = old((50, 10_900), (55, 11_000))
    assert continuous(samples, []) is samples
    assert continuous(samples, [Restart(us(50)), Restart(us(70))]) is samples
    # the plain reset rule: 11,000 -> 500 books 500; an old value is never negative energy
    assert _total(old((50, 10_900), (55, 11_000), (60, 500)), []) == pytest.approx(600)


def test_the_latest_of_several_restarts_between_two_samples_counts() -> None:
    samples = old((55, 11_000), (60, 7_100))
    restarts = [Restart(us(56), 0), Restart(us(58), 7_000)]
    assert _total(samples, restarts) == pytest.approx(100)


def test_a_reset_inside_a_later_segment_still_books_the_new_value() -> None:
    samples = old((55, 11_000), (60, 100), (65, 300), (70, 50), (75, 80))
    assert _total(samples, [Restart(us(56))]) == pytest.approx(100 + 200 + 50 + 30)
    # continuous values are monotonic, and the part before the restart is untouched
    values = [v for _, v in continuous(samples, [Restart(us(56))])]
    assert values[0] == 11_000 and values == sorted(values)


def test_a_replaced_meter_mid_day_gives_the_true_energy_of_the_day() -> None:
    """Every 5 minutes 100 Wh; the old meter (at 1 MWh) is swapped at 12:00 for a new one that
    counts from zero: the day's energy is 288 x 100 Wh, whatever the two registers read."""
    day = datetime(2026, 3, 10, tzinfo=UTC)
    samples = []
    for k in range(289):
        t = day + timedelta(minutes=5 * k)
        value = 1_000_000 + 100 * k if k < 144 else 100 * (k - 143)
        samples.append((to_us(t), float(value)))
    restart = [Restart(to_us(day + timedelta(hours=11, minutes=57)))]
    series = [Sample(from_us(t), v) for t, v in continuous(samples, restart)]
    rows = energy(series, day, day + timedelta(days=1), Resolution.HOUR)
    assert sum(r.value for r in rows) == pytest.approx(288 * 100)
    assert all(r.value == pytest.approx(1200) for r in rows)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10**6),
    batches=st.integers(1, 6),
    tz=st.sampled_from([ZoneInfo("Europe/Berlin"), ZoneInfo("UTC")]),
)
def test_incremental_rollups_across_restarts_equal_a_full_recomputation(
    seed: int, batches: int, tz: ZoneInfo
) -> None:
    """As in test_batch, with restarts: each batch's delta computed on the ``continuous`` stored
    neighbours and merged series, summed, equals the full recomputation on ``continuous`` of all
    samples (what ingest and rollups.refresh do)."""
    rng = random.Random(seed)
    start = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)
    n = rng.randint(2, 120)
    times = sorted({to_us(start + timedelta(seconds=rng.randint(0, n * 97))) for _ in range(n)})
    restarts = [
        Restart(rng.randint(times[0], times[-1]), rng.choice([0.0, 0.0, 5_000.0]))
        for _ in range(rng.randint(1, 3))
    ]
    counter, level = [], 0.0
    for t in times:
        opened = [r for r in restarts if r.at_us <= t]
        level = level + rng.uniform(0, 50)
        counter.append((t, level))
        if opened and rng.random() < 0.3:
            level = max(r.start_wh for r in opened)  # registers jump around restarts
    order = list(range(len(times)))
    rng.shuffle(order)
    cuts = sorted(rng.sample(range(1, len(order)), min(batches - 1, len(order) - 1)))
    parts = [order[a:b] for a, b in zip([0, *cuts], [*cuts, len(order)], strict=True)]
    table: dict = {}
    stored: list[tuple[int, float]] = []
    for part in parts:
        fresh = sorted(counter[k] for k in part)
        lo, hi = fresh[0][0], fresh[-1][0]
        before = [s for s in stored if s[0] < lo][-1:]
        after = [s for s in stored if s[0] > hi][:1]
        near = before + [s for s in stored if lo <= s[0] <= hi] + after
        merged = sorted(near + fresh)
        delta = energy_delta(continuous(near, restarts), continuous(merged, restarts), tz)
        _apply(table, ladder_deltas(delta, tz, is_energy=True), True)
        stored = sorted(stored + fresh)
    samples = [Sample(from_us(t), v) for t, v in continuous(counter, restarts)]
    _same(table, _full(samples, tz, True))
