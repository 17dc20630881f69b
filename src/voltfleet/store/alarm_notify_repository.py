"""Queueing alarm notifications when an alarm is raised (``usecases.alarms.AlarmNotifier``), in
the ingest's own transaction: a row per subscription that wants the alarm, delivered later by the
``alarm-notifications`` job. Never commits; never talks to the network.

A subscription's reach is the view of whoever may manage it (app.sites.repository.visible_sites):
an organisation's subscription reaches the sites of that organisation and those below it, and
sites shared to any of them; an owner's reaches the sites they own. Here that is one query: the
organisations whose path is an ancestor of the site's organisation, or of an organisation the site
is shared to.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session

from voltfleet.domain.alarm_notifications import DeliveryStatus, wants
from voltfleet.domain.alarms import CATALOGUE
from voltfleet.store.alarm_models import Alarm
from voltfleet.store.alarm_notify_models import AlarmDelivery, AlarmSubscription
from voltfleet.store.db import new_id
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Org, Site, SiteShare

EVENT_RAISED = "alarm.raised"


def ancestors(path: str) -> list[str]:
    """ "/a/b/c/" -> ["/a/", "/a/b/", "/a/b/c/"]: the paths of an organisation and those above."""
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def payload(alarm: Alarm, site: Site, device: Device | None) -> dict[str, Any]:
    """What a webhook receives (and a mail tells) about a raised alarm: a snapshot at raise time."""
    entry = CATALOGUE.get(alarm.code)
    return {
        "type": EVENT_RAISED,
        "alarm": {
            "id": alarm.id,
            "code": alarm.code,
            "level": alarm.level,
            "severity": alarm.severity,
            "title": entry.title if entry else alarm.code,
            "suggested_action": entry.action if entry else "",
            "message": alarm.message,
            "raised_at": alarm.raised_at.isoformat(),
        },
        "site": {"id": site.id, "name": site.name, "timezone": site.timezone},
        "device": {
            "id": alarm.device_id,
            "serial": device.serial if device else "",
            "kind": device.kind if device else "",
            "name": (device.name or device.serial) if device else "",
        },
    }


class SqlAlarmNotifier:
    """``usecases.alarms.AlarmNotifier`` in ``session``'s transaction."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now
        self._any: bool | None = None  # is there any enabled subscription at all (per batch)
        self._reach: dict[str, list[AlarmSubscription]] = {}  # by site id, within the batch

    def subscriptions_reaching(self, site: Site) -> list[AlarmSubscription]:
        """The enabled subscriptions whose reach holds ``site`` (before levels and site lists)."""
        org_paths = [
            p
            for p in self.session.scalars(
                select(Org.path).where(
                    or_(
                        Org.id == site.org_id,
                        Org.id.in_(select(SiteShare.org_id).where(SiteShare.site_id == site.id)),
                    )
                )
            )
        ]
        prefixes = sorted({a for p in org_paths for a in ancestors(p)})
        reach = AlarmSubscription.org_id.in_(select(Org.id).where(Org.path.in_(prefixes)))
        org_wide = AlarmSubscription.owner_user_id.is_(None) & reach
        conditions = [org_wide]
        if site.owner_id:
            conditions.append(AlarmSubscription.owner_user_id == site.owner_id)
        return list(
            self.session.scalars(
                select(AlarmSubscription).where(
                    AlarmSubscription.enabled.is_(True), or_(*conditions)
                )
            )
        )

    def alarm_raised(self, site_id: str, device_id: str, code: str, level: str) -> int:
        if self._any is None:
            self._any = (
                self.session.scalar(
                    select(AlarmSubscription.id).where(AlarmSubscription.enabled.is_(True)).limit(1)
                )
                is not None
            )
        if not self._any:
            return 0  # the common case of a fleet without subscriptions costs one query a batch
        site = self.session.get(Site, site_id)
        alarm = self.session.scalar(
            select(Alarm).where(
                Alarm.device_id == device_id, Alarm.code == code, Alarm.cleared_at.is_(None)
            )
        )
        if site is None or alarm is None or site.deleted_at is not None:
            return 0
        told = set(
            self.session.scalars(
                select(AlarmDelivery.subscription_id).where(
                    AlarmDelivery.alarm_id == alarm.id, AlarmDelivery.event == EVENT_RAISED
                )
            )
        )
        if site_id not in self._reach:
            self._reach[site_id] = self.subscriptions_reaching(site)
        subs = [
            s
            for s in self._reach[site_id]
            if s.id not in told and wants(s.levels or [], s.site_ids or [], level, site_id)
        ]
        if not subs:
            return 0
        body = payload(alarm, site, self.session.get(Device, device_id))
        self.session.execute(  # one multi-row insert: a busy fleet has many subscriptions
            insert(AlarmDelivery),
            [
                {
                    "id": new_id(),
                    "subscription_id": sub.id,
                    "alarm_id": alarm.id,
                    "site_id": site_id,
                    "event": EVENT_RAISED,
                    "channel": sub.channel,
                    "target": sub.target,
                    "status": DeliveryStatus.PENDING.value,
                    "attempts": 0,
                    "next_attempt_at": self.now,
                    "last_error": "",
                    "payload": body,
                    "created_at": self.now,
                }
                for sub in subs
            ],
        )
        return len(subs)
