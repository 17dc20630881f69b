"""The PostgreSQL backup and restore procedure we ship (deploy/postgresql/), performed: a
database with accounts, a site and readings is dumped, restored into an empty database, and the
platform runs on the copy with the same rows; a restore over a live database is refused."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from tests.support.pg_server import fresh_database
from tests.support.server_process import seed_installer, settings_for
from voltfleet.bootstrap import build_runtime, create_app

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "postgresql"
TABLES = ("users", "sites", "devices", "readings", "rollups", "audit_log")

pytestmark = pytest.mark.pg


def counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}
    finally:
        engine.dispose()


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    return subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)


def test_backup_then_restore_into_an_empty_database(pg_url: str | None, tmp_path: Path) -> None:
    if pg_url is None:
        pytest.skip("PostgreSQL server not available (install the postgresql package)")
    source = fresh_database(pg_url, "voltfleet_backup_source")
    email, password = seed_installer(source, tmp_path)
    runtime = build_runtime(settings_for(source, tmp_path))
    with TestClient(create_app(runtime=runtime)) as c:
        r = c.post("/api/v1/auth/token", data={"username": email, "password": password})
        h = {"Authorization": f"Bearer {r.json()['access_token']}"}
        site = c.post(
            "/api/v1/sites",
            json={
                "name": "Backed-up home",
                "timezone": "Europe/Berlin",
                "gateway": {"serial": "BK-GW"},
            },
            headers=h,
        ).json()
        gw = c.get("/api/v1/devices", params={"site_id": site["id"]}, headers=h).json()["items"][0]
        token = c.post(f"/api/v1/devices/{gw['id']}/token", headers=h).json()["token"]
        t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        readings = [
            {
                "point": "grid_power_w",
                "ts": (t0 + timedelta(minutes=k)).isoformat(),
                "value": k,
                "unit": "W",
            }
            for k in range(30)
        ]
        r = c.post(
            "/api/v1/ingest",
            json={"readings": readings},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.json()["accepted"] == 30
    runtime.db.engine.dispose()
    before = counts(source)
    assert before["readings"] == 30 and before["sites"] == 1

    made = run(str(DEPLOY / "backup.sh"), source, str(tmp_path / "backups"))
    assert made.returncode == 0, made.stderr
    dump = Path(made.stdout.strip())
    assert dump.is_file() and dump.name.startswith("voltfleet-voltfleet_backup_source-")
    assert not list(dump.parent.glob("*.partial"))

    target = fresh_database(pg_url, "voltfleet_backup_target")
    restored = run(str(DEPLOY / "restore.sh"), str(dump), target)
    assert restored.returncode == 0, restored.stderr
    assert "schema at migration" in restored.stdout
    assert counts(target) == before

    again = run(str(DEPLOY / "restore.sh"), str(dump), target)  # over a live database: refused
    assert again.returncode == 1 and "already holds voltfleet tables" in again.stderr
    assert counts(target) == before

    copy = build_runtime(settings_for(target, tmp_path))
    with TestClient(create_app(runtime=copy)) as c:
        assert c.get("/readyz").status_code == 200
        r = c.post("/api/v1/auth/token", data={"username": email, "password": password})
        assert r.status_code == 200
        h = {"Authorization": f"Bearer {r.json()['access_token']}"}
        energy = c.get(f"/api/v1/sites/{site['id']}", headers=h)
        assert energy.status_code == 200 and energy.json()["name"] == "Backed-up home"
    copy.db.engine.dispose()
