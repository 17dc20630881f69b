"""The deployment files we ship say what the code understands: every setting in the example
environment file is a real setting with a valid value, and every unit starts a real command."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from voltfleet.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_every_example_setting_exists_and_validates() -> None:
    pairs = [
        line.split("=", 1)
        for line in (DEPLOY / "voltfleet.env.example").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    fields = {f"VOLTFLEET_{name.upper()}" for name in Settings.model_fields}
    unknown = [k for k, _ in pairs if k not in fields]
    assert not unknown, f"not settings (Settings ignores them silently): {unknown}"
    values = {k.removeprefix("VOLTFLEET_").lower(): v for k, v in pairs}
    s = Settings(**values)  # type: ignore[arg-type]
    assert s.jobs_mode == "worker" and s.log_format == "json" and s.ready_requires_broker


def test_every_unit_starts_a_command_that_exists() -> None:
    units = sorted((DEPLOY / "systemd").glob("*.service"))
    assert {u.name for u in units} >= {
        "voltfleet-api@.service", "voltfleet-bridge.service", "voltfleet-worker.service",
        "voltfleet-migrate.service",
    }  # fmt: skip
    for unit in units:
        for line in re.findall(r"(?m)^Exec\w*=(.+)$", unit.read_text()):
            argv = line.split()
            assert argv[0] == "/opt/voltfleet/.venv/bin/voltfleet", line
            words = [a for a in argv[1:] if not a.startswith("-") and not a[0].isdigit()]
            words = [w for w in words if w not in ("127.0.0.1", "%i")]
            r = subprocess.run(
                [sys.executable, "-m", "voltfleet.cli", *words, "--help"],
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            assert r.returncode == 0, f"{unit.name}: {line}: {r.stderr}"
            for flag in (a for a in argv[1:] if a.startswith("--")):
                assert flag in r.stdout, f"{unit.name}: {flag} is not an option of {words}"
