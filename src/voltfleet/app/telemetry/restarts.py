"""Counter restarts of a device: recorded, listed and removed by O&M (voltfleet issue 4).

A restart (domain.telemetry.restarts) changes how the counter's readings are checked and how its
energy is rolled up, so recording or removing one recomputes the roll-ups around it at once (and
drops the site's summary, rebuilt when next needed). Typical use: a meter was replaced, its new
readings went to the quarantine as COUNTER_RESET; record the restart, then release them
(app/telemetry/quarantine.py). Never commits.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.app import audit
from voltfleet.app.deps import Caller
from voltfleet.app.devices.repository import DeviceRepository
from voltfleet.app.instants import AwareInstant
from voltfleet.app.telemetry.read_service import zone
from voltfleet.domain.access import Action
from voltfleet.domain.telemetry.batch import to_us
from voltfleet.domain.telemetry.points import CATALOGUE, Point
from voltfleet.domain.telemetry.restarts import Restart
from voltfleet.store import summaries
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site
from voltfleet.store.telemetry_models import CounterRestart
from voltfleet.store.timeseries import store_for
from voltfleet.store.virtual_battery_repository import mark_dirty
from voltfleet.usecases.errors import Conflict, Invalid, NotFound
from voltfleet.usecases.rollups import refresh
from voltfleet.usecases.virtual_battery import METER_POINTS, dirty_mark

COUNTERS = tuple(p.name for p in CATALOGUE.values() if p.counter)
FUTURE = timedelta(minutes=5)  # the clock skew ingest accepts (validate.Limits.future)


class CounterRestartIn(BaseModel):
    point: str = Field(max_length=64, description="an energy counter, e.g. grid_import_energy_wh")
    at: AwareInstant = Field(
        description="when the counter restarted (ISO 8601 with a UTC offset): readings at or "
        "after it belong to the new counter"
    )
    start_wh: float = Field(
        default=0.0,
        ge=0.0,
        le=1e13,
        description="what the counter read when it restarted, in Wh: 0 for a counter that "
        "restarted from zero; a replacement meter's first register reading otherwise",
    )
    reason: str = Field(
        min_length=1, max_length=500, description="why, e.g. 'meter replaced', 'firmware reset'"
    )


class CounterRestartOut(BaseModel):
    id: str
    device_id: str
    point: str
    at: datetime
    start_wh: float
    reason: str
    created_at: datetime
    created_by: str | None


def _counter(name: str) -> Point:
    p = CATALOGUE.get(name)
    if p is None or not p.counter:
        raise Invalid(
            f"'{name}' is not an energy counter: restarts are recorded for {', '.join(COUNTERS)}"
        )
    return p


def _rows(session: Session, device_id: str, point: str | None = None) -> list[CounterRestart]:
    stmt = select(CounterRestart).where(CounterRestart.device_id == device_id)
    if point:
        stmt = stmt.where(CounterRestart.point == point)
    return list(session.scalars(stmt.order_by(CounterRestart.at, CounterRestart.point)))


def restarts_of(session: Session, device_id: str, point: str) -> list[Restart]:
    return [Restart(to_us(r.at), r.start_wh) for r in _rows(session, device_id, point)]


def list_restarts(
    session: Session, caller: Caller, device_id: str, point: str | None = None
) -> list[CounterRestart]:
    """The device's recorded restarts, oldest first (anyone who sees the device)."""
    device = DeviceRepository(session, caller).get_for(device_id, Action.READ)
    return _rows(session, device.id, point)


def _recompute(session: Session, device: Device, p: Point, at: datetime) -> None:
    """The roll-ups around ``at`` from the stored samples and the restarts now recorded."""
    site = session.get(Site, device.site_id)
    tz = zone(site.timezone if site else "UTC")
    store = store_for(session.connection())
    refresh(store, device.id, p, at, at, tz, restarts_of(session, device.id, p.name))
    if site is not None:
        summaries.drop(session, site.id)
    if p.name in METER_POINTS:  # the virtual batteries over this meter, from the restart on
        mark_dirty(session, device.id, dirty_mark(at))


