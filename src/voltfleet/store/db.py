"""Engine and session factory. Synchronous SQLAlchemy 2.x; FastAPI runs sync endpoints in a pool."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator


def new_id() -> str:
    """Random identifier for anything exposed outside (never sequential)."""
    return str(uuid.uuid4())


def utcnow() -> datetime:
    """The wall clock: only for an engine that no runtime wired a clock to (see ``clock_now``)."""
    return datetime.now(UTC)


_NOW = "voltfleet.now"  # key of the clock's ``now`` in each pooled connection's info


def clock_now(context: Any) -> datetime:
    """The default of the time columns (created_at, updated_at, received_at ...): the injected
    clock of the runtime whose database runs the statement (``Database.use_clock``), so rows the
    platform inserts carry the instant a test or a replay chose; the wall clock only for an
    engine without one (a migration, a script)."""
    now = context.connection.info.get(_NOW) if context is not None else None
    return now() if now is not None else utcnow()


def connection_now(conn: Connection) -> datetime:
    """``clock_now`` for code that holds only a connection."""
    now = conn.info.get(_NOW)
    return now() if now is not None else utcnow()


def session_now(session: Session) -> datetime:
    """``clock_now`` for code that holds only a session."""
    return connection_now(session.connection())


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on the way in and out, on SQLite (no tz support) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def use_clock(self, now: Callable[[], datetime]) -> None:
        """Stamp the time columns' defaults from ``now`` (the runtime's clock; bootstrap wires it
        before the first connection)."""

        @event.listens_for(self.engine, "connect")
        def _clock(_dbapi_conn: Any, record: Any) -> None:
            record.info[_NOW] = now

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends without error, else rolled back."""
        s = self.sessions()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()
