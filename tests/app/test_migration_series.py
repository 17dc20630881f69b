"""Migration 0010 carries stored readings over to series ids (and back), on both databases."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from voltfleet.domain.telemetry.readings import Sample
from voltfleet.store.migrate import alembic_config, upgrade
from voltfleet.store.timeseries import store_for
from voltfleet.store.timeseries.postgres import forget_partitions

T0 = datetime(2026, 1, 31, 23, 58, tzinfo=UTC)  # the readings cross a month: two partitions
STAMPS = [T0 + timedelta(minutes=m) for m in range(4)]


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: object, pg_url: str | None) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/migrate.db"
        return
    if pg_url is None:
        pytest.skip("PostgreSQL server not available")
    name = f"migrate_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def _old_rows(url: str, device_id: str) -> None:
    """Readings as revision 0009 stored them: keyed by device id and point."""
    engine = create_engine(url)
    pg = url.startswith("postgresql")
    with engine.begin() as conn:
        if pg:
            for month in ("2026-01", "2026-02"):
                y, m = map(int, month.split("-"))
                nxt = f"{y}-{m + 1:02d}"
                conn.execute(
                    text(
                        f"CREATE TABLE readings_y{y}m{m:02d} PARTITION OF readings FOR VALUES "
                        f"FROM ('{month}-01 00:00+00') TO ('{nxt}-01 00:00+00')"
                    )
                )
        col = "ts" if pg else "ts_us"
        insert = text(
            f"INSERT INTO readings (device_id, point, {col}, value) VALUES (:d, :p, :t, :v)"
        )
        for k, ts in enumerate(STAMPS):
            at = ts if pg else (ts - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
            for point, value in (("pv_energy_wh", 100.0 + k), ("soc", 0.5 + k / 10)):
                conn.execute(insert, {"d": device_id, "p": point, "t": at, "v": value})
    engine.dispose()


def _read(url: str, device_id: str, point: str) -> list[Sample]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return store_for(conn).read(device_id, point, STAMPS[0], STAMPS[-1] + timedelta(1))
    finally:
        engine.dispose()


def test_readings_survive_the_upgrade_and_the_downgrade(url: str) -> None:
    from alembic import command

    device_id = str(uuid.uuid4())
    upgrade(url, "0009")
    _old_rows(url, device_id)
    upgrade(url)
    forget_partitions(create_engine(url))
    want_energy = [Sample(ts, 100.0 + k) for k, ts in enumerate(STAMPS)]
    assert _read(url, device_id, "pv_energy_wh") == want_energy
    assert [s.value for s in _read(url, device_id, "soc")] == pytest.approx([0.5, 0.6, 0.7, 0.8])

    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM series")).scalar_one() == 2
        view = conn.execute(
            text(
                "SELECT point, ts_us, value FROM device_readings WHERE device_id = :d "
                "ORDER BY point, ts_us"
            ),
            {"d": device_id},
        ).all()
    engine.dispose()
    assert len(view) == 8 and view[0][0] == "pv_energy_wh" and view[0][2] == 100.0

    command.downgrade(alembic_config(url), "0009")
    engine = create_engine(url)
    with engine.connect() as conn:
        back = conn.execute(
            text("SELECT count(*) FROM readings WHERE device_id = :d"), {"d": device_id}
        ).scalar_one()
    engine.dispose()
    assert back == 8
    upgrade(url)  # and up again: the same readings
    forget_partitions(create_engine(url))
    assert _read(url, device_id, "pv_energy_wh") == want_energy
