"""Auto-detect: a gateway reports the devices it found on its bus (its *inventory*, over MQTT or
``POST /api/v1/gateway/inventory``), and the platform adds them to the gateway's site, below the
gateway, with their model, serial number, firmware and Modbus address, so their readings are
stored from then on instead of being quarantined as unknown devices.

What cannot be added without a person deciding is *offered* for binding instead, with the reason:
a serial bound to another site, or to another gateway of this site; two found devices with the
same serial; a Modbus address another device of the gateway already uses; a device of a kind the
platform does not bind (not an inverter, battery or meter). A device already below the gateway is
updated (model, firmware, address) when it reports something new. An entry that cannot be read
at all (no serial, a serial no device could have) is refused with its reason.

The body: ``{"devices": [{"unit_id", "kind", "manufacturer", "model", "serial", "firmware",
"sunspec_models": [...]}, ...]}`` (the wire contract of issue 15). Never commits.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from voltfleet.domain.fleet import normalise_serial
from voltfleet.usecases.errors import Invalid

KINDS = ("inverter", "battery", "meter")
STORAGE_MODELS = frozenset({124, 802, 803})
SERIAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$")  # as a device is bound (app/devices)
MAX_DEVICES = 247  # unit ids on one Modbus bus

ADDED = "added"
UPDATED = "updated"
UNCHANGED = "unchanged"
OFFERED = "offered"


@dataclass(frozen=True)
class Found:
    """One device of an inventory, checked."""

    unit_id: int
    kind: str
    serial: str
    manufacturer: str = ""
    model: str = ""
    firmware: str = ""
    sunspec_models: tuple[int, ...] = ()

    @property
    def subtype(self) -> str:
        if self.kind == "inverter":
            return "hybrid" if STORAGE_MODELS & set(self.sunspec_models) else "pv"
        return "grid" if self.kind == "meter" else "other"

    @property
    def model_name(self) -> str:
        return " ".join(x for x in (self.manufacturer, self.model) if x)[:100]


@dataclass(frozen=True)
class Placed:
    """What discovery reads of a device already bound."""

    id: str
    serial: str
    kind: str
    site_id: str
    parent_id: str | None
    model: str
    firmware: str
    comm_address: int | None


@dataclass
class Outcome:
    added: list[str] = field(default_factory=list)  # serials
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    offered: list[tuple[str, str]] = field(default_factory=list)  # (serial, why)
    refused: list[tuple[int, str]] = field(default_factory=list)  # (index in the body, why)

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "offered": [{"serial": s, "reason": r} for s, r in self.offered],
            "refused": [{"index": i, "reason": r} for i, r in self.refused],
        }


class DiscoveryRepository(Protocol):
    """Discovery's persistence, inside the caller's transaction."""

    def below(self, gateway_id: str) -> Sequence[Placed]:
        """The live devices below the gateway (the gateway's family, itself excluded)."""
        ...

    def bound(self, serials: Sequence[str]) -> Mapping[str, Placed]:
        """The live devices anywhere with these serials."""
        ...

    def add(self, gateway_id: str, found: Found, now: datetime) -> str:
        """Bind ``found`` below the gateway (on its site); its id."""
        ...

    def update(self, device_id: str, found: Found) -> None: ...

    def record(self, gateway_id: str, found: Found, state: str, reason: str, now: datetime) -> None:
        """Keep the inventory entry with what became of it (the gateway's device list)."""
        ...


def parse(body: Any) -> tuple[list[tuple[int, Found]], list[tuple[int, str]]]:
    """(readable entries with their index, refused entries with the reason). ``Invalid`` when
    the body is not an inventory at all."""
    if not isinstance(body, dict) or not isinstance(body.get("devices"), list):
        raise Invalid('an inventory is {"devices": [...]}')
    items = body["devices"]
    if len(items) > MAX_DEVICES:
        raise Invalid(f"an inventory holds at most {MAX_DEVICES} devices")
    out: list[tuple[int, Found]] = []
    refused: list[tuple[int, str]] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            refused.append((i, "an inventory entry is a JSON object"))
            continue
        serial = item.get("serial")
        unit = item.get("unit_id")
        if not isinstance(serial, str) or not serial.strip():
            refused.append((i, "serial missing"))
            continue
        serial = normalise_serial(serial)
        if len(serial) > 64 or not SERIAL.match(serial):
            refused.append((i, f"serial {serial[:64]!r} is not a serial number"))
            continue
        if not isinstance(unit, int) or isinstance(unit, bool) or not 0 <= unit <= 255:
            refused.append((i, f"unit_id {unit!r} is not a Modbus unit id"))
            continue
        models = item.get("sunspec_models") or []
        if not isinstance(models, list) or not all(
            isinstance(m, int) and not isinstance(m, bool) for m in models
        ):
            refused.append((i, "sunspec_models must be a list of model ids"))
            continue

        out.append(
            (
                i,
                Found(
                    unit_id=unit,
                    kind=_text(item, "kind", 20).lower(),
                    serial=serial,
                    manufacturer=_text(item, "manufacturer", 60),
                    model=_text(item, "model", 60),
                    firmware=_text(item, "firmware", 40),
                    sunspec_models=tuple(models[:64]),
                ),
            )
        )
    return out, refused


def _text(item: dict[str, Any], key: str, limit: int) -> str:
    v = item.get(key)
    return v.strip()[:limit] if isinstance(v, str) else ""


def apply_inventory(
    repo: DiscoveryRepository, gateway_id: str, gateway_site_id: str, body: Any, now: datetime
) -> Outcome:
    entries, refused = parse(body)
    result = Outcome(refused=refused)
    mine = {d.serial: d for d in repo.below(gateway_id)}
    elsewhere = repo.bound([f.serial for _, f in entries if f.serial not in mine])
    twice = {s for s, n in Counter(f.serial for _, f in entries).items() if n > 1}
    used = {d.comm_address: d.serial for d in mine.values() if d.comm_address is not None}
    for _, f in entries:
        reason = ""
        own = mine.get(f.serial)
        other = elsewhere.get(f.serial)
        if f.serial == "" or f.kind not in KINDS:
            reason = f"a {f.kind or 'device'} is not bound automatically (only {', '.join(KINDS)})"
        elif f.serial in twice:
            reason = f"two devices on the bus report serial {f.serial}"
        elif own is not None:
            if own.kind != f.kind:
                reason = f"{f.serial} is bound as a {own.kind}, the gateway found a {f.kind}"
            else:
                state = UNCHANGED
                if (own.model, own.firmware, own.comm_address) != (
                    f.model_name or own.model,
                    f.firmware or own.firmware,
                    f.unit_id,
                ):
                    repo.update(own.id, f)
                    state = UPDATED
                (result.updated if state == UPDATED else result.unchanged).append(f.serial)
                repo.record(gateway_id, f, state, "", now)
                continue
        elif other is not None:
            where = (
                "this site, below another device"
                if other.site_id == gateway_site_id
                else ("another site")
            )
            reason = f"{f.serial} is bound to {where}: unbind or move it to bind it here"
        elif f.unit_id in used and used[f.unit_id] != f.serial:
            reason = f"Modbus address {f.unit_id} is already {used[f.unit_id]}'s on this gateway"
        if reason:
            result.offered.append((f.serial, reason))
            repo.record(gateway_id, f, OFFERED, reason, now)
            continue
        repo.add(gateway_id, f, now)
        used[f.unit_id] = f.serial
        result.added.append(f.serial)
        repo.record(gateway_id, f, ADDED, "", now)
    return result
