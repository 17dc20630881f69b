"""Read-side queries over the roll-ups of many series at once (one round trip), for a site's
energy bars and the fleet's key figures. The ``TimeSeriesStore`` port reads one series at a time;
these read the same ``rollups`` table (SQLite: ``start_us`` integer microseconds; PostgreSQL:
``start`` timestamptz) for many devices and points in one statement."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, column, table
from sqlalchemy.sql.expression import ColumnElement, TableClause

from voltfleet.domain.telemetry.rollup import Resolution
from voltfleet.store.timeseries.sqlite import from_us, to_us


def rollups(conn: Connection) -> TableClause:
    """The ``rollups`` table with its start column named ``start`` on both databases."""
    start = "start_us" if conn.dialect.name == "sqlite" else "start"
    t = table(
        "rollups",
        column("device_id"),
        column("point"),
        column("resolution"),
        column(start),
        column("value"),
        column("samples"),
    )
    return t


def start_of(t: TableClause) -> ColumnElement[Any]:
    return t.c.start_us if "start_us" in t.c else t.c.start


def instant(conn: Connection, ts: datetime) -> Any:
    """An instant as the database stores roll-up starts."""
    return to_us(ts) if conn.dialect.name == "sqlite" else ts


def as_datetime(value: Any) -> datetime:
    return from_us(int(value)) if isinstance(value, int) else value


def read_many(
    conn: Connection,
    device_ids: Sequence[str],
    points: Sequence[str],
    resolution: Resolution,
    start: datetime,
    end: datetime,
) -> list[tuple[str, str, datetime, float]]:
    """(device_id, point, period start, value) of the roll-ups of the devices' points at
    ``resolution`` with start in [start, end), in time order."""
    if not device_ids or not points:
        return []
    from sqlalchemy import select

    t = rollups(conn)
    s = start_of(t)
    stmt = (
        select(t.c.device_id, t.c.point, s, t.c.value)
        .where(
            t.c.device_id.in_(list(device_ids)),
            t.c.point.in_(list(points)),
            t.c.resolution == resolution.value,
            s >= instant(conn, start),
            s < instant(conn, end),
        )
        .order_by(s)
    )
    return [(d, p, as_datetime(a), float(v)) for d, p, a, v in conn.execute(stmt)]


def first_start(
    conn: Connection, device_ids: Sequence[str], points: Sequence[str], resolution: Resolution
) -> datetime | None:
    """The start of the earliest roll-up of these series, if any."""
    if not device_ids or not points:
        return None
    from sqlalchemy import func, select

    t = rollups(conn)
    s = start_of(t)
    value = conn.execute(
        select(func.min(s)).where(
            t.c.device_id.in_(list(device_ids)),
            t.c.point.in_(list(points)),
            t.c.resolution == resolution.value,
        )
    ).scalar()
    return None if value is None else as_datetime(value)
