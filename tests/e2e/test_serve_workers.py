"""``voltfleet serve --workers 2``: the parent migrates once, two server processes answer."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.server_process import ServerProcess, seed_installer


def test_two_workers_serve_the_same_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    email, password = seed_installer(url, tmp_path)
    server = ServerProcess(url, tmp_path, workers=2)
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=10, trust_env=False) as http:
            r = http.post("/api/v1/auth/token", data={"username": email, "password": password})
            assert r.status_code == 200, r.text
            headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
            for _ in range(6):  # spread over the processes: each one reads the same database
                r = http.get("/api/v1/me", headers=headers)
                assert r.status_code == 200 and email in r.text, r.text
        log = server.log_tail(20_000)
        assert log.count("Started server process") == 2, log
    finally:
        server.stop()
