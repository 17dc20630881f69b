"""The ``TimeSeriesStore`` contract: the in-memory fake, SQLite and PostgreSQL behave alike.

Each test writes under fresh device ids, so the suite shares one database per backend.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine

from voltfleet.domain.telemetry.readings import Reading, Sample
from voltfleet.domain.telemetry.rollup import Resolution, Rollup
from voltfleet.ports import TimeSeriesStore
from voltfleet.store.db import make_engine
from voltfleet.store.migrate import upgrade
from voltfleet.store.timeseries import store_for
from voltfleet.store.timeseries.memory import MemoryTimeSeriesStore

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
_engines: dict[str, object] = {}


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('ts') / 'ts.db'}"
    upgrade(url)
    return url


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(
    request: pytest.FixtureRequest, sqlite_url: str, pg_url: str | None
) -> Iterator[TimeSeriesStore]:
    if request.param == "memory":
        yield MemoryTimeSeriesStore()
        return
    url = sqlite_url if request.param == "sqlite" else pg_url
    if url is None:
        pytest.skip("PostgreSQL server not available")
    if url not in _engines:
        if request.param == "postgresql":
            upgrade(url)
        _engines[url] = make_engine(url)
    engine = _engines[url]
    assert not isinstance(engine, str)
    with engine.begin() as conn:  # type: ignore[attr-defined]
        yield store_for(conn)


def dev() -> str:
    return str(uuid.uuid4())


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_write_and_read_back_in_time_order(store: TimeSeriesStore) -> None:
    d = dev()
    readings = [Reading(d, "pv_power_w", at(m), float(m)) for m in (5, 0, 10, 2.5)]
    assert store.write(readings) == 4
    got = store.read(d, "pv_power_w", at(0), at(10))
    assert got == [Sample(at(0), 0.0), Sample(at(2.5), 2.5), Sample(at(5), 5.0)]
    assert all(s.ts.tzinfo is not None and s.ts.utcoffset() == timedelta(0) for s in got)
    assert store.read(d, "grid_power_w", at(0), at(60)) == []
    assert store.read(dev(), "pv_power_w", at(0), at(60)) == []


def test_duplicates_are_stored_once_and_the_first_value_wins(store: TimeSeriesStore) -> None:
    d = dev()
    assert store.write([Reading(d, "soc", at(0), 0.5)]) == 1
    batch = [Reading(d, "soc", at(0), 0.9), Reading(d, "soc", at(1), 0.6)]
    batch += [Reading(d, "soc", at(1), 0.7), Reading(d, "soc", at(2), 0.8)]
    assert store.write(batch) == 2
    assert store.write(batch) == 0
    assert store.read(d, "soc", at(0), at(10)) == [
        Sample(at(0), 0.5),
        Sample(at(1), 0.6),
        Sample(at(2), 0.8),
    ]


def test_large_batches_dedupe_inside_the_batch(store: TimeSeriesStore) -> None:
    d = dev()
    batch = [Reading(d, "grid_power_w", T0 + timedelta(seconds=i), float(i)) for i in range(1500)]
    assert store.write(batch + batch[:300]) == 1500
    assert store.write(batch) == 0
    assert len(store.read(d, "grid_power_w", T0, T0 + timedelta(hours=1))) == 1500


def test_instants_keep_microseconds_and_any_offset_means_the_same_instant(
    store: TimeSeriesStore,
) -> None:
    d = dev()
    ts = datetime(2026, 3, 2, 10, 0, 0, 123456, tzinfo=UTC)
    berlin = ts.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin"))
    assert store.write([Reading(d, "soc", ts, 0.1), Reading(d, "soc", berlin, 0.2)]) == 1
    assert store.read(d, "soc", ts, ts + timedelta(microseconds=1)) == [Sample(ts, 0.1)]


def test_naive_instants_are_refused(store: TimeSeriesStore) -> None:
    with pytest.raises(ValueError):
        store.write([Reading(dev(), "soc", datetime(2026, 1, 1), 0.1)])


def test_series_span_months_and_years(store: TimeSeriesStore) -> None:
    """On PostgreSQL each month is a partition, created on demand."""
    d = dev()
    stamps = [datetime(2025, 12, 31, 23, 59, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)]
    stamps += [datetime(2026, 2, 28, 23, 59, 59, 999999, tzinfo=UTC)]
    stamps += [datetime(2026, 3, 1, tzinfo=UTC), datetime(2030, 7, 4, 12, tzinfo=UTC)]
    assert store.write([Reading(d, "pv_energy_wh", ts, float(i)) for i, ts in enumerate(stamps)])
    got = store.read(
        d, "pv_energy_wh", datetime(2020, 1, 1, tzinfo=UTC), datetime(2031, 1, 1, tzinfo=UTC)
    )
    assert [s.ts for s in got] == stamps


def test_around_gives_the_neighbours_outside_the_window(store: TimeSeriesStore) -> None:
    d = dev()
    store.write([Reading(d, "pv_energy_wh", at(m), m * 10) for m in (0, 5, 10, 15, 20)])
    got = store.around(d, "pv_energy_wh", at(6), at(15))
    assert [s.ts for s in got] == [at(5), at(10), at(15), at(20)]
    got = store.around(d, "pv_energy_wh", at(5), at(5))
    assert [s.ts for s in got] == [at(0), at(5), at(10)]
    assert store.around(d, "pv_energy_wh", at(30), at(40)) == [Sample(at(20), 200.0)]
    assert store.around(dev(), "pv_energy_wh", at(0), at(40)) == []


def test_latest(store: TimeSeriesStore) -> None:
    d = dev()
    assert store.latest(d, "soc") is None
    store.write([Reading(d, "soc", at(3), 0.3), Reading(d, "soc", at(1), 0.1)])
    assert store.latest(d, "soc") == Sample(at(3), 0.3)


def test_rollups_are_replaced_within_the_range_only(store: TimeSeriesStore) -> None:
    d, five = dev(), Resolution.FIVE_MIN
    first = [Rollup(at(m), m, 3) for m in (0, 5, 10, 15)]
    store.replace_rollups(d, "pv_energy_wh", five, at(0), at(20), first)
    assert store.read_rollups(d, "pv_energy_wh", five, at(0), at(20)) == first
    store.replace_rollups(d, "pv_energy_wh", five, at(5), at(15), [Rollup(at(5), 99.0, 4)])
    assert store.read_rollups(d, "pv_energy_wh", five, at(0), at(60)) == [
        first[0],
        Rollup(at(5), 99.0, 4),
        first[3],
    ]
    gauge = Rollup(at(0), 1500.5, 30, -20.0, 3000.0)
    store.replace_rollups(d, "grid_power_w", Resolution.HOUR, at(0), at(60), [gauge])
    assert store.read_rollups(d, "grid_power_w", Resolution.HOUR, at(0), at(60)) == [gauge]
    assert store.read_rollups(d, "grid_power_w", five, at(0), at(60)) == []
    assert store.read_rollups(dev(), "grid_power_w", Resolution.HOUR, at(0), at(60)) == []


def test_a_rolled_back_transaction_stores_nothing(sqlite_url: str, pg_url: str | None) -> None:
    for url in (sqlite_url, pg_url):
        if url is None:
            continue
        engine = create_engine(url) if url.startswith("postgresql") else make_engine(url)
        d = dev()
        with engine.connect() as conn:
            with conn.begin() as tx:
                store_for(conn).write([Reading(d, "soc", at(0), 0.5)])
                tx.rollback()
            assert store_for(conn).read(d, "soc", at(0), at(1)) == []
        engine.dispose()


def us(minutes: float) -> int:
    return int((at(minutes) - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))


def test_write_series_keeps_the_first_value_and_instants_lists_stored_ones(
    store: TimeSeriesStore,
) -> None:
    d = dev()
    assert store.write_series([(d, "soc", [us(0), us(1)], [0.5, 0.6])]) == 2
    # one stored already, one twice in the batch: the stored value, then the first, win
    assert store.write_series([(d, "soc", [us(1), us(2), us(2)], [0.9, 0.7, 0.8])]) == 1
    assert store.read(d, "soc", at(0), at(3)) == [
        Sample(at(0), 0.5),
        Sample(at(1), 0.6),
        Sample(at(2), 0.7),
    ]
    assert store.instants([(d, "soc", us(0), us(2))]) == {(d, "soc"): {us(0), us(1), us(2)}}
    assert store.instants([(d, "soc", us(0.5), us(1.5))]) == {(d, "soc"): {us(1)}}
    assert store.instants([(d, "pv_power_w", us(0), us(2))]) == {(d, "pv_power_w"): set()}
    # a sub-second instant survives exactly
    odd = us(3) + 123_457
    assert store.write_series([(d, "soc", [odd], [0.1])]) == 1
    assert store.instants([(d, "soc", odd, odd)]) == {(d, "soc"): {odd}}


def test_instants_of_many_series_at_once(store: TimeSeriesStore) -> None:
    """One span per series, each with its own window; unknown series answer empty."""
    a, b, c = dev(), dev(), dev()
    minutes = range(6)
    batch = [
        (x, p, [us(m) for m in minutes], [float(m) for m in minutes])
        for x in (a, b)
        for p in ("soc", "pv_power_w")
    ]
    assert store.write_series(batch) == 24
    assert store.write_series([(a, "soc", [], [])]) == 0
    got = store.instants(
        [
            (a, "soc", us(1), us(3)),
            (a, "pv_power_w", us(5), us(9)),
            (b, "soc", us(-5), us(0)),
            (b, "pv_power_w", us(2.5), us(2.9)),
            (c, "soc", us(0), us(9)),
        ]
    )
    assert got == {
        (a, "soc"): {us(1), us(2), us(3)},
        (a, "pv_power_w"): {us(5)},
        (b, "soc"): {us(0)},
        (b, "pv_power_w"): set(),
        (c, "soc"): set(),
    }
    assert store.instants([]) == {}


def test_merge_rollups_adds_energy_and_weights_means(store: TimeSeriesStore) -> None:
    d = dev()
    five = Resolution.FIVE_MIN
    store.merge_rollups(
        [
            (d, "pv_energy_wh", five, Rollup(at(0), 10.0, 2)),
            (d, "soc", five, Rollup(at(0), 0.5, 2, 0.4, 0.6)),
        ]
    )
    store.merge_rollups(
        [
            (d, "pv_energy_wh", five, Rollup(at(0), -4.0, 1)),
            (d, "pv_energy_wh", five, Rollup(at(5), 3.0, 1)),
            (d, "soc", five, Rollup(at(0), 0.8, 1, 0.8, 0.8)),
        ]
    )
    assert store.read_rollups(d, "pv_energy_wh", five, at(0), at(10)) == [
        Rollup(at(0), 6.0, 3),
        Rollup(at(5), 3.0, 1),
    ]
    [soc] = store.read_rollups(d, "soc", five, at(0), at(10))
    assert soc.samples == 3 and soc.low == 0.4 and soc.high == 0.8
    assert soc.value == pytest.approx(0.6)


def test_around_us_is_around_in_microseconds(store: TimeSeriesStore) -> None:
    d = dev()
    store.write([Reading(d, "pv_energy_wh", at(m), float(m)) for m in (0, 5, 10, 15, 20)])
    got = store.around_us([(d, "pv_energy_wh", us(6), us(14))])[(d, "pv_energy_wh")]
    assert got == [(us(5), 5.0), (us(10), 10.0), (us(15), 15.0)]
    want = store.around(d, "pv_energy_wh", at(6), at(14))
    assert [(us(0) + int((s.ts - at(0)) / timedelta(microseconds=1)), s.value) for s in want] == got
    other = dev()
    assert store.around_us([(other, "pv_energy_wh", us(0), us(1))]) == {(other, "pv_energy_wh"): []}


def test_around_us_of_many_series_at_once(store: TimeSeriesStore) -> None:
    a, b = dev(), dev()
    store.write([Reading(a, "pv_energy_wh", at(m), float(m)) for m in (0, 5, 10, 15, 20)])
    store.write([Reading(b, "pv_energy_wh", at(m), 2.0 * m) for m in (0, 10, 20)])
    store.write([Reading(b, "grid_import_energy_wh", at(m), 3.0 * m) for m in (1, 2)])
    got = store.around_us(
        [
            (a, "pv_energy_wh", us(6), us(14)),
            (b, "pv_energy_wh", us(25), us(30)),
            (b, "grid_import_energy_wh", us(0), us(0.5)),
        ]
    )
    assert got == {
        (a, "pv_energy_wh"): [(us(5), 5.0), (us(10), 10.0), (us(15), 15.0)],
        (b, "pv_energy_wh"): [(us(20), 40.0)],
        (b, "grid_import_energy_wh"): [(us(1), 3.0)],
    }


def test_merge_rollups_takes_the_same_period_twice_in_one_call(store: TimeSeriesStore) -> None:
    """As if the changes came in two calls: a batch may hold two changes of one period."""
    d, hour = dev(), Resolution.HOUR
    store.merge_rollups(
        [
            (d, "pv_energy_wh", hour, Rollup(at(0), 10.0, 2)),
            (d, "soc", hour, Rollup(at(0), 0.5, 2, 0.4, 0.6)),
            (d, "pv_energy_wh", hour, Rollup(at(0), 5.0, 1)),
            (d, "soc", hour, Rollup(at(0), 0.8, 1, 0.8, 0.8)),
        ]
    )
    assert store.read_rollups(d, "pv_energy_wh", hour, at(0), at(60)) == [Rollup(at(0), 15.0, 3)]
    [soc] = store.read_rollups(d, "soc", hour, at(0), at(60))
    assert (soc.samples, soc.low, soc.high) == (3, 0.4, 0.8)
    assert soc.value == pytest.approx(0.6)
