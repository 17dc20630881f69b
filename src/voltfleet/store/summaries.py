"""Keeping the site summaries of the fleet home page (domain.telemetry.summary) in the database.

* Ingest folds each batch's roll-up changes of the counted devices into the site's row
  (``fold``), in the batch's transaction.
* A change to what a summary covers (a device added, moved, deleted or taken out of the
  statistical range, the site's ranges or time zone) drops the row, from an ORM ``before_flush``
  hook, so no service has to remember it; the row is rebuilt from the roll-ups when next needed
  (``ensure``), by the home page for many sites at once or by the next ingest of the site.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, event, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from voltfleet.domain.fleet import DeviceKind, zone
from voltfleet.domain.telemetry import summary as sm
from voltfleet.domain.telemetry.batch import from_us, to_us
from voltfleet.domain.telemetry.energy import EXPORT, PV
from voltfleet.domain.telemetry.rollup import Resolution
from voltfleet.ports import RollupDelta
from voltfleet.store.db import session_now
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site
from voltfleet.store.telemetry_models import SiteSummary
from voltfleet.store.timeseries.queries import read_many

_DEVICE_FIELDS = ("site_id", "kind", "in_statistics", "deleted_at")
_SITE_FIELDS = ("stats_inverters", "stats_meters", "timezone", "deleted_at")
_RECENT_DAYS = 3  # a rebuild reads day roll-ups this far back: older days are never "today"
_CHUNK = 5000  # device ids per query
_FIRST, _LAST = datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC)


def counted(site: Site, device: Device) -> bool:
    """Whether a device's energy counts in its site's figures (the statistical range)."""
    if not device.in_statistics or device.deleted_at is not None:
        return False
    if device.kind == DeviceKind.INVERTER.value:
        return site.stats_inverters
    if device.kind == DeviceKind.METER.value:
        return site.stats_meters
    return True


# ---- row <-> domain ---------------------------------------------------------------------------


def _to_domain(row: SiteSummary) -> sm.Summary:
    return sm.Summary(
        from_us(row.day_us),
        from_us(row.month_us),
        from_us(row.year_us),
        {
            PV: sm.Block(row.pv_day, row.pv_month, row.pv_year, row.pv_total),
            EXPORT: sm.Block(row.export_day, row.export_month, row.export_year, row.export_total),
        },
        tuple(getattr(row, f"pv_m{k}") for k in range(sm.TREND_MONTHS)),
    )


def _values(s: sm.Summary) -> dict[str, Any]:
    pv, x = s.blocks[PV], s.blocks[EXPORT]
    return {
        "day_us": to_us(s.day),
        "month_us": to_us(s.month),
        "year_us": to_us(s.year),
        "pv_day": pv.day,
        "pv_month": pv.month,
        "pv_year": pv.year,
        "pv_total": pv.total,
        "export_day": x.day,
        "export_month": x.month,
        "export_year": x.year,
        "export_total": x.total,
        **{f"pv_m{k}": wh for k, wh in enumerate(s.trend)},
    }


# ---- ingest ---------------------------------------------------------------------------------


def fold(
    session: Session, site: Site, deltas: Iterable[RollupDelta], devices: Iterable[Device]
) -> None:
    """Fold a batch's roll-up changes and PV power of the site's counted devices into its
    summary (which already holds the batch when it has to be rebuilt)."""
    counted_ids = {d.id for d in devices if counted(site, d)}
    mine = [
        (point, resolution, row.start, row.value)
        for device_id, point, resolution, row in deltas
        if point in sm.POINTS
        and resolution in (Resolution.DAY, Resolution.MONTH)
        and device_id in counted_ids
    ]
    query = select(SiteSummary).where(SiteSummary.site_id == site.id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()  # two gateways of one site: one fold at a time
    row = session.scalars(query).first()
    if row is None:
        if site.id in ensure(session, [site]):
            return  # built from the roll-ups, this batch's included
        row = session.scalars(query).first()  # stored meanwhile by another transaction
        if row is None:
            return
    if mine:
        tz = zone(site.timezone)
        s = _to_domain(row)
        for point, resolution, start, wh in mine:
            s = sm.add(s, point, resolution, start, wh, tz)
        for key, value in _values(s).items():
            setattr(row, key, value)
    row.power_w, row.power_us = _power(site, devices)


def _power(site: Site, devices: Iterable[Device]) -> tuple[float | None, int | None]:
    found = sm.site_power(
        (d.pv_power_at, d.pv_power_w)
        for d in devices
        if d.pv_power_at is not None and d.pv_power_w is not None and counted(site, d)
    )
    return (found[0], to_us(found[1])) if found else (None, None)


# ---- rebuild --------------------------------------------------------------------------------


def ensure(session: Session, sites: Sequence[Site], now: datetime | None = None) -> set[str]:
    """Build the missing summaries of ``sites`` from their counted devices' roll-ups; the ids of
    the sites whose summary this call stored. A summary another transaction stored meanwhile (a
    page read and an ingest building the same new site's summary at once) is left as it is:
    the insert does nothing on conflict instead of failing the request with a duplicate key."""
    if not sites:
        return set()
    ids = [s.id for s in sites]
    have = set(session.scalars(select(SiteSummary.site_id).where(SiteSummary.site_id.in_(ids))))
    todo = {s.id: s for s in sites if s.id not in have}
    if not todo:
        return set()
    devices: dict[str, str] = {}  # counted device id -> site id
    of_site: dict[str, list[Device]] = defaultdict(list)
    for d in session.scalars(select(Device).where(Device.site_id.in_(list(todo)))):
        of_site[d.site_id].append(d)
        if counted(todo[d.site_id], d):
            devices[d.id] = d.site_id
    since = (now or session_now(session)) - timedelta(days=_RECENT_DAYS)
    rows: dict[str, list[tuple[str, Resolution, datetime, float]]] = defaultdict(list)
    ids = list(devices)
    for k in range(0, len(ids), _CHUNK):
        chunk = ids[k : k + _CHUNK]
        for resolution, start in ((Resolution.MONTH, _FIRST), (Resolution.DAY, since)):
            found = read_many(session.connection(), chunk, sm.POINTS, resolution, start, _LAST)
            for device_id, point, at, value in found:
                rows[devices[device_id]].append((point, resolution, at, value))
    stored: set[str] = set()
    for site_id, site in todo.items():
        s = sm.rebuild(rows.get(site_id, []), zone(site.timezone))
        power_w, power_us = _power(site, of_site[site_id])
        values = {"site_id": site_id, "power_w": power_w, "power_us": power_us, **_values(s)}
        if _insert_new(session, values):
            stored.add(site_id)
    return stored


def _insert_new(session: Session, values: dict[str, Any]) -> bool:
    """Insert a summary unless one for its site exists by now (both databases have ON CONFLICT DO
    NOTHING; SQLAlchemy spells it per dialect)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(SiteSummary).values(**values).on_conflict_do_nothing()
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(SiteSummary).values(**values).on_conflict_do_nothing()
    # RETURNING says whether a row went in (rowcount is -1 on PostgreSQL here)
    return session.execute(stmt.returning(SiteSummary.site_id)).first() is not None


# ---- invalidation ---------------------------------------------------------------------------


def drop(session: Session, site_id: str) -> None:
    session.execute(delete(SiteSummary).where(SiteSummary.site_id == site_id))


def _changed(obj: object, fields: Sequence[str]) -> bool:
    state = inspect(obj)
    return any(state.attrs[f].history.has_changes() for f in fields)


def watch(sessions: sessionmaker[Session]) -> None:
    """Drop a site's summary whenever a flush of these sessions changes what it is made of (a
    device added, moved, removed or counted differently; the site's range or zone): registered
    by bootstrap on the runtime's sessions, not on every Session at import."""
    event.listen(sessions, "before_flush", _drop_stale)


def _drop_stale(session: Session, *_: object) -> None:
    sites: set[str] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Device):
            if obj in session.new or obj in session.deleted or _changed(obj, _DEVICE_FIELDS):
                history = inspect(obj).attrs["site_id"].history
                sites.update(x for x in (*history.deleted, obj.site_id) if x)
        elif isinstance(obj, Site) and obj not in session.new and _changed(obj, _SITE_FIELDS):
            sites.add(obj.id)
    if sites:
        session.execute(delete(SiteSummary).where(SiteSummary.site_id.in_(sorted(sites))))
