"""Virtual batteries as a partner configures them and a customer sees them (issue 17).

Who sees which battery (the scope, as for sites): the staff of the partner organisation and of
the organisations above it (the platform) see its batteries; a customer (an owner) sees only the
batteries offered to them; a superuser sees all. Outside the scope a battery does not exist
(404); what a role may do with a visible one is ``POLICY`` (domain.access). Only the staff of a
utility (or of the platform above it) configure batteries: ``VIRTUAL_BATTERY_ORGS``.

Services never commit; every change is audited.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from voltfleet.app import audit
from voltfleet.app.deps import Caller
from voltfleet.app.virtual_battery.schemas import (
    MarketPartnerIn,
    VirtualBatteryIn,
    VirtualBatteryOut,
    VirtualBatteryPatch,
)
from voltfleet.domain.access import VIRTUAL_BATTERY_ORGS, Action, Kind, OrgType, Role
from voltfleet.domain.fleet import zone
from voltfleet.domain.virtual_battery import calendar
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Org, Site, User
from voltfleet.store.timeseries import store_for
from voltfleet.store.virtual_battery_models import MarketPartner, VirtualBattery
from voltfleet.store.virtual_battery_repository import SqlVirtualBatteryRepository
from voltfleet.usecases.errors import Forbidden, Invalid, NotFound, Rejected
from voltfleet.usecases.virtual_battery import EXPORT_POINT, IMPORT_POINT, settle

KIND = Kind.VIRTUAL_BATTERY
# The furthest back a start date may lie (the ledger is back-filled from stored readings).
MAX_BACKFILL = timedelta(days=3 * 366)


def visible(caller: Caller) -> Select[VirtualBattery]:
    stmt = select(VirtualBattery)
    if caller.superuser:
        return stmt
    if caller.role is Role.OWNER:
        return stmt.where(VirtualBattery.customer_id == caller.user.id)
    orgs = select(Org.id).where(Org.path.startswith(caller.org.path))
    return stmt.where(VirtualBattery.org_id.in_(orgs))


def get(session: Session, caller: Caller, battery_id: str, action: Action) -> VirtualBattery:
    row = session.scalar(visible(caller).where(VirtualBattery.id == battery_id))
    if row is None:
        raise NotFound("virtual battery")
    caller.require(KIND, action)
    return row


def list_for(session: Session, caller: Caller) -> list[VirtualBattery]:
    caller.require(KIND, Action.LIST)
    return list(session.scalars(visible(caller).order_by(VirtualBattery.name)))


def _partner(session: Session, caller: Caller, org_id: str | None) -> Org:
    """The utility offering the battery: the caller's organisation, or one in its scope."""
    org = caller.org if org_id is None else session.get(Org, org_id)
    if org is None or not (caller.superuser or org.path.startswith(caller.org.path)):
        raise NotFound("organisation")
    if OrgType(org.type) not in VIRTUAL_BATTERY_ORGS:
        raise Forbidden(
            f"virtual batteries are offered by utility partners; {org.name} is a {org.type}"
        )
    return org


def _customer_and_meter(
    session: Session, partner: Org, customer_id: str, meter_id: str
) -> tuple[User, Site, Device]:
    customer = session.get(User, customer_id)
    customer_org = session.get(Org, customer.org_id) if customer else None
    if customer is None or customer_org is None or not customer_org.path.startswith(partner.path):
        raise Rejected(
            "customer_id: not a user linked to the partner's account",
            errors=[{"field": "customer_id", "message": "no such user in the partner's account"}],
        )
    device = session.get(Device, meter_id)
    site = session.get(Site, device.site_id) if device is not None else None
    site_org = session.get(Org, site.org_id) if site is not None else None
    if (
        device is None
        or device.deleted_at is not None
        or site is None
        or site.deleted_at is not None
        or site_org is None
        or not site_org.path.startswith(partner.path)
        or site.owner_id != customer.id
    ):
        raise Rejected(
            "meter_id: not a meter on a site of this customer",
            errors=[{"field": "meter_id", "message": "no such meter on the customer's sites"}],
        )
    if device.kind != "meter":
        raise Rejected(
            f"meter_id: {device.serial} is a {device.kind}, not a house meter",
            errors=[{"field": "meter_id", "message": "not a meter"}],
        )
    store = store_for(session.connection())
    missing = [p for p in (IMPORT_POINT, EXPORT_POINT) if store.latest(device.id, p) is None]
    if missing:
        what = " and ".join("import" if p == IMPORT_POINT else "export" for p in missing)
        message = (
            f"meter {device.serial} has sent no {what} energy ({', '.join(missing)}): a virtual "
            "battery needs a house meter that measures and sends both import and export"
        )
        raise Rejected(f"meter_id: {message}", errors=[{"field": "meter_id", "message": message}])
    return customer, site, device


