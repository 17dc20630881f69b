"""A request id on every response and on every line logged while the request is served; JSON
log lines for a collector."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from tests.support.world import build_world
from voltfleet.app.ops.logs import JsonFormatter, RequestIdFilter
from voltfleet.app.runtime import Runtime


def test_the_request_id_is_echoed_or_made(client: TestClient) -> None:
    made = client.get("/healthz").headers["x-request-id"]
    assert len(made) == 32 and made != client.get("/healthz").headers["x-request-id"]
    given = client.get("/healthz", headers={"X-Request-ID": "nginx-4f2a.1"})
    assert given.headers["x-request-id"] == "nginx-4f2a.1"
    for bad in ("a" * 65, "new\\nline", "spaces here", "<script>"):
        r = client.get("/healthz", headers={"X-Request-ID": bad})
        assert r.headers["x-request-id"] != bad and len(r.headers["x-request-id"]) == 32


def test_lines_logged_while_serving_carry_the_id_as_json(
    client: TestClient, runtime: Runtime
) -> None:
    world = build_world(runtime)
    email = next(iter(world.accounts.values())).email
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("voltfleet")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        r = client.post(
            "/api/v1/auth/password/forgot",
            json={"email": email},
            headers={"X-Request-ID": "trace-77"},
        )
        assert r.status_code < 300, r.text
        logger.info("outside any request")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    lines = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    mail = [x for x in lines if x["message"].startswith(f"mail to {email}")]
    assert mail and mail[0]["request_id"] == "trace-77", lines
    assert {"time", "level", "logger", "message"} <= set(mail[0])
    assert lines[-1]["message"] == "outside any request" and lines[-1]["request_id"] == ""


def test_the_command_line_logs_json_lines_when_asked(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "VOLTFLEET_DATA_DIR": str(tmp_path),
        "VOLTFLEET_MODE": "dev",
        "VOLTFLEET_LOG_FORMAT": "json",
    }
    r = subprocess.run(
        [sys.executable, "-m", "voltfleet.cli", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stderr.splitlines()]  # every line is JSON
    assert any(x["logger"].startswith("alembic") for x in lines), lines
    bad = subprocess.run(
        [sys.executable, "-m", "voltfleet.cli", "db", "upgrade"],
        env={**env, "VOLTFLEET_LOG_FORMAT": "xml"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "log_format" in bad.stderr
