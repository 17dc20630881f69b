"""Power management of a site: the setup flow, the tree's groups and connectors, the mode, and
the view of it all with the live allocation. The caller has already been allowed the action on
the site (``SiteRepository.get_for``); every change is audited and checked as a whole tree
(``domain.power.tree.Tree``) before it stays. Never commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.app import audit
from voltfleet.app.deps import Caller
from voltfleet.app.power.events import changed
from voltfleet.app.power.schemas import (
    ConnectorIn,
    ConnectorOut,
    GroupIn,
    GroupOut,
    PowerOut,
    SettingsIn,
    SetupIn,
)
from voltfleet.domain.fleet import DeviceKind
from voltfleet.domain.power.tree import GridType, TreeError
from voltfleet.store.fleet_models import Connector, Device
from voltfleet.store.models import Site
from voltfleet.store.power_models import PowerConnector, PowerGroup, PowerLocation
from voltfleet.store.power_repository import SqlPowerRepository, tree_of
from voltfleet.usecases import power_management as pm
from voltfleet.usecases.errors import Conflict, Invalid, NotFound


def location_of(session: Session, site_id: str) -> PowerLocation | None:
    return session.scalar(select(PowerLocation).where(PowerLocation.site_id == site_id))


def _require(session: Session, site: Site) -> PowerLocation:
    loc = location_of(session, site.id)
    if loc is None:
        raise Conflict("power management of this site is not set up yet: PUT .../power first")
    return loc


def _groups(session: Session, loc: PowerLocation) -> list[PowerGroup]:
    return list(
        session.scalars(
            select(PowerGroup)
            .where(PowerGroup.location_id == loc.id)
            .order_by(PowerGroup.position, PowerGroup.id)
        )
    )


def _root(session: Session, loc: PowerLocation) -> PowerGroup:
    return next(g for g in _groups(session, loc) if g.parent_id is None)


def _meter(session: Session, site: Site, device_id: str | None, field: str) -> str | None:
    if device_id is None:
        return None
    d = session.get(Device, device_id)
    if d is None or d.site_id != site.id or d.deleted_at is not None:
        raise Invalid(
            "the meter must be a device of this site",
            [{"field": field, "message": "not a device of this site"}],
        )
    if d.kind == DeviceKind.CHARGER:
        raise Invalid(
            "a charger cannot be a group's meter", [{"field": field, "message": "a charger"}]
        )
    return d.id


def _check(session: Session, loc: PowerLocation) -> None:
    """The tree must still be one (one root, no cycles, valid rotations)."""
    session.flush()
    placed = [
        (pc, 0.0)
        for pc in session.scalars(
            select(PowerConnector).where(PowerConnector.location_id == loc.id)
        )
    ]
    try:
        tree_of(GridType(loc.grid_type), _groups(session, loc), placed)
    except TreeError as exc:
        raise Invalid(str(exc)) from None


def _audit(
    session: Session, caller: Caller, site: Site, action: str, detail: dict[str, Any]
) -> None:
    audit.on_site(session, caller, site, f"power.{action}", detail)


def setup(
    session: Session, caller: Caller, site: Site, body: SetupIn, now: datetime
) -> PowerLocation:
    """The setup flow (again, to change it): the grid connection and the main fuse, which is
    the root group, with its meter or none."""
    meter = _meter(session, site, body.meter_device_id, "meter_device_id")
    loc = location_of(session, site.id)
    if loc is None:
        loc = PowerLocation(site_id=site.id, grid_type=body.grid_type.value, created_at=now)
        session.add(loc)
        session.flush()
        session.add(
            PowerGroup(
                location_id=loc.id,
                parent_id=None,
                name="Main fuse",
                fuse_a=body.main_fuse_a,
                meter_device_id=meter,
            )
        )
    else:
        loc.grid_type = body.grid_type.value
        root = _root(session, loc)
        root.fuse_a = body.main_fuse_a
        root.meter_device_id = meter
    loc.updated_at = now
    _check(session, loc)
    _audit(session, caller, site, "setup", body.model_dump(mode="json"))
    changed(session, loc.id)
    return loc


def update_settings(
    session: Session, caller: Caller, site: Site, body: SettingsIn, now: datetime
) -> PowerLocation:
    loc = _require(session, site)
    fields = body.model_dump(exclude_unset=True, mode="json")
    for name, value in fields.items():
        if value is None:
            raise Invalid(f"{name} cannot be empty", [{"field": name, "message": "required"}])
        setattr(loc, name, value)
    loc.updated_at = now
    _audit(session, caller, site, "settings", fields)
    changed(session, loc.id)
    return loc


def _minutes(hhmm: str | None) -> int | None:
    if hhmm is None:
        return None
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def _hhmm(minutes: int | None) -> str | None:
    return None if minutes is None else f"{minutes // 60:02d}:{minutes % 60:02d}"


def _apply_group(session: Session, site: Site, g: PowerGroup, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        if name == "meter_device_id":
            g.meter_device_id = _meter(session, site, value, name)
        elif name in ("peak_start", "peak_end"):
            setattr(g, f"{name}_min", _minutes(value))
        elif name == "fuse_a":
            if value is None:
                raise Invalid("a group needs a fuse", [{"field": name, "message": "required"}])
            g.fuse_a = value
        elif name == "name":
            g.name = value or ""
        else:
            setattr(g, name, value)


def add_group(
    session: Session, caller: Caller, site: Site, body: GroupIn, now: datetime
) -> PowerGroup:
    """A sub-group, below ``parent_id`` (by default the main fuse)."""
    loc = _require(session, site)
    groups = _groups(session, loc)
    parent = body.parent_id or next(g.id for g in groups if g.parent_id is None)
    if parent not in {g.id for g in groups}:
        raise Invalid("no such parent group", [{"field": "parent_id", "message": "not found"}])
    if body.fuse_a is None:
        raise Invalid("a group needs a fuse", [{"field": "fuse_a", "message": "required"}])
    g = PowerGroup(
        location_id=loc.id,
        parent_id=parent,
        fuse_a=body.fuse_a,
        position=len(groups),
        name=body.name or f"Group {len(groups)}",
    )
    session.add(g)
    _apply_group(session, site, g, body.model_dump(exclude_unset=True, exclude={"parent_id"}))
    _check(session, loc)
    _audit(session, caller, site, "group.add", {"group_id": g.id, "name": g.name})
    changed(session, loc.id)
    return g


def _group(session: Session, loc: PowerLocation, group_id: str) -> PowerGroup:
    g = session.get(PowerGroup, group_id)
    if g is None or g.location_id != loc.id:
        raise NotFound("power group")
    return g


def update_group(
    session: Session, caller: Caller, site: Site, group_id: str, body: GroupIn, now: datetime
) -> PowerGroup:
    """Edit a group; a new ``parent_id`` moves it (with everything below it)."""
    loc = _require(session, site)
    g = _group(session, loc, group_id)
    fields = body.model_dump(exclude_unset=True)
    if "parent_id" in fields:
        parent = fields.pop("parent_id")
        if g.parent_id is None and parent is not None:
            raise Invalid(
                "the main fuse cannot be moved", [{"field": "parent_id", "message": "root"}]
            )
        if g.parent_id is not None:
            if parent is None:
                raise Invalid(
                    "a location has one main fuse", [{"field": "parent_id", "message": "required"}]
                )
            _group(session, loc, parent)
            g.parent_id = parent
    _apply_group(session, site, g, fields)
    _check(session, loc)
    _audit(
        session,
        caller,
        site,
        "group.update",
        {"group_id": g.id, **body.model_dump(exclude_unset=True)},
    )
    changed(session, loc.id)
    return g


def delete_group(session: Session, caller: Caller, site: Site, group_id: str) -> None:
    """Remove a group; what was in it (sub-groups and connectors) moves up to its parent."""
    loc = _require(session, site)
    g = _group(session, loc, group_id)
    if g.parent_id is None:
        raise Conflict("the main fuse cannot be deleted: set the site up again to change it")
    for child in session.scalars(select(PowerGroup).where(PowerGroup.parent_id == g.id)):
        child.parent_id = g.parent_id
    for pc in session.scalars(select(PowerConnector).where(PowerConnector.group_id == g.id)):
        pc.group_id = g.parent_id
    session.flush()
    session.delete(g)
    _check(session, loc)
    _audit(session, caller, site, "group.delete", {"group_id": group_id, "name": g.name})
    changed(session, loc.id)


def _site_connector(session: Session, site: Site, connector_id: str) -> Connector:
    row = session.execute(
        select(Connector, Device)
        .join(Device, Device.id == Connector.charger_id)
        .where(Connector.id == connector_id, Device.deleted_at.is_(None))
    ).first()
    if row is None or row[1].site_id != site.id:
        raise NotFound("connector")
    return row[0]


def place_connector(
    session: Session, caller: Caller, site: Site, connector_id: str, body: ConnectorIn
) -> PowerConnector:
    """Put a connector of one of the site's chargers in a group, or change its group, phase
    rotation, maximum current or priority."""
    loc = _require(session, site)
    conn = _site_connector(session, site, connector_id)
    _group(session, loc, body.group_id)
    pc = session.scalar(select(PowerConnector).where(PowerConnector.connector_id == conn.id))
    if pc is None:
        pc = PowerConnector(location_id=loc.id, connector_id=conn.id, group_id=body.group_id)
        session.add(pc)
    pc.group_id = body.group_id
    pc.rotation = body.rotation
    pc.priority = body.priority
    if body.max_current_a is not None:
        conn.max_current_a = body.max_current_a
    _check(session, loc)
    _audit(session, caller, site, "connector.place", {"connector_id": conn.id, **body.model_dump()})
    changed(session, loc.id)
    return pc


def remove_connector(session: Session, caller: Caller, site: Site, connector_id: str) -> None:
    loc = _require(session, site)
    conn = _site_connector(session, site, connector_id)
    pc = session.scalar(select(PowerConnector).where(PowerConnector.connector_id == conn.id))
    if pc is None:
        raise NotFound("connector in the power tree")
    session.delete(pc)
    _audit(session, caller, site, "connector.remove", {"connector_id": conn.id})
    changed(session, loc.id)


# ---- the view -----------------------------------------------------------------------------------


def view(session: Session, site: Site, now: datetime) -> PowerOut:
    """The setup, the tree and the live allocation (computed now, nothing sent or kept)."""
    loc = location_of(session, site.id)
    if loc is None:
        return PowerOut(site_id=site.id, configured=False)
    repo = SqlPowerRepository(session)
    snap = repo.snapshot(loc.id, now)
    assert snap is not None
    d = pm.decide(snap, now)
    a = d.allocation
    groups = []
    for g in _groups(session, loc):
        state = a.groups[g.id]
        m = snap.meters.get(g.id)
        groups.append(
            GroupOut(
                id=g.id,
                name=g.name,
                parent_id=g.parent_id,
                fuse_a=g.fuse_a,
                meter_device_id=g.meter_device_id,
                fallback_a=g.fallback_a,
                peak_current_a=g.peak_current_a,
                peak_power_kw=g.peak_power_kw,
                peak_start=_hhmm(g.peak_start_min),
                peak_end=_hhmm(g.peak_end_min),
                cap_a=[round(x, 1) for x in state.cap_a],
                allocated_a=[round(x, 1) for x in state.allocated_a],
                measured_a=[round(x, 1) for x in m.currents_a] if m is not None else None,
                others_a=[round(x, 1) for x in state.others_a] if state.others_a else None,
                meter_stale=state.stale,
            )
        )
    placed = {
        pc.connector_id: pc
        for pc in session.scalars(
            select(PowerConnector).where(PowerConnector.location_id == loc.id)
        )
    }
    connectors = []
    rows = session.execute(
        select(Connector, Device)
        .join(Device, Device.id == Connector.charger_id)
        .where(
            Device.site_id == site.id,
            Device.deleted_at.is_(None),
            Device.kind == DeviceKind.CHARGER,
        )
        .order_by(Device.serial, Connector.connector_no)
    ).all()
    for c, dev in rows:
        pc = placed.get(c.id)
        key = pc.id if pc else ""
        h = d.held.get(key)
        connectors.append(
            ConnectorOut(
                connector_id=c.id,
                charger_id=dev.id,
                charger_serial=dev.serial,
                connector_no=c.connector_no,
                group_id=pc.group_id if pc else None,
                rotation=pc.rotation if pc else None,
                max_current_a=c.max_current_a,
                priority=pc.priority if pc else 0,
                status=c.status,
                wants_current=key in a.limits_a,
                phases=a.phases.get(key),
                target_a=a.limits_a.get(key),
                applied_a=h.applied_a if h else None,
                sent_a=pc.sent_a if pc else None,
                fallback_a=pc.fallback_sent_a if pc else None,
            )
        )
    by_pc = {pc.id: pc.connector_id for pc in placed.values()}
    return PowerOut(
        site_id=site.id,
        configured=True,
        grid_type=GridType(loc.grid_type),
        mode=snap.settings.mode,
        solar_backup_s=loc.solar_backup_s,
        min_solar_share=loc.min_solar_share,
        meter_stale_s=loc.meter_stale_s,
        raise_hold_s=loc.raise_hold_s,
        surplus_w=round(a.surplus_w, 0) if a.surplus_w is not None else None,
        paused=[by_pc[p] for p in a.paused if p in by_pc],
        groups=groups,
        connectors=connectors,
    )
