"""Register maps and device settings at the edge: which map a device has, its parameters with
the values last read back, Read and Write as ``register_read`` / ``register_write`` commands
(usecases.commands), and an administrator's upload of a vendor map. Never commits."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.app import audit
from voltfleet.app.commands.service import repo as command_repo
from voltfleet.app.deps import Caller
from voltfleet.app.devices.repository import DeviceRepository
from voltfleet.app.orgs.repository import OrgRepository
from voltfleet.domain import registers as dr
from voltfleet.domain.access import Action, Kind
from voltfleet.domain.commands import CommandKind, CommandState
from voltfleet.protocols.sunspec_maps import map_for_kind
from voltfleet.store.command_models import Command
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Org, Site
from voltfleet.store.register_models import RegisterMapFile
from voltfleet.usecases import commands as uc
from voltfleet.usecases.errors import Invalid, NotFound, Rejected, TooLarge

MAX_FILE_BYTES = 1_000_000
REGISTER_TTL = timedelta(minutes=5)
RECENT = 200  # register commands looked at for the values last read


def _row(p: dr.Parameter) -> dict[str, Any]:
    """A parameter as a vendor-map row (what is stored, and read back by parameter_of)."""
    return {
        "group": p.group,
        "address": p.address,
        "name": p.name,
        "label": p.label,
        "unit": p.unit,
        "type": p.data_type,
        "count": p.count,
        "scale": p.scale,
        "offset": p.offset,
        "min": p.minimum,
        "max": p.maximum,
        "step": p.step,
        "register": p.register_type.value,
        "access": "RW" if p.writable else "R",
        "description": p.description,
    }


def vendor_map(session: Session, device: Device) -> dr.RegisterMap | None:
    """The vendor map uploaded for the device's model by its site's organisation or the
    nearest organisation above it."""
    if not device.model:
        return None
    site = session.get(Site, device.site_id)
    org = session.get(Org, site.org_id) if site else None
    if org is None:
        return None
    chain = [i for i in org.path.split("/") if i]
    rows = {
        r.org_id: r
        for r in session.scalars(
            select(RegisterMapFile).where(
                RegisterMapFile.device_model == device.model, RegisterMapFile.org_id.in_(chain)
            )
        )
    }
    for org_id in reversed(chain):
        if org_id in rows:
            r = rows[org_id]
            return dr.parse_json(f"{r.device_model} ({r.filename})", r.parameters)
    return None


def map_of(session: Session, device: Device) -> dr.RegisterMap:
    """The device's register map: the vendor map of its model (when uploaded) and the SunSpec
    models of its kind."""
    sunspec = map_for_kind(device.kind)
    vendor = vendor_map(session, device)
    if vendor is not None and sunspec is not None:
        return vendor.merged(sunspec)
    return vendor or sunspec or dr.RegisterMap("none", ())


def _device(session: Session, caller: Caller, device_id: str) -> Device:
    """A device whose registers the caller may read and write (O&M, administrators)."""
    return DeviceRepository(session, caller).get_for(device_id, Action.UPDATE)


@dataclass(frozen=True)
class Reading:
    value: Any
    read_at: str
    command_id: str


def last_values(session: Session, device_id: str) -> dict[str, Reading]:
    """The value last read (or written and read back) of each parameter key, from the device's
    answered register commands, newest first."""
    rows = session.scalars(
        select(Command)
        .where(
            Command.device_id == device_id,
            Command.kind.in_([CommandKind.REGISTER_READ.value, CommandKind.REGISTER_WRITE.value]),
            Command.state == CommandState.ACKNOWLEDGED.value,
        )
        .order_by(Command.replied_at.desc())
        .limit(RECENT)
    ).all()
    out: dict[str, Reading] = {}
    for c in rows:
        result = c.result or {}
        at = str(result.get("read_at") or (c.replied_at.isoformat() if c.replied_at else ""))
        if c.kind == CommandKind.REGISTER_WRITE.value:
            key = (
                f"{c.params.get('model')}.{c.params.get('point')}"
                if "model" in c.params
                else f"@{c.params.get('address')}"
            )
            if "after" in result:
                out.setdefault(key, Reading(result["after"], at, c.id))
            continue
        for v in result.get("values") or []:
            if not isinstance(v, dict):
                continue
            if "model" in v:
                key = f"{v.get('model')}.{v.get('point')}"
                out.setdefault(key, Reading(v.get("value"), at, c.id))
            elif "address" in v:
                out.setdefault(f"@{v.get('address')}", Reading(v.get("words"), at, c.id))
    return out


def shown(p: dr.Parameter, value: Any) -> Any:
    """A value as a person reads it: a vendor register's words scaled."""
    if p.words() and isinstance(value, list) and value:
        try:
            return dr.from_words(p, [int(w) for w in value])
        except (ValueError, TypeError, IndexError):
            return value
    return value


def settings(
    session: Session, caller: Caller, device_id: str, q: str = "", group: str = ""
) -> tuple[Device, dr.RegisterMap, list[tuple[dr.Parameter, Reading | None]]]:
    device = _device(session, caller, device_id)
    rmap = map_of(session, device)
    values = last_values(session, device.id)
    found = rmap.search(q, group)
    return device, rmap, [(p, values.get(p.key)) for p in found]


