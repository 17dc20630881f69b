"""The gateway dashboard's figures: the caller's gateways counted by status, by type (4G, Wi-Fi,
Ethernet, data hub) and by firmware version, from the same scope as the gateway list, so each
count is what the list shows when it is opened filtered by that value."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session

from voltfleet.app.deps import Caller
from voltfleet.app.devices.repository import visible_devices
from voltfleet.domain.fleet import DeviceKind
from voltfleet.store.fleet_models import Device

# The statuses a gateway has, in the order the dashboard shows them (online/offline/faulty first).
STATUS_ORDER = ("online", "offline", "fault", "unknown", "standby", "running")


@dataclass
class GatewaySummary:
    total: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_type: dict[str, int] = field(default_factory=dict)
    # Firmware version -> count; "" is a gateway that has not reported one.
    by_firmware: dict[str, int] = field(default_factory=dict)


def _counts(session: Session, caller: Caller, column: Any) -> dict[str, int]:
    stmt = (
        visible_devices(caller)
        .where(Device.kind == DeviceKind.GATEWAY)
        .with_only_columns(column, func.count())
        .group_by(column)
    )
    return {str(k or ""): int(n) for k, n in session.execute(stmt).all()}


def gateway_summary(session: Session, caller: Caller) -> GatewaySummary:
    """Three grouped counts over the caller's gateways (three queries whatever the fleet size)."""
    statuses = _counts(session, caller, Device.status)
    for s in ("online", "offline", "fault"):  # the three the manual shows, even at zero
        statuses.setdefault(s, 0)
    ordered = dict(
        sorted(
            statuses.items(),
            key=lambda kv: STATUS_ORDER.index(kv[0]) if kv[0] in STATUS_ORDER else 99,
        )
    )
    types = _counts(session, caller, Device.subtype)
    firmware = _counts(session, caller, Device.fw_arm)
    return GatewaySummary(
        total=sum(ordered.values()),
        by_status=ordered,
        by_type=dict(sorted(types.items(), key=lambda kv: (-kv[1], kv[0]))),
        by_firmware=dict(sorted(firmware.items(), key=lambda kv: (-kv[1], kv[0]))),
    )
