"""The device-status transition table (domain.device_status), row by row."""

from __future__ import annotations

import pytest

from voltfleet.domain.device_status import (
    TRANSITIONS,
    StatusEvent,
    after_spoke,
    reported,
    transition,
)
from voltfleet.domain.fleet import DeviceStatus

S, E = DeviceStatus, StatusEvent

CASES = [
    # current, event, new (None: stays)
    (S.OFFLINE, E.SPOKE, S.ONLINE),
    (S.UNKNOWN, E.SPOKE, S.ONLINE),
    (S.ONLINE, E.SPOKE, None),
    (S.RUNNING, E.SPOKE, None),
    (S.STANDBY, E.SPOKE, None),
    (S.FAULT, E.SPOKE, None),  # a faulted device that reports stays faulted
    (S.ONLINE, E.SILENT, S.OFFLINE),
    (S.RUNNING, E.SILENT, S.OFFLINE),
    (S.STANDBY, E.SILENT, S.OFFLINE),
    (S.FAULT, E.SILENT, None),
    (S.UNKNOWN, E.SILENT, None),
    (S.OFFLINE, E.SILENT, None),
    (S.FAULT, E.DISCONNECTED, S.OFFLINE),
    (S.RUNNING, E.DISCONNECTED, S.OFFLINE),
    (S.OFFLINE, E.DISCONNECTED, None),
    (S.ONLINE, E.FAULT_REPORTED, S.FAULT),
    (S.OFFLINE, E.FAULT_REPORTED, S.FAULT),
    (S.FAULT, E.FAULT_REPORTED, None),
    (S.FAULT, E.FAULT_CLEARED, S.ONLINE),
    (S.ONLINE, E.FAULT_CLEARED, None),
    (S.OFFLINE, E.FAULT_CLEARED, None),
    (S.FAULT, E.REPORTED_RUNNING, S.RUNNING),
    (S.ONLINE, E.REPORTED_RUNNING, S.RUNNING),
    (S.RUNNING, E.REPORTED_ONLINE, S.ONLINE),
    (S.RUNNING, E.REPORTED_STANDBY, S.STANDBY),
    (S.STANDBY, E.REPORTED_STANDBY, None),
]


@pytest.mark.parametrize(("current", "event", "new"), CASES)
def test_transition(current: DeviceStatus, event: StatusEvent, new: DeviceStatus | None) -> None:
    assert transition(current, event) is new


def test_every_pair_is_covered_by_the_cases_or_the_table_rules() -> None:
    """No transition leads to the status a device has already (that is "stays": None)."""
    assert all(current is not new for (current, _), new in TRANSITIONS.items())
    for s in DeviceStatus:
        assert after_spoke(s) is transition(s, E.SPOKE)


@pytest.mark.parametrize(
    ("status", "event"),
    [
        (S.FAULT, E.FAULT_REPORTED),
        (S.ONLINE, E.REPORTED_ONLINE),
        (S.RUNNING, E.REPORTED_RUNNING),
        (S.STANDBY, E.REPORTED_STANDBY),
        (S.OFFLINE, E.DISCONNECTED),
    ],
)
def test_reported(status: DeviceStatus, event: StatusEvent) -> None:
    assert reported(status) is event
    assert transition(S.UNKNOWN, reported(status)) is status


def test_unknown_is_not_reported() -> None:
    with pytest.raises(ValueError, match="does not report"):
        reported(S.UNKNOWN)
