"""Binding, changing, moving and removing devices. Never commits.

Devices are never deleted outright: an unbound or deleted device keeps its row (``deleted_at``)
so its telemetry survives the retention period, and its serial number is free to bind again.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.app import audit
from voltfleet.app.deps import Caller
from voltfleet.app.devices.live_switch import ask_gateway
from voltfleet.app.devices.repository import DeviceRepository
from voltfleet.app.devices.schemas import DeviceIn, DeviceUpdate, ImportReport, ImportRow
from voltfleet.app.sites.repository import SiteRepository
from voltfleet.domain.access import Action, Kind
from voltfleet.domain.fleet import (
    LIVE_DATA_REASONS,
    PARENTS,
    SUBTYPES,
    DeviceKind,
    DeviceStatus,
    LiveData,
    live_data,
    normalise_serial,
)
from voltfleet.store.db import new_id
from voltfleet.store.device_status import (  # noqa: F401  (set_device_status: re-exported)
    refresh_site_status,
    set_device_status,
)
from voltfleet.store.fleet_models import Connector, Device
from voltfleet.store.models import Site
from voltfleet.usecases.errors import Conflict, Invalid, TooLarge

IMPORT_MAX_ROWS = 5000
IMPORT_MAX_BYTES = 2 * 1024 * 1024
CSV_COLUMNS = [
    "kind",
    "serial",
    "subtype",
    "name",
    "model",
    "parent_serial",
    "comm_address",
    "registration_no",
    "fw_dsp",
    "fw_lcd",
    "fw_arm",
    "rated_power_w",
    "connectors",
]


class Binder:
    """Checks and binds devices to one site, with what it needs loaded once (fast for batches)."""

    def __init__(self, session: Session, caller: Caller, site: Site) -> None:
        self.session = session
        self.caller = caller
        self.site = site
        live = DeviceRepository(session, caller).of_site(site.id)
        self.by_serial: dict[str, Device] = {d.serial: d for d in live}
        self.by_id: dict[str, Device] = {d.id: d for d in live}
        self.taken: set[str] = set()  # serials bound elsewhere, filled by preload()

    def preload(self, serials: Iterable[str]) -> None:
        wanted = {normalise_serial(s) for s in serials} - set(self.by_serial)
        chunk: list[str] = []
        for serial in sorted(wanted):
            chunk.append(serial)
            if len(chunk) == 500:
                self._load_taken(chunk)
                chunk = []
        if chunk:
            self._load_taken(chunk)

    def _load_taken(self, serials: Sequence[str]) -> None:
        self.taken.update(
            self.session.scalars(
                select(Device.serial).where(Device.serial.in_(serials), Device.deleted_at.is_(None))
            )
        )

    def check(self, data: DeviceIn) -> tuple[str, Device | None]:
        """The device's subtype and parent; raises Invalid or Conflict with the reason it cannot
        be bound."""
        kind = DeviceKind(data.kind)
        serial = normalise_serial(data.serial)
        subtype = data.subtype or SUBTYPES[kind][0]
        if subtype not in SUBTYPES[kind]:
            raise Invalid(f"a {kind.value} is one of {', '.join(SUBTYPES[kind])}, not '{subtype}'")
        if serial in self.by_serial:
            raise Conflict(f"serial {serial} is already bound to this site")
        if serial in self.taken:
            raise Conflict(f"serial {serial} is already bound to another site: unbind it there")
        parent: Device | None = None
        if data.parent_serial:
            parent = self.by_serial.get(normalise_serial(data.parent_serial))
            if parent is None:
                raise Invalid(f"parent {data.parent_serial} is not a device of this site")
        parent_kind = DeviceKind(parent.kind) if parent else None
        if parent_kind not in PARENTS[kind]:
            below = parent_kind.value if parent_kind else "the site directly"
            raise Invalid(f"a {kind.value} cannot hang below {below}")
        if data.comm_address is not None and parent is not None:
            for other in self.by_serial.values():
                if other.parent_id == parent.id and other.comm_address == data.comm_address:
                    raise Conflict(
                        f"communication address {data.comm_address} is already used by "
                        f"{other.serial} on {parent.serial}"
                    )
        if data.connectors and kind is not DeviceKind.CHARGER:
            raise Invalid("only chargers have connectors")
        if data.connectors:
            numbers = [c.connector_no for c in data.connectors]
            if len(set(numbers)) != len(numbers):
                raise Invalid("connector numbers must be unique")
        return subtype, parent

    def bind(self, data: DeviceIn) -> Device:
        subtype, parent = self.check(data)
        serial = normalise_serial(data.serial)
        device = Device(
            id=new_id(),
            site_id=self.site.id,
            parent_id=parent.id if parent else None,
            kind=data.kind,
            subtype=subtype,
            serial=serial,
            registration_no=normalise_serial(data.registration_no),
            name=data.name or serial,
            model=data.model,
            fw_dsp=data.fw_dsp,
            fw_lcd=data.fw_lcd,
            fw_arm=data.fw_arm,
            comm_address=data.comm_address,
            rated_power_w=data.rated_power_w,
            status=DeviceStatus.UNKNOWN.value,
            created_by=self.caller.user.id,
        )
        gateway = self._gateway_of(parent)
        device.live_data = live_data(
            device.kind,
            device.subtype,
            device.fw_arm,
            (gateway.subtype, gateway.fw_arm) if gateway is not None else None,
        ).value
        self.session.add(device)
        if data.kind == DeviceKind.CHARGER:
            self.session.flush()  # connectors refer to the charger's row
            for c in data.connectors or []:
                self.session.add(Connector(charger_id=device.id, **c.model_dump()))
            if not data.connectors:
                self.session.add(Connector(charger_id=device.id, connector_no=1))
        self.by_serial[serial] = device
        self.by_id[device.id] = device
        return device

    def _gateway_of(self, device: Device | None) -> Device | None:
        hops = 0
        while device is not None and device.kind != DeviceKind.GATEWAY and hops < 10:
            device = self.by_id.get(device.parent_id) if device.parent_id else None
            hops += 1
        return device


def refresh_live_data(session: Session, site_id: str) -> None:
    """Recompute live data capability for a site's devices (after a gateway changed)."""
    devices = {
        d.id: d
        for d in session.scalars(
            select(Device).where(Device.site_id == site_id, Device.deleted_at.is_(None))
        )
    }

    def gateway_of(d: Device) -> Device | None:
        seen = 0
        p = devices.get(d.parent_id) if d.parent_id else None
        while p is not None and p.kind != DeviceKind.GATEWAY and seen < 10:
            p = devices.get(p.parent_id) if p.parent_id else None
            seen += 1
        return p

    for d in devices.values():
        gw = gateway_of(d)
        d.live_data = live_data(
            d.kind, d.subtype, d.fw_arm, (gw.subtype, gw.fw_arm) if gw else None
        ).value
        if d.live_data != LiveData.SUPPORTED:
            d.live_data_enabled = False


