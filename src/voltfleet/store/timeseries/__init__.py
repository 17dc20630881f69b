"""Time-series store adapters (the ``TimeSeriesStore`` port): SQLite, PostgreSQL, and an
in-memory fake for unit tests. Their tables are created by migration 0004 and are not part of the
ORM metadata (PostgreSQL's table is partitioned by month)."""

from __future__ import annotations

from sqlalchemy import Connection

from voltfleet.ports import TimeSeriesStore


def store_for(conn: Connection) -> TimeSeriesStore:
    """The adapter for the database behind ``conn``, joining its transaction."""
    if conn.dialect.name == "postgresql":
        from voltfleet.store.timeseries.postgres import PostgresTimeSeriesStore

        return PostgresTimeSeriesStore(conn)
    from voltfleet.store.timeseries.sqlite import SqliteTimeSeriesStore

    return SqliteTimeSeriesStore(conn)
