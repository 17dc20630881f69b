"""Writing a device's status: the status-history row, the device's own fields, and its site's
status, which follows its devices. What the new status is comes from the domain's transition
table (domain.device_status); this module only records it. Never commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.domain.alarms import Severity
from voltfleet.domain.device_status import StatusEvent, transition
from voltfleet.domain.fleet import UP, DeviceStatus, site_status
from voltfleet.store.alarm_models import Alarm
from voltfleet.store.fleet_models import Device, DeviceStatusChange
from voltfleet.store.models import Site


def refresh_site_status(session: Session, site: Site) -> None:
    """Keep the site's status in line with the statuses of its live devices (and its active
    major alarms: such a site is abnormal)."""
    statuses = session.scalars(
        select(Device.status).where(Device.site_id == site.id, Device.deleted_at.is_(None))
    )
    major = session.scalar(
        select(Alarm.id)
        .where(
            Alarm.site_id == site.id,
            Alarm.cleared_at.is_(None),
            Alarm.severity == Severity.MAJOR.value,
        )
        .limit(1)
    )
    site.status = site_status(statuses, major_alarm=major is not None).value


def set_device_status(session: Session, device: Device, status: DeviceStatus, at: datetime) -> None:
    """Record a device's new status (a history row when it changes); the site's status follows."""
    if DeviceStatus(device.status) is not status:
        session.add(
            DeviceStatusChange(device_id=device.id, site_id=device.site_id, at=at, status=status)
        )
        device.status = status.value
    if status in UP:
        device.last_seen = at
    site = session.get(Site, device.site_id)
    if site is not None:
        session.flush()
        refresh_site_status(session, site)


def apply_event(
    session: Session, device: Device, event: StatusEvent, at: datetime
) -> DeviceStatus | None:
    """What ``event`` does to the device's status by the domain's table, recorded; the new status,
    or None when it stays. A device that spoke is seen ``at``, whatever its status."""
    if event is StatusEvent.SPOKE:
        device.last_seen = at
    new = transition(DeviceStatus(device.status), event)
    if new is not None:
        set_device_status(session, device, new, at)
    return new
