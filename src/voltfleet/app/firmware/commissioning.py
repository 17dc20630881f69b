"""Commissioning reports: a person asks for one (a name, an optional email, the site's
gateways and inverters); a queued job reads the devices and the last day's readings, then
generates the PDF, with its status and progress in the list (reading, generating, finished,
failed). Regenerate, delete, send by email (the mail adapter, with a link to the PDF)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.app import audit
from voltfleet.app.deps import Caller
from voltfleet.app.devices.repository import DeviceRepository
from voltfleet.app.firmware import report_pdf, self_tests
from voltfleet.app.i18n import _
from voltfleet.app.mail import Mailer
from voltfleet.app.sites.repository import SiteRepository, visible_sites
from voltfleet.domain.access import Action, Kind
from voltfleet.store.db import Database
from voltfleet.store.firmware_models import CommissioningReport, DeviceFirmware
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site
from voltfleet.store.timeseries import store_for
from voltfleet.usecases.errors import Conflict, Invalid, NotFound

log = logging.getLogger("voltfleet.commissioning")
REPORT_JOB = "commissioning-report"
KINDS = ("gateway", "inverter")
READING, GENERATING, FINISHED, FAILED = "reading", "generating", "finished", "failed"


def get(session: Session, caller: Caller, report_id: str, action: Action) -> CommissioningReport:
    site_ids = visible_sites(caller).with_only_columns(Site.id)
    row = session.scalar(
        select(CommissioningReport).where(
            CommissioningReport.id == report_id, CommissioningReport.site_id.in_(site_ids)
        )
    )
    if row is None:
        raise NotFound("commissioning report")
    kind_action = (Kind.SITE, Action.READ) if action is Action.READ else (Kind.DEVICE, action)
    caller.require(*kind_action)
    return row


def _email(text: str) -> str:
    email = text.strip()
    if email and ("@" not in email or not email.isprintable() or " " in email or len(email) > 320):
        raise Invalid("email is not an address", [{"field": "email", "message": "not an address"}])
    return email


def create(
    session: Session,
    caller: Caller,
    site_id: str,
    name: str,
    email: str,
    device_ids: list[str] | None,
    now: datetime,
) -> CommissioningReport:
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    caller.require(Kind.DEVICE, Action.UPDATE)
    name = name.strip()
    if not 1 <= len(name) <= 200 or not name.isprintable():
        raise Invalid("name must be 1-200 characters", [{"field": "name", "message": "length"}])
    devices = (
        DeviceRepository(session, caller)
        .query()
        .where(Device.site_id == site.id, Device.kind.in_(KINDS))
    )
    known = {d.id for d in session.scalars(devices)}
    chosen = list(dict.fromkeys(device_ids)) if device_ids else sorted(known)
    unknown = [d for d in chosen if d not in known]
    if unknown:
        raise NotFound(
            "device", f"not gateways or inverters of this site: {', '.join(unknown[:5])}"
        )
    if not chosen:
        raise Invalid("the site has no gateway or inverter to report on")
    row = CommissioningReport(
        site_id=site.id,
        name=name,
        email=_email(email),
        device_ids=chosen,
        status=READING,
        progress=0,
        created_at=now,
        created_by=caller.user.id,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=caller.user,
        action="commissioning.report_created",
        object_type="commissioning_report",
        object_id=row.id,
        org_id=site.org_id,
        address=caller.address,
    )
    return row


def restart(row: CommissioningReport) -> None:
    row.status, row.progress, row.message, row.pdf, row.finished_at = READING, 0, "", None, None


def _stage(db: Database, report_id: str, status: str, progress: int, message: str = "") -> bool:
    with db.session() as s:
        row = s.get(CommissioningReport, report_id)
        if row is None:
            return False
        row.status, row.progress, row.message = status, progress, message[:1000]
        return True


def generate(db: Database, report_id: str, now: datetime) -> str:
    """The job: read, then generate; each stage committed so the list shows the progress.
    Returns the final status."""
    if not _stage(db, report_id, READING, 10):
        return "gone"
    try:
        with db.session() as s:
            data = _read(s, report_id, now)
        _stage(db, report_id, GENERATING, 60)
        pdf = report_pdf.render(data)
    except Exception as exc:
        log.exception("commissioning report %s failed", report_id)
        _stage(db, report_id, FAILED, 100, f"the report could not be generated: {exc}")
        return FAILED
    with db.session() as s:
        row = s.get(CommissioningReport, report_id)
        if row is None:
            return "gone"
        row.pdf, row.status, row.progress, row.finished_at = pdf, FINISHED, 100, now
    return FINISHED


def _firmware(s: Session, d: Device) -> str:
    reported = dict(
        s.execute(
            select(DeviceFirmware.firmware_type, DeviceFirmware.version).where(
                DeviceFirmware.device_id == d.id
            )
        ).all()
    )
    parts = {"arm": d.fw_arm, "dsp": d.fw_dsp, "lcd": d.fw_lcd}
    for ftype, version in reported.items():
        parts[ftype if ftype != "gateway" else "arm"] = version
    return ", ".join(f"{k.upper()} {v}" for k, v in parts.items() if v)


def _read(s: Session, report_id: str, now: datetime) -> report_pdf.ReportData:
    row = s.get(CommissioningReport, report_id)
    if row is None:
        raise NotFound("commissioning report")
    site = s.get(Site, row.site_id)
    if site is None:
        raise NotFound("site")
    try:
        zone = ZoneInfo(site.timezone)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    devices = list(
        s.scalars(select(Device).where(Device.id.in_(list(row.device_ids))).order_by(Device.kind))
    )
    store = store_for(s.connection())
    start = now - timedelta(days=1)
    series: list[tuple[float, float]] = []
    for d in devices:
        if d.kind == "inverter":
            samples = store.read(d.id, "pv_power_w", start, now)
            series = [((x.ts - start).total_seconds() / 3600, x.value) for x in samples]
            if series:
                break
    rows = []
    for d in devices:
        settings = {}
        if d.rated_power_w:
            settings["rated power"] = f"{d.rated_power_w:g} W"
        if d.comm_address is not None:
            settings["communication address"] = str(d.comm_address)
        if d.subtype:
            settings["type"] = d.subtype
        settings["live data"] = d.live_data.replace("_", " ")
        rows.append(
            report_pdf.DeviceRow(d.kind, d.model, d.serial, _firmware(s, d), d.status, settings)
        )
    local = now.astimezone(zone)
    return report_pdf.ReportData(
        title=row.name,
        site_name=site.name,
        address=site.address,
        timezone=site.timezone,
        capacity_kwp=site.capacity_kwp,
        generated_at=local,
        devices=rows,
        pv_series=series,
        window=f"{start.astimezone(zone):%Y-%m-%d %H:%M} to {local:%Y-%m-%d %H:%M}",
        self_tests=self_tests.rows(s, devices, zone),
    )


def send(
    session: Session, caller: Caller, report_id: str, email: str, mailer: Mailer, base_url: str
) -> CommissioningReport:
    row = get(session, caller, report_id, Action.UPDATE)
    to = _email(email) or row.email
    if not to:
        raise Invalid("give an email address", [{"field": "email", "message": "missing"}])
    if row.status != FINISHED:
        raise Conflict(f"the report is {row.status}: send it once it is finished")
    site = session.get(Site, row.site_id)
    mailer.send(
        session,
        to,
        _("Commissioning report: %(name)s") % {"name": row.name},
        _(
            "The commissioning report '%(name)s' of %(site)s is ready:\n%(url)s\n"
            "(sign in to voltfleet to open it)."
        )
        % {
            "name": row.name,
            "site": site.name if site else _("the site"),
            "url": f"{base_url.rstrip('/')}/api/v1/commissioning-reports/{row.id}/pdf",
        },
    )
    if not row.email:
        row.email = to
    return row
