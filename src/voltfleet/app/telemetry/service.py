"""Gateway credentials and the ingest pipeline. Never commits: the request's unit of work does,
before the answer leaves, so an acknowledged reading is a committed one.

The pipeline for one batch from one gateway: resolve each reading's device *below that gateway*
(the identity comes from the credential, never from the payload), check it (domain.telemetry.
validate), check energy counters against what is stored, store the batch (duplicates once),
quarantine the rest with their reasons, recompute the roll-ups of the touched periods, and mark
the devices that spoke as seen.
"""

from __future__ import annotations

import secrets
import weakref
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert, select, text, update
from sqlalchemy.orm import Session

from voltfleet.app import audit
from voltfleet.app.deps import Caller
from voltfleet.app.devices.repository import DeviceRepository
from voltfleet.app.errors import ApiError, bad_request
from voltfleet.app.security import sha256
from voltfleet.app.telemetry import summaries
from voltfleet.app.telemetry.read_service import zone
from voltfleet.app.telemetry.rollups import refresh, rolled_up
from voltfleet.domain.access import Action
from voltfleet.domain.device_status import after_spoke
from voltfleet.domain.fleet import DeviceKind, DeviceStatus, normalise_serial
from voltfleet.domain.telemetry import restarts as counter_restarts
from voltfleet.domain.telemetry.batch import Series, check_group, from_us, join, to_us
from voltfleet.domain.telemetry.restarts import Restart
from voltfleet.domain.telemetry.rollup import (
    energy_delta,
    gauge_delta_us,
    ladder_deltas,
)
from voltfleet.domain.telemetry.validate import Limits, Reason, Rejection
from voltfleet.ports import RollupDelta, SeriesRows, TimeSeriesStore
from voltfleet.protocols.mqtt import broker as mqtt_broker
from voltfleet.settings import Settings
from voltfleet.store.db import new_id, utcnow
from voltfleet.store.device_status import set_device_status
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site
from voltfleet.store.telemetry_models import CounterRestart, DeviceCredential, QuarantinedReading
from voltfleet.store.timeseries import store_for


class ReadingLike(Protocol):
    """A reading as received (``schemas.ReadingIn`` or the fast decoder's ``WireReading``)."""

    @property
    def device(self) -> str: ...
    @property
    def point(self) -> str: ...
    @property
    def ts(self) -> str: ...
    @property
    def value(self) -> float | str | None: ...
    @property
    def unit(self) -> str: ...


TOKEN_PREFIX = "vfg_"
TOKEN_KINDS = frozenset({DeviceKind.GATEWAY.value, DeviceKind.CHARGER.value})  # chargers: OCPP

# ---- credentials --------------------------------------------------------------------------------


