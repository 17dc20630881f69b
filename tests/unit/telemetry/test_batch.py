"""The ingest fast path agrees with the definitions it replaces, reading by reading:
``batch.check_group`` with ``validate.check``, ``check_counter_us`` with ``check_counter``, and the
incremental roll-ups (``energy_delta``/``gauge_delta_us`` + ``merge``) with a full recomputation."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from voltfleet.domain.telemetry.batch import check_group, from_us, join, to_us
from voltfleet.domain.telemetry.points import CATALOGUE
from voltfleet.domain.telemetry.readings import Reading, Sample
from voltfleet.domain.telemetry.rollup import (
    LADDER,
    Resolution,
    Rollup,
    average,
    combine,
    energy,
    energy_delta,
    gauge_delta_us,
    ladder_deltas,
    merge,
    span,
)
from voltfleet.domain.telemetry.validate import (
    Limits,
    RawReading,
    Rejection,
    check,
    check_counter,
    check_counter_us,
)

NOW = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")

stamps = st.one_of(
    st.integers(-40 * 86400, 600).map(
        lambda s: (NOW + timedelta(seconds=s)).astimezone(ZoneInfo("America/New_York")).isoformat()
    ),
    st.integers(-3600, 3600).map(lambda s: (NOW + timedelta(seconds=s)).isoformat()),
    st.sampled_from(["2026-03-29T11:00:00", "yesterday", "2026-03-29T11:59:59.5Z", ""]),
    # the edges of the late window and of the allowed clock skew
    st.sampled_from([-timedelta(days=30), timedelta(minutes=5)]).flatmap(
        lambda edge: st.sampled_from(
            [timedelta(0), timedelta(microseconds=1), -timedelta(seconds=1)]
        ).map(lambda d: (NOW + edge + (d if edge > timedelta(0) else -d)).isoformat())
    ),
)
values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-10, 10**6),
    st.sampled_from(["12.5", "n/a", None, "nan"]),
)
points = st.sampled_from(["pv_power_w", "soc", "grid_import_energy_wh", "nope", "grid_voltage_v"])
units = st.sampled_from(["W", "kW", "%", "fraction", "Wh", "kWh", "V", "furlong"])


def _number(raw: object) -> float | None:
    if isinstance(raw, bool) or raw is None:
        return None
    try:
        return float(raw)  # type: ignore[arg-type]
    except ValueError:
        return None


@settings(max_examples=300, deadline=None)
@given(
    point=points,
    unit=units,
    items=st.lists(st.tuples(stamps, values), max_size=30),
)
def test_check_group_agrees_with_check(
    point: str, unit: str, items: list[tuple[str, object]]
) -> None:
    indexed = [(i, ts, v) for i, (ts, v) in enumerate(items)]
    series, refused = check_group("dev", point, unit, indexed, NOW)

    expected_ok: dict[int, tuple[int, float]] = {}  # instant -> (index, value), first wins
    expected_bad: list[tuple[int, str]] = []
    for i, ts_text, raw in indexed:
        try:
            ts = datetime.fromisoformat(ts_text)
        except ValueError:
            expected_bad.append((i, "bad_timestamp"))
            continue
        value = _number(raw)
        if value is None:
            expected_bad.append((i, "not_a_number"))
            continue
        outcome = check(RawReading(i, "dev", point, ts, value, unit), NOW, Limits())
        if isinstance(outcome, Rejection):
            expected_bad.append((i, outcome.reason.value))
        else:
            expected_ok.setdefault(to_us(outcome.ts), (i, outcome.value))

    assert [(r.rejection.index, r.rejection.reason.value) for r in refused] == expected_bad
    got = (
        {us: (i, v) for us, i, v in zip(series.ts_us, series.indexes, series.values, strict=True)}
        if series
        else {}
    )
    assert got == expected_ok
    if series:
        assert series.ts_us == sorted(series.ts_us)
        accepted = len(indexed) - len(expected_bad)
        assert series.repeats == accepted - len(expected_ok)


@settings(max_examples=150, deadline=None)
@given(
    groups=st.lists(
        st.tuples(points, units, st.lists(st.tuples(stamps, values), max_size=12)), max_size=5
    )
)
def test_a_parse_cache_shared_by_the_groups_of_a_batch_changes_nothing(
    groups: list[tuple[str, str, list[tuple[str, object]]]],
) -> None:
    """Ingest shares one timestamp cache between the groups of a batch: each group's outcome is
    the one it has alone, and only timestamps that made an instant are cached."""
    parsed: dict[str, int] = {}
    for point, unit, items in groups:
        indexed = [(i, ts, v) for i, (ts, v) in enumerate(items)]
        alone = check_group("dev", point, unit, indexed, NOW)
        shared = check_group("dev", point, unit, indexed, NOW, parsed=parsed)
        assert shared == alone
    for text, us in parsed.items():
        ts = datetime.fromisoformat(text)
        assert ts.utcoffset() is not None and to_us(ts) == us


def test_join_keeps_the_reading_earlier_in_the_batch() -> None:
    p = CATALOGUE["pv_power_w"]
    a, _ = check_group("d", "pv_power_w", "W", [(0, "2026-03-29T11:00:00Z", 1.0)], NOW)
    b, _ = check_group(
        "d",
        "pv_power_w",
        "kW",
        [(1, "2026-03-29T11:00:00Z", 2.0), (2, "2026-03-29T11:01Z", 3)],
        NOW,
    )
    assert a is not None and b is not None and a.point is p
    joined = join(b, a)
    assert joined.values == [1.0, 3000.0] and joined.indexes == [0, 2] and joined.repeats == 1


@settings(max_examples=200, deadline=None)
@given(
    stored=st.dictionaries(st.integers(0, 50), st.integers(0, 100), max_size=8),
    new=st.dictionaries(st.integers(0, 50), st.integers(0, 100), max_size=12),
)
def test_check_counter_us_agrees_with_check_counter(
    stored: dict[int, int], new: dict[int, int]
) -> None:
    t0 = NOW
    old = sorted((to_us(t0 + timedelta(minutes=m)), float(v)) for m, v in stored.items())
    fresh = sorted((to_us(t0 + timedelta(minutes=m)), float(v)) for m, v in new.items())
    items = [(i, Reading("d", "pv_energy_wh", from_us(us), v)) for i, (us, v) in enumerate(fresh)]
    want_ok, want_bad = check_counter(items, [Sample(from_us(us), v) for us, v in old])
    keep, bad = check_counter_us(
        "pv_energy_wh", [(i, us, v) for i, (us, v) in enumerate(fresh)], old
    )
    assert sorted(keep) == sorted(i for i, _ in want_ok)
    assert [(r.index, r.reason, r.detail) for r in bad] == [
        (r.index, r.reason, r.detail) for r in want_bad
    ]


def _full(samples: list[Sample], tz: ZoneInfo, is_energy: bool) -> dict[Resolution, list[Rollup]]:
    start, end = span(samples[0].ts, samples[-1].ts, Resolution.FIVE_MIN, tz)
    rows = (energy if is_energy else average)(samples, start, end, Resolution.FIVE_MIN, tz)
    out = {Resolution.FIVE_MIN: rows}
    for resolution in LADDER[1:]:
        rows = combine(rows, resolution, tz, is_energy=is_energy)
        out[resolution] = rows
    return out


def _apply(
    table: dict[tuple[Resolution, datetime], Rollup],
    deltas: dict[Resolution, list[Rollup]],
    e: bool,
) -> None:
    for resolution, rows in deltas.items():
        for row in rows:
            key = (resolution, row.start)
            table[key] = merge(table.get(key), row, is_energy=e)


def _same(table: dict[tuple[Resolution, datetime], Rollup], full: dict[Resolution, list[Rollup]]):
    want = {(res, r.start): r for res, rows in full.items() for r in rows}
    for key, row in table.items():
        if key not in want:
            assert abs(row.value) < 1e-6 and row.samples == 0, (key, row)
            continue
        w = want[key]
        assert abs(row.value - w.value) < 1e-6 * max(1.0, abs(w.value)), (key, row, w)
        assert row.samples == w.samples, (key, row, w)
        if w.low is not None:
            assert row.low == w.low and row.high == w.high
    assert set(want) <= set(table)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10**6),
    batches=st.integers(1, 6),
    gappy=st.booleans(),
    tz=st.sampled_from([BERLIN, ZoneInfo("Asia/Kathmandu"), ZoneInfo("UTC")]),
)
def test_incremental_rollups_equal_a_full_recomputation(
    seed: int, batches: int, gappy: bool, tz: ZoneInfo
) -> None:
    """Samples of a counter and a gauge arrive in random batches, out of order and late, with
    gaps, across the DST change in Berlin (the arrays' fast path and the Python path); merging
    each batch's deltas gives what recomputing from all the samples gives."""
    rng = random.Random(seed)
    start = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)  # Berlin skips 02:00 -> 03:00 local
    n = rng.randint(2, 10 if gappy else 120)  # gappy: within 12 h, so the fast path too
    step = 4000 if gappy else 97
    times = sorted({to_us(start + timedelta(seconds=rng.randint(0, n * step))) for _ in range(n)})
    counter, level = [], 0.0
    for us in times:
        level = level + rng.uniform(0, 50) if rng.random() > 0.05 else rng.uniform(0, 10)  # reset
        counter.append((us, level))
    gauge = [(us, rng.uniform(-500, 500)) for us in times]
    order = list(range(len(times)))
    rng.shuffle(order)
    cuts = sorted(rng.sample(range(1, len(order)), min(batches - 1, len(order) - 1)))
    parts = [order[a:b] for a, b in zip([0, *cuts], [*cuts, len(order)], strict=True)]

    e_table: dict[tuple[Resolution, datetime], Rollup] = {}
    g_table: dict[tuple[Resolution, datetime], Rollup] = {}
    stored: list[tuple[int, float]] = []
    for part in parts:
        new = sorted(counter[k] for k in part)
        lo, hi = new[0][0], new[-1][0]
        inside = [s for s in stored if lo <= s[0] <= hi]
        before = [s for s in stored if s[0] < lo][-1:]
        after = [s for s in stored if s[0] > hi][:1]
        old = before + inside + after
        _apply(
            e_table,
            ladder_deltas(energy_delta(old, sorted(old + new), tz), tz, is_energy=True),
            True,
        )
        stored = sorted(stored + new)
        g = [gauge[k] for k in part]
        five = gauge_delta_us([us for us, _ in g], [v for _, v in g], tz)
        _apply(g_table, ladder_deltas(five, tz, is_energy=False), False)

    samples = [Sample(from_us(us), v) for us, v in counter]
    _same(e_table, _full(samples, tz, True))
    _same(g_table, _full([Sample(from_us(us), v) for us, v in gauge], tz, False))