def _check_dates(start: date, reset_on: date | None, yearly: bool, today: date) -> None:
    for name, d in (("start_date", start), ("reset_on", reset_on)):
        if d is not None and not 1971 <= d.year <= 9000:
            raise Invalid(f"{name}: {d.isoformat()} is out of range (1971-9000)")
    if today - start > MAX_BACKFILL:
        raise Invalid("start_date: at most three years back")
    if yearly and reset_on is None:
        raise Invalid("reset_yearly needs a reset_on date")
    if reset_on is not None and reset_on <= start:
        raise Invalid("reset_on must be after start_date")


def create(
    session: Session, caller: Caller, data: VirtualBatteryIn, now: datetime
) -> VirtualBattery:
    caller.require(KIND, Action.CREATE)
    partner = _partner(session, caller, data.org_id)
    customer, site, meter = _customer_and_meter(session, partner, data.customer_id, data.meter_id)
    _check_dates(data.start_date, data.reset_on, data.reset_yearly, now.date())
    row = VirtualBattery(
        org_id=partner.id,
        name=data.name.strip(),
        customer_id=customer.id,
        site_id=site.id,
        meter_id=meter.id,
        capacity_wh=data.capacity_kwh * 1000,
        start_date=data.start_date,
        reset_on=data.reset_on,
        reset_yearly=data.reset_yearly,
        created_at=now,
        updated_at=now,
    )
    row.dirty_from = calendar.local_midnight(data.start_date, zone(site.timezone))
    session.add(row)
    session.flush()
    _audit(session, caller, "virtual_battery.created", row)
    backfill(session, row.id, now)
    return row


def update(
    session: Session, caller: Caller, battery_id: str, data: VirtualBatteryPatch, now: datetime
) -> VirtualBattery:
    row = get(session, caller, battery_id, Action.UPDATE)
    changes: dict[str, object] = {}
    if data.name is not None and data.name.strip() != row.name:
        changes["name"] = row.name = data.name.strip()
    ledger_changed = False
    if data.capacity_kwh is not None and data.capacity_kwh * 1000 != row.capacity_wh:
        row.capacity_wh = data.capacity_kwh * 1000
        changes["capacity_kwh"] = data.capacity_kwh
        ledger_changed = True
    new_start = data.start_date or row.start_date
    new_reset = None if data.clear_reset else (data.reset_on or row.reset_on)
    new_yearly = (
        False
        if new_reset is None
        else (data.reset_yearly if data.reset_yearly is not None else row.reset_yearly)
    )
    _check_dates(new_start, new_reset, new_yearly, now.date())
    for name, value in (
        ("start_date", new_start),
        ("reset_on", new_reset),
        ("reset_yearly", new_yearly),
    ):
        if getattr(row, name) != value:
            setattr(row, name, value)
            changes[name] = value.isoformat() if isinstance(value, date) else value
            ledger_changed = True
    if changes:
        row.updated_at = now
        _audit(session, caller, "virtual_battery.updated", row, changes)
    if ledger_changed:
        site = session.get(Site, row.site_id)
        row.dirty_from = calendar.local_midnight(
            row.start_date, zone(site.timezone if site else "UTC")
        )
        session.flush()
        backfill(session, row.id, now)
    return row