def _params(rmap: dr.RegisterMap, key: str) -> dr.Parameter:
    p = rmap.get(key)
    if p is None:
        raise NotFound("register")
    return p


def read(
    session: Session, caller: Caller, device_id: str, keys: list[str], *, now: datetime
) -> Command:
    """Send ``register_read`` for these parameters (keys as the settings list gives them)."""
    device = _device(session, caller, device_id)
    rmap = map_of(session, device)
    if not keys:
        raise Invalid(
            "choose at least one register to read", [{"field": "keys", "message": "empty"}]
        )
    points = [_params(rmap, k).ref() for k in keys]
    row = uc.queue(
        command_repo(session),
        device.id,
        CommandKind.REGISTER_READ.value,
        {"points": points},
        now=now,
        ttl=REGISTER_TTL,
        created_by=caller.user.id,
        registers=rmap,
    )
    assert isinstance(row, Command)
    return row


def write(
    session: Session, caller: Caller, device_id: str, key: str, value: Any, *, now: datetime
) -> Command:
    """Send ``register_write`` of ``value`` to one parameter, checked against the map
    (writable, range, step); audited now, and again with before and after when answered."""
    device = _device(session, caller, device_id)
    rmap = map_of(session, device)
    p = _params(rmap, key)
    params: dict[str, Any] = {**p.ref(), "value": value}
    params.pop("count", None)
    row = uc.queue(
        command_repo(session),
        device.id,
        CommandKind.REGISTER_WRITE.value,
        params,
        now=now,
        ttl=REGISTER_TTL,
        created_by=caller.user.id,
        registers=rmap,
    )
    assert isinstance(row, Command)
    site = session.get(Site, device.site_id)
    audit.record(
        session,
        actor=caller.user,
        action="register.write_sent",
        object_type="command",
        object_id=row.id,
        org_id=site.org_id if site else None,
        address=caller.address,
        detail={"device_id": device.id, "register": key, "value": value, "params": row.params},
    )
    return row


# ---- vendor maps ---------------------------------------------------------------------------------


def parse_file(filename: str, fmt: str, content: str) -> dr.RegisterMap:
    """A vendor map file, checked; ``Invalid`` with the line (or entry) and the reason."""
    if len(content.encode()) > MAX_FILE_BYTES:
        raise TooLarge(f"a register map may be at most {MAX_FILE_BYTES} bytes")
    fmt = fmt.lower() or ("json" if filename.lower().endswith(".json") else "csv")
    try:
        if fmt == "csv":
            return dr.parse_csv(filename, content)
        if fmt == "json":
            try:
                doc = json.loads(content)
            except (ValueError, RecursionError) as exc:
                raise dr.RegisterError(f"the file is not JSON: {exc}", "file") from exc
            return dr.parse_json(filename, doc)
    except dr.RegisterError as exc:
        errors = [{"field": exc.field, "message": str(exc)}]
        raise Rejected(str(exc), errors, code="invalid_register_map") from exc
    errors = [{"field": "format", "message": "csv or json"}]
    raise Rejected("format must be csv or json", errors, code="invalid_register_map")


def upload(
    session: Session,
    caller: Caller,
    org_id: str,
    device_model: str,
    filename: str,
    fmt: str,
    content: str,
    *,
    now: datetime,
) -> RegisterMapFile:
    """An administrator's vendor map for a device model in their organisation (or one below);
    replaces the organisation's earlier map of that model. Audited."""
    org = OrgRepository(session, caller).get(org_id)
    caller.require(Kind.REGISTER_MAP, Action.CREATE)
    device_model = device_model.strip()
    if not device_model:
        raise Invalid("device_model is required", [{"field": "device_model", "message": "empty"}])
    rmap = parse_file(filename, fmt, content)
    row = session.scalar(
        select(RegisterMapFile).where(
            RegisterMapFile.org_id == org.id, RegisterMapFile.device_model == device_model
        )
    )
    if row is None:
        row = RegisterMapFile(org_id=org.id, device_model=device_model)
        session.add(row)
    row.filename = filename[:200]
    row.format = "json" if fmt.lower() == "json" else "csv"
    row.parameters = [_row(p) for p in rmap.parameters]
    row.created_at = now
    row.created_by = caller.user.id
    session.flush()
    audit.record(
        session,
        actor=caller.user,
        action="register_map.uploaded",
        object_type="register_map",
        object_id=row.id,
        org_id=org.id,
        address=caller.address,
        detail={
            "device_model": device_model,
            "filename": filename,
            "parameters": len(rmap.parameters),
        },
    )
    return row


def maps_of(session: Session, caller: Caller, org_id: str) -> list[RegisterMapFile]:
    org = OrgRepository(session, caller).get(org_id)
    caller.require(Kind.REGISTER_MAP, Action.LIST)
    return list(
        session.scalars(
            select(RegisterMapFile)
            .where(RegisterMapFile.org_id == org.id)
            .order_by(RegisterMapFile.device_model)
        )
    )
