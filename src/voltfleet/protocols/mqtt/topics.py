"""The versioned MQTT topic layout between gateways and the platform. Pure: strings in, strings
out.

A gateway's MQTT username is its serial number, and every topic it uses carries that serial as
the third level, so one broker ACL pattern (``%u``) confines it to its own topics::

    voltfleet/v1/<serial>/telemetry         gateway -> platform  QoS 1, a JSON batch of readings
    voltfleet/v1/<serial>/status            gateway -> platform  retained "online" / "offline"
                                                                  ("offline" is its last will)
    voltfleet/v1/<serial>/alarms            gateway -> platform  QoS 1, JSON alarms
    voltfleet/v1/<serial>/cmd/<id>          platform -> gateway  QoS 1, JSON command
    voltfleet/v1/<serial>/cmd/<id>/reply    gateway -> platform  QoS 1, JSON reply
    voltfleet/v1/<serial>/firmware          gateway -> platform  QoS 1, firmware progress
                                                                  {"device", "release_id",
                                                                  "state", "version", "message"}
    voltfleet/v1/<serial>/inventory         gateway -> platform  QoS 1, the devices it found
                                                                  on its bus (auto-detect)

The telemetry payload is the body of ``POST /api/v1/ingest``: ``{"readings": [{"device":
"<serial below the gateway, or empty>", "point": "pv_power_w", "ts": "2026-01-01T12:00:00Z",
"value": 1234.5, "unit": "W"}, ...]}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

ROOT = "voltfleet"
VERSION = "v1"
PREFIX = f"{ROOT}/{VERSION}"

ONLINE = "online"
OFFLINE = "offline"

_FORBIDDEN = frozenset("/+#\x00")


class Channel(StrEnum):
    TELEMETRY = "telemetry"
    STATUS = "status"
    ALARMS = "alarms"
    COMMAND = "cmd"
    REPLY = "reply"
    FIRMWARE = "firmware"
    INVENTORY = "inventory"


@dataclass(frozen=True)
class Topic:
    gateway: str  # the gateway's serial, as the broker authenticated it
    channel: Channel
    command_id: str | None = None  # for COMMAND and REPLY


def valid_level(text: str) -> bool:
    """A non-empty topic level without separators or wildcards (a serial or a command id)."""
    return bool(text) and not (_FORBIDDEN & set(text)) and len(text.encode()) <= 128


def _level(text: str, what: str) -> str:
    if not valid_level(text):
        raise ValueError(f"{what} {text!r} cannot be an MQTT topic level")
    return text


def telemetry(serial: str) -> str:
    return f"{PREFIX}/{_level(serial, 'serial')}/{Channel.TELEMETRY}"


def status(serial: str) -> str:
    return f"{PREFIX}/{_level(serial, 'serial')}/{Channel.STATUS}"


def alarms(serial: str) -> str:
    return f"{PREFIX}/{_level(serial, 'serial')}/{Channel.ALARMS}"


def firmware(serial: str) -> str:
    return f"{PREFIX}/{_level(serial, 'serial')}/{Channel.FIRMWARE}"


def inventory(serial: str) -> str:
    """``{"devices": [{"unit_id", "kind", "manufacturer", "model", "serial", "firmware",
    "sunspec_models": [...]}, ...]}``, the body of ``POST /api/v1/gateway/inventory``."""
    return f"{PREFIX}/{_level(serial, 'serial')}/{Channel.INVENTORY}"


def command(serial: str, command_id: str) -> str:
    return f"{PREFIX}/{_level(serial, 'serial')}/cmd/{_level(command_id, 'command id')}"


def reply(serial: str, command_id: str) -> str:
    return f"{command(serial, command_id)}/reply"


def format_topic(t: Topic) -> str:
    if t.channel is Channel.TELEMETRY:
        return telemetry(t.gateway)
    if t.channel is Channel.STATUS:
        return status(t.gateway)
    if t.channel is Channel.ALARMS:
        return alarms(t.gateway)
    if t.channel is Channel.FIRMWARE:
        return firmware(t.gateway)
    if t.channel is Channel.INVENTORY:
        return inventory(t.gateway)
    if t.command_id is None:
        raise ValueError(f"a {t.channel} topic needs a command id")
    return (
        command(t.gateway, t.command_id)
        if t.channel is Channel.COMMAND
        else reply(t.gateway, t.command_id)
    )


def parse(topic: str) -> Topic | None:
    """The topic's meaning, or None when it is not one of ours (other root or version, wrong
    shape, empty or wildcard levels)."""
    parts = topic.split("/")
    if len(parts) < 4 or parts[0] != ROOT or parts[1] != VERSION or not valid_level(parts[2]):
        return None
    serial, rest = parts[2], parts[3:]
    single = (
        Channel.TELEMETRY,
        Channel.STATUS,
        Channel.ALARMS,
        Channel.FIRMWARE,
        Channel.INVENTORY,
    )
    if len(rest) == 1 and rest[0] in single:
        return Topic(serial, Channel(rest[0]))
    if rest[0] == "cmd" and len(rest) in (2, 3) and valid_level(rest[1]):
        if len(rest) == 2:
            return Topic(serial, Channel.COMMAND, rest[1])
        if rest[2] == "reply":
            return Topic(serial, Channel.REPLY, rest[1])
    return None


# What the bridge subscribes to (QoS 1), and what a gateway subscribes to.
BRIDGE_SUBSCRIPTIONS = (
    f"{PREFIX}/+/{Channel.TELEMETRY}",
    f"{PREFIX}/+/{Channel.STATUS}",
    f"{PREFIX}/+/{Channel.ALARMS}",
    f"{PREFIX}/+/cmd/+/reply",
    f"{PREFIX}/+/{Channel.FIRMWARE}",
)
# The gateways' inventories (auto-detect), which the bridge subscribes to as well.
INVENTORY_SUBSCRIPTION = f"{PREFIX}/+/{Channel.INVENTORY}"


def bridge_subscriptions(shared_group: str = "") -> list[str]:
    """The bridge's subscriptions. With a ``shared_group``, several bridges share the uplink
    (MQTT shared subscriptions, ``$share/<group>/...``: the broker hands each message to one of
    them); a gateway's status stays an ordinary subscription, so every bridge receives every
    status (the retained ones at once) and knows which gateways it may push commands to."""
    every = [*BRIDGE_SUBSCRIPTIONS, INVENTORY_SUBSCRIPTION]
    if not shared_group:
        return every
    group = _level(shared_group, "shared group")
    status = f"{PREFIX}/+/{Channel.STATUS}"
    return [t if t == status else f"$share/{group}/{t}" for t in every]


def gateway_subscription(serial: str) -> str:
    return f"{PREFIX}/{_level(serial, 'serial')}/cmd/+"


def parse_status(payload: bytes) -> str | None:
    """``online`` or ``offline`` from a status payload: the bare word, or JSON
    ``{"status": "online"}``; None for anything else."""
    text = payload.decode("utf-8", "replace").strip()
    if text.startswith("{"):
        try:
            value = json.loads(text).get("status")
        except (ValueError, AttributeError, RecursionError):
            return None
        text = value if isinstance(value, str) else ""
    text = text.strip().lower()
    return text if text in (ONLINE, OFFLINE) else None


def alarm_events(body: object) -> list[object] | None:
    """The events of an MQTT alarms message: ``{"alarms": [...]}`` (the HTTP field), a bare
    list, or one event object; None when the payload is none of these."""
    if isinstance(body, dict):
        if "alarms" in body:
            items = body["alarms"]
            return items if isinstance(items, list) else None
        return [body]
    if isinstance(body, list):
        return body
    return None
