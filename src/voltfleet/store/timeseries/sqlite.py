"""``TimeSeriesStore`` on SQLite: ``readings`` is keyed (series, ts_us) WITHOUT ROWID, where a
series is one data point of one device (``series``: an integer id per (device_id, point), made on
the first write; migration 0010), and instants are integer microseconds since the epoch (exact,
compact, ordered). Batches go in with one ``executemany`` of ``INSERT ... ON CONFLICT DO NOTHING``
on the caller's connection, inside its transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from itertools import chain, repeat
from typing import Any

from sqlalchemy import Connection

from voltfleet.domain.telemetry.readings import Reading, Sample
from voltfleet.domain.telemetry.rollup import Resolution, Rollup
from voltfleet.ports import RollupDelta, SeriesKey, SeriesRows, Span
from voltfleet.store.timeseries.series import SeriesCache, as_columns

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def to_us(ts: datetime) -> int:
    if ts.tzinfo is None:
        raise ValueError("naive datetime given to the time-series store")
    return (ts - EPOCH) // _US


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


INSERT = "INSERT INTO readings (series, ts_us, value) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
# The id of one series, inside a reading query: no row, no readings.
SERIES = "series = (SELECT id FROM series WHERE device_id = ? AND point = ?)"
# domain.telemetry.rollup.merge in SQL. A delta without ``low`` is energy: it adds; a gauge's
# mean is weighted by the counts. coalesce() makes min/max ignore a missing side, as LEAST and
# GREATEST do on PostgreSQL.
MERGE = (
    "INSERT INTO rollups (device_id, point, resolution, start_us, value, samples, low, high) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (device_id, point, resolution, start_us) "
    "DO UPDATE SET value = CASE WHEN excluded.low IS NULL THEN rollups.value + excluded.value "
    "WHEN rollups.samples + excluded.samples > 0 THEN (rollups.value * rollups.samples + "
    "excluded.value * excluded.samples) / (rollups.samples + excluded.samples) "
    "ELSE rollups.value END, "
    "samples = rollups.samples + excluded.samples, "
    "low = min(coalesce(rollups.low, excluded.low), coalesce(excluded.low, rollups.low)), "
    "high = max(coalesce(rollups.high, excluded.high), coalesce(excluded.high, rollups.high))"
)


class SqliteTimeSeriesStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._ids = SeriesCache("?")  # the series ids this transaction has seen

    def _raw(self) -> Any:
        # The DBAPI connection under the caller's transaction (sqlite3 begins it before DML).
        return self.conn.connection.driver_connection

    def _series(self, keys: Iterable[SeriesKey], *, create: bool) -> dict[SeriesKey, int]:
        return self._ids.ids(self._raw(), keys, create=create)

    def write(self, readings: Sequence[Reading]) -> int:
        return self.write_series(as_columns(readings))

    def write_series(self, batch: Sequence[SeriesRows]) -> int:
        if not batch:
            return 0
        ids = self._series({(d, p) for d, p, _, _ in batch}, create=True)
        raw = self._raw()
        before = raw.total_changes
        raw.executemany(
            INSERT,
            chain.from_iterable(
                zip(repeat(ids[(d, p)]), stamps, values) for d, p, stamps, values in batch
            ),
        )
        return int(raw.total_changes - before)

    def instants(self, spans: Sequence[Span]) -> dict[SeriesKey, set[int]]:
        ids = self._series({(d, p) for d, p, _, _ in spans}, create=False)
        out: dict[SeriesKey, set[int]] = {}
        raw = self._raw()
        for d, p, lo, hi in spans:
            sid = ids.get((d, p))
            if sid is None:
                out[(d, p)] = set()
                continue
            cur = raw.execute(
                "SELECT ts_us FROM readings WHERE series = ? AND ts_us >= ? AND ts_us <= ?",
                (sid, lo, hi),
            )
            out[(d, p)] = {t for (t,) in cur.fetchall()}
        return out

    def merge_rollups(self, deltas: Sequence[RollupDelta]) -> None:
        if deltas:
            self._raw().executemany(
                MERGE,
                [
                    (d, p, res.value, to_us(r.start), r.value, r.samples, r.low, r.high)
                    for d, p, res, r in deltas
                ],
            )

    def _rows(self, sql: str, args: tuple[Any, ...]) -> list[Sample]:
        return [Sample(from_us(t), v) for t, v in self._raw().execute(sql, args).fetchall()]

    def read(self, device_id: str, point: str, start: datetime, end: datetime) -> list[Sample]:
        return self._rows(
            f"SELECT ts_us, value FROM readings WHERE {SERIES} AND ts_us >= ? AND ts_us < ? "
            "ORDER BY ts_us",
            (device_id, point, to_us(start), to_us(end)),
        )

    def around(self, device_id: str, point: str, lo: datetime, hi: datetime) -> list[Sample]:
        pairs = self.around_us([(device_id, point, to_us(lo), to_us(hi))])[(device_id, point)]
        return [Sample(from_us(t), v) for t, v in pairs]

    def around_us(self, spans: Sequence[Span]) -> dict[SeriesKey, list[tuple[int, float]]]:
        ids = self._series({(d, p) for d, p, _, _ in spans}, create=False)
        out: dict[SeriesKey, list[tuple[int, float]]] = {}
        raw = self._raw()
        for d, p, lo, hi in spans:
            sid = ids.get((d, p))
            if sid is None:
                out[(d, p)] = []
                continue
            before = raw.execute(
                "SELECT ts_us, value FROM readings WHERE series = ? AND ts_us < ? "
                "ORDER BY ts_us DESC LIMIT 1",
                (sid, lo),
            ).fetchall()
            inside = raw.execute(
                "SELECT ts_us, value FROM readings WHERE series = ? AND ts_us >= ? "
                "AND ts_us <= ? ORDER BY ts_us",
                (sid, lo, hi),
            ).fetchall()
            after = raw.execute(
                "SELECT ts_us, value FROM readings WHERE series = ? AND ts_us > ? "
                "ORDER BY ts_us LIMIT 1",
                (sid, hi),
            ).fetchall()
            out[(d, p)] = before + inside + after
        return out

    def latest(self, device_id: str, point: str) -> Sample | None:
        rows = self._rows(
            f"SELECT ts_us, value FROM readings WHERE {SERIES} ORDER BY ts_us DESC LIMIT 1",
            (device_id, point),
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
        raw = self._raw()
        raw.execute(
            "DELETE FROM rollups WHERE device_id = ? AND point = ? AND resolution = ? "
            "AND start_us >= ? AND start_us < ?",
            (device_id, point, resolution.value, to_us(start), to_us(end)),
        )
        raw.executemany(
            "INSERT INTO rollups (device_id, point, resolution, start_us, value, samples, low, "
            "high) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    device_id,
                    point,
                    resolution.value,
                    to_us(r.start),
                    r.value,
                    r.samples,
                    r.low,
                    r.high,
                )
                for r in rows
            ],
        )

    def read_rollups(
        self, device_id: str, point: str, resolution: Resolution, start: datetime, end: datetime
    ) -> list[Rollup]:
        cur = self._raw().execute(
            "SELECT start_us, value, samples, low, high FROM rollups WHERE device_id = ? "
            "AND point = ? AND resolution = ? AND start_us >= ? AND start_us < ? ORDER BY start_us",
            (device_id, point, resolution.value, to_us(start), to_us(end)),
        )
        return [Rollup(from_us(s), v, n, lo, hi) for s, v, n, lo, hi in cur.fetchall()]
