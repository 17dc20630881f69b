"""Liveness and readiness (/healthz, /readyz) for a proxy or an orchestrator."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import test_settings as settings_for
from tests.support.pg_server import PgServer, free_port, pg_bindir
from voltfleet.bootstrap import build_runtime, create_app
from voltfleet.store.migrate import upgrade


def test_alive_and_ready(client: TestClient) -> None:
    alive = client.get("/healthz")
    assert alive.status_code == 200 and alive.json()["status"] == "alive"
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    checks = {c["name"]: c["ok"] for c in ready.json()["checks"]}
    assert checks == {"database": True, "migrations": True}


def test_not_ready_while_migrations_are_behind(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0010")
    app = create_app(runtime=build_runtime(settings_for(tmp_path, url)), migrate=False)
    with TestClient(app) as c:
        r = c.get("/readyz")
        assert r.status_code == 503
        failed = {x["name"]: x["detail"] for x in r.json()["checks"] if not x["ok"]}
        assert list(failed) == ["migrations"]
        assert "0010" in failed["migrations"] and "voltfleet db upgrade" in failed["migrations"]
        assert c.get("/healthz").status_code == 200  # alive all the same
        upgrade(url)
        assert c.get("/readyz").status_code == 200


def test_broker_required(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, f"sqlite:///{tmp_path / 'b.db'}")
    settings.ready_requires_broker = True
    closed = free_port()
    settings.mqtt_url = f"mqtt://127.0.0.1:{closed}"
    with TestClient(create_app(runtime=build_runtime(settings))) as c:
        r = c.get("/readyz")
        assert r.status_code == 503
        assert [x["name"] for x in r.json()["checks"] if not x["ok"]] == ["broker"]
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen()
            settings.mqtt_url = f"mqtt://127.0.0.1:{listener.getsockname()[1]}"
            assert c.get("/readyz").status_code == 200


@pytest.mark.pg
def test_not_ready_while_the_database_is_down(tmp_path: Path) -> None:
    bindir = pg_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server not available (install the postgresql package)")
    server = PgServer(bindir)  # its own server: stopping it disturbs no other test
    try:
        url = server.start()
        with TestClient(create_app(runtime=build_runtime(settings_for(tmp_path, url)))) as c:
            assert c.get("/readyz").status_code == 200
            server.halt()
            down = c.get("/readyz")
            assert down.status_code == 503
            failed = {x["name"]: x["detail"] for x in down.json()["checks"] if not x["ok"]}
            assert set(failed) == {"database", "migrations"}
            assert failed["database"].startswith("unreachable")
            assert c.get("/healthz").status_code == 200
            server.resume()
            back = c.get("/readyz")
            assert back.status_code == 200, back.text
    finally:
        server.stop()