def delete(session: Session, caller: Caller, battery_id: str) -> None:
    row = get(session, caller, battery_id, Action.DELETE)
    _audit(session, caller, "virtual_battery.deleted", row)
    session.delete(row)
    session.flush()


def backfill(session: Session, battery_id: str, now: datetime) -> None:
    """Compute the ledger from its start (or mark) up to ``now``, from the stored readings."""
    session.flush()
    settle(SqlVirtualBatteryRepository(session), battery_id, now)


def _audit(
    session: Session,
    caller: Caller,
    action: str,
    row: VirtualBattery,
    detail: dict[str, object] | None = None,
) -> None:
    audit.record(
        session,
        actor=caller.user,
        action=action,
        object_type="virtual_battery",
        object_id=row.id,
        org_id=row.org_id,
        address=caller.address,
        detail={"name": row.name, "meter_id": row.meter_id, **(detail or {})},
    )


def percent(row: VirtualBattery) -> float | None:
    if not row.capacity_wh:
        return None
    return round(100 * row.level_wh / row.capacity_wh, 1)


def view(session: Session, row: VirtualBattery) -> VirtualBatteryOut:
    customer = session.get(User, row.customer_id)
    return VirtualBatteryOut(
        id=row.id,
        name=row.name,
        org_id=row.org_id,
        customer_id=row.customer_id,
        customer_email=customer.email if customer else "",
        site_id=row.site_id,
        meter_id=row.meter_id,
        capacity_kwh=row.capacity_wh / 1000,
        start_date=row.start_date,
        reset_on=row.reset_on,
        reset_yearly=row.reset_yearly,
        level_kwh=round(row.level_wh / 1000, 3),
        level_percent=percent(row),
        level_at=row.level_at,
        created_at=row.created_at,
    )


@dataclass(frozen=True)
class Live:
    level_kwh: float
    level_percent: float | None
    power_w: float
    at: datetime | None


def live(session: Session, row: VirtualBattery) -> Live:
    """The level and the battery's power now: the meter's newest grid power, as far as the
    battery takes it (export charges while not full, import discharges while not empty)."""
    sample = store_for(session.connection()).latest(row.meter_id, "grid_power_w")
    power = 0.0
    at = row.level_at
    if sample is not None and math.isfinite(sample.value):
        at = sample.ts
        grid = sample.value  # > 0 import
        full = bool(row.capacity_wh) and row.level_wh >= row.capacity_wh - 1e-6
        if (grid < 0 and not full) or (grid > 0 and row.level_wh > 1e-6):
            power = -grid
    return Live(round(row.level_wh / 1000, 3), percent(row), power, at)


def market_partner(session: Session, caller: Caller, org_id: str) -> MarketPartner | None:
    org = session.get(Org, org_id)
    if org is None or not (caller.superuser or org.path.startswith(caller.org.path)):
        raise NotFound("organisation")
    caller.require(KIND, Action.READ)
    return session.get(MarketPartner, org_id)


def set_market_partner(
    session: Session, caller: Caller, org_id: str, data: MarketPartnerIn, now: datetime
) -> MarketPartner:
    org = session.get(Org, org_id)
    if org is None or not (caller.superuser or org.path.startswith(caller.org.path)):
        raise NotFound("organisation")
    caller.require(KIND, Action.UPDATE)
    org = _partner(session, caller, org_id)
    row = session.get(MarketPartner, org.id) or MarketPartner(org_id=org.id)
    row.sender_id, row.receiver_id = data.sender_id, data.receiver_id
    row.format_version, row.updated_at = data.format_version, now
    session.add(row)
    audit.record(
        session,
        actor=caller.user,
        action="virtual_battery.market_partner_set",
        object_type="org",
        object_id=org.id,
        org_id=org.id,
        address=caller.address,
        detail=data.model_dump(),
    )
    session.flush()
    return row


def utc_day(day: date, tz: str) -> tuple[datetime, datetime]:
    z = zone(tz)
    return calendar.local_midnight(day, z), calendar.local_midnight(day + timedelta(days=1), z)


def site_zone_name(session: Session, row: VirtualBattery) -> str:
    site = session.get(Site, row.site_id)
    return site.timezone if site else "UTC"
