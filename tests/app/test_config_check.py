"""`voltfleet check`: a configuration validated before start, one line per finding."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.pg_server import free_port
from voltfleet.app.ops.config_check import files
from voltfleet.settings import Settings


def _check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voltfleet.cli", "check"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_sound_configuration_passes(tmp_path: Path) -> None:
    r = _check({"VOLTFLEET_DATA_DIR": str(tmp_path), "VOLTFLEET_MODE": "dev"})
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert any(line.startswith("ok    database: answers") for line in lines), lines
    assert any("migrations" in line and "serve migrates on start" in line for line in lines)
    assert "ready to start" in lines[-1]


def test_problems_are_named_and_fail(tmp_path: Path) -> None:
    env = {
        "VOLTFLEET_DATA_DIR": str(tmp_path),
        "VOLTFLEET_MODE": "production",
        "VOLTFLEET_SECRET_KEY": "short",
        "VOLTFLEET_MQTT_PASSWORD": "bridge-secret",
        "VOLTFLEET_MQTT_URL": f"mqtt://127.0.0.1:{free_port()}",
        "VOLTFLEET_DATABASE_URL": f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none",
        "VOLTFLEET_RATE_LIMIT_STORAGE": f"redis://:pw@127.0.0.1:{free_port()}/0",
    }
    r = _check(env)
    assert r.returncode == 1
    failed = {line.split(":")[0][6:] for line in r.stdout.splitlines() if line.startswith("FAIL")}
    assert failed == {"secret", "database", "migrations", "broker", "rate limits"}, r.stdout
    assert "at least 32" in r.stdout and ":pw@" not in r.stdout  # no password shown
    assert "5 problem(s)" in r.stderr


def test_file_settings_must_be_readable(tmp_path: Path) -> None:
    class WithTls(Settings):
        tls_cert_file: Path | None = None

    cert = tmp_path / "cert.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\n")
    assert [c.ok for c in files(WithTls(tls_cert_file=cert))] == [True]
    missing = files(WithTls(tls_cert_file=tmp_path / "nope.pem"))
    assert [(c.name, c.ok) for c in missing] == [("tls_cert_file", False)]
    assert "missing or not readable" in missing[0].detail
    assert files(Settings(mqtt_broker_pid_file=tmp_path / "not-yet.pid")) == []  # written, not read
