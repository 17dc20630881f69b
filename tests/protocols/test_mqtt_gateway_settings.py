"""Gateway settings over the real broker (issue 15): an upload interval and a reset sent through
the command API reach the simulated MQTT gateway through the bridge; it acknowledges with the
values applied, reports at the new interval, and a reset reboots it (it reconnects)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from tests.protocols.test_mqtt_bridge import Env, env, run, running, until
from voltfleet.app.mqtt_adapter import MqttBridgeService
from voltfleet.protocols.mqtt.bridge import Bridge
from voltfleet.simulator.mqtt_gateway import MqttGateway
from voltfleet.store.command_models import Command

__all__ = ["env"]  # the broker fixture


def _refuse(command_id: str, body: Any) -> dict[str, Any]:
    return {"status": "failed", "message": "not expected in this test"}


def _states(env: Env) -> list[tuple[str, str, Any]]:
    with env.runtime.db.session() as s:
        rows = s.scalars(select(Command).order_by(Command.created_at)).all()
        return [(c.kind, c.state, c.result) for c in rows]


def test_the_simulated_gateway_applies_settings_and_reboots(env: Env) -> None:
    ids = env.site("GWSET1")
    h = env.world.accounts["om@I1"].headers()

    def send(kind: str, params: dict[str, Any]) -> None:
        r = env.client.post(
            f"/api/v1/devices/{ids['GWSET1']}/commands",
            json={"kind": kind, "params": params},
            headers=h,
        )
        assert r.status_code == 201, r.text

    async def scenario() -> None:
        bridge = Bridge(MqttBridgeService.of(env.runtime), env.bridge_config("bridge-gws1"))
        async with running(bridge):
            gw = MqttGateway(
                "127.0.0.1",
                env.files.listen_port,
                "GWSET1",
                ids["token"],
                _refuse,
                backoff_min_s=0.1,
                backoff_max_s=0.5,
            )
            gw.start()
            try:
                assert await gw.wait_connected(10)
                await asyncio.to_thread(send, "upload_interval", {"interval_s": 60})
                await until(lambda: gw.interval_s() == 60.0, what="the new upload interval")
                await until(
                    lambda: [st for _, st, _ in _states(env)] == ["acknowledged"],
                    what="the acknowledged setting",
                )
                (_, _, result), *_ = _states(env)
                assert result["applied"] == {"interval_s": 60, "safe_restart": False}
                assert gw.link.connects == 1
                await asyncio.to_thread(send, "gateway_reset", {"confirm": True})
                await until(lambda: gw.link.connects == 2, what="the reconnect after the reset")
                await until(
                    lambda: [st for _, st, _ in _states(env)] == ["acknowledged"] * 2,
                    what="the acknowledged reset",
                )
                assert gw.reboots == 1 and gw.interval_s() == 60.0
            finally:
                await gw.close()

    run(scenario())
