"""The virtual batteries' jobs: settle the ledgers that ingest (or a counter restart, or a
changed configuration) marked, every minute; write yesterday's exports every night."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from voltfleet.ports import Cron, Every, JobSpec
from voltfleet.store.db import Database
from voltfleet.store.virtual_battery_repository import SqlVirtualBatteryRepository
from voltfleet.usecases.virtual_battery import settle_dirty

log = logging.getLogger("voltfleet.jobs")

SETTLE = "virtual-battery-settle"
EXPORT = "virtual-battery-export"
SETTLE_EVERY_S = 60.0
EXPORT_CRON = "30 1 * * *"  # 01:30 UTC: yesterday is over in every European zone


def settle(db: Database, now: datetime) -> int:
    """Recompute every marked ledger from its mark (a transaction per batch of 100)."""
    total = 0
    for _ in range(100):
        with db.session() as session:
            done = settle_dirty(SqlVirtualBatteryRepository(session), now, limit=100)
        total += len(done)
        if len(done) < 100:
            break
    return total


def export(db: Database, data_dir: Path, now: datetime) -> int:
    from voltfleet.app.virtual_battery.exports import nightly

    with db.session() as session:
        written = nightly(session, data_dir, now)
    files = sum(len(w.files) for w in written)
    if files:
        log.info("virtual batteries: wrote %d export file(s)", files)
    return files


def specs(db: Database, data_dir: Path) -> list[JobSpec]:
    return [
        JobSpec(SETTLE, lambda now: settle(db, now), Every(SETTLE_EVERY_S)),
        JobSpec(EXPORT, lambda now: export(db, data_dir, now), Cron(EXPORT_CRON)),
    ]