def record(
    session: Session, caller: Caller, device_id: str, body: CounterRestartIn, now: datetime
) -> CounterRestart:
    """Record that the counter ``body.point`` of the device restarted at ``body.at`` (``now``: the
    clock's instant; a restart may not lie ahead of it)."""
    device = DeviceRepository(session, caller).get_for(device_id, Action.UPDATE)
    p = _counter(body.point)
    if body.at - now > FUTURE:
        raise Invalid(f"'at' ({_iso(body.at)}) is in the future: record a restart once it happened")
    at = body.at.astimezone(UTC)
    rows = _rows(session, device.id, p.name)
    if any(r.at == at for r in rows):
        raise Conflict(f"a restart of {p.name} at {_iso(at)} is recorded already")
    if body.start_wh > 0:
        # The new segment's lowest stored reading is its first one (each segment is monotonic).
        later = [r.at for r in rows if r.at > at]
        store = store_for(session.connection())
        first = next((s for s in store.around(device.id, p.name, at, at) if s.ts >= at), None)
        if (
            first is not None
            and (not later or first.ts < min(later))
            and first.value < body.start_wh
        ):
            raise Conflict(
                f"{p.name} reads {first.value} Wh at {_iso(first.ts)}, below the start value "
                f"{body.start_wh} Wh: the counter cannot have restarted from {body.start_wh} at "
                f"{_iso(at)}"
            )
    row = CounterRestart(
        device_id=device.id,
        point=p.name,
        at=at,
        start_wh=body.start_wh,
        reason=body.reason.strip(),
        created_at=now,
        created_by=caller.user.id,
    )
    session.add(row)
    session.flush()
    _recompute(session, device, p, at)
    _audit(session, caller, device, "device.counter_restart_recorded", row)
    return row


def delete(session: Session, caller: Caller, device_id: str, restart_id: str) -> None:
    """Remove a recorded restart, unless stored readings depend on it: a reading after it below
    one before it would, without the restart, be a counter going backwards (409, saying which)."""
    device = DeviceRepository(session, caller).get_for(device_id, Action.UPDATE)
    row = session.scalar(
        select(CounterRestart).where(
            CounterRestart.id == restart_id, CounterRestart.device_id == device.id
        )
    )
    if row is None:
        raise NotFound("counter restart")
    p = _counter(row.point)
    others = [r for r in _rows(session, device.id, p.name) if r.id != row.id]
    earlier = [r for r in others if r.at < row.at]
    later = [r for r in others if r.at > row.at]
    store = store_for(session.connection())
    around = store.around(device.id, p.name, row.at, row.at)
    before = next((s for s in reversed(around) if s.ts < row.at), None)
    first = next((s for s in around if s.ts >= row.at), None)
    if first is not None and (not later or first.ts < later[0].at):
        # What the first reading after the restart would be judged against without it.
        floor, where = None, ""
        opened = earlier[-1] if earlier else None
        if before is not None and (opened is None or before.ts >= opened.at):
            floor, where = before.value, f"the reading at {_iso(before.ts)}"
        elif opened is not None and opened.start_wh > 0:
            floor, where = opened.start_wh, f"the start value of the restart at {_iso(opened.at)}"
        if floor is not None and first.value < floor:
            raise Conflict(
                f"readings depend on this restart: {p.name} reads {first.value} Wh at "
                f"{_iso(first.ts)}, below {floor} Wh ({where}); without the restart they would "
                "be counter resets, so it stays"
            )
    at = row.at
    _audit(session, caller, device, "device.counter_restart_deleted", row)
    session.delete(row)
    session.flush()
    _recompute(session, device, p, at)


def _audit(
    session: Session, caller: Caller, device: Device, action: str, row: CounterRestart
) -> None:
    site = session.get(Site, device.site_id)
    audit.record(
        session,
        actor=caller.user,
        action=action,
        object_type="device",
        object_id=device.id,
        org_id=site.org_id if site else None,
        address=caller.address,
        detail={
            "serial": device.serial,
            "restart_id": row.id,
            "point": row.point,
            "at": _iso(row.at),
            "start_wh": row.start_wh,
            "reason": row.reason,
        },
    )


def _iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")
