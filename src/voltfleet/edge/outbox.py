"""The edge agent's outbox: readings wait on disk (SQLite) until the platform has them.

A poll's readings go in as one row, in one transaction, before anything is sent. A row leaves
only after the broker acknowledged the message that carried it (PUBACK, or HTTP 2xx), so a broker
outage or a SIGKILL of the agent loses nothing: after a restart the rows still there are sent.
What a crash can cause is a message sent twice (acknowledged, then killed before the row was
deleted); the platform stores one reading per (device, point, timestamp), so the second copy
changes nothing.

WAL journal with ``synchronous=NORMAL``: a commit survives the process being killed; after a
power cut the last commits may be lost (``synchronous=FULL`` keeps them, at an fsync a commit).

The ``tally`` counts readings put and sent, across restarts (the tests and the log read it).
Applied commands and their replies are kept too (``replies``), so a command delivered twice
(its id again) is answered with the first reply and not applied again. The gateway settings
the platform applied (edge/gateway_commands.py) are kept in ``settings``: the agent's local
configuration, read back for the acknowledgement and at the next start.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER NOT NULL,
                                   body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tally (k TEXT PRIMARY KEY, v INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS replies (id TEXT PRIMARY KEY, reply TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS settings (kind TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO tally VALUES ('put', 0), ('sent', 0);
"""


class Outbox:
    def __init__(self, path: Path, *, synchronous: str = "NORMAL") -> None:
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def put(self, readings: Sequence[dict[str, Any]]) -> None:
        if not readings:
            return
        self._insert(json.dumps(list(readings), separators=(",", ":")), len(readings))

    def put_json(self, readings: Sequence[str]) -> None:
        """``put`` of readings already written as JSON objects (the agent's polls)."""
        if readings:
            self._insert("[" + ",".join(readings) + "]", len(readings))

    def _insert(self, body: str, n: int) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute("INSERT INTO outbox (n, body) VALUES (?, ?)", (n, body))
            self._db.execute("UPDATE tally SET v = v + ? WHERE k = 'put'", (n,))
            self._db.execute("COMMIT")

    def peek(self, max_readings: int) -> tuple[list[int], str, int]:
        """The oldest rows (at least one, then while they fit ``max_readings``): their seqs and
        their readings as one JSON array text, and how many readings."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, n, body FROM outbox ORDER BY seq LIMIT 200"
            ).fetchall()
        seqs: list[int] = []
        bodies: list[str] = []
        n = 0
        for seq, count, body in rows:
            if seqs and n + count > max_readings:
                break
            seqs.append(seq)
            bodies.append(body[1:-1])
            n += count
        return seqs, "[" + ",".join(b for b in bodies if b) + "]", n

    def done(self, seqs: Sequence[int], n: int) -> None:
        """The rows were acknowledged: they leave."""
        if not seqs:
            return
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute(
                f"DELETE FROM outbox WHERE seq IN ({','.join('?' * len(seqs))})", list(seqs)
            )
            self._db.execute("UPDATE tally SET v = v + ? WHERE k = 'sent'", (n,))
            self._db.execute("COMMIT")

    def pending(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT coalesce(sum(n), 0) FROM outbox").fetchone()[0])

    def tally(self) -> dict[str, int]:
        with self._lock:
            return {k: int(v) for k, v in self._db.execute("SELECT k, v FROM tally")}

    # ---- commands applied ------------------------------------------------------------------

    def reply_of(self, command_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT reply FROM replies WHERE id = ?", (command_id,)
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def remember(self, command_id: str, reply: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO replies VALUES (?, ?)", (command_id, json.dumps(reply))
            )
            self._db.execute(
                "DELETE FROM replies WHERE rowid <= (SELECT max(rowid) FROM replies) - 1000"
            )

    # ---- the gateway's own settings (edge/gateway_commands.py) ------------------------------

    def keep_setting(self, kind: str, value: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO settings VALUES (?, ?)", (kind, json.dumps(value))
            )

    def setting(self, kind: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM settings WHERE kind = ?", (kind,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def count(self, key: str) -> int:
        """Add one to the tally ``key`` (e.g. the loop's restarts); its new value."""
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO tally VALUES (?, 0)", (key,))
            self._db.execute("UPDATE tally SET v = v + 1 WHERE k = ?", (key,))
            return int(self._db.execute("SELECT v FROM tally WHERE k = ?", (key,)).fetchone()[0])
