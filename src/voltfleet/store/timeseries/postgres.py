"""``TimeSeriesStore`` on PostgreSQL: ``readings`` (series, ts_us, value) is declaratively
partitioned by range of ``ts_us`` (integer microseconds since the Unix epoch), one partition per
calendar month (UTC), created on demand before a write that needs it. A series is one data point
of one device (``series``: an integer id per (device_id, point), made on the first write;
migration 0010, which also says why instants are integers here).

Writes are a binary COPY straight into ``readings``, inside a savepoint: ingest sends only rows it
found new, and COPY is the cheapest way in (measured: 10,000 rows in 29 ms, against 45 ms through
a temporary table and ``INSERT ... SELECT``, and several times that with ``ON CONFLICT``, which is
expensive on a partitioned table). When a row is stored already after all (a concurrent writer,
or a caller that did not check), the savepoint is rolled back and the rows go through a temporary
table and ``INSERT ... ON CONFLICT DO NOTHING``, which keeps the first value. Both join the
caller's transaction.

Partitions for the months a reading can usually fall in are created when the adapter is made, on
a separate autocommit connection, before the caller's transaction reads the table (creating a
partition locks the parent, and a transaction that has read it holds a share lock until it ends).
A write into any other month creates its partition inside the caller's transaction. Both are
serialised by an advisory lock so concurrent processes do not race.

Reads of many series (``instants``, ``around_us``) are one statement over ``unnest`` of the
spans with a ``LATERAL`` join and an array per series: one round trip and a few Python objects
for a whole batch.
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from itertools import repeat
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from voltfleet.domain.telemetry.readings import Reading, Sample
from voltfleet.domain.telemetry.rollup import Resolution, Rollup, merge
from voltfleet.ports import RollupDelta, SeriesKey, SeriesRows, Span
from voltfleet.store.db import connection_now
from voltfleet.store.timeseries.series import SeriesCache, as_columns
from voltfleet.store.timeseries.sqlite import from_us, to_us

LATE_DAYS = 40  # partitions made ahead for readings this old (the late window is 30 days)
_LOCK_KEY = 0x766F6C74  # "volt": advisory lock for partition creation
_known: dict[str, set[tuple[int, int]]] = {}  # engine url -> months known to have a partition
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY_US = 86_400_000_000


def partition_name(year: int, month: int) -> str:
    return f"readings_y{year:04d}m{month:02d}"


def _next(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def _month_us(year: int, month: int) -> int:
    return to_us(datetime(year, month, 1, tzinfo=UTC))


def _create_sql(year: int, month: int) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {partition_name(year, month)} PARTITION OF readings "
        f"FOR VALUES FROM ({_month_us(year, month)}) TO ({_month_us(*_next(year, month))})"
    )


def _months_around(now: datetime) -> set[tuple[int, int]]:
    """The months a validated reading can fall in (late window before, clock skew after)."""
    first = now - timedelta(days=LATE_DAYS)
    months = set()
    at = datetime(first.year, first.month, 1, tzinfo=UTC)
    while at <= now + timedelta(days=31):
        months.add((at.year, at.month))
        y, m = _next(at.year, at.month)
        at = datetime(y, m, 1, tzinfo=UTC)
    return months


def _months_of(lo_us: int, hi_us: int) -> set[tuple[int, int]]:
    """The months from the one holding ``lo_us`` to the one holding ``hi_us``."""
    first, last = from_us(lo_us), from_us(hi_us)
    months, (y, m) = set(), (first.year, first.month)
    while (y, m) <= (last.year, last.month):
        months.add((y, m))
        y, m = _next(y, m)
    return months


def ensure_partitions(engine: Engine, months: Iterable[tuple[int, int]]) -> None:
    """Create missing monthly partitions on a separate autocommit connection.

    Call it before the caller's transaction reads ``readings``: creating a partition locks the
    parent table, which a transaction that has read it holds a share of until it ends."""
    known = _known.setdefault(str(engine.url), set())
    missing = sorted(set(months) - known)
    if not missing:
        return
    with engine.connect() as ddl:
        ddl = ddl.execution_options(isolation_level="AUTOCOMMIT")
        ddl.execute(text("SET lock_timeout = '5s'"))
        ddl.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_KEY})
        try:
            for year, month in missing:
                ddl.execute(text(_create_sql(year, month)))
                known.add((year, month))
        finally:
            ddl.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})


def forget_partitions(engine: Engine) -> None:
    """Drop the cache of known partitions (after the tables were recreated, in tests)."""
    _known.pop(str(engine.url), None)


def _utc(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        raise ValueError("naive datetime given to the time-series store")
    return ts.astimezone(UTC)


SERIES = "device_id = :d AND point = :p"  # of a roll-up
# The id of one series inside a reading query (psycopg's named parameters): no row, no readings.
RAW_SERIES = "series = (SELECT id FROM series WHERE device_id = %(d)s AND point = %(p)s)"
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
_COPY_TRAILER = b"\xff\xff"
# One row of binary COPY into readings: 3 fields (int4 series, int8 ts_us, float8 value), each
# after its length in bytes.
_COPY_ROW = struct.Struct("!hiiiqid").pack
# domain.telemetry.rollup.merge in SQL (see the SQLite adapter; LEAST/GREATEST ignore NULLs).
# One statement for a whole batch of changes (one key at most once: see merge_rollups).
MERGE = (
    "INSERT INTO rollups (device_id, point, resolution, start, value, samples, low, high) "
    "SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::timestamptz[], "
    "%s::float8[], %s::int4[], %s::float8[], %s::float8[]) "
    "ON CONFLICT (device_id, point, resolution, start) "
    "DO UPDATE SET value = CASE WHEN excluded.low IS NULL THEN rollups.value + excluded.value "
    "WHEN rollups.samples + excluded.samples > 0 THEN (rollups.value * rollups.samples + "
    "excluded.value * excluded.samples) / (rollups.samples + excluded.samples) "
    "ELSE rollups.value END, "
    "samples = rollups.samples + excluded.samples, "
    "low = LEAST(rollups.low, excluded.low), high = GREATEST(rollups.high, excluded.high)"
)
# The windows of many series in one statement: q is (series, lo, hi) per span.
_SPANS = "unnest(%(s)s::int4[], %(a)s::int8[], %(b)s::int8[]) AS q(series, lo, hi)"
_INSTANTS = (
    f"SELECT q.series, array_agg(r.ts_us) FROM {_SPANS} JOIN LATERAL (SELECT ts_us "
    "FROM readings WHERE series = q.series AND ts_us >= q.lo AND ts_us <= q.hi) r ON true "
    "GROUP BY q.series"
)
_AROUND = (
    "SELECT q.series, array_agg(r.ts_us ORDER BY r.ts_us), array_agg(r.value ORDER BY r.ts_us) "
    f"FROM {_SPANS} JOIN LATERAL ("
    "(SELECT ts_us, value FROM readings WHERE series = q.series AND ts_us < q.lo "
    "ORDER BY ts_us DESC LIMIT 1) UNION ALL (SELECT ts_us, value FROM readings "
    "WHERE series = q.series AND ts_us >= q.lo AND ts_us <= q.hi) UNION ALL (SELECT ts_us, value "
    "FROM readings WHERE series = q.series AND ts_us > q.hi ORDER BY ts_us LIMIT 1)) r ON true "
    "GROUP BY q.series"
)


def _copy_data(columns: Iterable[tuple[int, Sequence[int], Sequence[float]]]) -> bytes:
    """Binary COPY data for the (series, epoch microseconds, values) of each series; the rows
    are packed by ``map`` over the columns, in C, a few hundred nanoseconds each."""
    parts = [_COPY_HEADER]
    for sid, stamps, values in columns:
        n = len(stamps)
        parts.extend(map(_COPY_ROW, repeat(3, n), repeat(4, n), repeat(sid, n), repeat(8, n),
                         stamps, repeat(8, n), map(float, values)))  # fmt: skip
    parts.append(_COPY_TRAILER)
    return b"".join(parts)


class PostgresTimeSeriesStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._ids = SeriesCache("%s")  # the series ids this transaction has seen
        # The months a reading can fall in exist before this transaction touches the table.
        with contextlib.suppress(OperationalError):
            ensure_partitions(conn.engine, _months_around(connection_now(conn)))

    def _raw(self) -> Any:
        return self.conn.connection.driver_connection

    def _series(self, keys: Iterable[SeriesKey], *, create: bool) -> dict[SeriesKey, int]:
        return self._ids.ids(self._raw(), keys, create=create)

    def _ensure_in_transaction(self, months: set[tuple[int, int]]) -> None:
        """Months outside the usual window: created inside the caller's transaction (which may
        already hold a share lock on the parent), serialised by an advisory lock."""
        known = _known.setdefault(str(self.conn.engine.url), set())
        for year, month in sorted(months - known):
            name = partition_name(year, month)
            if self.conn.execute(text("SELECT to_regclass(:n)"), {"n": name}).scalar():
                known.add((year, month))  # committed by someone: safe to remember
                continue
            self.conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
            self.conn.execute(text(_create_sql(year, month)))

    def write(self, readings: Sequence[Reading]) -> int:
        return self.write_series(as_columns(readings))

    def write_series(self, batch: Sequence[SeriesRows]) -> int:
        """Binary COPY of the readings into ``readings`` (see the module's docstring)."""
        batch = [x for x in batch if x[2]]
        if not batch:
            return 0
        lo = min(min(stamps) for _, _, stamps, _ in batch)
        hi = max(max(stamps) for _, _, stamps, _ in batch)
        self._ensure_in_transaction(_months_of(lo, hi))
        ids = self._series({(d, p) for d, p, _, _ in batch}, create=True)
        data = _copy_data([(ids[(d, p)], stamps, values) for d, p, stamps, values in batch])
        with self._raw().cursor() as cur:
            cur.execute("SAVEPOINT vf_new_rows")
            try:
                with cur.copy(
                    "COPY readings (series, ts_us, value) FROM STDIN (FORMAT BINARY)"
                ) as cp:
                    cp.write(data)
            except psycopg.errors.UniqueViolation:
                cur.execute("ROLLBACK TO SAVEPOINT vf_new_rows")
                return self._insert_first(cur, data)
            stored = max(int(cur.rowcount), 0)
            cur.execute("RELEASE SAVEPOINT vf_new_rows")
            return stored

    @staticmethod
    def _insert_first(cur: Any, data: bytes) -> int:
        """The rows through a temporary table, skipping those stored already; inside the batch,
        the first of the rows with the same key wins (in the caller's order, which COPY keeps)."""
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS readings_in (series int4, ts_us int8, value float8, "
            "n bigserial) ON COMMIT DELETE ROWS"
        )
        cur.execute("DELETE FROM readings_in")  # ON COMMIT empties it; this is for a 2nd call
        with cur.copy("COPY readings_in (series, ts_us, value) FROM STDIN (FORMAT BINARY)") as cp:
            cp.write(data)
        cur.execute(
            "INSERT INTO readings (series, ts_us, value) SELECT DISTINCT ON (series, ts_us) "
            "series, ts_us, value FROM readings_in ORDER BY series, ts_us, n "
            "ON CONFLICT DO NOTHING"
        )
        return max(int(cur.rowcount), 0)

    def _by_span(self, sql: str, spans: Sequence[Span]) -> list[tuple[Any, ...]]:
        """``sql`` (``_INSTANTS`` or ``_AROUND``) over the spans of known series, as
        (series key, ...) rows."""
        ids = self._series({(d, p) for d, p, _, _ in spans}, create=False)
        known = [(ids[(d, p)], lo, hi) for d, p, lo, hi in spans if (d, p) in ids]
        if not known:
            return []
        keys = {sid: key for key, sid in ids.items()}
        args = {"s": [x[0] for x in known], "a": [x[1] for x in known], "b": [x[2] for x in known]}
        with self._raw().cursor(binary=True) as cur:
            cur.execute(sql, args)
            return [(keys[sid], *rest) for sid, *rest in cur.fetchall()]

    def instants(self, spans: Sequence[Span]) -> dict[SeriesKey, set[int]]:
        out: dict[SeriesKey, set[int]] = {(d, p): set() for d, p, _, _ in spans}
        for key, stamps in self._by_span(_INSTANTS, spans):
            out[key] = set(stamps)
        return out

    def around_us(self, spans: Sequence[Span]) -> dict[SeriesKey, list[tuple[int, float]]]:
        out: dict[SeriesKey, list[tuple[int, float]]] = {(d, p): [] for d, p, _, _ in spans}
        for key, stamps, values in self._by_span(_AROUND, spans):
            out[key] = list(zip(stamps, values, strict=True))
        return out

    def merge_rollups(self, deltas: Sequence[RollupDelta]) -> None:
        """One ``INSERT ... SELECT FROM unnest(...) ON CONFLICT DO UPDATE`` for all changes
        (about 5 times cheaper than a statement each); such a statement may touch a row once
        only, so changes to the same period are merged here first."""
        if not deltas:
            return
        merged: dict[tuple[str, str, str, datetime], Rollup] = {}
        for d, p, res, r in deltas:
            key = (d, p, res.value, _utc(r.start))
            old = merged.get(key)
            merged[key] = r if old is None else merge(old, r, is_energy=r.low is None)
        columns = list(
            zip(
                *((*key, r.value, r.samples, r.low, r.high) for key, r in merged.items()),
                strict=True,
            )
        )
        with self._raw().cursor() as cur:
            cur.execute(MERGE, [list(c) for c in columns])

    def _samples(self, sql: str, args: dict[str, Any]) -> list[Sample]:
        # The driver's cursor (psycopg's %(name)s parameters): SQLAlchemy's result rows cost
        # microseconds each, and a counter check reads hundreds.
        with self._raw().cursor() as cur:
            cur.execute(sql, args)
            return [Sample(from_us(t), v) for t, v in cur.fetchall()]

    def read(self, device_id: str, point: str, start: datetime, end: datetime) -> list[Sample]:
        return self._samples(
            f"SELECT ts_us, value FROM readings WHERE {RAW_SERIES} AND ts_us >= %(a)s "
            "AND ts_us < %(b)s ORDER BY ts_us",
            {"d": device_id, "p": point, "a": to_us(start), "b": to_us(end)},
        )

    def around(self, device_id: str, point: str, lo: datetime, hi: datetime) -> list[Sample]:
        pairs = self.around_us([(device_id, point, to_us(lo), to_us(hi))])[(device_id, point)]
        return [Sample(from_us(t), v) for t, v in pairs]

    def latest(self, device_id: str, point: str) -> Sample | None:
        rows = self._samples(
            f"SELECT ts_us, value FROM readings WHERE {RAW_SERIES} ORDER BY ts_us DESC LIMIT 1",
            {"d": device_id, "p": point},
        )
        return rows[0] if rows else None

    def replace_rollups(
        self,
        device_id: str,
        point: str,
        resolution: Resolution,
        start: datetime,
        end: datetime,
        rows: Sequence[Rollup],
    ) -> None:
        key = {"d": device_id, "p": point, "r": resolution.value}
        self.conn.execute(
            text(
                f"DELETE FROM rollups WHERE {SERIES} AND resolution = :r "
                "AND start >= :a AND start < :b"
            ),
            {**key, "a": _utc(start), "b": _utc(end)},
        )
        if rows:
            self.conn.execute(
                text(
                    "INSERT INTO rollups (device_id, point, resolution, start, value, samples, "
                    "low, high) VALUES (:d, :p, :r, :s, :v, :n, :lo, :hi)"
                ),
                [
                    {
                        **key,
                        "s": _utc(r.start),
                        "v": r.value,
                        "n": r.samples,
                        "lo": r.low,
                        "hi": r.high,
                    }
                    for r in rows
                ],
            )

    def read_rollups(
        self, device_id: str, point: str, resolution: Resolution, start: datetime, end: datetime
    ) -> list[Rollup]:
        result = self.conn.execute(
            text(
                "SELECT start, value, samples, low, high FROM rollups WHERE "
                f"{SERIES} AND resolution = :r AND start >= :a AND start < :b ORDER BY start"
            ),
            {"d": device_id, "p": point, "r": resolution.value, "a": _utc(start), "b": _utc(end)},
        )
        return [Rollup(_utc(s), v, n, lo, hi) for s, v, n, lo, hi in result]
