"""A virtual battery's live data as server-sent events, like a device's
(app/telemetry/live.py): its level and its charge or discharge power at once and then every
``live_interval_s``, until ``live_max_s``; ``event: denied`` when the caller may no longer see
it. The portal's session cookie is accepted (the browser's EventSource sends no headers)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import anyio
from fastapi import APIRouter
from sse_starlette import EventSourceResponse, ServerSentEvent

from voltfleet.app.deps import Caller, DbSession, RuntimeDep
from voltfleet.app.telemetry.live import STREAM_DOC, LiveCaller
from voltfleet.app.telemetry.live_service import RETRY_MS
from voltfleet.app.virtual_battery import service
from voltfleet.app.virtual_battery.schemas import LiveOut
from voltfleet.domain.access import Action
from voltfleet.store.db import Database
from voltfleet.store.models import Org, User
from voltfleet.usecases.errors import Forbidden, NotFound

router = APIRouter(tags=["virtual batteries"])


@dataclass(frozen=True)
class _Target:
    user_id: str
    password_changed_at: datetime
    address: str
    battery_id: str


def snapshot(session: DbSession, caller: Caller, battery_id: str) -> LiveOut:
    row = service.get(session, caller, battery_id, Action.READ)
    now = service.live(session, row)
    return LiveOut(
        level_kwh=now.level_kwh, level_percent=now.level_percent, power_w=now.power_w, at=now.at
    )


def _tick(db: Database, target: _Target) -> str | None:
    """One snapshot as JSON in a unit of work of its own; None when access was lost."""
    with db.session() as session:
        user = session.get(User, target.user_id)
        if user is None or user.password_changed_at != target.password_changed_at:
            return None
        org = session.get(Org, user.org_id)
        assert org is not None
        caller = Caller(user=user, org=org, address=target.address)
        try:
            return snapshot(session, caller, target.battery_id).model_dump_json()
        except (NotFound, Forbidden):
            return None


async def _events(
    db: Database, target: _Target, live_s: float, max_s: float
) -> AsyncIterator[ServerSentEvent]:
    deadline = anyio.current_time() + max_s
    first = True
    while True:
        data = await anyio.to_thread.run_sync(_tick, db, target)
        if data is None:
            yield ServerSentEvent(data="no longer visible", event="denied")
            return
        yield ServerSentEvent(data=data, event="live", retry=RETRY_MS if first else None)
        first = False
        remaining = deadline - anyio.current_time()
        if remaining <= 0:
            return
        await anyio.sleep(min(live_s, remaining))
        if anyio.current_time() >= deadline:
            return


@router.get(
    "/api/v1/virtual-batteries/{battery_id}/live",
    response_class=EventSourceResponse,
    responses=STREAM_DOC,
    summary="A virtual battery's level and power as server-sent events",
)
def live_stream(
    session: DbSession, caller: LiveCaller, runtime: RuntimeDep, battery_id: str
) -> EventSourceResponse:
    """Each event's data is the JSON of `/live/now`."""
    service.get(session, caller, battery_id, Action.READ)
    target = _Target(caller.user.id, caller.user.password_changed_at, caller.address, battery_id)
    s = runtime.settings
    return EventSourceResponse(_events(runtime.db, target, s.live_interval_s, s.live_max_s))


@router.get(
    "/api/v1/virtual-batteries/{battery_id}/live/now",
    response_model=LiveOut,
    summary="Level now and charge (> 0) or discharge (< 0) power",
)
def live_now(session: DbSession, caller: LiveCaller, battery_id: str) -> LiveOut:
    return snapshot(session, caller, battery_id)
