"""The gateway's own settings through the edge agent (issue 15): each setting is sent on the
platform's API, goes through a real Mosquitto to the agent (voltfleet/edge/gateway_commands.py),
which applies it to its running loop and its local configuration and acknowledges with the value
read back; the Gateway settings page shows what the gateway reported. The Modbus devices are the
simulated SunSpec home on a real pymodbus server. A safe restart and a reset restart the agent's
loop without a reading lost or doubled; the settings outlive the agent's process."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.app.test_money_pages import sign_in
from tests.edge.test_edge_agent import agent_config, agent_running, devices, quarantined, run_value
from tests.protocols.test_mqtt_bridge import Env, env, running, until
from voltfleet.app.mqtt_adapter import MqttBridgeService
from voltfleet.edge.agent import EdgeAgent
from voltfleet.protocols.mqtt.bridge import Bridge
from voltfleet.simulator.fleet import make_homes
from voltfleet.simulator.sunspec_bus import SunSpecBus

__all__ = ["env"]

SERIAL_FORWARDING = {
    "port": 1,
    "baud_rate": 19200,
    "parity": "even",
    "stop_bits": 1,
    "protocol_type": "ModbusRTU",
    "restart": False,
}
TCP_FORWARDING = {"port": 5020, "protocol": "ModbusTCP"}
BAUD_RATE = {"port_type": "RS485", "baud_rate": 38400, "restart": True}
PROTOCOL = {
    "devices": [{"address": 3, "protocol": "SunSpec"}, {"address": 9, "protocol": "DLT645-2007"}]
}


def test_gateway_settings_round_trip_through_the_agent(env: Env, tmp_path: Path) -> None:
    ids = env.site("GWS1")
    bus = SunSpecBus(make_homes(1, seed=7), "SIMS")
    inv, bat, meter = bus.serials
    h = env.world.accounts["admin@I1"].headers()

    def stored() -> int:
        found = devices(env, "GWS1")
        return sum(env.count(found[s].id) for s in bus.serials if s in found)

    def send(kind: str, params: dict[str, Any]) -> str:
        r = env.client.post(
            f"/api/v1/devices/{ids['GWS1']}/commands",
            json={"kind": kind, "params": params},
            headers=h,
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def state(cid: str) -> dict[str, Any]:
        r = env.client.get(f"/api/v1/commands/{cid}", headers=h)
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def order(kind: str, params: dict[str, Any]) -> dict[str, Any]:
        cid = await asyncio.to_thread(send, kind, params)
        deadline = asyncio.get_running_loop().time() + 20
        while True:
            got = await asyncio.to_thread(state, cid)
            if got["state"] in ("acknowledged", "failed"):
                return got
            assert asyncio.get_running_loop().time() < deadline, f"{kind} still {got['state']}"
            await asyncio.sleep(0.1)

    async def settled(agent: EdgeAgent) -> tuple[int, int, int]:
        """Readings put, sent and stored once the outbox is empty (no poll due meanwhile)."""
        await until(lambda: agent.outbox.pending() == 0, what="the outbox drained")
        put = agent.outbox.tally()["put"]
        await until(lambda: stored() >= put, what="every reading stored")
        await asyncio.sleep(0.3)  # a reading stored twice would show now
        return put, agent.outbox.tally()["sent"], stored()

    async def scenario() -> dict[str, Any]:
        await bus.server.start()
        bus.advance(datetime.now(UTC))
        config = replace(env.bridge_config("bridge-gwsettings"), command_poll_s=0.1)
        bridge = Bridge(MqttBridgeService.of(env.runtime), config)
        out: dict[str, Any] = {}
        try:
            async with running(bridge):
                cfg = agent_config(env, "GWS1", ids["token"], bus.port, tmp_path / "o.db")
                cfg = replace(cfg, unit_ids=(1, 2))  # the meter (unit 3) is not configured
                agent = EdgeAgent(cfg, now=lambda: datetime.now(UTC))
                async with agent_running(agent):
                    await until(lambda: stored() >= 20, what="readings flowing")
                    out["before_meter"] = meter in devices(env, "GWS1")
                    out["upload"] = await order(
                        "upload_interval", {"interval_s": 60, "safe_restart": True}
                    )
                    out["poll_s"] = agent.poll_s
                    await until(lambda: agent.restarts == 1, what="the safe restart")
                    out["after_upload"] = await settled(agent)
                    out["protocol"] = await order("gateway_protocol", PROTOCOL)
                    await until(lambda: meter in devices(env, "GWS1"), what="the meter added")
                    out["serial"] = await order("serial_forwarding", SERIAL_FORWARDING)
                    out["tcp"] = await order("tcp_forwarding", TCP_FORWARDING)
                    out["baud"] = await order("gateway_baud_rate", BAUD_RATE)
                    await until(lambda: agent.restarts == 2, what="the baud rate's restart")
                    out["reset"] = await order("gateway_reset", {"confirm": True})
                    await until(lambda: agent.restarts == 3, what="the reset")
                    out["found_after_reset"] = sorted(agent.devices())
                    out["end"] = await settled(agent)
                    # a gateway never trusts its link: a bad value sent past the platform
                    bad = {"id": "bad1", "kind": "upload_interval", "device": "GWS1"}
                    out["bad"] = await bridge.send_command(
                        "GWS1", "bad1", {**bad, "params": {"interval_s": 7}}, timeout_s=15
                    )
                    out["poll_s_after_bad"] = agent.poll_s
        finally:
            await bus.server.stop()
        again = EdgeAgent(cfg, now=lambda: datetime.now(UTC))  # the agent's process restarted
        try:
            out["kept"] = (again.poll_s, again.unit_ids())
        finally:
            again.outbox.close()
            for link in again.pollers:
                link.close()
        return out

    out = run_value(scenario(), timeout_s=120)
    upload = out["upload"]
    assert upload["state"] == "acknowledged", upload
    assert upload["result"]["applied"] == {"interval_s": 60, "safe_restart": True}
    assert upload["result"]["poll_s"] == 60.0 and out["poll_s"] == 60.0
    put, sent, total = out["after_upload"]
    assert total == put and sent == put  # the restart lost no reading and doubled none
    assert out["before_meter"] is False
    protocol = out["protocol"]
    assert protocol["state"] == "acknowledged", protocol
    assert protocol["result"]["applied"] == PROTOCOL and protocol["result"]["found"] == 1
    assert "kept but not read at [9]" in protocol["message"]
    for key, sent_params in (
        ("serial", SERIAL_FORWARDING),
        ("tcp", TCP_FORWARDING),
        ("baud", BAUD_RATE),
    ):
        assert out[key]["state"] == "acknowledged", out[key]
        assert out[key]["result"]["applied"] == sent_params
    assert "restarts" in out["baud"]["message"]
    reset = out["reset"]
    assert reset["state"] == "acknowledged", reset
    assert reset["result"]["applied"] == {"confirm": True}
    assert out["found_after_reset"] == sorted([inv, bat, meter])  # the SunSpec address kept
    put, sent, total = out["end"]
    assert total == put and sent == put
    assert quarantined(env) == 0
    assert out["bad"]["status"] == "failed"
    assert "interval_s must be one of 60, 300, 600, 900" in out["bad"]["message"]
    assert out["poll_s_after_bad"] == 60.0
    assert out["kept"] == (60.0, (1, 2, 3))
    # the Gateway settings page shows what the gateway reported
    sign_in(env.client, env.world, "admin@I1")
    page = env.client.get(f"/device/{ids['GWS1']}/gateway-settings")
    assert page.status_code == 200
    assert "5020" in page.text and "38400" in page.text
