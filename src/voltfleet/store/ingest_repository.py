"""Ingest's persistence (usecases.ingest.IngestRepository) on SQLAlchemy: the advisory lock per
credential, the devices below a credential, the site's zone, recorded counter restarts, the
quarantine (the one writer), last seen and status, the site summaries. Joins the caller's
session; never commits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, insert, select, text
from sqlalchemy.orm import Session

from voltfleet.domain.fleet import DeviceStatus, family, zone
from voltfleet.domain.telemetry.batch import to_us
from voltfleet.domain.telemetry.quarantine import QuarantineEntry
from voltfleet.domain.telemetry.restarts import Restart
from voltfleet.ports import RollupDelta, SeriesKey, TimeSeriesStore
from voltfleet.store import summaries, virtual_battery_repository
from voltfleet.store.db import new_id
from voltfleet.store.device_status import set_device_status
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site
from voltfleet.store.telemetry_models import CounterRestart, QuarantinedReading
from voltfleet.store.timeseries import store_for
from voltfleet.store.yield_models import LifetimeYield

_LOCK_SPACE = 1986  # the advisory-lock key space of ingest (two-int form)


# What is read of a site's other devices (refusing a reading that names one; the site's summary
# of its counted devices): plain rows, not ORM objects (a charger's site may hold hundreds, and
# each of its meter values read them all).
_SITE_DEVICES = select(
    Device.id,
    Device.serial,
    Device.parent_id,
    Device.site_id,
    Device.status,
    Device.kind,
    Device.in_statistics,
    Device.deleted_at,
    Device.pv_power_at,
    Device.pv_power_w,
).where(Device.site_id == bindparam("site_id"), Device.deleted_at.is_(None))


def devices_below(session: Session, root: Device) -> tuple[dict[str, Device], dict[str, Device]]:
    """Which devices sit below a credential's device (domain.fleet.family over its site's live
    devices): (below it, itself included, as the session's objects; the site's others, as read-only
    rows with the fields ingest and the site's summary read), each keyed by id and by serial."""
    rows = session.execute(_SITE_DEVICES, {"site_id": root.site_id}).all()
    below, others = family(root, [r for r in rows if r.id != root.id])
    ids = sorted({d.id for d in below.values()} - {root.id})
    loaded: dict[str, Device] = {root.id: root}
    if ids:
        loaded.update((d.id, d) for d in session.scalars(select(Device).where(Device.id.in_(ids))))
    mine = {key: loaded[d.id] for key, d in below.items() if d.id in loaded}
    return mine, others  # type: ignore[return-value]


def write_quarantine(
    session: Session,
    site_id: str,
    gateway_id: str,
    entries: Sequence[QuarantineEntry],
    now: datetime,
) -> None:
    """The quarantine's one writer: one row per entry, received ``now`` from the credential
    ``gateway_id`` of site ``site_id``."""
    if not entries:
        return
    session.execute(
        insert(QuarantinedReading),
        [
            {
                "id": new_id(),
                "received_at": now,
                "site_id": site_id,
                "gateway_id": gateway_id,
                "device_id": e.device_id,
                "device_ref": e.device_ref,
                "point": e.point,
                "ts": e.ts,
                "ts_text": e.ts_text,
                "value_text": e.value_text,
                "unit": e.unit,
                "reason": e.reason,
                "detail": e.detail,
            }
            for e in entries
        ],
    )


class SqlIngestRepository:
    """``IngestRepository`` in ``session``'s transaction (``store``: the time-series adapter,
    by default the one of the session's database)."""

    def __init__(self, session: Session, store: TimeSeriesStore | None = None) -> None:
        self.session = session
        self._store = store
        self._site: Site | None = None
        self._site_loaded = False

    def _site_of(self, root: Device) -> Site | None:
        if not self._site_loaded:
            self._site = self.session.get(Site, root.site_id)
            self._site_loaded = True
        return self._site

    def serialise(self, root: Device) -> None:
        """PostgreSQL: a transaction-scoped advisory lock per credential. (SQLite has one writer
        at a time already; a batch that read a stale snapshot fails to write and is retried by
        its sender.)"""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(
                text("SELECT pg_advisory_xact_lock(:space, hashtext(:gateway))"),
                {"space": _LOCK_SPACE, "gateway": root.id},
            )

    def family(self, root: Device) -> tuple[dict[str, Device], dict[str, Device]]:
        return devices_below(self.session, root)

    def site_zone(self, root: Device) -> ZoneInfo:
        site = self._site_of(root)
        return zone(site.timezone if site else "UTC")

    def series(self) -> TimeSeriesStore:
        if self._store is None:
            self._store = store_for(self.session.connection())
        return self._store

    def restarts(self, keys: Sequence[SeriesKey]) -> dict[SeriesKey, list[Restart]]:
        """One query per batch. A counter restarts a handful of times in its life, so all of
        them are read rather than those of a window."""
        if not keys:
            return {}
        out: dict[SeriesKey, list[Restart]] = {}
        rows = self.session.execute(
            select(
                CounterRestart.device_id,
                CounterRestart.point,
                CounterRestart.at,
                CounterRestart.start_wh,
            ).where(
                CounterRestart.device_id.in_({d for d, _ in keys}),
                CounterRestart.point.in_({p for _, p in keys}),
            )
        )
        for device_id, point, at, start_wh in rows:
            out.setdefault((device_id, point), []).append(Restart(to_us(at), start_wh))
        return out

    def quarantine(self, root: Device, entries: Sequence[QuarantineEntry], now: datetime) -> None:
        write_quarantine(self.session, root.site_id, root.id, entries, now)

    def newest_power(self, device: Device, at: datetime, value: float) -> None:
        if device.pv_power_at is None or at > device.pv_power_at:
            device.pv_power_at, device.pv_power_w = at, value

    def newest_lifetime_yield(self, device: Device, at: datetime, value: float) -> None:
        row = self.session.get(LifetimeYield, device.id)
        if row is None:
            self.session.add(LifetimeYield(device_id=device.id, yield_wh=value, at=at))
        elif at > row.at:
            row.yield_wh, row.at = value, at

    def fold_summaries(
        self, root: Device, deltas: Sequence[RollupDelta], devices: Sequence[Device]
    ) -> None:
        site = self._site_of(root)
        if site is not None:
            summaries.fold(self.session, site, deltas, devices)

    def drop_summaries(self, root: Device) -> None:
        site = self._site_of(root)
        if site is not None:
            summaries.drop(self.session, site.id)

    def counters_changed(self, first_us: Mapping[SeriesKey, int]) -> None:
        virtual_battery_repository.counters_changed(self.session, first_us)

    def seen(self, device: Device, now: datetime) -> None:
        device.last_seen = now

    def set_status(self, device: Device, status: DeviceStatus, now: datetime) -> None:
        set_device_status(self.session, device, status, now)
