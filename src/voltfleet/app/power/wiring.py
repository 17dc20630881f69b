"""Power management as wired into a running platform: the jobs that run a location's cycle
(on an event, and every ``CYCLE_S`` for every location), the hooks that notice the events, and
the way a cycle reaches the chargers.

Events are noticed on the database sessions, so no other feature's code has to call in: after
a transaction commits that changed a charging session (started, stopped), a connector's status,
a group meter's ``last_seen`` (ingest marks a device seen with each reading it accepts) or the
power setup itself (``service.changed``), the locations concerned are recomputed through the
``power-recompute`` job (deferred with a queueing lock, so a burst of readings queues one run).
Which devices are whose meters and chargers is cached (re-read by every cycle); the hook never
reads the database itself (it runs while the committing session still holds its connection):
when the cache is stale it defers ``power-devices``, which reads it and defers the locations.

The chargers are reached through a ``ports.ChargerLink``: ``link`` is set by whoever holds the
chargers' connections (the OCPP central system), with ``loop``, the event loop its sockets live
on, so a cycle run in a job thread can send through it. Without a link, cycles still decide and
keep their state, and nothing is sent.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from voltfleet.app.power.events import CHANGED
from voltfleet.ports import ChargerLink, Clock, Every, Jobs, JobSpec
from voltfleet.store.charging_models import ChargingSession
from voltfleet.store.db import Database
from voltfleet.store.fleet_models import Connector, Device
from voltfleet.store.power_models import PowerConnector, PowerGroup
from voltfleet.store.power_repository import SqlPowerRepository
from voltfleet.usecases import power_management as pm
from voltfleet.usecases.jobs import JobRegistry, job_key

log = logging.getLogger(__name__)
T = TypeVar("T")

POWER_RECOMPUTE = "power-recompute"  # one location, on an event
POWER_CYCLE = "power-cycle"  # every location, every CYCLE_S
POWER_DEVICES = "power-devices"  # devices seen while the index was stale: their locations
# which devices are meters or chargers of which location: re-read by every cycle (CYCLE_S), and
# by an event that finds it older than this
INDEX_TTL_S = 10.0
SEEN = "power_devices_seen"  # session.info key: devices whose change may matter


class PowerWiring:
    def __init__(self, db: Database, clock: Clock, jobs: Callable[[], Jobs | None]) -> None:
        self.db = db
        self.clock = clock
        self._jobs = jobs
        self.link: ChargerLink | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._meters: dict[str, set[str]] = {}  # meter device id -> location ids
        self._chargers: dict[str, set[str]] = {}  # charger device id -> location ids
        self._index_at: datetime | None = None
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    # ---- running a cycle ---------------------------------------------------------------------

    def recompute(self, location_id: str, now: datetime | None = None) -> pm.Outcome | None:
        """One cycle of one location: decide (and keep the hysteresis), send what changed,
        record what the chargers accepted. From a job thread or any thread but the link's."""
        with self._lock_of(location_id):  # two cycles of a location never overlap here
            now = now or self.clock.now()
            with self.db.session() as s:  # read only: no write lock to wait for
                d = pm.look(SqlPowerRepository(s), location_id, now)
            if d is None:
                return None
            outcome = self._run(pm.send(self.link, d), self._loop_of(d))  # the chargers first
            with self.db.session() as s:  # ... then the state, in one transaction
                pm.keep(SqlPowerRepository(s), d, outcome, now)
            return outcome

    def _lock_of(self, location_id: str) -> threading.Lock:
        """The location's lock in this process. (Across worker processes two cycles of a
        location may overlap: the worst is a limit sent twice.) Not a job lock: the in-process
        runner's periodic thread busy-waits on a held job lock."""
        with self._locks_guard:
            found = self._locks.get(location_id)
            if found is None:
                found = self._locks[location_id] = threading.Lock()
            return found

    def cycle(self, now: datetime) -> int:
        """Every location, each in its own transaction (one failing does not stop the others).
        Returns how many limits were sent."""
        with self.db.session() as s:
            ids = SqlPowerRepository(s).location_ids()
        self._index(refresh=True)  # so the events of the next seconds find it fresh
        sent = 0
        for location_id in ids:
            try:
                out = self.recompute(location_id, now)
            except Exception:
                log.exception("power cycle of location %s failed", location_id)
                continue
            sent += len(out.sent) if out is not None else 0
        return sent

    def _loop_of(self, d: pm.Decision) -> asyncio.AbstractEventLoop | None:
        """Where the decision's sends run: ``loop`` when set, else the loop that serves the
        chargers' connections (one hop to it for the whole decision instead of one per
        charger; OcppChargerLink.loop_for)."""
        if self.loop is not None:
            return self.loop
        loop_for = getattr(self.link, "loop_for", None)
        if loop_for is None:
            return None
        for c in (*d.commands, *d.fallbacks):
            loop: asyncio.AbstractEventLoop | None = loop_for(c.outlet.serial)
            if loop is not None:
                return loop
        return None

    def _run(
        self, coro: Coroutine[Any, Any, T], loop: asyncio.AbstractEventLoop | None = None
    ) -> T:
        loop = loop or self.loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is not None and loop is not running and loop.is_running():
            return asyncio.run_coroutine_threadsafe(coro, loop).result(pm.SEND_TIMEOUT_S * 2)
        return asyncio.run(coro)

    def register(self, registry: JobRegistry) -> None:
        registry.add(
            JobSpec(POWER_RECOMPUTE, lambda now, location_id: self.recompute(location_id, now))
        )
        registry.add(JobSpec(POWER_CYCLE, lambda now: self.cycle(now), Every(pm.CYCLE_S)))
        registry.add(JobSpec(POWER_DEVICES, lambda now, device_ids: self.devices_seen(device_ids)))

    # ---- noticing events -----------------------------------------------------------------------

    def watch(self, sessions: sessionmaker[Session]) -> None:
        event.listen(sessions, "before_flush", self._collect)
        event.listen(sessions, "after_commit", self._after_commit)
        event.listen(sessions, "after_rollback", self._forget)

    def _collect(self, session: Session, *_: object) -> None:
        seen: set[str] | None = None
        for obj in (*session.new, *session.dirty):
            device_id = None
            if isinstance(obj, ChargingSession):
                if obj in session.new or inspect(obj).attrs.stopped_at.history.has_changes():
                    device_id = obj.device_id
            elif isinstance(obj, Connector):
                if inspect(obj).attrs.status.history.has_changes():
                    device_id = obj.charger_id
            elif (
                isinstance(obj, Device)
                and obj not in session.new
                and inspect(obj).attrs.last_seen.history.has_changes()
            ):
                device_id = obj.id
            if device_id is not None:
                if seen is None:
                    seen = session.info.setdefault(SEEN, set())
                seen.add(device_id)

    def _forget(self, session: Session) -> None:
        session.info.pop(SEEN, None)
        session.info.pop(CHANGED, None)

    def _after_commit(self, session: Session) -> None:
        devices: set[str] = session.info.pop(SEEN, set())
        locations: set[str] = set(session.info.pop(CHANGED, set()))
        if locations:
            self._index_at = None  # the tree changed: read the index again
        if devices:
            if self._index_fresh():
                for d in devices:
                    locations |= self._meters.get(d, set()) | self._chargers.get(d, set())
            else:
                # Reading the index here would take a second database connection while this
                # session still holds its own (after_commit runs before the session gives it
                # back): with every pooled connection held that way none is left, a deadlock
                # until the pool's timeout (20 chargers booting at once did it). A job reads it.
                self._defer_devices(devices)
        for location_id in sorted(locations):
            self.defer(location_id)

    def _index_fresh(self) -> bool:
        at = self._index_at
        return at is not None and self.clock.now() - at <= timedelta(seconds=INDEX_TTL_S)

    def devices_seen(self, device_ids: str) -> None:
        """The ``power-devices`` job: the locations of these devices (comma-separated ids)
        recompute."""
        meters, chargers = self._index()
        locations: set[str] = set()
        for d in device_ids.split(","):
            locations |= meters.get(d, set()) | chargers.get(d, set())
        for location_id in sorted(locations):
            self.defer(location_id)

    def _defer_devices(self, devices: set[str]) -> None:
        jobs = self._jobs()
        if jobs is None:
            return
        try:
            jobs.defer(POWER_DEVICES, {"device_ids": ",".join(sorted(devices))})
        except Exception:  # a queue that is down must not fail the transaction that committed
            log.exception("could not queue the power-management devices job")

    def _index(self, refresh: bool = False) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
        """Which devices are meters or chargers of which locations (its own session: never
        from inside another session's hook)."""
        now = self.clock.now()
        if refresh or not self._index_fresh():
            meters: dict[str, set[str]] = {}
            chargers: dict[str, set[str]] = {}
            with self.db.session() as s:
                for dev, loc in s.execute(
                    select(PowerGroup.meter_device_id, PowerGroup.location_id).where(
                        PowerGroup.meter_device_id.is_not(None)
                    )
                ):
                    meters.setdefault(dev, set()).add(loc)
                for dev, loc in s.execute(
                    select(Connector.charger_id, PowerConnector.location_id).join(
                        Connector, Connector.id == PowerConnector.connector_id
                    )
                ):
                    chargers.setdefault(dev, set()).add(loc)
            self._meters, self._chargers, self._index_at = meters, chargers, now
        return self._meters, self._chargers

    def defer(self, location_id: str) -> None:
        jobs = self._jobs()
        if jobs is None:
            return
        args = {"location_id": location_id}
        try:
            jobs.defer(POWER_RECOMPUTE, args, queueing_lock=job_key(POWER_RECOMPUTE, args))
        except Exception:  # a queue that is down must not fail the transaction that committed
            log.exception("could not queue the power cycle of location %s", location_id)
