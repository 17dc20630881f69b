"""Working the quarantine: finding quarantined readings, downloading them, and releasing them.

*Releasing* re-runs quarantined readings through the ingest use case (usecases.ingest), as the
gateway that sent them, with what was sent kept as sent (device reference, point, timestamp
text, value text, unit) and today's clock: those stored now, or already stored (duplicates),
leave the quarantine; those still refused stay, with their new reason. Typical use: after
recording a counter restart (app/telemetry/restarts.py), release the COUNTER_RESET readings of
that meter. Each release is audited, per gateway. Never commits.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from voltfleet.app import audit
from voltfleet.app.deps import Caller
from voltfleet.app.instants import AwareInstant
from voltfleet.app.sites.repository import visible_sites
from voltfleet.app.telemetry.wiring import IngestWiring
from voltfleet.domain.access import Action, Kind
from voltfleet.domain.telemetry.quarantine import IncomingReading
from voltfleet.domain.telemetry.validate import Reason
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site
from voltfleet.store.telemetry_models import QuarantinedReading
from voltfleet.usecases.errors import Forbidden, Invalid, NotFound

MAX_RELEASE = 50_000  # readings per release (ingest's batch limit); the answer says what remains
MAX_IDS = 5_000


@dataclass
class Filters:
    site_id: str | None = None
    device_id: str | None = None  # the device, or the gateway that sent it
    point: str | None = None
    reason: str | None = None
    since: datetime | None = None  # the reading's own timestamp, since <= ts < until
    until: datetime | None = None

    def any(self) -> bool:
        return any(v is not None and v != "" for v in vars(self).values())


def require_om(caller: Caller) -> None:
    if not caller.can(Kind.DEVICE, Action.UPDATE):
        raise Forbidden("the quarantine is for O&M engineers and administrators")


def query(caller: Caller, f: Filters) -> Select[QuarantinedReading]:
    """The caller's quarantined readings (the sites in its scope) matching ``f``, newest first."""
    Q = QuarantinedReading
    if f.since and f.until and f.until <= f.since:
        raise Invalid("'until' must be after 'since'")
    stmt = select(Q).where(Q.site_id.in_(visible_sites(caller).with_only_columns(Site.id)))
    if f.site_id:
        stmt = stmt.where(Q.site_id == f.site_id)
    if f.device_id:
        stmt = stmt.where((Q.device_id == f.device_id) | (Q.gateway_id == f.device_id))
    if f.point:
        stmt = stmt.where(Q.point == f.point)
    if f.reason:
        stmt = stmt.where(Q.reason == f.reason)
    if f.since:
        stmt = stmt.where(Q.ts >= f.since)
    if f.until:
        stmt = stmt.where(Q.ts < f.until)
    return stmt.order_by(Q.received_at.desc(), Q.id)


# ---- release ------------------------------------------------------------------------------------


class ReleaseIn(BaseModel):
    """Either ``ids``, or a filter (at least one of its fields)."""

    ids: list[str] | None = Field(default=None, max_length=MAX_IDS)
    site_id: str | None = None
    device_id: str | None = Field(default=None, description="the device, or the gateway")
    point: str | None = None
    reason: Reason | None = None
    since: AwareInstant | None = Field(default=None, description="the readings' own timestamps")
    until: AwareInstant | None = None


class StillRefused(BaseModel):
    id: str
    reason: str
    detail: str


class ReleaseOut(BaseModel):
    matched: int = Field(description="quarantined readings taken up by this release")
    stored: int = Field(description="stored now, and out of the quarantine")
    duplicates: int = Field(description="already stored (same instant), out of the quarantine")
    still_refused: int = Field(description="refused again: they stay, with the new reason")
    refusals: list[StillRefused] = Field(default_factory=list)
    remaining: int = Field(
        default=0, description=f"matching readings beyond the {MAX_RELEASE:,} of one release"
    )


@dataclass
class _Tally:
    stored: int = 0
    duplicates: int = 0
    refusals: list[StillRefused] = field(default_factory=list)