def issue_token(session: Session, caller: Caller, device_id: str) -> tuple[DeviceCredential, str]:
    """A new ingest token for a gateway; the gateway's earlier tokens stop working."""
    device = DeviceRepository(session, caller).get_for(device_id, Action.UPDATE)
    if device.kind not in TOKEN_KINDS:
        raise bad_request(
            f"only gateways hold ingest tokens; {device.serial} is a {device.kind}: its readings "
            "come through its gateway"
        )
    now = utcnow()
    session.execute(
        update(DeviceCredential)
        .where(DeviceCredential.device_id == device.id, DeviceCredential.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    cred = DeviceCredential(
        device_id=device.id,
        prefix=token[:12],
        token_hash=sha256(token),
        created_at=now,
        created_by=caller.user.id,
    )
    session.add(cred)
    mqtt_broker.credential_issued(session, device.serial, cred, token)  # after commit, if set up
    site = session.get(Site, device.site_id)
    audit.record(
        session,
        actor=caller.user,
        action="device.token_issued",
        object_type="device",
        object_id=device.id,
        org_id=site.org_id if site else None,
        address=caller.address,
        detail={"serial": device.serial, "prefix": cred.prefix},
    )
    return cred, token


UNAUTHENTICATED = ApiError(
    401,
    "send the gateway's token as 'Authorization: Bearer <token>' (issued with "
    "POST /api/v1/devices/{id}/token)",
    "unauthenticated",
    headers={"WWW-Authenticate": "Bearer"},
)


def gateway_for_token(session: Session, token: str | None) -> Device:
    """The live gateway a token belongs to, or 401."""
    if not token or not token.startswith(TOKEN_PREFIX):
        raise UNAUTHENTICATED
    cred = session.scalar(
        select(DeviceCredential).where(
            DeviceCredential.token_hash == sha256(token), DeviceCredential.revoked_at.is_(None)
        )
    )
    device = session.get(Device, cred.device_id) if cred else None
    if cred is None or device is None or device.deleted_at is not None:
        raise UNAUTHENTICATED
    cred.last_used_at = utcnow()
    return device


# ---- ingest -------------------------------------------------------------------------------------


@dataclass
class IngestResult:
    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejections: list[Rejection] = field(default_factory=list)


def _family(session: Session, gateway: Device) -> tuple[dict[str, Device], dict[str, Device]]:
    """(devices below the gateway, itself included; other live devices of its site), each keyed
    by id and by serial."""
    site_devices = list(
        session.scalars(
            select(Device).where(Device.site_id == gateway.site_id, Device.deleted_at.is_(None))
        )
    )
    children: dict[str | None, list[Device]] = defaultdict(list)
    for d in site_devices:
        children[d.parent_id].append(d)
    below: dict[str, Device] = {}
    todo = [gateway]
    while todo:
        d = todo.pop()
        if d.id in below:
            continue
        below[d.id] = d
        todo.extend(children.get(d.id, []))
    mine = {**{d.serial: d for d in below.values()}, **below}
    others = {d.serial: d for d in site_devices if d.id not in below}
    others.update({d.id: d for d in site_devices if d.id not in below})
    return mine, others


def _serialise(session: Session, gateway: Device) -> None:
    """One batch of a gateway at a time on PostgreSQL (a transaction-scoped advisory lock): the
    incremental roll-ups of a counter depend on its stored neighbours, so two concurrent batches
    of the same series must not both read the neighbours before either has written. (SQLite
    has one writer at a time already; a batch that read a stale snapshot fails to write and is
    retried by its sender.)"""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:space, hashtext(:gateway))"),
            {"space": _LOCK_SPACE, "gateway": gateway.id},
        )


_LOCK_SPACE = 1986  # the advisory-lock key space of ingest (two-int form)

# The deployment's limits (settings late_window_days, future_skew_s) by the engine it runs on,
# set by bootstrap: every path into ingest (HTTP, MQTT, OCPP, releasing the quarantine) uses them.
_limits: weakref.WeakKeyDictionary[Engine, Limits] = weakref.WeakKeyDictionary()


def configure(engine: Engine, settings: Settings) -> None:
    _limits[engine] = limits_of(settings)


def limits_of(settings: Settings) -> Limits:
    return Limits(
        future=timedelta(seconds=settings.future_skew_s),
        late_window=timedelta(days=settings.late_window_days),
    )


def _configured(session: Session) -> Limits:
    bind = session.get_bind()
    return _limits.get(bind if isinstance(bind, Engine) else bind.engine, Limits())


