"""The command line and the refusal to start with demo settings in production."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from voltfleet.settings import InsecureSettingsError, Settings


def test_default_secret_refused_in_production() -> None:
    with pytest.raises(InsecureSettingsError, match="VOLTFLEET_SECRET_KEY"):
        Settings(mode="production").check_safe_to_start()
    with pytest.raises(InsecureSettingsError, match="at least 32"):
        Settings(mode="production", secret_key="short").check_safe_to_start()
    Settings(mode="demo").check_safe_to_start()
    Settings(mode="production", secret_key="k" * 40).check_safe_to_start()


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VOLTFLEET_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VOLTFLEET_MODE", "dev")
    s = Settings()
    assert s.mode == "dev"
    assert s.resolved_database_url == f"sqlite:///{tmp_path.resolve() / 'voltfleet.db'}"
    monkeypatch.setenv("VOLTFLEET_DATABASE_URL", "postgresql+psycopg://u@127.0.0.1/db")
    assert Settings().resolved_database_url.startswith("postgresql+psycopg://")


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voltfleet.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_db_upgrade_superuser_and_refusal(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "VOLTFLEET_DATA_DIR": str(tmp_path),
        "VOLTFLEET_MODE": "dev",
        "VOLTFLEET_ARGON2_MEMORY_KIB": "1024",
        "VOLTFLEET_ARGON2_TIME_COST": "1",
    }
    r = _cli(["db", "upgrade"], env)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "voltfleet.db").exists()
    r = _cli(
        ["admin", "create-superuser", "--email", "boss@example.com", "--password", "Boss#1234"], env
    )
    assert r.returncode == 0 and "superuser boss@example.com created" in r.stdout
    r = _cli(
        ["admin", "create-superuser", "--email", "boss@example.com", "--password", "Boss#1234"], env
    )
    assert r.returncode == 1 and "already exists" in r.stderr
    r = _cli(
        ["admin", "create-superuser", "--email", "weak@example.com", "--password", "weak"], env
    )
    assert r.returncode == 1 and "6 to 18 characters" in r.stderr
    prod = {**env, "VOLTFLEET_MODE": "production"}
    prod.pop("VOLTFLEET_SECRET_KEY", None)
    r = _cli(["serve", "--port", "1"], prod)
    assert r.returncode == 2 and "refusing to start" in r.stderr


def test_cli_loads_recorded_market_prices(tmp_path: Path) -> None:
    """`voltfleet prices load` parses a recorded aWATTar response and stores it."""
    env = {**os.environ, "VOLTFLEET_DATA_DIR": str(tmp_path), "VOLTFLEET_MODE": "dev"}
    fixture = Path(__file__).parent.parent / "fixtures" / "market" / "awattar_de_2024-06-16.json"
    r = _cli(["prices", "load", "--source", "awattar", "--area", "DE", "--file", str(fixture)], env)
    assert r.returncode == 0, r.stderr
    assert "stored 24 prices for awattar:DE from 2024-06-15T22:00:00+00:00" in r.stdout
    import sqlite3

    with sqlite3.connect(tmp_path / "voltfleet.db") as db:
        n, lo = db.execute("select count(*), min(price_per_kwh) from market_prices").fetchone()
    assert n == 24 and lo < 0  # the fixture has negative midday prices
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    r = _cli(["prices", "load", "--source", "awattar", "--area", "DE", "--file", str(bad)], env)
    assert r.returncode == 1 and "voltfleet:" in r.stderr
