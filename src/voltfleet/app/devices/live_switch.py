"""The live-data switch's request to the gateway (usecases.live_data), from the device service
and from the renewal job (jobs/platform.py), and the same request while a live view is watched
(the live streams of app/telemetry/live.py)."""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import TypeVar

import anyio
from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.domain.commands import CommandKind, CommandState
from voltfleet.domain.fleet import LiveData
from voltfleet.ports import Clock
from voltfleet.store.command_models import Command
from voltfleet.store.command_repository import SqlCommandRepository
from voltfleet.store.db import Database, session_now
from voltfleet.store.fleet_models import Device
from voltfleet.usecases import live_data

log = logging.getLogger("voltfleet.live")
T = TypeVar("T")

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
        waiting = session.scalars(
            select(Command.gateway_id).where(
                Command.kind == CommandKind.LIVE_DATA.value,
                Command.state == CommandState.QUEUED.value,
            )
        ).all()
        repo = SqlCommandRepository(session)
        return live_data.renew(
            repo, ids, now=now, duration=duration, waiting=[str(g) for g in waiting]
        )


# Watched: while someone looks at a site's or a device's live view, its gateways are asked too,
# for a short while, renewed as the stream goes on; several viewers ask once.
WATCH_DURATION = timedelta(minutes=10)
WATCH_RENEW = timedelta(minutes=3)


def watch(db: Database, now: datetime, *, site_id: str | None, device_id: str | None) -> int:
    """Ask the gateways of the watched devices (those that support live data) to send every
    10 s for ``WATCH_DURATION``, unless one was asked within ``WATCH_RENEW``; how many asked."""
    with db.session() as session:
        stmt = select(Device.id).where(
            Device.live_data == LiveData.SUPPORTED.value, Device.deleted_at.is_(None)
        )
        if device_id is not None:
            stmt = stmt.where(Device.id == device_id)
        else:
            stmt = stmt.where(Device.site_id == site_id)
        repo = SqlCommandRepository(session)
        recent = {
            str(g)
            for g, params in session.execute(
                select(Command.gateway_id, Command.params).where(
                    Command.kind == CommandKind.LIVE_DATA.value,
                    Command.created_at > now - WATCH_RENEW,
                )
            )
            if isinstance(params, dict) and params.get("enabled")
        }
        n = 0
        for did in session.scalars(stmt):
            target = repo.target(did)
            if target is None or target.gateway_id is None or target.gateway_id in recent:
                continue
            if live_data.switch(repo, did, True, now=now, duration=WATCH_DURATION) is not None:
                recent.add(target.gateway_id)
                n += 1
        return n


async def watched(
    events: AsyncIterator[T],
    db: Database,
    clock: Clock,
    *,
    site_id: str | None = None,
    device_id: str | None = None,
) -> AsyncIterator[T]:
    """A live stream's events, asking the gateways (``watch``) when it opens and again every
    ``WATCH_RENEW`` while it stays open."""
    asked_at: datetime | None = None
    async for event in events:
        now = clock.now()
        if asked_at is None or now - asked_at >= WATCH_RENEW:
            asked_at = now
            try:
                ask = functools.partial(watch, db, now, site_id=site_id, device_id=device_id)
                await anyio.to_thread.run_sync(ask)
            except Exception:  # the view goes on at the gateway's own pace
                log.exception("live data: could not ask the gateways of a watched view")
        yield event
