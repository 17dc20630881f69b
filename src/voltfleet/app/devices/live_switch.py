"""The live-data switch's request to the gateway (usecases.live_data), from the device service
and from the renewal job (jobs/platform.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.store.command_repository import SqlCommandRepository
from voltfleet.store.db import Database, session_now
from voltfleet.store.fleet_models import Device
from voltfleet.usecases import live_data

LIVE_DATA_RENEW = "live-data-renew"  # asks again while live data stays enabled
RENEW_EVERY = live_data.DEFAULT_DURATION / 3  # well before a request runs out


def ask_gateway(session: Session, device: Device, enabled: bool, user_id: str | None) -> None:
    """Queue the request for the gateway above ``device`` (nothing without a gateway)."""
    live_data.switch(
        SqlCommandRepository(session),
        device.id,
        enabled,
        now=session_now(session),
        created_by=user_id,
    )


def renew(db: Database, now: datetime, duration: timedelta = live_data.DEFAULT_DURATION) -> int:
    """Renew the requests of every device whose live data is enabled; how many were queued."""
    with db.session() as session:
        ids = session.scalars(
            select(Device.id).where(Device.live_data_enabled.is_(True), Device.deleted_at.is_(None))
        ).all()
        return live_data.renew(SqlCommandRepository(session), ids, now=now, duration=duration)
