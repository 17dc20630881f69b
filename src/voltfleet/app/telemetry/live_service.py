"""Live data: a snapshot of a site (or one device) now, and the stream of snapshots behind the
``/live`` server-sent events.

A stream holds no database session between snapshots: every tick opens a short unit of work in
a worker thread, loads the caller again and the site or device through the caller's scope (so a
withdrawn share, a deleted account or a changed password ends the stream within one interval),
reads the latest values and closes it before sleeping. Streams end after ``live_max_s``; the
first event carries ``retry:`` so the browser reconnects (and is authenticated again) soon after.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import anyio
import anyio.to_thread
from sqlalchemy.orm import Session
from sse_starlette import ServerSentEvent

from voltfleet.app.deps import Caller
from voltfleet.app.devices.repository import DeviceRepository
from voltfleet.app.sites.repository import SiteRepository
from voltfleet.app.telemetry.live_schemas import FlowsOut, LiveDeviceOut, LiveOut, LiveValueOut
from voltfleet.app.telemetry.read_service import counted
from voltfleet.domain.access import Action
from voltfleet.domain.telemetry.live import Latest, flows
from voltfleet.domain.telemetry.points import CATALOGUE
from voltfleet.ports import Clock
from voltfleet.settings import Settings
from voltfleet.store.db import Database
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Org, Site, User
from voltfleet.store.timeseries import store_for
from voltfleet.usecases.errors import Forbidden, NotFound

log = logging.getLogger("voltfleet.live")
RETRY_MS = 2000  # the browser reconnects this long after a stream ends


def latest_values(session: Session, device: Device) -> list[Latest]:
    """The newest stored value of every catalogue point the device has sent."""
    store = store_for(session.connection())
    out: list[Latest] = []
    for name in CATALOGUE:
        sample = store.latest(device.id, name)
        if sample is not None:
            out.append(Latest(device.id, name, sample.ts, sample.value))
    return out


def _device_out(device: Device, values: list[Latest]) -> LiveDeviceOut:
    return LiveDeviceOut(
        id=device.id,
        serial=device.serial,
        name=device.name,
        kind=device.kind,
        status=device.status,
        last_seen=device.last_seen,
        live_data_enabled=device.live_data_enabled,
        values=[
            LiveValueOut(point=x.point, value=x.value, unit=CATALOGUE[x.point].unit, ts=x.ts)
            for x in values
        ],
    )


def snapshot(
    session: Session,
    site: Site,
    devices: list[Device],
    now: datetime,
    settings: Settings,
    device_id: str | None = None,
) -> LiveOut:
    """The latest values and statuses of ``devices`` (loaded through the caller's scope) and
    the flows of those that count in the site's statistics (all of them for one device)."""
    values = {d.id: latest_values(session, d) for d in devices}
    counting = [d for d in devices if device_id is not None or counted(site, d)]
    f = flows((x for d in counting for x in values[d.id]), now, settings.offline_after_s)
    return LiveOut(
        site_id=site.id,
        device_id=device_id,
        site_status=site.status,
        timezone=site.timezone,
        at=now,
        interval_s=settings.live_interval_s,
        offline_after_s=settings.offline_after_s,
        flows=FlowsOut(
            pv_power_w=f.pv_power_w,
            grid_power_w=f.grid_power_w,
            battery_power_w=f.battery_power_w,
            load_power_w=f.load_power_w,
            load_derived=f.load_derived,
            soc=f.soc,
            ts=f.ts,
        ),
        devices=[_device_out(d, values[d.id]) for d in devices],
    )


def site_live(
    session: Session, caller: Caller, site_id: str, settings: Settings, now: datetime
) -> LiveOut:
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    devices = DeviceRepository(session, caller).of_site(site.id)
    return snapshot(session, site, devices, now, settings)


def device_live(
    session: Session,
    caller: Caller,
    device_id: str,
    settings: Settings,
    now: datetime,
) -> LiveOut:
    device = DeviceRepository(session, caller).get_for(device_id, Action.READ)
    site = session.get(Site, device.site_id)
    assert site is not None
    return snapshot(session, site, [device], now, settings, device_id=device.id)


@dataclass(frozen=True)
class LiveTarget:
    """Whom a stream is for and what it shows; enough to authorise it again at each tick."""

    user_id: str
    password_changed_at: datetime
    address: str
    site_id: str | None = None
    device_id: str | None = None

    @classmethod
    def of(
        cls, caller: Caller, *, site_id: str | None = None, device_id: str | None = None
    ) -> LiveTarget:
        return cls(
            caller.user.id, caller.user.password_changed_at, caller.address, site_id, device_id
        )


class AccessLost(Exception):
    """The caller may no longer see what the stream shows."""


def tick(db: Database, settings: Settings, target: LiveTarget, now: datetime) -> str:
    """One snapshot at ``now`` as JSON, in a unit of work of its own (run in a worker thread)."""
    with db.session() as session:
        user = session.get(User, target.user_id)
        if user is None or user.password_changed_at != target.password_changed_at:
            raise AccessLost("signed out: sign in again")
        org = session.get(Org, user.org_id)
        assert org is not None
        caller = Caller(user=user, org=org, address=target.address)
        try:
            if target.device_id is not None:
                live = device_live(session, caller, target.device_id, settings, now)
            else:
                assert target.site_id is not None
                live = site_live(session, caller, target.site_id, settings, now)
        except (NotFound, Forbidden) as exc:  # gone, or out of the caller's scope by now
            raise AccessLost(exc.message) from exc
        return live.model_dump_json()


async def events(
    db: Database, settings: Settings, target: LiveTarget, clock: Clock
) -> AsyncIterator[ServerSentEvent]:
    """Snapshots at once and then every ``live_interval_s``, until ``live_max_s`` has passed;
    each is taken at the injected ``clock``'s instant.

    Ends with an ``event: denied`` (the browser should stop) when access is lost, and quietly on
    a database error (the browser reconnects after ``retry``)."""
    deadline = anyio.current_time() + settings.live_max_s
    first = True
    while True:
        try:
            data = await anyio.to_thread.run_sync(tick, db, settings, target, clock.now())
        except AccessLost as exc:
            yield ServerSentEvent(data=str(exc), event="denied")
            return
        except Exception:
            log.exception("live snapshot failed; the stream ends and the client reconnects")
            return
        yield ServerSentEvent(data=data, event="live", retry=RETRY_MS if first else None)
        first = False
        remaining = deadline - anyio.current_time()
        if remaining <= 0:
            return
        await anyio.sleep(min(settings.live_interval_s, remaining))
        if anyio.current_time() >= deadline:
            return
