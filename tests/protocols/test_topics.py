"""The topic layout: format and parse are inverse, and nothing else parses."""

from __future__ import annotations

import pytest

from voltfleet.protocols.mqtt import topics
from voltfleet.protocols.mqtt.topics import Channel, Topic


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("voltfleet/v1/GW1/telemetry", Topic("GW1", Channel.TELEMETRY)),
        ("voltfleet/v1/GW1/status", Topic("GW1", Channel.STATUS)),
        ("voltfleet/v1/GW-1.A:2/alarms", Topic("GW-1.A:2", Channel.ALARMS)),
        ("voltfleet/v1/GW1/cmd/c-17", Topic("GW1", Channel.COMMAND, "c-17")),
        ("voltfleet/v1/GW1/cmd/c-17/reply", Topic("GW1", Channel.REPLY, "c-17")),
        ("voltfleet/v2/GW1/telemetry", None),
        ("other/v1/GW1/telemetry", None),
        ("voltfleet/v1/+/telemetry", None),
        ("voltfleet/v1//telemetry", None),
        ("voltfleet/v1/GW1", None),
        ("voltfleet/v1/GW1/telemetry/extra", None),
        ("voltfleet/v1/GW1/cmd", None),
        ("voltfleet/v1/GW1/cmd//reply", None),
        ("voltfleet/v1/GW1/cmd/c1/answer", None),
        ("voltfleet/v1/GW1/cmd/c1/reply/x", None),
        ("voltfleet/v1/GW1/Telemetry", None),
    ],
)
def test_parse(topic: str, expected: Topic | None) -> None:
    assert topics.parse(topic) == expected


@pytest.mark.parametrize(
    "t",
    [
        Topic("GW1", Channel.TELEMETRY),
        Topic("GW1", Channel.STATUS),
        Topic("GW1", Channel.ALARMS),
        Topic("GW1", Channel.COMMAND, "42"),
        Topic("GW1", Channel.REPLY, "42"),
    ],
)
def test_format_then_parse_is_identity(t: Topic) -> None:
    assert topics.parse(topics.format_topic(t)) == t


def test_formatters() -> None:
    assert topics.telemetry("GW1") == "voltfleet/v1/GW1/telemetry"
    assert topics.status("GW1") == "voltfleet/v1/GW1/status"
    assert topics.alarms("GW1") == "voltfleet/v1/GW1/alarms"
    assert topics.command("GW1", "c1") == "voltfleet/v1/GW1/cmd/c1"
    assert topics.reply("GW1", "c1") == "voltfleet/v1/GW1/cmd/c1/reply"
    assert topics.gateway_subscription("GW1") == "voltfleet/v1/GW1/cmd/+"


@pytest.mark.parametrize("bad", ["", "a/b", "+", "GW#", "x\x00"])
def test_a_serial_or_command_id_that_is_no_topic_level_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        topics.telemetry(bad)
    with pytest.raises(ValueError):
        topics.command("GW1", bad)
    with pytest.raises(ValueError):
        topics.format_topic(Topic("GW1", Channel.REPLY))


def test_every_bridge_subscription_matches_what_it_should() -> None:
    assert topics.BRIDGE_SUBSCRIPTIONS == (
        "voltfleet/v1/+/telemetry",
        "voltfleet/v1/+/status",
        "voltfleet/v1/+/alarms",
        "voltfleet/v1/+/cmd/+/reply",
        "voltfleet/v1/+/firmware",
    )


def test_the_firmware_channel_round_trips() -> None:
    t = topics.parse("voltfleet/v1/GW1/firmware")
    assert t == Topic("GW1", Channel.FIRMWARE)
    assert topics.format_topic(t) == topics.firmware("GW1") == "voltfleet/v1/GW1/firmware"
    assert topics.parse("voltfleet/v1/GW1/firmware/x") is None


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"online", "online"),
        (b" OFFLINE\n", "offline"),
        (b'{"status": "online"}', "online"),
        (b'{"status": 1}', None),
        (b"{bad json", None),
        (b"[1]", None),
        (b"sleeping", None),
        (b"\xff\xfe", None),
    ],
)
def test_parse_status(payload: bytes, expected: str | None) -> None:
    assert topics.parse_status(payload) == expected
