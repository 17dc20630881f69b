"""Chargers' heartbeats as presence, written in batches instead of one transaction each.

A Heartbeat tells the platform only that the charger is there. Committing that per message (the
device row loaded, ``last_seen`` updated, a commit) was most of what a connected charger cost
the server (benchmarks/ocpp_connections.py). Here a heartbeat is noted in memory (``seen``) and
the notes are written every ``flush_s`` seconds in one transaction for all chargers
(``flush``): ``last_seen`` in one executemany, and the presence rule (``domain.device_status``:
a charger that speaks is online unless it is up or faulted) applied with its status-history row
for the few whose status it changes (one the offline sweep marked offline, say).

What is data stays committed before its answer, as before (``link``): boots, status reports,
transactions, meter values. Nothing acknowledged is lost: a heartbeat is not data, and its note
is written at the next flush, when the charger's connection ends (``take``: written with the
charger's offline mark, in that unit of work) and when the process stops (``stop``).

Offline detection: a note reaches the database at most ``flush_s`` after the heartbeat, and
``flush_s`` is kept to at most a tenth of ``offline_after_s`` (``interval_for``), so the offline
sweep sees a charger that keeps beating as seen well within its threshold, and one that stops
goes offline as before. Only a connected charger is brought online by a flushed note (one whose
connection ended meanwhile has been marked offline, and stays so).

A heartbeat still checks, read only, that the charger is on the platform with a valid
credential (``link``), so a removed charger is told at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from voltfleet.app.runtime import Runtime
from voltfleet.domain.device_status import StatusEvent, after_spoke
from voltfleet.domain.fleet import DeviceStatus
from voltfleet.store.db import Database
from voltfleet.store.device_status import apply_event
from voltfleet.store.fleet_models import Device

log = logging.getLogger(__name__)

FLUSH_S = 5.0  # the default period
CHUNK = 500  # ids per query (well under every database's bound-parameter limit)


def interval_for(flush_s: float, offline_after_s: float) -> float:
    """The flush period: ``flush_s``, at most a tenth of the offline threshold."""
    return max(0.05, min(flush_s, offline_after_s / 10))


def write_seen(
    session: Session, pending: dict[str, datetime], connected: Callable[[str], bool]
) -> int:
    """Write the noted instants (device id -> last heard) in ``session`` (not committed): the
    live devices' ``last_seen`` where it is newer, and the presence rule for connected chargers
    whose status it changes. Returns how many devices were written."""
    ids = sorted(pending)
    rows: list[Any] = []
    for k in range(0, len(ids), CHUNK):
        rows += session.execute(
            select(Device.id, Device.status, Device.last_seen).where(
                Device.id.in_(ids[k : k + CHUNK]), Device.deleted_at.is_(None)
            )
        ).all()
    plain: list[dict[str, object]] = []
    spoke: list[str] = []
    for device_id, status, last_seen in rows:
        at = pending[device_id]
        if after_spoke(DeviceStatus(status)) is not None and connected(device_id):
            spoke.append(device_id)
        elif last_seen is None or last_seen < at:
            plain.append({"device_id": device_id, "at": at})
    if plain:
        table = cast(Table, Device.__table__)
        session.execute(
            update(table)
            .where(table.c.id == bindparam("device_id"))
            .values(last_seen=bindparam("at")),
            plain,
        )
    for device_id in spoke:  # rare: a status-history row, and the site's status follows
        device = session.get(Device, device_id)
        if device is not None:
            apply_event(session, device, StatusEvent.SPOKE, pending[device_id])
    return len(plain) + len(spoke)


class PresenceBatch:
    """Heartbeats noted in memory and written every ``flush_s`` by a daemon thread (started by
    the first note). Thread-safe: notes come from the event loop, flushes from the thread."""

    def __init__(
        self, db: Database, connected: Callable[[str], bool], flush_s: float = FLUSH_S
    ) -> None:
        self.db = db
        self.connected = connected
        self.flush_s = flush_s
        self._pending: dict[str, datetime] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def seen(self, device_id: str, at: datetime) -> None:
        """The charger was heard ``at`` (written at the next flush)."""
        with self._lock:
            known = self._pending.get(device_id)
            if known is None or known < at:
                self._pending[device_id] = at
            if self._thread is None:
                self._start()

    def take(self, device_id: str) -> datetime | None:
        """The charger's unwritten note, taken out (its caller writes it)."""
        with self._lock:
            return self._pending.pop(device_id, None)

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def flush(self) -> int:
        """Write every note in one transaction; on failure they are kept for the next flush
        (and the error raised). Returns how many devices were written."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return 0
        try:
            with self.db.session() as s:
                return write_seen(s, pending, self.connected)
        except Exception:
            with self._lock:
                for device_id, at in pending.items():
                    known = self._pending.get(device_id)
                    if known is None or known < at:
                        self._pending[device_id] = at
            raise

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the thread and write what is noted (the process is stopping)."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)
        with self._lock:
            self._thread = None
        self._stop.clear()
        try:
            self.flush()
        except Exception:
            log.exception("writing the chargers' last heartbeats failed at shutdown")

    def _start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="ocpp-presence", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_s):
            try:
                self.flush()
            except Exception:
                if not self._failing:  # logged once, and the recovery once
                    log.exception("writing heartbeats failed; retrying every %.1f s", self.flush_s)
                self._failing = True
            else:
                if self._failing:
                    log.info("writing heartbeats works again")
                self._failing = False


def presence_batch(runtime: Runtime) -> PresenceBatch:
    """The runtime's batch (made on first use), flushing at the settings' period."""
    found: PresenceBatch | None = runtime.ocpp_presence
    if found is None:
        settings = runtime.settings

        def connected(device_id: str) -> bool:
            # the registry of open connections (app/charging/connections.py), read through the
            # runtime: none made yet means no charger is connected (importing the module here
            # would close an import circle connections -> link -> presence_batch)
            open_now = runtime.ocpp_connections
            return open_now is not None and open_now.get(device_id) is not None

        found = runtime.ocpp_presence = PresenceBatch(
            runtime.db,
            connected,
            interval_for(settings.ocpp_presence_flush_s, settings.offline_after_s),
        )
    return found
