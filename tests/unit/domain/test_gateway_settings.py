"""A gateway's own settings (domain/gateway_settings.py): what is taken, what is refused (the
field named in every error), and the command kinds that carry them (domain/commands.py)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voltfleet.domain import gateway_settings as gs
from voltfleet.domain.commands import CommandError, CommandKind, DeviceLimits, validate

GATEWAY = DeviceLimits("gateway")

VALID: dict[str, dict[str, Any]] = {
    "gateway_protocol": {"devices": [{"address": 3, "protocol": "SunSpec"}]},
    "serial_forwarding": {
        "port": 0,
        "baud_rate": 9600,
        "parity": "none",
        "stop_bits": 1,
        "protocol_type": "ModbusRTU",
        "restart": True,
    },
    "tcp_forwarding": {"port": 502, "protocol": "ModbusTCP"},
    "upload_interval": {"interval_s": 300, "safe_restart": True},
    "gateway_baud_rate": {"port_type": "RS485", "baud_rate": 115200, "restart": False},
    "gateway_reset": {"confirm": True},
}


@pytest.mark.parametrize("kind", gs.GATEWAY_SETTING_KINDS)
def test_each_setting_is_a_gateway_command_kind(kind: str) -> None:
    request = validate(kind, VALID[kind], GATEWAY)
    assert request.kind is CommandKind(kind) and request.params == VALID[kind]
    with pytest.raises(CommandError, match="does not take") as info:
        validate(kind, VALID[kind], DeviceLimits("inverter"))
    assert info.value.field == "kind"


BAD = [
    ("gateway_protocol", {"devices": [{"address": 0, "protocol": "SunSpec"}]}, "address"),
    ("gateway_protocol", {"devices": [{"address": 248, "protocol": "SunSpec"}]}, "address"),
    ("gateway_protocol", {"devices": [{"address": 2, "protocol": "Profibus"}]}, "protocol"),
    ("gateway_protocol", {"devices": []}, "devices"),
    (
        "gateway_protocol",
        {"devices": [{"address": 2, "protocol": "SunSpec"}, {"address": 2, "protocol": "SunSpec"}]},
        "address",
    ),
    ("serial_forwarding", {**VALID["serial_forwarding"], "baud_rate": 14400}, "baud_rate"),
    ("serial_forwarding", {**VALID["serial_forwarding"], "parity": "mark"}, "parity"),
    ("serial_forwarding", {**VALID["serial_forwarding"], "stop_bits": 3}, "stop_bits"),
    ("serial_forwarding", {**VALID["serial_forwarding"], "port": 8}, "port"),
    ("serial_forwarding", {**VALID["serial_forwarding"], "protocol_type": "x"}, "protocol_type"),
    ("serial_forwarding", {**VALID["serial_forwarding"], "restart": "yes"}, "restart"),
    ("tcp_forwarding", {"port": 0, "protocol": "ModbusTCP"}, "port"),
    ("tcp_forwarding", {"port": 65536, "protocol": "ModbusTCP"}, "port"),
    ("tcp_forwarding", {"port": True, "protocol": "ModbusTCP"}, "port"),
    ("tcp_forwarding", {"port": 502, "protocol": "ModbusRTU"}, "protocol"),
    ("upload_interval", {"interval_s": 120}, "interval_s"),
    ("upload_interval", {"interval_s": 300, "speed": 1}, "speed"),
    ("gateway_baud_rate", {"port_type": "USB", "baud_rate": 9600}, "port_type"),
    ("gateway_baud_rate", {"port_type": "RS485", "baud_rate": "9600"}, "baud_rate"),
    ("gateway_reset", {}, "confirm"),
    ("gateway_reset", {"confirm": "true"}, "confirm"),
]


@pytest.mark.parametrize(("kind", "params", "field"), BAD)
def test_a_wrong_value_is_refused_with_its_field(
    kind: str, params: dict[str, Any], field: str
) -> None:
    with pytest.raises(gs.GatewaySettingError) as info:
        gs.check(kind, params)
    assert info.value.field == field and field in str(info.value)
    with pytest.raises(CommandError) as cmd:
        validate(kind, params, GATEWAY)
    assert cmd.value.field == field


def test_protocol_rows_come_back_in_address_order() -> None:
    got = gs.check(
        "gateway_protocol",
        {
            "devices": [
                {"address": 9, "protocol": "SunSpec"},
                {"address": 1, "protocol": "ModbusRTU"},
            ]
        },
    )
    assert [d["address"] for d in got["devices"]] == [1, 9]


serial = st.fixed_dictionaries(
    {
        "port": st.integers(0, gs.MAX_SERIAL_PORT),
        "baud_rate": st.sampled_from(gs.BAUD_RATES),
        "parity": st.sampled_from(gs.PARITIES),
        "stop_bits": st.sampled_from(gs.STOP_BITS),
        "protocol_type": st.sampled_from(gs.FORWARD_PROTOCOLS),
        "restart": st.booleans(),
    }
)


@given(serial)
def test_a_checked_setting_checks_again_unchanged(params: dict[str, Any]) -> None:
    once = gs.check("serial_forwarding", params)
    assert once == params and gs.check("serial_forwarding", once) == once


@given(st.integers(-10, 70_000))
def test_tcp_port_range(port: int) -> None:
    params = {"port": port, "protocol": "Transparent"}
    if 1 <= port <= 65535:
        assert gs.check("tcp_forwarding", params)["port"] == port
    else:
        with pytest.raises(gs.GatewaySettingError):
            gs.check("tcp_forwarding", params)
