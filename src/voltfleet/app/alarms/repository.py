"""Alarms as the caller may see them: those of the sites in the caller's scope (shared sites
included, as for devices), with the filters of the list and its rows ready to show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from voltfleet.app.alarms.schemas import AlarmOut
from voltfleet.app.deps import Caller
from voltfleet.app.sites.repository import owned_sites, visible_sites
from voltfleet.app.tables import Column, Table
from voltfleet.domain.alarms import CATALOGUE, Severity, count_by_severity
from voltfleet.store.alarm_models import Alarm
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site, User
from voltfleet.usecases.errors import Invalid, NotFound

STATUSES = ("active", "cleared", "all")
CSV_MAX_ROWS = 50_000


def visible_alarms(caller: Caller) -> Select[tuple[Alarm]]:
    return select(Alarm).where(Alarm.site_id.in_(visible_sites(caller).with_only_columns(Site.id)))


@dataclass
class AlarmFilters:
    site_id: str | None = None
    device_id: str | None = None
    severity: str | None = None
    status: str = "all"  # active | cleared | all
    code: str | None = None
    since: datetime | None = None  # alarms active at some time in [since, until)
    until: datetime | None = None


class AlarmRepository:
    def __init__(self, session: Session, caller: Caller) -> None:
        self.session = session
        self.caller = caller

    def get(self, alarm_id: str) -> Alarm:
        alarm = self.session.scalar(visible_alarms(self.caller).where(Alarm.id == alarm_id))
        if alarm is None:
            raise NotFound("alarm")
        return alarm

    def query(self, f: AlarmFilters) -> Select[tuple[Alarm]]:
        stmt = visible_alarms(self.caller)
        if f.site_id:
            stmt = stmt.where(Alarm.site_id == f.site_id)
        if f.device_id:
            stmt = stmt.where(Alarm.device_id == f.device_id)
        if f.severity:
            try:
                stmt = stmt.where(Alarm.severity == Severity(f.severity.strip().lower()).value)
            except ValueError:
                raise Invalid(
                    f"severity must be one of {', '.join(s.value for s in Severity)}"
                ) from None
        if f.status not in STATUSES:
            raise Invalid(f"status must be one of {', '.join(STATUSES)}")
        if f.status == "active":
            stmt = stmt.where(Alarm.cleared_at.is_(None))
        elif f.status == "cleared":
            stmt = stmt.where(Alarm.cleared_at.is_not(None))
        if f.code:
            stmt = stmt.where(Alarm.code == f.code.strip().upper())
        for name, value in (("since", f.since), ("until", f.until)):
            if value is not None and value.tzinfo is None:
                raise Invalid(f"{name} needs a UTC offset, e.g. 2026-03-02T00:00:00Z")
        if f.since and f.until and f.until <= f.since:
            raise Invalid("until must be after since")
        if f.until is not None:
            stmt = stmt.where(Alarm.raised_at < f.until)
        if f.since is not None:
            stmt = stmt.where(Alarm.cleared_at.is_(None) | (Alarm.cleared_at >= f.since))
        return stmt.order_by(Alarm.raised_at.desc(), Alarm.id)

    def views(self, rows: list[Alarm]) -> list[AlarmOut]:
        """The rows with their site, device and acknowledging person, in three queries."""
        if not rows:
            return []
        sites = dict(
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
        emails = (
            dict(self.session.execute(select(User.id, User.email).where(User.id.in_(ackers))).all())
            if ackers
            else {}
        )
        out = []
        for a in rows:
            entry = CATALOGUE.get(a.code)
            device = devices.get(a.device_id)
            out.append(
                AlarmOut(
                    id=a.id,
                    site_id=a.site_id,
                    site_name=sites.get(a.site_id, ""),
                    device_id=a.device_id,
                    device_serial=device.serial if device else "",
                    device_name=(device.name or device.serial) if device else "",
                    device_kind=device.kind if device else "",
                    code=a.code,
                    severity=a.severity,
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

    def all_views(self, f: AlarmFilters) -> list[AlarmOut]:
        """Every matching alarm (for a download), at most ``CSV_MAX_ROWS``, newest first."""
        return self.views(list(self.session.scalars(self.query(f).limit(CSV_MAX_ROWS))))


def active_counts(session: Session, caller: Caller) -> dict[str, int]:
    """Active alarms by severity over the caller's own sites (like the other fleet figures,
    sites shared to the caller are not counted)."""
    rows = session.execute(
        select(Alarm.severity, func.count())
        .where(
            Alarm.cleared_at.is_(None),
            Alarm.site_id.in_(owned_sites(caller).with_only_columns(Site.id)),
        )
        .group_by(Alarm.severity)
    ).all()
    counts = count_by_severity([])
    for severity, n in rows:
        if severity in counts:
            counts[severity] += n
            counts["total"] += n
    return counts


ALARM_COLUMNS: list[Column[AlarmOut]] = [
    Column("severity", lambda a: a.severity),
    Column("raised_at", lambda a: a.raised_at),
    Column("cleared_at", lambda a: a.cleared_at),
    Column("status", lambda a: a.status),
    Column("site", lambda a: a.site_name),
    Column("device_serial", lambda a: a.device_serial),
    Column("device_name", lambda a: a.device_name),
    Column("code", lambda a: a.code),
    Column("title", lambda a: a.title),
    Column("message", lambda a: a.message),
    Column("acknowledged_at", lambda a: a.acknowledged_at),
    Column("acknowledged_by", lambda a: a.acknowledged_by_email),
    Column("id", lambda a: a.id),
]


def alarm_table(rows: list[AlarmOut]) -> Table[AlarmOut]:
    """The alarms as the download has them (instants in ISO 8601, as stored: UTC)."""
    return Table(ALARM_COLUMNS, rows)
