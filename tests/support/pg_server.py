"""A throwaway PostgreSQL server for the test run: initdb into a temp dir, listen on loopback.

The real server from the Debian package, not a fake. Used when ``pg_ctl`` is installed; when it
is not, PostgreSQL tests are skipped, unless VOLTFLEET_REQUIRE_PG=1 (set by the test command),
which turns the absence into a failure.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def pg_bindir() -> Path | None:
    env = os.environ.get("VOLTFLEET_PG_BINDIR")
    if env:
        return Path(env)
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    which = shutil.which("pg_ctl")
    return Path(which).parent if which else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    """``durable``: fsync, synchronous commit and full-page writes on, as in production (the
    benchmarks' default); off, the tests' default, trades crash safety for speed."""

    def __init__(self, bindir: Path, *, durable: bool = False) -> None:
        self.bindir = bindir
        self.durable = durable
        self.dir = Path(tempfile.mkdtemp(prefix="voltfleet-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self._as_root = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self._as_root:  # initdb and postgres refuse to run as root
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> str:
        if self._as_root:
            shutil.chown(self.dir, "postgres")
            os.chmod(self.dir, 0o700)
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        )
        self.resume()
        self._run(
            str(self.bindir / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "voltfleet_test",
        )
        return self.url("voltfleet_test")

    def resume(self) -> None:
        """Start the server on its data directory and port (again, after ``halt``); returns once
        it accepts connections."""
        safety = "on" if self.durable else "off"
        opts = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c fsync={safety} "
            f"-c synchronous_commit={safety} -c full_page_writes={safety} "
            f"-c unix_socket_directories={self.dir} -c max_connections=200"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            opts,
            "-l",
            str(self.dir / "log"),
            "-w",
            "start",
        )

    def halt(self) -> None:
        """A database outage: stop the server (fast: open sessions are cut off), keeping its data
        directory for ``resume``; returns once it is down."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, db: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop")
        time.sleep(0.1)
        shutil.rmtree(self.dir, ignore_errors=True)


def fresh_database(url: str, name: str) -> str:
    """A new, empty database ``name`` on the server of ``url`` (dropped first if it exists);
    its URL. For tests whose processes must not see the shared test database's rows."""
    import psycopg
    from sqlalchemy.engine import make_url

    base = make_url(url)
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return base.set(database=name).render_as_string(hide_password=False)
