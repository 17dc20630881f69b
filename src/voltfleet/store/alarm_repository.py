"""The alarms use case's persistence (usecases.alarms) on SQLAlchemy: the device side (ingest) and
a person's view, scoped to the sites that person sees. Joins the caller's session; never commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from voltfleet.domain.alarms import CATALOGUE, AlarmEvent
from voltfleet.domain.telemetry.quarantine import QuarantineEntry
from voltfleet.store import audit_entries
from voltfleet.store.alarm_models import Alarm
from voltfleet.store.device_status import refresh_site_status
from voltfleet.store.fleet_models import Device
from voltfleet.store.ingest_repository import devices_below, write_quarantine
from voltfleet.store.models import Site, User
from voltfleet.usecases.alarms import AlarmView, Filters
from voltfleet.usecases.errors import NotFound


class SqlAlarmIngestRepository:
    """``usecases.alarms.AlarmIngestRepository`` in ``session``'s transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def family(self, root: Device) -> tuple[dict[str, Device], dict[str, Device]]:
        return devices_below(self.session, root)

    def occurrences(self, device_id: str, code: str) -> tuple[Alarm | None, Alarm | None]:
        rows = list(
            self.session.scalars(
                select(Alarm)
                .where(Alarm.device_id == device_id, Alarm.code == code)
                .order_by(Alarm.cleared_at.is_not(None), Alarm.raised_at.desc())
                .limit(2)
            )
        )
        current = next((a for a in rows if a.cleared_at is None), None)
        previous = next((a for a in rows if a.cleared_at is not None), None)
        return current, previous

    def open(self, site_id: str, device_id: str, event: AlarmEvent, now: datetime) -> None:
        self.session.add(
            Alarm(
                site_id=site_id,
                device_id=device_id,
                code=event.code,
                severity=event.severity.value,
                level=event.level.value,
                message=event.message,
                raised_at=event.ts,
                received_at=now,
            )
        )
        self.session.flush()  # the next event of the batch sees it

    def clear(self, alarm: Alarm, at: datetime, message: str) -> None:
        alarm.cleared_at = at
        if message and not alarm.message:
            alarm.message = message
        self.session.flush()

    def quarantine(self, root: Device, entries: Sequence[QuarantineEntry], now: datetime) -> None:
        write_quarantine(self.session, root.site_id, root.id, entries, now)

    def refresh_site(self, site_id: str) -> None:
        site = self.session.get(Site, site_id)
        if site is not None:
            self.session.flush()
            refresh_site_status(self.session, site)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class Viewer:
    """The person whose view it is: the ids of the sites they see and of those they own (as
    ``select`` statements of one column), and who they are for the audit log."""

    visible_site_ids: Select[str]
    owned_site_ids: Select[str]
    user: User
    address: str = ""