def release(session: Session, caller: Caller, body: ReleaseIn, ingest: IngestWiring) -> ReleaseOut:
    """Re-run quarantined readings through ingest (the use case as wired: ``Runtime.ingest``);
    see the module's docstring."""
    Q = QuarantinedReading
    filters = Filters(
        body.site_id,
        body.device_id,
        body.point,
        body.reason.value if body.reason else None,
        body.since,
        body.until,
    )
    if body.ids is not None:
        if filters.any():
            raise Invalid("give either 'ids' or a filter, not both")
        if not body.ids:
            raise Invalid("'ids' is empty: nothing to release")
        wanted = set(body.ids)
        rows = list(session.scalars(query(caller, Filters()).where(Q.id.in_(wanted))))
        missing = wanted - {r.id for r in rows}
        if missing:
            shown = ", ".join(sorted(missing)[:5]) + (" ..." if len(missing) > 5 else "")
            raise NotFound(f"quarantined reading ({len(missing)} of the ids: {shown})")
        require_om(caller)
        remaining = 0
    else:
        if not filters.any():
            raise Invalid(
                "give 'ids', or a filter (site_id, device_id, point, reason, since, until): "
                "releasing the whole quarantine at once is not offered"
            )
        require_om(caller)
        stmt = query(caller, filters).order_by(None).order_by(Q.received_at, Q.id)
        rows = list(session.scalars(stmt.limit(MAX_RELEASE + 1)))
        remaining = 0
        if len(rows) > MAX_RELEASE:
            total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
            rows = rows[:MAX_RELEASE]
            remaining = total - MAX_RELEASE
    tally = _Tally()
    by_gateway: dict[str, list[QuarantinedReading]] = defaultdict(list)
    for r in rows:
        by_gateway[r.gateway_id].append(r)
    now = ingest.clock.now()
    for gateway_id, group in by_gateway.items():
        _release_group(session, caller, ingest, gateway_id, group, tally, now)
    return ReleaseOut(
        matched=len(rows),
        stored=tally.stored,
        duplicates=tally.duplicates,
        still_refused=len(tally.refusals),
        refusals=tally.refusals,
        remaining=remaining,
    )


def _release_group(
    session: Session,
    caller: Caller,
    ingest: IngestWiring,
    gateway_id: str,
    group: list[QuarantinedReading],
    tally: _Tally,
    now: datetime,
) -> None:
    gateway = session.get(Device, gateway_id)
    if gateway is None or gateway.deleted_at is not None:
        for r in group:
            r.reason, r.detail = Reason.UNKNOWN_DEVICE.value, "the gateway that sent it is gone"
            tally.refusals.append(StillRefused(id=r.id, reason=r.reason, detail=r.detail))
        return
    readings = [
        IncomingReading(r.device_ref, r.point, r.ts_text, r.value_text, r.unit) for r in group
    ]
    result = ingest(session, gateway, readings, now=now, replay=True)
    refused = {rej.index: rej for rej in result.rejections}
    for index, r in enumerate(group):
        rej = refused.get(index)
        if rej is not None:
            r.reason, r.detail = rej.reason.value, rej.detail
            tally.refusals.append(StillRefused(id=r.id, reason=r.reason, detail=r.detail))
    gone = [r.id for index, r in enumerate(group) if index not in refused]
    for k in range(0, len(gone), 1000):
        chunk = gone[k : k + 1000]
        session.execute(delete(QuarantinedReading).where(QuarantinedReading.id.in_(chunk)))
    tally.stored += result.accepted
    tally.duplicates += result.duplicates
    site = session.get(Site, gateway.site_id)
    audit.record(
        session,
        actor=caller.user,
        action="quarantine.released",
        object_type="device",
        object_id=gateway.id,
        org_id=site.org_id if site else None,
        address=caller.address,
        detail={
            "gateway": gateway.serial,
            "taken": len(group),
            "stored": result.accepted,
            "duplicates": result.duplicates,
            "still_refused": len(refused),
            "released_ids": gone[:200],
        },
    )
