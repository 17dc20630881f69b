"""Whether a device is still there: a device that was up goes offline after a silence.

A device that has spoken (it has a ``last_seen``) and is up (online, running, standby) is offline
once it has been silent for ``offline_after_s`` seconds or more. A device that never spoke keeps
the status it has (it was never seen, so it cannot have fallen silent); a faulty device keeps its
fault, which says more than "offline".

Pure: the caller passes ``now``; instants are timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from voltfleet.domain.fleet import UP, DeviceStatus

MIN_OFFLINE_AFTER_S = 30  # shorter than this, a device between two 10-second readings flickers


@dataclass(frozen=True)
class Presence:
    """What decides a device's presence: its id, current status and last reading's arrival."""

    device_id: str
    status: DeviceStatus
    last_seen: datetime | None


def silent_since(now: datetime, offline_after_s: float) -> datetime:
    """The instant before which a last reading means silence (last_seen <= this: offline)."""
    if offline_after_s < MIN_OFFLINE_AFTER_S:
        raise ValueError(f"offline_after_s must be at least {MIN_OFFLINE_AFTER_S} s")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now - timedelta(seconds=offline_after_s)


def is_silent(device: Presence, now: datetime, offline_after_s: float) -> bool:
    """True when the device was up, has been seen, and has been silent for the threshold."""
    if device.status not in UP or device.last_seen is None:
        return False
    if device.last_seen.tzinfo is None:
        raise ValueError(f"last_seen of {device.device_id} must be timezone-aware")
    return device.last_seen <= silent_since(now, offline_after_s)


def gone_offline(devices: Iterable[Presence], now: datetime, offline_after_s: float) -> list[str]:
    """The ids of the devices to mark offline now, in the order given."""
    return [d.device_id for d in devices if is_silent(d, now, offline_after_s)]


def sweep_interval_s(offline_after_s: float) -> float:
    """How often to look for silent devices: a fifth of the threshold, at most once a minute,
    so a device is marked offline at most 20 % (or 60 s) after its threshold."""
    return min(60.0, offline_after_s / 5)
