"""domain.commands: checking commands against a device, and the state machine, table-driven."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from voltfleet.domain import commands as dc
from voltfleet.domain.commands import CommandError, CommandState, DeviceLimits

BAT = DeviceLimits("battery", 5000.0)
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kind", "params", "want"),
    [
        ("battery_mode", {"mode": "self_consumption"}, {"mode": "self_consumption"}),
        ("battery_mode", {"mode": "idle"}, {"mode": "idle"}),
        ("battery_mode", {"mode": "charge"}, {"mode": "charge", "battery_power_w": 5000.0}),
        ("battery_mode", {"mode": "discharge"}, {"mode": "discharge", "battery_power_w": -5000.0}),
        (
            "battery_mode",
            {"mode": "charge", "battery_power_w": 1200},
            {"mode": "charge", "battery_power_w": 1200.0},
        ),
        ("battery_setpoint", {"battery_power_w": -5000}, {"battery_power_w": -5000.0}),
        ("battery_setpoint", {"battery_power_w": 0}, {"battery_power_w": 0.0}),
    ],
)
def test_valid_commands_are_normalised(
    kind: str, params: dict[str, Any], want: dict[str, Any]
) -> None:
    got = dc.validate(kind, params, BAT)
    assert got.kind.value == kind and got.params == want
    assert dc.validate(kind, params, DeviceLimits("inverter", 5000.0)).params == want


@pytest.mark.parametrize(
    ("kind", "params", "limits", "field", "fragment"),
    [
        ("reboot", {}, BAT, "kind", "unknown command kind"),
        ("battery_mode", {"mode": "idle"}, DeviceLimits("meter"), "kind", "a meter does not take"),
        ("battery_mode", [], BAT, "params", "JSON object"),
        ("battery_mode", {}, BAT, "mode", "mode must be one of"),
        ("battery_mode", {"mode": "charge", "battery_power_w": 0}, BAT, "battery_power_w", "> 0"),
        (
            "battery_mode",
            {"mode": "discharge", "battery_power_w": 10},
            BAT,
            "battery_power_w",
            "< 0",
        ),
        (
            "battery_mode",
            {"mode": "self_consumption", "battery_power_w": 1},
            BAT,
            "battery_power_w",
            "takes no",
        ),
        (
            "battery_mode",
            {"mode": "charge", "battery_power_w": 5001},
            BAT,
            "battery_power_w",
            "±5000 W",
        ),
        ("battery_setpoint", {"battery_power_w": float("nan")}, BAT, "battery_power_w", "number"),
        ("battery_setpoint", {"battery_power_w": True}, BAT, "battery_power_w", "number"),
        ("battery_setpoint", {"battery_power_w": -5001}, BAT, "battery_power_w", "limit"),
        ("battery_setpoint", {"power": 1}, BAT, "power", "unknown parameter"),
        (
            "battery_setpoint",
            {"battery_power_w": 1},
            DeviceLimits("battery", 0.0),
            "device",
            "limit",
        ),
    ],
)
def test_invalid_commands_say_what_is_wrong(
    kind: str, params: Any, limits: DeviceLimits, field: str, fragment: str
) -> None:
    with pytest.raises(CommandError) as e:
        dc.validate(kind, params, limits)
    assert e.value.field == field and fragment in str(e.value)


def test_ttl_bounds() -> None:
    assert dc.check_ttl(timedelta(minutes=5)) == timedelta(minutes=5)
    for bad in (timedelta(seconds=9), timedelta(days=3)):
        with pytest.raises(CommandError):
            dc.check_ttl(bad)


def queued(ttl_s: float = 300) -> dc.Status:
    return dc.Status(CommandState.QUEUED, T0, T0 + timedelta(seconds=ttl_s))


def test_queued_sent_acknowledged() -> None:
    c = queued()
    assert not dc.deliverable(c, T0 - timedelta(seconds=1))  # not yet due
    assert dc.deliverable(c, T0)
    s = dc.sent(c, T0 + timedelta(seconds=1))
    assert s.state is CommandState.SENT and s.sent_at == T0 + timedelta(seconds=1)
    with pytest.raises(dc.TransitionError):
        dc.sent(s, T0 + timedelta(seconds=2))
    a = dc.replied(s, True, "ok", T0 + timedelta(seconds=3))
    assert a.state is CommandState.ACKNOWLEDGED and a.replied_at == T0 + timedelta(seconds=3)
    with pytest.raises(dc.TransitionError):
        dc.replied(a, False, "late", T0 + timedelta(seconds=4))
    f = dc.replied(s, False, "no battery", T0 + timedelta(seconds=3))
    assert f.state is CommandState.FAILED and f.message == "no battery"


@pytest.mark.parametrize(
    ("status", "at_s", "want"),
    [
        (queued(60), 59, CommandState.QUEUED),
        (queued(60), 60, CommandState.EXPIRED),  # never delivered
        # sent 10 s before its expiry: waits the reply grace (60 s) from sending
        (
            dc.Status(
                CommandState.SENT, T0, T0 + timedelta(seconds=60), T0 + timedelta(seconds=50)
            ),
            100,
            CommandState.SENT,
        ),
        (
            dc.Status(
                CommandState.SENT, T0, T0 + timedelta(seconds=60), T0 + timedelta(seconds=50)
            ),
            110,
            CommandState.FAILED,
        ),
        (dc.Status(CommandState.SENT, T0, T0 + timedelta(seconds=600), T0), 599, CommandState.SENT),
        (
            dc.Status(CommandState.SENT, T0, T0 + timedelta(seconds=600), T0),
            600,
            CommandState.FAILED,
        ),
        (dc.Status(CommandState.ACKNOWLEDGED, T0, T0, T0, T0), 10_000, CommandState.ACKNOWLEDGED),
    ],
)
def test_time_expires_and_fails(status: dc.Status, at_s: float, want: CommandState) -> None:
    assert dc.swept(status, T0 + timedelta(seconds=at_s)).state is want
    assert not dc.deliverable(queued(60), T0 + timedelta(seconds=60))


@pytest.mark.parametrize(
    ("body", "ok", "message"),
    [
        ({"status": "acknowledged", "message": "done", "w": 1}, True, "done"),
        ({"status": "failed", "message": "no"}, False, "no"),
        ({"ok": True}, True, ""),
        ({"accepted": False}, False, ""),
    ],
)
def test_replies(body: dict[str, Any], ok: bool, message: str) -> None:
    got = dc.parse_reply(body)
    assert got[0] is ok and got[1] == message
    assert dc.parse_reply({"status": "ack", "w": 1})[2] == {"w": 1}


def test_a_reply_takes_its_details_flat_or_as_an_object() -> None:
    """The body of POST .../reply ({"details": {...}}) means the same over MQTT as flat keys."""
    flat = dc.parse_reply({"status": "acknowledged", "message": "ok", "battery_power_w": 2500})
    nested = dc.parse_reply(
        {"status": "acknowledged", "message": "ok", "details": {"battery_power_w": 2500}}
    )
    assert flat == nested == (True, "ok", {"battery_power_w": 2500})
    assert dc.parse_reply({"status": "failed", "details": "busy"})[2] == {"details": "busy"}


@pytest.mark.parametrize("body", [None, [], {"status": "perhaps"}, {}])
def test_unreadable_replies(body: Any) -> None:
    with pytest.raises(CommandError):
        dc.parse_reply(body)
