"""Offline after silence: the sweep that marks silent devices offline (their site's status
follows), and the background thread that runs it while the application serves.

The sweep never commits (the caller's unit of work does). On PostgreSQL it locks the rows it
changes and skips rows another transaction holds (an ingest marking the device seen right now),
so several voltfleet processes may sweep at once without recording a change twice.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.domain.device_status import StatusEvent
from voltfleet.domain.fleet import UP, DeviceStatus
from voltfleet.domain.telemetry.presence import (
    Presence,
    gone_offline,
    silent_since,
    sweep_interval_s,
)
from voltfleet.ports import Clock
from voltfleet.settings import Settings
from voltfleet.store.db import Database, session_now
from voltfleet.store.device_status import apply_event
from voltfleet.store.fleet_models import Device

log = logging.getLogger("voltfleet.presence")


def sweep_offline(session: Session, now: datetime, settings: Settings) -> list[Device]:
    """Mark the devices that were up and have been silent for ``settings.offline_after_s``
    offline, as of ``now``; returns them. Devices never seen keep their status."""
    threshold = settings.offline_after_s
    candidates = list(
        session.scalars(
            select(Device)
            .where(
                Device.deleted_at.is_(None),
                Device.status.in_([s.value for s in UP]),
                Device.last_seen.is_not(None),
                Device.last_seen <= silent_since(now, threshold),
            )
            .order_by(Device.site_id, Device.id)
            .with_for_update(skip_locked=True)  # PostgreSQL; SQLite serialises writers anyway
        )
    )
    by_id = {d.id: d for d in candidates}
    silent = gone_offline(
        (Presence(d.id, DeviceStatus(d.status), d.last_seen) for d in candidates), now, threshold
    )
    for device_id in silent:
        apply_event(session, by_id[device_id], StatusEvent.SILENT, now)
    if silent:
        log.info("marked %d silent device(s) offline", len(silent))
    return [by_id[i] for i in silent]


class OfflineSweeper:
    """Runs ``sweep_offline`` every ``min(60, offline_after_s / 5)`` seconds in a daemon thread,
    one short transaction each time; a failing sweep is logged and tried again next time."""

    def __init__(self, db: Database, settings: Settings, clock: Clock | None = None) -> None:
        """``clock``: where "now" comes from (by default the clock wired to ``db``)."""
        self.db = db
        self.settings = settings
        self.clock = clock
        self.interval_s = sweep_interval_s(settings.offline_after_s)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="offline-sweeper", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def sweep_once(self) -> int:
        with self.db.session() as session:
            now = self.clock.now() if self.clock else session_now(session)
            return len(sweep_offline(session, now, self.settings))

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.sweep_once()
            except Exception:
                if not self._failing:  # log a failure once, and the recovery once
                    log.exception("offline sweep failed; retrying every %.0f s", self.interval_s)
                self._failing = True
            else:
                if self._failing:
                    log.info("offline sweep works again")
                self._failing = False