def ingest(
    session: Session,
    gateway: Device,
    readings: Sequence[ReadingLike],
    *,
    now: datetime | None = None,
    limits: Limits | None = None,
    store: TimeSeriesStore | None = None,
    replay: bool = False,
) -> IngestResult:
    """Check, store and roll up one gateway's batch; see the module's docstring.

    ``limits``: how late or early a reading may be; by default the deployment's (``configure``).
    ``replay``: readings of the gateway taken out of the quarantine (app/telemetry/quarantine.py)
    rather than sent now: the refused ones are only reported (the caller keeps their rows), and
    the devices are not marked seen.

    The batch is handled one *series* (device, data point) at a time: readings are grouped as
    they are read, each group checked in one pass (domain.telemetry.batch), stored instants of
    the series read once to tell new readings from duplicates, all new rows written in one
    statement, and the roll-ups changed by what is new merged into the stored ones."""
    now = now or utcnow()
    limits = limits or _configured(session)
    store = store or store_for(session.connection())
    _serialise(session, gateway)
    mine, others = _family(session, gateway)
    result = IngestResult(received=len(readings))
    refused: list[tuple[Rejection, int, str | None, datetime | None]] = []

    groups: dict[tuple[str, str, str], list[tuple[int, str, object]]] = defaultdict(list)
    for i, r in enumerate(readings):
        groups[(r.device, r.point, r.unit)].append((i, r.ts, r.value))

    by_series: dict[tuple[str, str], Series] = {}
    parsed: dict[str, int] = {}  # timestamp text -> instant, shared by the groups of the batch
    for (ref, point, unit), items in groups.items():
        device = _resolve(ref, gateway, mine)
        if device is None:
            reason, detail, other_id = _unresolved(ref, gateway, others)
            refused.extend((Rejection(i, reason, detail), i, other_id, None) for i, _, _ in items)
            continue
        series, bad = check_group(device.id, point, unit, items, now, limits, parsed=parsed)
        refused.extend((b.rejection, b.rejection.index, device.id, b.ts) for b in bad)
        if series is None or not series.ts_us:
            continue
        key = (device.id, series.point.name)
        by_series[key] = join(by_series[key], series) if key in by_series else series

    site = session.get(Site, gateway.site_id)
    tz = zone(site.timezone if site else "UTC")
    new: list[SeriesRows] = []
    fresh_count = 0
    plans: list[tuple[Series, list[int], list[tuple[int, float]], list[Restart]]] = []
    offered = 0
    counters = [key for key, s in by_series.items() if s.point.counter]
    restarts = _restarts(session, counters)
    # What is stored already, for all series in two round trips: a counter's neighbours (its
    # check and its energy need them), the other series' instants (to tell new from repeated).
    spans = {key: (*key, s.ts_us[0], s.ts_us[-1]) for key, s in by_series.items()}
    around = store.around_us([spans[key] for key in counters])
    instants = store.instants([x for key, x in spans.items() if key not in around])
    for (device_id, name), series in by_series.items():
        old: list[tuple[int, float]] = []
        known = restarts.get((device_id, name), [])
        if series.point.counter:
            old = around[(device_id, name)]
            series, bad_counts = _check_counter(series, old, known)
            refused.extend((rej, rej.index, device_id, ts) for rej, ts in bad_counts)
            stored = {us for us, _ in old}
        else:
            stored = instants[(device_id, name)]
        if stored:
            fresh = [k for k, us in enumerate(series.ts_us) if us not in stored]
        else:
            fresh = list(range(len(series.ts_us)))
        offered += len(series.ts_us) + series.repeats
        values, stamps = series.values, series.ts_us
        if len(fresh) < len(stamps):
            values, stamps = [values[k] for k in fresh], [stamps[k] for k in fresh]
        new.append((device_id, name, stamps, values))
        fresh_count += len(fresh)
        plans.append((series, fresh, old, known))

    stored_now = store.write_series(new)
    result.accepted = stored_now
    result.duplicates = offered - stored_now
    result.rejections = sorted((rej for rej, *_ in refused), key=lambda x: x.index)
    if not replay:
        _quarantine(session, gateway, readings, refused, now)

    for (device_id, name), series in by_series.items():
        if name == POWER_POINT and series.ts_us:
            _newest_power(mine[device_id], series)

    if stored_now == fresh_count:
        deltas = [d for plan in plans for d in _deltas(*plan, tz)]
        store.merge_rollups(deltas)
        if site is not None:
            site_devices = {d.id: d for d in (*mine.values(), *others.values())}.values()
            summaries.fold(session, site, deltas, site_devices)
    else:  # another writer stored some of them meanwhile: recompute the touched periods
        for series, _, _, known in plans:
            if series.ts_us:
                lo, hi = from_us(series.ts_us[0]), from_us(series.ts_us[-1])
                refresh(store, series.device_id, series.point, lo, hi, tz, known)
        if site is not None:
            summaries.drop(session, site.id)  # rebuilt from the roll-ups when next needed

    if replay:
        return result
    spoke = {gateway.id} | {device_id for device_id, _ in by_series}
    for device_id in spoke:
        device = mine[device_id]
        device.last_seen = now
        new = after_spoke(DeviceStatus(device.status))
        if new is not None:  # up already (or faulted): the site's status does not change
            set_device_status(session, device, new, now)
    return result


POWER_POINT = "pv_power_w"  # kept per device for the fleet home page (app/telemetry/summaries)


def _newest_power(device: Device, series: Series) -> None:
    at = from_us(series.ts_us[-1])
    if device.pv_power_at is None or at > device.pv_power_at:
        device.pv_power_at, device.pv_power_w = at, series.values[-1]


