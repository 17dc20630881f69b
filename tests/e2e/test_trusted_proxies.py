"""``voltfleet serve`` believes X-Forwarded-For only from VOLTFLEET_TRUSTED_PROXIES (issue 12,
defect 10): uvicorn's default believed it from 127.0.0.1, so any local client (or, behind a proxy
on the same host, anyone able to set the header) could change address with every sign-in attempt
and never meet the per-address limit."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.server_process import ServerProcess, seed_installer

LIMIT = 30  # login_limit_per_address: 30/minute


class ProxiedServer(ServerProcess):
    def __init__(self, database_url: str, data_dir: Path, trusted: str) -> None:
        super().__init__(database_url, data_dir)
        self.trusted = trusted

    def _env(self) -> dict[str, str]:
        env = super()._env()
        if self.trusted:
            env["VOLTFLEET_TRUSTED_PROXIES"] = self.trusted
        return env


def _statuses(url: str) -> list[int]:
    """LIMIT + 1 sign-ins, each for another (unknown) account from another forwarded address."""
    with httpx.Client(base_url=url, timeout=10, trust_env=False) as http:
        return [
            http.post(
                "/api/v1/auth/token",
                data={"username": f"nobody{i}@example.com", "password": "Wrong#123"},
                headers={"X-Forwarded-For": f"203.0.113.{i + 1}"},
            ).status_code
            for i in range(LIMIT + 1)
        ]


def test_forwarded_for_is_believed_only_from_trusted_proxies(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    seed_installer(url, tmp_path)
    # Not configured: the header is ignored, all attempts count against 127.0.0.1.
    server = ProxiedServer(url, tmp_path, trusted="")
    server.start()
    try:
        assert _statuses(server.url) == [401] * LIMIT + [429]
    finally:
        server.stop()
    # The proxy on this host is configured: each forwarded address has its own budget.
    server = ProxiedServer(url, tmp_path, trusted="127.0.0.1")
    server.start()
    try:
        assert _statuses(server.url) == [401] * (LIMIT + 1)
    finally:
        server.stop()
