"""A gateway's Settings page (issue 15): each form sends one gateway-setting command, the
HTTP-polled simulated gateway applies it and acknowledges with the values it applied, and the
page shows those values. Out-of-range values are refused with the field named and nothing is
queued; owners only look; the command API takes the same kinds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.app.test_alarms import home
from tests.app.test_device_settings import poll, reply
from tests.app.test_money_pages import csrf_of, sign_in
from tests.app.test_telemetry import h
from tests.support.world import World, build_world
from voltfleet.app.runtime import Runtime
from voltfleet.clock import ManualClock
from voltfleet.simulator.gateway_settings import GatewaySettings
from voltfleet.simulator.live_data import Reporting
from voltfleet.store.command_models import Command

START = datetime(2031, 1, 15, 8, 0, tzinfo=UTC)


@pytest.fixture
def clock(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    manual = ManualClock(START)
    monkeypatch.setattr(runtime, "clock", manual)
    return manual


@pytest.fixture
def world(client: TestClient, runtime: Runtime, clock: ManualClock) -> World:
    return build_world(runtime)


def answer(
    client: TestClient, token: str, gateway: GatewaySettings, reporting: Reporting
) -> list[dict[str, Any]]:
    """The simulated gateway's poll: each command applied as the simulator's gateway does."""
    got = poll(client, token)
    for c in got:
        r = reply(client, token, c["id"], gateway.apply(c, reporting))
        assert r.status_code == 200, r.text
    return got


def test_settings_round_trip_and_the_reported_values(
    client: TestClient, world: World, runtime: Runtime, clock: ManualClock
) -> None:
    ids, token = home(client, world, "GWS")
    gw = ids["GWS"]
    sign_in(client, world, "om@I1")
    device_page = client.get(f"/device/{gw}")
    assert f'href="/device/{gw}/gateway-settings"' in device_page.text
    page = client.get(f"/device/{gw}/gateway-settings")
    assert page.status_code == 200 and 'id="upload-interval-form"' in page.text
    csrf = csrf_of(page.text)
    forms = {
        "upload-interval": {"interval_s": "60", "safe_restart": "on"},
        "serial-forwarding": {
            "port": "1",
            "baud_rate": "19200",
            "parity": "even",
            "stop_bits": "2",
            "protocol_type": "ModbusRTU",
            "restart": "on",
        },
        "tcp-forwarding": {"port": "1502", "protocol": "ModbusTCP"},
        "baud-rate": {"port_type": "RS485", "baud_rate": "115200", "restart": "off"},
        "protocol": {
            "address0": "3",
            "protocol0": "SunSpec",
            "address1": "1",
            "protocol1": "ModbusRTU",
        },
    }
    for section, form in forms.items():
        r = client.post(
            f"/device/{gw}/gateway-settings/{section}",
            data={"csrf": csrf, **form},
            follow_redirects=False,
        )
        assert r.status_code == 303 and "notice=" in r.headers["location"], r.headers["location"]
    page = client.get(f"/device/{gw}/gateway-settings")
    assert 'id="pending-upload_interval"' in page.text  # queued, not answered yet
    clock.advance(timedelta(seconds=5))
    gateway, reporting = GatewaySettings(), Reporting()
    got = answer(client, token, gateway, reporting)
    assert sorted(c["kind"] for c in got) == sorted(
        [
            "upload_interval",
            "serial_forwarding",
            "tcp_forwarding",
            "gateway_baud_rate",
            "gateway_protocol",
        ]
    )
    assert reporting.normal_s == 60  # the gateway now reports every minute
    page = client.get(f"/device/{gw}/gateway-settings")
    assert 'id="pending-' not in page.text
    up = page.text.split('id="reported-upload_interval">')[1].split("</p>")[0]
    assert "interval_s=60" in up and "safe_restart=True" in up and "+01:00" in up  # Berlin
    serial = page.text.split('id="reported-serial_forwarding">')[1].split("</p>")[0]
    assert "baud_rate=19200" in serial and "parity=even" in serial and "stop_bits=2" in serial
    proto = page.text.split('id="reported-gateway_protocol">')[1].split("</p>")[0]
    assert "1:ModbusRTU, 3:SunSpec" in proto
    assert '<option value="60" selected>' in page.text  # the form shows what applies now

    # reset: a confirmed action; the gateway reboots
    r = client.post(
        f"/device/{gw}/gateway-settings/reset",
        data={"csrf": csrf, "confirm": "on"},
        follow_redirects=False,
    )
    assert "notice=" in r.headers["location"]
    answer(client, token, gateway, reporting)
    assert gateway.reboots == 1
    page = client.get(f"/device/{gw}/gateway-settings")
    assert 'id="reported-gateway_reset"' in page.text


def test_wrong_values_are_refused_with_the_field_and_nothing_is_queued(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids, _ = home(client, world, "GWX")
    gw = ids["GWX"]
    sign_in(client, world, "om@I1")
    csrf = csrf_of(client.get(f"/device/{gw}/gateway-settings").text)
    cases = [
        ("upload-interval", {"interval_s": "45"}, "interval_s must be one of 60, 300"),
        (
            "serial-forwarding",
            {
                "port": "1",
                "baud_rate": "14400",
                "parity": "none",
                "stop_bits": "1",
                "protocol_type": "ModbusRTU",
            },
            "baud_rate must be one of",
        ),
        (
            "serial-forwarding",
            {
                "port": "1",
                "baud_rate": "9600",
                "parity": "mark",
                "stop_bits": "1",
                "protocol_type": "ModbusRTU",
            },
            "parity must be one of none, even, odd",
        ),
        (
            "tcp-forwarding",
            {"port": "70000", "protocol": "ModbusTCP"},
            "port must be a whole number 1..65535",
        ),
        ("tcp-forwarding", {"port": "abc", "protocol": "ModbusTCP"}, "port must be a whole number"),
        (
            "protocol",
            {"address0": "248", "protocol0": "SunSpec"},
            "address must be a whole number 1..247",
        ),
        ("protocol", {"address0": "3", "protocol0": "Profibus"}, "protocol must be one of"),
        ("baud-rate", {"port_type": "USB", "baud_rate": "9600"}, "port_type must be one of"),
        ("reset", {}, "confirm the reset"),
    ]
    for section, form, words in cases:
        r = client.post(f"/device/{gw}/gateway-settings/{section}", data={"csrf": csrf, **form})
        assert r.status_code == 200 and words in r.text, (section, words, r.text[:300])
        assert 'id="settings-error"' in r.text
    # a setting meant for a gateway is not taken by its inverter
    r = client.post(
        f"/device/{ids['GWX-INV']}/gateway-settings/upload-interval",
        data={"csrf": csrf, "interval_s": "300"},
    )
    assert "does not take upload_interval" in r.text
    with runtime.db.session() as s:
        assert s.scalars(select(Command)).all() == []


def test_owners_look_but_do_not_send(client: TestClient, world: World, runtime: Runtime) -> None:
    ids, _ = home(client, world, "GWO")
    gw = ids["GWO"]
    sign_in(client, world, "om@I1")
    csrf = csrf_of(client.get(f"/device/{gw}/gateway-settings").text)
    sign_in(client, world, "owner@I1")
    page = client.get(f"/device/{gw}/gateway-settings")
    if page.status_code == 200:  # owners may see their gateway: read only
        assert 'id="settings-read-only"' in page.text
    r = client.post(
        f"/device/{gw}/gateway-settings/upload-interval",
        data={"csrf": csrf, "interval_s": "60"},
        follow_redirects=False,
    )
    assert r.status_code in (303, 403, 404)
    with runtime.db.session() as s:
        assert s.scalars(select(Command)).all() == []


def test_the_command_api_takes_gateway_settings_and_checks_them(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids, _ = home(client, world, "GWA")
    gw = ids["GWA"]
    url = f"/api/v1/devices/{gw}/commands"
    r = client.post(
        url,
        json={"kind": "upload_interval", "params": {"interval_s": 7}},
        headers=h(world, "om@I1"),
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "interval_s"
    r = client.post(
        url,
        json={"kind": "tcp_forwarding", "params": {"port": 502, "protocol": "ModbusTCP"}},
        headers=h(world, "om@I1"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["params"] == {"port": 502, "protocol": "ModbusTCP"}
    r = client.post(
        url,
        json={"kind": "gateway_reset", "params": {"confirm": True}},
        headers=h(world, "owner@I1"),
    )
    assert r.status_code in (403, 404)


def test_the_page_in_german(client: TestClient, world: World) -> None:
    ids, _ = home(client, world, "GWD")
    r = client.patch("/api/v1/me", json={"language": "de"}, headers=h(world, "om@I1"))
    assert r.status_code == 200, r.text
    sign_in(client, world, "om@I1")
    page = client.get(f"/device/{ids['GWD']}/gateway-settings")
    assert page.status_code == 200
    for words in ("Gateway-Einstellungen", "Upload-Intervall", "TCP-Weiterleitung", "Stoppbits"):
        assert words in page.text, words


def test_auto_detect_sends_a_scan_to_the_gateway(
    client: TestClient, world: World, runtime: Runtime, clock: ManualClock
) -> None:
    ids, token = home(client, world, "GWN")
    gw = ids["GWN"]
    sign_in(client, world, "om@I1")
    csrf = csrf_of(client.get(f"/device/{gw}/gateway-settings").text)
    r = client.post(
        f"/device/{gw}/gateway-settings/auto-detect", data={"csrf": csrf}, follow_redirects=False
    )
    assert "notice=" in r.headers["location"], r.headers["location"]
    assert 'id="pending-scan"' in client.get(f"/device/{gw}/gateway-settings").text
    clock.advance(timedelta(seconds=5))
    (cmd,) = poll(client, token)
    assert (cmd["kind"], cmd["params"]) == ("scan", {})
    r = reply(client, token, cmd["id"], {"status": "acknowledged", "details": {"found": 2}})
    assert r.status_code == 200, r.text
    page = client.get(f"/device/{gw}/gateway-settings")
    assert "found=2" in page.text.split('id="reported-scan">')[1].split("</p>")[0]