def _resolve(ref: str, gateway: Device, mine: dict[str, Device]) -> Device | None:
    key = ref.strip()
    if not key:
        return gateway
    return mine.get(key) or mine.get(normalise_serial(key))


def _unresolved(
    ref: str, gateway: Device, others: dict[str, Device]
) -> tuple[Reason, str, str | None]:
    ref = ref.strip()
    other = others.get(ref) or others.get(normalise_serial(ref))
    if other is not None:
        detail = f"{other.serial} is not below gateway {gateway.serial}"
        return Reason.FOREIGN_DEVICE, detail, other.id
    detail = f"no device '{ref}' below gateway {gateway.serial}: bind it first"
    return Reason.UNKNOWN_DEVICE, detail, None


def _restarts(
    session: Session, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], list[Restart]]:
    """The recorded restarts of the batch's counter series (domain.telemetry.restarts), by
    (device id, point): one query per batch, none without counters. A counter restarts a handful
    of times in its life, so all of them are read rather than those of a window."""
    if not keys:
        return {}
    out: dict[tuple[str, str], list[Restart]] = {}
    rows = session.execute(
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


def _check_counter(
    series: Series, old: list[tuple[int, float]], restarts: Sequence[Restart] = ()
) -> tuple[Series, list[tuple[Rejection, datetime]]]:
    """An energy counter's new readings against its stored neighbours ``old`` (instant, value)
    and its recorded restarts (domain.telemetry.restarts.check_counter_us): the series without
    the refused ones, and the refusals with their instants."""
    new = list(zip(series.indexes, series.ts_us, series.values, strict=True))
    keep, bad = counter_restarts.check_counter_us(series.point.name, new, old, restarts)
    if len(keep) == len(new):
        return series, []
    at = dict(zip(series.indexes, series.ts_us, strict=True))
    kept = Series(series.device_id, series.point, repeats=series.repeats)
    kept.indexes = [series.indexes[k] for k in keep]
    kept.ts_us = [series.ts_us[k] for k in keep]
    kept.values = [series.values[k] for k in keep]
    return kept, [(rej, from_us(at[rej.index])) for rej in bad]


def _deltas(
    series: Series,
    fresh: list[int],
    old: list[tuple[int, float]],
    restarts: list[Restart],
    tz: ZoneInfo,
) -> list[RollupDelta]:
    """The roll-up changes made by the new readings of one series, at every resolution (a
    counter's recorded restarts count as in domain.telemetry.restarts)."""
    if not fresh or not rolled_up(series.point):
        return []
    stamps, values = series.ts_us, series.values
    if series.point.counter:
        merged = sorted(old + [(stamps[k], values[k]) for k in fresh])
        if restarts:
            old_c = counter_restarts.continuous(old, restarts)
            five = energy_delta(old_c, counter_restarts.continuous(merged, restarts), tz)
        else:
            five = energy_delta(old, merged, tz)
    else:
        five = gauge_delta_us([stamps[k] for k in fresh], [values[k] for k in fresh], tz)
    ladder = ladder_deltas(five, tz, is_energy=series.point.counter)
    key = (series.device_id, series.point.name)
    return [(*key, resolution, row) for resolution, rows in ladder.items() for row in rows]


def _text(value: object, limit: int) -> str:
    return str(value)[:limit]


def _quarantine(
    session: Session,
    gateway: Device,
    readings: Sequence[ReadingLike],
    rejected: list[tuple[Rejection, int, str | None, datetime | None]],
    now: datetime,
) -> None:
    if not rejected:
        return
    session.execute(
        insert(QuarantinedReading),
        [
            {
                "id": new_id(),
                "received_at": now,
                "site_id": gateway.site_id,
                "gateway_id": gateway.id,
                "device_id": device_id,
                "device_ref": r.device[:64],
                "point": r.point[:64],
                "ts": ts,
                "ts_text": r.ts[:64],
                "value_text": _text(r.value, 64),
                "unit": r.unit[:16],
                "reason": rej.reason.value,
                "detail": rej.detail,
            }
            for rej, r, device_id, ts in ((rej, readings[i], d, ts) for rej, i, d, ts in rejected)
        ],
    )
