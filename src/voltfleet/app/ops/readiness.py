"""What a process needs before it can serve: its database answers, the schema is at the
migrations' head, and (where the deployment says so) the MQTT broker accepts connections.

Each check is a function of the runtime's adapters that returns a ``Check``; none raises. Checks
are bounded in time (a broker connect: ``BROKER_TIMEOUT_S``; the database: the driver's connect
timeout), so a probe never hangs on a dead dependency.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from voltfleet.store.db import Database
from voltfleet.store.migrate import alembic_config

BROKER_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    warning: bool = False  # ok, but worth a look (printed as "warn" by voltfleet check)


@cache
def _heads(url: str) -> frozenset[str]:
    """The revisions the code expects (read once per URL: the files do not change while a
    process runs)."""
    return frozenset(ScriptDirectory.from_config(alembic_config(url)).get_heads())


def database(db: Database) -> tuple[Check, Check]:
    """The database answers a query, and its schema is at the head of the migrations."""
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = frozenset(MigrationContext.configure(conn).get_current_heads())
    except Exception as exc:  # any driver error means: not ready; the detail says which
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        return (
            Check("database", False, f"unreachable: {reason}"),
            Check("migrations", False, "unknown: the database is unreachable"),
        )
    expected = _heads(db.url)
    if current == expected:
        migrations = Check("migrations", True, f"at {', '.join(sorted(current))}")
    else:
        have = ", ".join(sorted(current)) or "none"
        migrations = Check(
            "migrations",
            False,
            f"the database is at {have}, the code expects {', '.join(sorted(expected))}: "
            "run `voltfleet db upgrade`",
        )
    return Check("database", True, "answers"), migrations


def broker(mqtt_url: str, timeout_s: float = BROKER_TIMEOUT_S) -> Check:
    """The MQTT broker accepts a TCP connection (the bridge's own session is its business)."""
    parts = urlsplit(mqtt_url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (8883 if parts.scheme in ("mqtts", "ssl") else 1883)
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return Check("broker", True, f"{host}:{port} accepts connections")
    except OSError as exc:
        return Check("broker", False, f"{host}:{port} unreachable: {exc.strerror or exc}")
