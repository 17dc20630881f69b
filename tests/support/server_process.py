"""``voltfleet serve`` as a child process on a loopback port, for tests that kill it (SIGKILL) and
start it again on the same database; and the account such tests sign in with.

A thread-hosted uvicorn (tests/e2e/test_simulated_fleet.py) cannot be killed mid-transaction;
this is the real command line in a process of its own. Every wait is bounded.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.pg_server import free_port
from voltfleet.settings import Settings

EMAIL = "installer@reliability.test"
PASSWORD = "Reliability-2026"
SECRET = "reliability-secret-" + "r" * 40


def settings_for(database_url: str, data_dir: Path) -> Settings:
    return Settings(
        mode="test",
        data_dir=data_dir,
        database_url=database_url,
        secret_key=SECRET,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
    )


def seed_installer(database_url: str, data_dir: Path) -> tuple[str, str]:
    """Migrate the database and add a distributor, an installer below it and an installer
    administrator; returns (email, password)."""
    from voltfleet.accounts import ensure_platform
    from voltfleet.app.orgs.service import build_org
    from voltfleet.app.users.service import new_user
    from voltfleet.bootstrap import build_runtime
    from voltfleet.domain.access import OrgType
    from voltfleet.store.migrate import upgrade

    runtime = build_runtime(settings_for(database_url, data_dir))
    try:
        upgrade(runtime.db.url)
        with runtime.db.session() as s:
            dist = build_org(ensure_platform(s), "Reliability Dist", OrgType.DISTRIBUTOR, "DE")
            s.add(dist)
            s.flush()
            inst = build_org(dist, "Reliability Installers", OrgType.INSTALLER, "DE")
            s.add(inst)
            s.flush()
            new_user(
                s, runtime, email=EMAIL, username="installer", password=PASSWORD, org_id=inst.id,
                role="admin",
            )  # fmt: skip
    finally:
        runtime.db.engine.dispose()
    return EMAIL, PASSWORD


class ServerProcess:
    """``python -m voltfleet.cli serve`` on 127.0.0.1 with the given database; its output goes to
    ``data_dir/server.log``."""

    def __init__(
        self,
        database_url: str,
        data_dir: Path,
        workers: int = 1,
        env: dict[str, str] | None = None,
        log_name: str = "server.log",
    ) -> None:
        self.workers = workers
        self.extra_env = env or {}
        self.database_url = database_url
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / log_name
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0

    def _env(self) -> dict[str, str]:
        # Only this test's settings: nothing from the caller's VOLTFLEET_* environment.
        env = {k: v for k, v in os.environ.items() if not k.startswith("VOLTFLEET_")}
        env.update(
            VOLTFLEET_MODE="test",
            VOLTFLEET_DATA_DIR=str(self.data_dir),
            VOLTFLEET_DATABASE_URL=self.database_url,
            VOLTFLEET_SECRET_KEY=SECRET,
            VOLTFLEET_ARGON2_TIME_COST="1",
            VOLTFLEET_ARGON2_MEMORY_KIB="1024",
        )
        env.update(self.extra_env)
        return env

    def start(self, timeout_s: float = 40.0) -> None:
        """Start the server and return once it answers HTTP (its start-up migrated the database
        and reached it)."""
        self.launch()
        self.wait_up(timeout_s)

    def launch(self) -> None:
        """Start the process and return at once (``wait_up`` waits for it to answer)."""
        assert self.proc is None, "already running"
        with open(self.log_path, "ab") as log:
            log.write(f"---- start {self.starts + 1} ----\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "voltfleet.cli", "serve", "--host", "127.0.0.1",
                 "--port", str(self.port), "--workers", str(self.workers)],
                env=self._env(), stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.starts += 1

    def cpu_s(self) -> float:
        """CPU seconds the running process has used (0 when it is not running)."""
        if self.proc is None:
            return 0.0
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def wait_up(self, timeout_s: float = 40.0) -> None:
        """Return once the launched server answers HTTP. A start costs about 4 s of CPU (the
        imports: FastAPI and pydantic build every route's models), which takes 30-60 s of wall
        time on a 2-core machine at load 12-20; the error says how much CPU it had, so a starved
        start and a stuck one can be told apart."""
        assert self.proc is not None, "not launched"
        deadline = time.monotonic() + timeout_s
        with httpx.Client(base_url=self.url, timeout=2.0, trust_env=False) as http:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"voltfleet serve exited: {self.log_tail()}")
                try:
                    # no token: 401 from the app itself (not just an open socket)
                    r = http.post("/api/v1/ingest", json={"readings": []})
                    if r.status_code == 401:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    cpu, load = self.cpu_s(), os.getloadavg()[0]
                    self.kill()
                    raise TimeoutError(
                        f"voltfleet serve not up in {timeout_s} s (it had {cpu:.1f} s of CPU; "
                        f"load average {load:.1f}): {self.log_tail()}"
                    )
                time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, open requests cut off."""
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None
        self.kills += 1

    def stop(self) -> None:
        """SIGTERM (graceful), SIGKILL after 10 s."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def log_tail(self, chars: int = 3000) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:]