def add_device(session: Session, caller: Caller, site_id: str, data: DeviceIn) -> Device:
    site = SiteRepository(session, caller).get(site_id)
    caller.require(Kind.DEVICE, Action.CREATE)
    binder = Binder(session, caller, site)
    binder.preload([data.serial])
    device = binder.bind(data)
    refresh_site_status(session, site)
    audit.record(
        session,
        actor=caller.user,
        action="device.bind",
        object_type="device",
        object_id=device.id,
        org_id=site.org_id,
        address=caller.address,
        detail={"site_id": site.id, "serial": device.serial, "kind": device.kind},
    )
    return device


def import_devices(session: Session, caller: Caller, site_id: str, content: bytes) -> ImportReport:
    """Bind the devices of a CSV file; each refused row is reported with its reason.

    Columns (header row, comma or semicolon): kind, serial, and optionally subtype, name, model,
    parent_serial, comm_address, registration_no, fw_dsp, fw_lcd, fw_arm, rated_power_w,
    connectors (how many, for chargers). Rows are taken in order, so a gateway can be the parent
    of the rows after it.
    """
    site = SiteRepository(session, caller).get(site_id)
    caller.require(Kind.DEVICE, Action.CREATE)
    if len(content) > IMPORT_MAX_BYTES:
        raise TooLarge("the file is larger than 2 MB: split it")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("the file is not UTF-8 text: save it as CSV (UTF-8)") from None
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise Invalid("the file is empty: the first line names the columns (kind,serial,...)")
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower() for h in reader.fieldnames or []]
    reader.fieldnames = header
    missing = [c for c in ("kind", "serial") if c not in header]
    if missing:
        raise Invalid(f"the header lacks the column(s) {', '.join(missing)}")
    unknown = [c for c in header if c and c not in CSV_COLUMNS]
    if unknown:
        raise Invalid(
            f"unknown column(s) {', '.join(unknown)}; the columns are {', '.join(CSV_COLUMNS)}"
        )
    rows = list(reader)
    if len(rows) > IMPORT_MAX_ROWS:
        raise Invalid(f"at most {IMPORT_MAX_ROWS} rows per file ({len(rows)} given)")
    binder = Binder(session, caller, site)
    binder.preload(r.get("serial") or "" for r in rows)
    report: list[ImportRow] = []
    for line, raw in enumerate(rows, start=2):
        serial = normalise_serial(raw.get("serial") or "")
        kind = (raw.get("kind") or "").strip().lower()
        try:
            data = _row_to_device(raw)
            device = binder.bind(data)
        except (Invalid, Conflict) as exc:  # the row's reason it cannot be bound
            report.append(
                ImportRow(line=line, serial=serial, kind=kind, result="refused", reason=exc.message)
            )
            continue
        except ValidationError as exc:
            report.append(
                ImportRow(
                    line=line,
                    serial=serial,
                    kind=kind,
                    result="refused",
                    reason=_validation_reason(exc),
                )
            )
            continue
        report.append(
            ImportRow(line=line, serial=serial, kind=kind, result="added", device_id=device.id)
        )
    refresh_site_status(session, site)
    added = sum(1 for r in report if r.result == "added")
    audit.on_site(
        session, caller, site, "device.import", {"added": added, "refused": len(report) - added}
    )
    return ImportReport(added=added, refused=len(report) - added, rows=report)


