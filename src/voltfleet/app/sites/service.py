"""Site changes: create, update, share, distribute, delete. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, exists, func, select
from sqlalchemy.orm import Session

from voltfleet.app import audit
from voltfleet.app.auth import codes
from voltfleet.app.deps import Caller
from voltfleet.app.devices.repository import DeviceRepository
from voltfleet.app.devices.schemas import DeviceIn
from voltfleet.app.devices.service import Binder, refresh_site_status
from voltfleet.app.i18n import _
from voltfleet.app.orgs.repository import OrgRepository
from voltfleet.app.refusals import DeletionCodeNeeded
from voltfleet.app.runtime import Runtime
from voltfleet.app.security import new_temporary_password
from voltfleet.app.sites.repository import SiteRepository
from voltfleet.app.sites.schemas import (
    DeviceDayStatus,
    SiteCreate,
    SiteDayStatus,
    SiteFields,
    SiteOut,
    SiteUpdate,
    StatisticalDevice,
    StatisticalRange,
    StatisticalRangeIn,
)
from voltfleet.app.users.repository import UserRepository
from voltfleet.app.users.service import new_user
from voltfleet.domain.access import Action, Kind, Role
from voltfleet.domain.fleet import DeviceKind, region_defaults, site_status_for_day
from voltfleet.store.fleet_models import Device, DeviceStatusChange
from voltfleet.store.models import Org, Site, SiteShare, User
from voltfleet.usecases.errors import Conflict, Invalid, NotFound


def _audit(session: Session, caller: Caller, action: str, site: Site, **detail: object) -> None:
    audit.on_site(session, caller, site, action, dict(detail))


def site_views(session: Session, caller: Caller, sites: Sequence[Site]) -> list[SiteOut]:
    """Sites as the API shows them, with organisation, owner, device count and the shared mark
    (a fixed number of queries per page, not per site)."""
    if not sites:
        return []
    ids = [s.id for s in sites]
    orgs = dict(
        session.execute(select(Org.id, Org.name).where(Org.id.in_({s.org_id for s in sites}))).all()
    )
    owner_ids = {s.owner_id for s in sites if s.owner_id}
    owners = (
        dict(session.execute(select(User.id, User.email).where(User.id.in_(owner_ids))).all())
        if owner_ids
        else {}
    )
    devices = dict(
        session.execute(
            select(Device.site_id, func.count())
            .where(Device.site_id.in_(ids), Device.deleted_at.is_(None))
            .group_by(Device.site_id)
        ).all()
    )
    shared = SiteRepository(session, caller).shared_in(sites)
    out = []
    for s in sites:
        view = SiteOut.model_validate(s)
        view.org_name = orgs.get(s.org_id, "")
        view.owner_email = owners.get(s.owner_id) if s.owner_id else None
        view.device_count = int(devices.get(s.id, 0))
        view.shared = s.id in shared
        view.has_picture = bool(s.picture_type)
        out.append(view)
    return out


def create_site(
    session: Session, runtime: Runtime, caller: Caller, data: SiteCreate
) -> tuple[Site, bool]:
    """A new site, with its gateway bound and its owner account when asked; returns the site and
    whether a new owner account was created (its temporary password is mailed to it)."""
    org = OrgRepository(session, caller).get(data.org_id) if data.org_id else caller.org
    caller.require(Kind.SITE, Action.CREATE)
    if data.gateway is not None:
        caller.require(Kind.DEVICE, Action.CREATE)
    defaults = region_defaults(data.country)
    site = Site(
        org_id=org.id,
        name=data.name.strip(),
        country=data.country,
        timezone=data.timezone or defaults.timezone,
        currency=data.currency or defaults.currency,
        temperature_unit=data.temperature_unit or defaults.temperature_unit,
        **data.model_dump(include=set(SiteFields.model_fields)),
    )
    owner_created = False
    account = data.account
    if account.mode == "new":
        if not account.email:
            raise Invalid("account.email: the new owner's email is needed")
        caller.require(Kind.USER, Action.CREATE)
        password = new_temporary_password()
        owner = new_user(
            session,
            runtime,
            email=account.email,
            username=account.username or account.email.split("@")[0],
            password=password,
            org_id=org.id,
            role=Role.OWNER.value,
            country=data.country,
        )
        owner.must_change_password = True  # a mailed password: the owner chooses their own first
        runtime.mailer.send(
            session,
            owner.email,
            _("Your voltfleet account"),
            _(
                "Hello %(name)s,\n\n%(by)s created the site '%(site)s' for you on voltfleet.\n"
                "Sign in at %(url)s with your email and the temporary password %(password)s\n"
                "and change it after signing in."
            )
            % {
                "name": owner.username,
                "by": caller.user.username,
                "site": site.name,
                "url": runtime.settings.public_base_url,
                "password": password,
            },
        )
        site.owner_id = owner.id
        owner_created = True
    elif account.mode == "existing":
        if not account.user_id:
            raise Invalid("account.user_id: pick the owner account")
        site.owner_id = _owner_account(session, caller, account.user_id).id
    session.add(site)
    session.flush()
    if data.gateway is not None:
        binder = Binder(session, caller, site)
        binder.preload([data.gateway.serial])
        binder.bind(DeviceIn(kind="gateway", **data.gateway.model_dump()))
        session.flush()
        refresh_site_status(session, site)
    _audit(
        session,
        caller,
        "site.create",
        site,
        name=site.name,
        owner_id=site.owner_id,
        gateway=data.gateway.serial if data.gateway else None,
    )
    return site, owner_created


def _owner_account(session: Session, caller: Caller, user_id: str) -> User:
    user = UserRepository(session, caller).get(user_id)
    if user.role != Role.OWNER.value:
        raise Invalid(f"sites are given to owner accounts; {user.email} is an {user.role} account")
    return user


def update_site(session: Session, caller: Caller, site_id: str, data: SiteUpdate) -> Site:
    site = SiteRepository(session, caller).get_for(site_id, Action.UPDATE)
    changes = data.model_dump(exclude_unset=True)
    for key in (
        *("name", "country", "timezone", "site_type", "on_grid", "currency", "address"),
        *("region", "temperature_unit", "capacity_kwp"),
    ):  # the site's columns that always have a value (latitude, longitude may be null)
        if key in changes and changes[key] is None:
            raise Invalid(f"{key} cannot be empty")
    if "name" in changes:
        changes["name"] = changes["name"].strip()
    for key, value in changes.items():
        setattr(site, key, value)
    _audit(session, caller, "site.update", site, **changes)
    return site


def set_picture(session: Session, caller: Caller, site_id: str, data: bytes, media: str) -> None:
    site = SiteRepository(session, caller).get_for(site_id, Action.UPDATE)
    site.picture = data
    site.picture_type = media
    _audit(session, caller, "site.picture", site, bytes=len(data))


def distribute(session: Session, caller: Caller, site_id: str, user_id: str | None) -> Site:
    site = SiteRepository(session, caller).get_for(site_id, Action.DISTRIBUTE)
    before = site.owner_id
    site.owner_id = _owner_account(session, caller, user_id).id if user_id else None
    _audit(session, caller, "site.distribute", site, owner_from=before, owner_to=site.owner_id)
    return site


def share(session: Session, caller: Caller, site_id: str, org_id: str) -> tuple[SiteShare, Org]:
    site = SiteRepository(session, caller).get_for(site_id, Action.SHARE)
    org = session.get(Org, org_id)
    if org is None:
        raise NotFound("organisation")
    site_org = session.get(Org, site.org_id)
    assert site_org is not None
    if site_org.path.startswith(org.path):
        raise Conflict(
            _("'%(name)s' already sees this site: it is its own or a superior's")
            % {"name": org.name}
        )
    if session.scalar(
        select(exists().where(SiteShare.site_id == site.id, SiteShare.org_id == org.id))
    ):
        raise Conflict(_("the site is already shared with '%(name)s'") % {"name": org.name})
    row = SiteShare(site_id=site.id, org_id=org.id, shared_by=caller.user.id)
    session.add(row)
    session.flush()
    _audit(session, caller, "site.share", site, org_id=org.id, org_name=org.name)
    return row, org


def shares(session: Session, caller: Caller, site_id: str) -> list[tuple[SiteShare, Org]]:
    site = SiteRepository(session, caller).get_for(site_id, Action.SHARE)
    rows = session.execute(
        select(SiteShare, Org)
        .join(Org, Org.id == SiteShare.org_id)
        .where(SiteShare.site_id == site.id)
        .order_by(Org.name)
    )
    return [(s, o) for s, o in rows]


def unshare(session: Session, caller: Caller, site_id: str, org_id: str) -> None:
    """The sharer withdraws a share, or the receiver removes the site from its list."""
    repo = SiteRepository(session, caller)
    site = repo.get(site_id)
    row = session.scalar(
        select(SiteShare).where(SiteShare.site_id == site.id, SiteShare.org_id == org_id)
    )
    if repo.is_shared_in(site):
        caller.require(Kind.SITE, Action.DELETE)
        visible = OrgRepository(session, caller)
        if row is None:
            raise NotFound("share")
        visible.get(org_id)  # the receiver may only remove its own organisations' shares
    else:
        caller.require(Kind.SITE, Action.SHARE)
        if row is None:
            raise NotFound("share")
    session.delete(row)
    _audit(session, caller, "site.unshare", site, org_id=org_id)


def request_deletion_code(session: Session, runtime: Runtime, caller: Caller, site_id: str) -> str:
    """Mail the site's owner a code that authorises deleting the site; returns the masked
    address it went to."""
    site = SiteRepository(session, caller).get_for(site_id, Action.DELETE)
    if not _has_devices(session, site):
        raise Invalid(_("no device is bound to this site: it can be deleted without a code"))
    owner = session.get(User, site.owner_id) if site.owner_id else None
    if owner is None:
        raise Conflict(
            _(
                "devices are bound to this site but it has no owner to authorise the deletion: "
                "distribute it to its owner, or unbind its devices first"
            )
        )
    codes.issue(
        session,
        runtime,
        owner.email,
        "site_delete",
        {"site_id": site.id},
        note=_(
            "%(by)s (%(org)s) asks to delete your site '%(site)s'. If you agree, give them this "
            "code."
        )
        % {"by": caller.user.username, "org": caller.org.name, "site": site.name},
    )
    _audit(session, caller, "site.deletion_code", site, owner=owner.email)
    return _mask(owner.email)


def delete_site(
    session: Session, runtime: Runtime, caller: Caller, site_id: str, code: str | None
) -> None:
    site = SiteRepository(session, caller).get_for(site_id, Action.DELETE)
    authorised_by = None
    if _has_devices(session, site):
        owner = session.get(User, site.owner_id) if site.owner_id else None
        if owner is None:
            raise Conflict(
                _(
                    "devices are bound to this site but it has no owner to authorise the "
                    "deletion: distribute it to its owner, or unbind its devices first"
                )
            )
        if not code:
            raise DeletionCodeNeeded(
                _(
                    "devices are bound to this site: ask its owner for the code mailed by "
                    'POST /api/v1/sites/{id}/deletion-code and send it as {"code": ...}'
                )
            )
        payload = codes.consume(session, runtime, owner.email, "site_delete", code)
        if payload.get("site_id") != site.id:
            raise Invalid(_("this code was issued for another site"))
        authorised_by = owner.email
    now = runtime.clock.now()
    retention = runtime.settings.site_retention_days
    site.deleted_at = now
    site.deleted_by = caller.user.id
    site.purge_after = now + timedelta(days=retention)
    devices = session.scalars(
        select(Device).where(Device.site_id == site.id, Device.deleted_at.is_(None))
    )
    serials = []
    for d in devices:
        d.deleted_at = now
        serials.append(d.serial)
    session.execute(delete(SiteShare).where(SiteShare.site_id == site.id))
    _audit(
        session,
        caller,
        "site.delete",
        site,
        name=site.name,
        authorised_by=authorised_by,
        devices=serials,
        purge_after=site.purge_after.isoformat(),
    )


def purge_expired(session: Session, now: datetime) -> int:
    """Remove deleted sites (with their devices and telemetry) whose retention has passed."""
    ids = list(session.scalars(select(Site.id).where(Site.purge_after < now)))
    for site_id in ids:
        session.execute(delete(Device).where(Device.site_id == site_id))
        session.execute(delete(Site).where(Site.id == site_id))
    return len(ids)


def _has_devices(session: Session, site: Site) -> bool:
    return bool(
        session.scalar(
            select(exists().where(Device.site_id == site.id, Device.deleted_at.is_(None)))
        )
    )


def _mask(email: str) -> str:
    name, _, domain = email.partition("@")
    return f"{name[:1]}***@{domain}"


def statistical_range(session: Session, caller: Caller, site_id: str) -> StatisticalRange:
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    return _range(session, caller, site)


def _range(session: Session, caller: Caller, site: Site) -> StatisticalRange:
    devices = [
        d
        for d in DeviceRepository(session, caller).of_site(site.id)
        if d.kind in (DeviceKind.INVERTER, DeviceKind.METER)
    ]
    switch = {
        DeviceKind.INVERTER.value: site.stats_inverters,
        DeviceKind.METER.value: site.stats_meters,
    }
    return StatisticalRange(
        inverters=site.stats_inverters,
        meters=site.stats_meters,
        devices=[
            StatisticalDevice(
                id=d.id,
                kind=d.kind,
                serial=d.serial,
                name=d.name,
                in_statistics=d.in_statistics,
                counted=d.in_statistics and switch[d.kind],
            )
            for d in devices
        ],
    )


def set_statistical_range(
    session: Session, caller: Caller, site_id: str, data: StatisticalRangeIn
) -> StatisticalRange:
    site = SiteRepository(session, caller).get_for(site_id, Action.UPDATE)
    if data.inverters is not None:
        site.stats_inverters = data.inverters
    if data.meters is not None:
        site.stats_meters = data.meters
    devices = {
        d.id: d
        for d in DeviceRepository(session, caller).of_site(site.id)
        if d.kind in (DeviceKind.INVERTER, DeviceKind.METER)
    }
    unknown = set(data.devices) - set(devices)
    if unknown:
        raise Invalid(
            f"not inverters or meters of this site: {', '.join(sorted(unknown))}",
            [
                {"field": f"devices.{i}", "message": "not an inverter or meter of this site"}
                for i in sorted(unknown)
            ],
        )
    for device_id, counted in data.devices.items():
        devices[device_id].in_statistics = counted
    _audit(
        session,
        caller,
        "site.statistical_range",
        site,
        inverters=site.stats_inverters,
        meters=site.stats_meters,
        devices=data.devices,
    )
    return _range(session, caller, site)


def day_status(
    session: Session, caller: Caller, site_id: str, day: date | None, *, now: datetime
) -> SiteDayStatus:
    """The site's status over one local day (today at ``now`` when no day is given), from every
    status its devices had that day."""
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    zone = ZoneInfo(site.timezone)
    day = day or now.astimezone(zone).date()
    start = datetime.combine(day, time(), zone)
    end = datetime.combine(day + timedelta(days=1), time(), zone)
    devices = list(
        session.scalars(
            select(Device)
            .where(
                Device.site_id == site.id,
                Device.created_at < end,
                Device.deleted_at.is_(None) | (Device.deleted_at >= start),
            )
            .order_by(Device.kind, Device.serial)
        )
    )
    changes = session.execute(
        select(DeviceStatusChange.device_id, DeviceStatusChange.at, DeviceStatusChange.status)
        .where(DeviceStatusChange.site_id == site.id, DeviceStatusChange.at < end)
        .order_by(DeviceStatusChange.at)
    ).all()
    before: dict[str, str] = {}
    during: dict[str, list[str]] = {}
    for device_id, at, status in changes:
        if at < start:
            before[device_id] = status
        else:
            during.setdefault(device_id, []).append(status)
    per_device = []
    for d in devices:
        statuses = [before.get(d.id, "unknown"), *during.get(d.id, [])]
        if d.created_at >= start and d.id in during:
            statuses = during[d.id]
        per_device.append(DeviceDayStatus(id=d.id, serial=d.serial, kind=d.kind, statuses=statuses))
    status = site_status_for_day([p.statuses for p in per_device])
    return SiteDayStatus(
        site_id=site.id,
        day=day,
        timezone=site.timezone,
        status=status.value,
        devices=per_device,
    )
