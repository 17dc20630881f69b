"""``batch.check_group`` checks a large group on arrays first (``_whole_group``) and judges reading
by reading only when something leaves the happy path: the outcome is the loop's in every case
(the loop itself agrees with ``validate.check``: test_batch.py)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voltfleet.domain.telemetry import batch
from voltfleet.domain.telemetry.batch import check_group

NOW = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)

# Mostly good readings (so that whole groups pass), now and then one that is not.
good_stamps = st.one_of(
    st.integers(-3600, 300).map(lambda s: (NOW + timedelta(seconds=s)).isoformat()),
    st.integers(-3600, 300).map(lambda s: NOW + timedelta(seconds=s)),
)
stamps = st.one_of(
    good_stamps,
    st.sampled_from(["2026-03-29T11:00:00", "nope", (NOW - timedelta(days=31)).isoformat()]),
)
good_values = st.floats(0, 20_000, allow_nan=False)
values = st.one_of(
    good_values,
    st.sampled_from([float("nan"), float("inf"), -1.0, 1e308, 5, "12.5", None, True]),
)
points = st.sampled_from(
    [("pv_power_w", "W"), ("pv_power_w", "kW"), ("soc", "%"), ("grid_import_energy_wh", "kWh")]
)


def _both(point: str, unit: str, items: list[tuple[int, object, object]]) -> tuple[object, object]:
    whole_first = check_group("dev", point, unit, items, NOW)  # type: ignore[arg-type]
    saved = batch.WHOLE_GROUP_MIN
    batch.WHOLE_GROUP_MIN = 10**9  # the loop alone
    try:
        loop_only = check_group("dev", point, unit, items, NOW)  # type: ignore[arg-type]
    finally:
        batch.WHOLE_GROUP_MIN = saved
    return whole_first, loop_only


@settings(max_examples=80, deadline=None)
@given(
    point=points,
    good=st.lists(st.tuples(good_stamps, good_values), min_size=64),
    bad=st.one_of(st.just([]), st.lists(st.tuples(stamps, values), max_size=2)),
    seed=st.integers(0, 1000),
)
def test_the_whole_group_path_gives_the_loops_outcome(
    point: tuple[str, str],
    good: list[tuple[object, float]],
    bad: list[tuple[object, object]],
    seed: int,
) -> None:
    rows = good + bad
    random.Random(seed).shuffle(rows)
    items = [(i, ts, v) for i, (ts, v) in enumerate(rows)]
    whole_first, loop_only = _both(*point, items)
    assert whole_first == loop_only


def test_a_batch_of_good_readings_is_checked_in_one_pass_on_arrays(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """500 instants of a gateway's batch, shuffled, 25 sent twice: one pass on arrays, the
    loop's outcome; one bad reading among them sends the group back to the loop."""
    stamps = [(NOW - timedelta(seconds=2 * k)).isoformat() for k in range(500)]
    rows = [(ts, float(k % 5000)) for k, ts in enumerate(stamps)] + [
        (stamps[k], 1.0) for k in range(0, 500, 20)
    ]
    random.Random(1).shuffle(rows)
    items = [(i, ts, v) for i, (ts, v) in enumerate(rows)]
    passes: list[bool] = []
    whole_group = batch._whole_group

    def watched(*args: object) -> bool:
        passes.append(whole_group(*args))  # type: ignore[arg-type]
        return passes[-1]

    monkeypatch.setattr(batch, "_whole_group", watched)
    whole_first, loop_only = _both("pv_power_w", "W", items)
    assert passes == [True]
    assert whole_first == loop_only
    series, refused = whole_first  # type: ignore[misc]
    assert refused == [] and len(series.ts_us) == 500 and series.repeats == 25
    assert series.ts_us == sorted(series.ts_us)

    items[7] = (7, items[7][1], "n/a")
    whole_first, loop_only = _both("pv_power_w", "W", items)
    assert passes == [True, False]
    assert whole_first == loop_only
    assert [r.rejection.index for r in whole_first[1]] == [7]  # type: ignore[index]
