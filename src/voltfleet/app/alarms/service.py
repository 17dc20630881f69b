"""Alarm ingest (from a gateway's credential, over HTTP or MQTT) and acknowledgement. Never
commits: the caller's unit of work does, before anything is acknowledged to the gateway.

The device an event is about is resolved *below the sending gateway*, as for readings: a gateway
cannot raise an alarm on a device of another gateway. Refused events are answered with their
reason and kept in the quarantine (point ``alarm``), so none is silently dropped.

Two transactions racing to open the same device+code (the same gateway over HTTP and MQTT at
once) meet the partial unique index ``uq_alarms_open_device_code``: one fails and is retried by
its sender, and then finds the occurrence open. So there is never more than one open occurrence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.app import audit
from voltfleet.app.alarms.repository import AlarmRepository
from voltfleet.app.alarms.schemas import AlarmEventIn, AlarmIngestOut, AlarmRefusalOut
from voltfleet.app.deps import Caller
from voltfleet.app.devices.service import refresh_site_status
from voltfleet.domain.access import Action, Kind
from voltfleet.domain.alarms import (
    AlarmEvent,
    EventLimits,
    EventRefusal,
    Occurrence,
    Outcome,
    Refusal,
    parse_event,
    transition,
)
from voltfleet.domain.fleet import normalise_serial
from voltfleet.domain.telemetry.quarantine import (
    REF_CHARS,
    TS_CHARS,
    VALUE_CHARS,
    QuarantineEntry,
)
from voltfleet.store.alarm_models import Alarm
from voltfleet.store.fleet_models import Device
from voltfleet.store.ingest_repository import devices_below, write_quarantine
from voltfleet.store.models import Site
from voltfleet.usecases.errors import Forbidden

QUARANTINE_POINT = "alarm"


def _devices(session: Session, gateway: Device) -> tuple[dict[str, Device], dict[str, Device]]:
    """(the gateway and the devices below it, the site's other live devices), each keyed by id
    and by serial: the one credential-to-devices resolution, as for readings."""
    return devices_below(session, gateway)


def _resolve(
    ref: str, gateway: Device, mine: dict[str, Device], others: dict[str, Device]
) -> Device | EventRefusal:
    if not ref:
        return gateway
    found = mine.get(ref) or mine.get(normalise_serial(ref))
    if found is not None:
        return found
    other = others.get(ref) or others.get(normalise_serial(ref))
    if other is not None:
        return EventRefusal(
            Refusal.FOREIGN_DEVICE, f"{other.serial} is not below gateway {gateway.serial}"
        )
    return EventRefusal(
        Refusal.UNKNOWN_DEVICE, f"no device '{ref[:64]}' below gateway {gateway.serial}: bind it"
    )


def _occurrences(session: Session, device_id: str, code: str) -> tuple[Alarm | None, Alarm | None]:
    """(the open occurrence, the latest finished one) of a code on a device."""
    rows = list(
        session.scalars(
            select(Alarm)
            .where(Alarm.device_id == device_id, Alarm.code == code)
            .order_by(Alarm.cleared_at.is_not(None), Alarm.raised_at.desc())
            .limit(2)
        )
    )
    current = next((a for a in rows if a.cleared_at is None), None)
    previous = next((a for a in rows if a.cleared_at is not None), None)
    return current, previous


def _occ(a: Alarm | None) -> Occurrence | None:
    return None if a is None else Occurrence(a.raised_at, a.cleared_at)


def ingest_alarms(
    session: Session,
    gateway: Device,
    events: Sequence[AlarmEventIn | Mapping[str, object] | object],
    *,
    now: datetime,
    limits: EventLimits = EventLimits(),
) -> AlarmIngestOut:
    """Apply a batch of alarm events from ``gateway`` in order, received at ``now``; refused ones
    are quarantined."""
    result = AlarmIngestOut(received=len(events))
    if not events:
        return result
    mine, others = _devices(session, gateway)
    refused: list[tuple[int, Mapping[str, object], EventRefusal]] = []
    changed = False
    for i, item in enumerate(events):
        raw: Mapping[str, object]
        if isinstance(item, AlarmEventIn):
            raw = item.model_dump()
        elif isinstance(item, Mapping):
            try:
                raw = AlarmEventIn.model_validate(item).model_dump()
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(x) for x in first["loc"])
                refused.append(
                    (i, item, EventRefusal(Refusal.BAD_EVENT, f"{where}: {first['msg']}"))
                )
                continue
        else:
            refused.append(
                (i, {}, EventRefusal(Refusal.BAD_EVENT, "an alarm event must be an object"))
            )
            continue
        parsed = parse_event(raw, now, limits)
        if isinstance(parsed, EventRefusal):
            refused.append((i, raw, parsed))
            continue
        device = _resolve(parsed.device, gateway, mine, others)
        if isinstance(device, EventRefusal):
            refused.append((i, raw, device))
            continue
        outcome = _apply(session, gateway, device, parsed)
        if outcome is Outcome.OPENED:
            result.opened += 1
        elif outcome is Outcome.CLEARED:
            result.cleared += 1
        else:
            result.unchanged += 1
        changed = changed or outcome.changes
    result.refused = len(refused)
    result.refusals = [
        AlarmRefusalOut(index=i, reason=r.reason.value, detail=r.detail) for i, _, r in refused
    ]
    _quarantine(session, gateway, refused, now)
    if changed:
        site = session.get(Site, gateway.site_id)
        if site is not None:
            session.flush()
            refresh_site_status(session, site)
    return result


def _apply(session: Session, gateway: Device, device: Device, event: AlarmEvent) -> Outcome:
    current, previous = _occurrences(session, device.id, event.code)
    outcome = transition(event, _occ(current), _occ(previous))
    if outcome is Outcome.OPENED:
        session.add(
            Alarm(
                site_id=gateway.site_id,
                device_id=device.id,
                code=event.code,
                severity=event.severity.value,
                message=event.message,
                raised_at=event.ts,
            )
        )
        session.flush()  # the next event of the batch sees it
    elif outcome is Outcome.CLEARED:
        assert current is not None
        current.cleared_at = event.ts
        if event.message and not current.message:
            current.message = event.message
        session.flush()
    return outcome


def _quarantine(
    session: Session,
    gateway: Device,
    refused: list[tuple[int, Mapping[str, object], EventRefusal]],
    now: datetime,
) -> None:
    entries = [
        QuarantineEntry(
            device_ref=str(raw.get("device", ""))[:REF_CHARS],
            point=QUARANTINE_POINT,
            ts_text=str(raw.get("ts", ""))[:TS_CHARS],
            value_text=f"{raw.get('action', '')} {raw.get('code', '')}".strip()[:VALUE_CHARS],
            unit="",
            reason=r.reason.value,
            detail=r.detail,
        )
        for _, raw, r in refused
    ]
    write_quarantine(session, gateway.site_id, gateway.id, entries, now)


# ---- acknowledgement ----------------------------------------------------------------------------


def acknowledge(session: Session, caller: Caller, alarm_id: str, now: datetime) -> Alarm:
    """Mark an alarm as seen by the caller (O&M and administrators). Acknowledging it again
    changes nothing; an active alarm stays active until its device clears it."""
    alarm = AlarmRepository(session, caller).get(alarm_id)
    if not caller.can(Kind.DEVICE, Action.UPDATE):
        raise Forbidden("alarms are acknowledged by O&M engineers and administrators")
    if alarm.acknowledged_at is not None:
        return alarm
    alarm.acknowledged_at = now
    alarm.acknowledged_by = caller.user.id
    site = session.get(Site, alarm.site_id)
    audit.record(
        session,
        actor=caller.user,
        action="alarm.acknowledged",
        object_type="alarm",
        object_id=alarm.id,
        org_id=site.org_id if site else None,
        address=caller.address,
        detail={"code": alarm.code, "device_id": alarm.device_id, "site_id": alarm.site_id},
    )
    return alarm