class SqlAlarmRepository:
    """``usecases.alarms.AlarmRepository`` for one ``Viewer`` in ``session``'s transaction."""

    def __init__(self, session: Session, viewer: Viewer) -> None:
        self.session = session
        self.viewer = viewer

    def _visible(self) -> Select[Alarm]:
        return select(Alarm).where(Alarm.site_id.in_(self.viewer.visible_site_ids))

    def get(self, alarm_id: str) -> Alarm:
        alarm = self.session.scalar(self._visible().where(Alarm.id == alarm_id))
        if alarm is None:
            raise NotFound("alarm")
        return alarm

    def query(self, f: Filters) -> Select[Alarm]:
        """The matching alarms, newest first (``f`` as ``usecases.alarms.checked`` gives it)."""
        stmt = self._visible()
        if f.site_id:
            stmt = stmt.where(Alarm.site_id == f.site_id)
        if f.device_id:
            stmt = stmt.where(Alarm.device_id == f.device_id)
        if f.severity:
            stmt = stmt.where(Alarm.severity == f.severity)
        if f.status == "active":
            stmt = stmt.where(Alarm.cleared_at.is_(None))
        elif f.status == "cleared":
            stmt = stmt.where(Alarm.cleared_at.is_not(None))
        if f.code is not None:
            stmt = stmt.where(Alarm.code == f.code)
        if f.level:
            stmt = stmt.where(Alarm.level == f.level)
        if f.serial:
            pattern = f"%{_escape_like(f.serial)}%"
            stmt = stmt.where(
                Alarm.device_id.in_(
                    select(Device.id).where(Device.serial.ilike(pattern, escape="\\"))
                )
            )
        if f.text:
            pattern = f"%{_escape_like(f.text)}%"
            said = Alarm.message.ilike(pattern, escape="\\")
            stmt = stmt.where(said | Alarm.code.in_(sorted(f.text_codes or ())))
        if f.until is not None:
            stmt = stmt.where(Alarm.raised_at < f.until)
        if f.since is not None:
            stmt = stmt.where(Alarm.cleared_at.is_(None) | (Alarm.cleared_at >= f.since))
        return stmt.order_by(Alarm.raised_at.desc(), Alarm.id)

    def page(self, filters: Filters, offset: int, limit: int) -> tuple[list[Alarm], int]:
        stmt = self.query(filters)
        total = (
            self.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
            or 0
        )
        return list(self.session.scalars(stmt.limit(limit).offset(offset))), total

    def matching(self, filters: Filters, limit: int) -> list[Alarm]:
        return list(self.session.scalars(self.query(filters).limit(limit)))

    def views(self, rows: Sequence[Alarm]) -> list[AlarmView]:
        """The rows with their site, device and acknowledging person, in three queries."""
        if not rows:
            return []
        sites: dict[str, str] = dict(
            self.session.execute(
                select(Site.id, Site.name).where(Site.id.in_({a.site_id for a in rows}))
            ).all()
        )
        devices = {
            d.id: d
            for d in self.session.scalars(
                select(Device).where(Device.id.in_({a.device_id for a in rows}))
            )
        }
        ackers = {a.acknowledged_by for a in rows if a.acknowledged_by}
        emails: dict[str, str] = (
            dict(self.session.execute(select(User.id, User.email).where(User.id.in_(ackers))).all())
            if ackers
            else {}
        )
        out = []
        for a in rows:
            entry = CATALOGUE.get(a.code)
            device = devices.get(a.device_id)
            out.append(
                AlarmView(
                    id=a.id,
                    site_id=a.site_id,
                    site_name=sites.get(a.site_id, ""),
                    device_id=a.device_id,
                    device_serial=device.serial if device else "",
                    device_name=(device.name or device.serial) if device else "",
                    device_kind=device.kind if device else "",
                    code=a.code,
                    severity=a.severity,
                    level=a.level,
                    title=entry.title if entry else a.code,
                    suggested_action=entry.action if entry else "",
                    message=a.message,
                    status="active" if a.cleared_at is None else "cleared",
                    raised_at=a.raised_at,
                    cleared_at=a.cleared_at,
                    acknowledged_at=a.acknowledged_at,
                    acknowledged_by=a.acknowledged_by,
                    acknowledged_by_email=emails.get(a.acknowledged_by)
                    if a.acknowledged_by
                    else None,
                )
            )
        return out

    def acknowledge(self, alarm: Alarm, now: datetime) -> None:
        user = self.viewer.user
        alarm.acknowledged_at = now
        alarm.acknowledged_by = user.id
        site = self.session.get(Site, alarm.site_id)
        audit_entries.add(
            self.session,
            actor=user,
            address=self.viewer.address,
            action="alarm.acknowledged",
            object_type="alarm",
            object_id=alarm.id,
            org_id=site.org_id if site else None,
            detail={"code": alarm.code, "device_id": alarm.device_id, "site_id": alarm.site_id},
            at=now,
        )

    def active_severities(self) -> list[tuple[str, int]]:
        rows = self.session.execute(
            select(Alarm.severity, func.count())
            .where(Alarm.cleared_at.is_(None), Alarm.site_id.in_(self.viewer.owned_site_ids))
            .group_by(Alarm.severity)
        ).all()
        return [(severity, n) for severity, n in rows]

    def active_levels(self) -> list[tuple[str, int]]:
        rows = self.session.execute(
            select(Alarm.level, func.count())
            .where(Alarm.cleared_at.is_(None), Alarm.site_id.in_(self.viewer.owned_site_ids))
            .group_by(Alarm.level)
        ).all()
        return [(level, n) for level, n in rows]
