"""The MQTT side of the simulator that needs no broker: the broker's address, the reply's shape
on the wire, and the fleet's transport settings refused with a clear error."""

from __future__ import annotations

import pytest

from voltfleet.domain.commands import parse_reply
from voltfleet.simulator.commands import Outcome
from voltfleet.simulator.fleet import FleetConfig
from voltfleet.simulator.mqtt_gateway import broker_address, wire_reply


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("mqtt://127.0.0.1:1883", ("127.0.0.1", 1883)),
        ("mqtt://broker.example:8883", ("broker.example", 8883)),
        ("mqtt://localhost", ("localhost", 1883)),
        ("tcp://10.0.0.5:1884/", ("10.0.0.5", 1884)),
    ],
)
def test_broker_addresses(url: str, address: tuple[str, int]) -> None:
    assert broker_address(url) == address


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:1883", "expected mqtt://host:port"),
        ("127.0.0.1:1883", "expected mqtt://host:port"),
        ("mqtt://", "expected mqtt://host:port"),
        ("mqtt://h:99999", "port"),
        ("mqtt://h:0", "port"),
        ("mqtt://h:abc", "port"),
        ("mqtt://user:secret@h:1883", "own token"),
        ("mqtt://h:1883/voltfleet", "own token"),
    ],
)
def test_bad_broker_addresses_are_refused_with_the_reason(url: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        broker_address(url)


def test_a_reply_on_the_wire_reads_back_as_the_http_reply_would() -> None:
    out = Outcome(None, True, "holding at 2500 W", {"applied_battery_power_w": 2500.0})
    wire = wire_reply(out.reply())
    assert wire == {
        "status": "acknowledged",
        "message": "holding at 2500 W",
        "applied_battery_power_w": 2500.0,
    }
    assert parse_reply(wire) == (True, "holding at 2500 W", {"applied_battery_power_w": 2500.0})
    # details cannot override the status or the message
    tricky = {"status": "failed", "message": "no", "details": {"status": "acknowledged"}}
    assert parse_reply(wire_reply(tricky))[:2] == (False, "no")


@pytest.mark.parametrize(
    ("settings", "why"),
    [
        ({"transport": "amqp"}, "transport must be one of http, mqtt"),
        ({"transport": "mqtt", "mqtt_url": "http://127.0.0.1:1883"}, "mqtt://host:port"),
    ],
)
def test_fleet_transport_settings_are_checked(settings: dict[str, str], why: str) -> None:
    with pytest.raises(ValueError, match=why):
        FleetConfig(**settings).check()  # type: ignore[arg-type]


def test_the_http_transport_needs_no_broker_address() -> None:
    FleetConfig(transport="http", mqtt_url="not a url").check()