def _row_to_device(raw: dict[str, str | None]) -> DeviceIn:
    values: dict[str, object] = {}
    for key in CSV_COLUMNS:
        value = (raw.get(key) or "").strip()
        if value:
            values[key] = value
    if raw.get(None):  # type: ignore[call-overload]
        raise Invalid("more values than columns")
    count = values.pop("connectors", None)
    if count is not None:
        try:
            n = int(str(count))
        except ValueError:
            raise Invalid(f"connectors: '{count}' is not a whole number") from None
        if not 1 <= n <= 16:
            raise Invalid("connectors: between 1 and 16")
        values["connectors"] = [{"connector_no": i} for i in range(1, n + 1)]
    if "kind" in values:
        values["kind"] = str(values["kind"]).lower()
    if "subtype" in values:
        values["subtype"] = str(values["subtype"]).lower()
    return DeviceIn.model_validate(values)


def _validation_reason(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors():
        field = ".".join(str(p) for p in e.get("loc", ()))
        parts.append(f"{field}: {e.get('msg', '')}")
    return "; ".join(parts)


def update_device(session: Session, caller: Caller, device_id: str, data: DeviceUpdate) -> Device:
    device = DeviceRepository(session, caller).get_for(device_id, Action.UPDATE)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "registration_no" in changes:
        changes["registration_no"] = normalise_serial(changes["registration_no"])
    for key, value in changes.items():
        if key != "live_data_enabled":
            setattr(device, key, value)
    if device.kind == DeviceKind.GATEWAY or "fw_arm" in changes:
        session.flush()
        refresh_live_data(session, device.site_id)
    if changes.get("live_data_enabled"):
        if device.live_data != LiveData.SUPPORTED:
            raise Invalid(
                "live data cannot be enabled: " + LIVE_DATA_REASONS[LiveData(device.live_data)]
            )
        switched = not device.live_data_enabled
        device.live_data_enabled = True
        if switched:  # the gateway is asked to send every 10 s (usecases.live_data)
            ask_gateway(session, device, True, caller.user.id)
    elif "live_data_enabled" in changes:
        if device.live_data_enabled:  # back to the gateway's own interval at once
            ask_gateway(session, device, False, caller.user.id)
        device.live_data_enabled = False
    audit.record(
        session,
        actor=caller.user,
        action="device.update",
        object_type="device",
        object_id=device.id,
        address=caller.address,
        detail=changes,
    )
    return device


def _subtree(session: Session, device: Device) -> list[Device]:
    """The device and every live device below it."""
    found = [device]
    frontier = [device.id]
    while frontier:
        children = list(
            session.scalars(
                select(Device).where(Device.parent_id.in_(frontier), Device.deleted_at.is_(None))
            )
        )
        found.extend(children)
        frontier = [c.id for c in children]
    return found


def delete_device(session: Session, caller: Caller, device_id: str, now: datetime) -> list[str]:
    """Unbind a gateway (with the devices below it) or delete another device; returns the serials
    removed. Telemetry is kept for the retention period."""
    device = DeviceRepository(session, caller).get_for(device_id, Action.DELETE)
    site = session.get(Site, device.site_id)
    assert site is not None
    removed = _subtree(session, device)
    for d in removed:
        d.deleted_at = now
        d.live_data_enabled = False
    session.flush()
    refresh_site_status(session, site)
    audit.record(
        session,
        actor=caller.user,
        action="device.unbind" if device.kind == DeviceKind.GATEWAY else "device.delete",
        object_type="device",
        object_id=device.id,
        org_id=site.org_id,
        address=caller.address,
        detail={"site_id": site.id, "serials": [d.serial for d in removed]},
    )
    return [d.serial for d in removed]


def move_device(session: Session, caller: Caller, device_id: str, site_id: str) -> Device:
    """Move a gateway (or another device at the top of the tree) with everything below it."""
    device = DeviceRepository(session, caller).get_for(device_id, Action.UPDATE)
    target = SiteRepository(session, caller).get(site_id)
    if device.parent_id is not None:
        raise Invalid(f"{device.serial} hangs below another device: move that one instead")
    source = session.get(Site, device.site_id)
    assert source is not None
    if target.id == source.id:
        raise Invalid("the device is already at that site")
    moved = _subtree(session, device)
    for d in moved:
        d.site_id = target.id
    session.flush()
    refresh_site_status(session, source)
    refresh_site_status(session, target)
    audit.record(
        session,
        actor=caller.user,
        action="device.move",
        object_type="device",
        object_id=device.id,
        org_id=target.org_id,
        address=caller.address,
        detail={"from": source.id, "to": target.id, "serials": [d.serial for d in moved]},
    )
    return device
