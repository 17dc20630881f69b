"""The alarms use case (usecases/alarms.py) at the edges: an HTTP/MQTT/OCPP batch of events read
into its wire shape, a person's repository built from the caller. Never commits: the caller's unit
of work does, before anything is acknowledged to the gateway."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy.orm import Session

from voltfleet.app.alarms.schemas import AlarmEventIn, AlarmIngestOut, AlarmRefusalOut
from voltfleet.app.deps import Caller
from voltfleet.app.sites.repository import owned_sites, visible_sites
from voltfleet.domain.alarms import EventLimits, EventRefusal, Refusal
from voltfleet.store.alarm_models import Alarm
from voltfleet.store.alarm_notify_repository import SqlAlarmNotifier
from voltfleet.store.alarm_repository import SqlAlarmIngestRepository, SqlAlarmRepository, Viewer
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site
from voltfleet.usecases import alarms as usecase
from voltfleet.usecases.alarms import QUARANTINE_POINT, Refused

__all__ = ["QUARANTINE_POINT", "acknowledge", "ingest_alarms", "repository"]


def repository(session: Session, caller: Caller) -> SqlAlarmRepository:
    """The alarms ``caller`` sees (the sites in their scope, shared ones included)."""
    viewer = Viewer(
        visible_site_ids=visible_sites(caller).with_only_columns(Site.id),
        owned_site_ids=owned_sites(caller).with_only_columns(Site.id),
        user=caller.user,
        address=caller.address,
    )
    return SqlAlarmRepository(session, viewer)


def _shape(item: object) -> Mapping[str, object] | Refused:
    """An event in its wire shape (fields read leniently: ``domain.alarms.parse_event`` checks
    them), or why it is not even that."""
    if isinstance(item, AlarmEventIn):
        return item.model_dump()
    if isinstance(item, Mapping):
        try:
            return AlarmEventIn.model_validate(item).model_dump()
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"])
            return Refused(item, EventRefusal(Refusal.BAD_EVENT, f"{where}: {first['msg']}"))
    return Refused({}, EventRefusal(Refusal.BAD_EVENT, "an alarm event must be an object"))


def ingest_alarms(
    session: Session,
    gateway: Device,
    events: Sequence[AlarmEventIn | Mapping[str, object] | object],
    *,
    now: datetime,
    limits: EventLimits = EventLimits(),
) -> AlarmIngestOut:
    """Apply a batch of alarm events from ``gateway`` in order, received at ``now``; refused ones
    are quarantined (usecases.alarms.ingest_alarms); each alarm opened is queued for the
    subscriptions that want it (delivered by the ``alarm-notifications`` job, never here)."""
    out = usecase.ingest_alarms(
        SqlAlarmIngestRepository(session),
        gateway,
        [_shape(item) for item in events],
        now=now,
        limits=limits,
        notifier=SqlAlarmNotifier(session, now),
    )
    return AlarmIngestOut(
        received=out.received,
        opened=out.opened,
        cleared=out.cleared,
        unchanged=out.unchanged,
        refused=out.refused,
        refusals=[
            AlarmRefusalOut(index=i, reason=r.reason.value, detail=r.detail)
            for i, r in out.refusals
        ],
    )


def acknowledge(session: Session, caller: Caller, alarm_id: str, now: datetime) -> Alarm:
    """Mark an alarm as seen by the caller at ``now`` (usecases.alarms.acknowledge)."""
    return usecase.acknowledge(repository(session, caller), caller, alarm_id, now)
