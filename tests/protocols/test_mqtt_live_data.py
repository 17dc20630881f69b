"""The live-data switch means something (issue 19): enabling live data for a device asks the
gateway above it, through a ``live_data`` command over the real broker and bridge, to report
every 10 s; the simulated gateway obeys, its interval goes back to its own after the request runs
out, the platform renews the request while live data stays enabled, and switching it off brings
the gateway back at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from tests.protocols.test_mqtt_bridge import Env, env, run, running, until
from voltfleet.app.devices.live_switch import renew
from voltfleet.app.devices.service import refresh_live_data
from voltfleet.app.mqtt_adapter import MqttBridgeService
from voltfleet.protocols.mqtt.bridge import Bridge
from voltfleet.simulator.live_data import Reporting
from voltfleet.simulator.mqtt_gateway import MqttGateway
from voltfleet.store.command_models import Command
from voltfleet.store.fleet_models import Device

__all__ = ["env"]  # the broker fixture


def _refuse(command_id: str, body: Any) -> dict[str, Any]:
    return {"status": "failed", "message": "not expected in this test"}


def _live_commands(env: Env) -> list[tuple[str, dict[str, Any]]]:
    with env.runtime.db.session() as s:
        rows = s.scalars(
            select(Command).where(Command.kind == "live_data").order_by(Command.created_at)
        ).all()
        return [(c.state, dict(c.params)) for c in rows]


def test_the_switch_changes_the_simulated_gateways_interval_until_it_runs_out(env: Env) -> None:
    ids = env.site("GWLIVE1")
    with env.runtime.db.session() as s:  # a Wi-Fi dongle new enough for live data
        gw_row = s.get(Device, ids["GWLIVE1"])
        assert gw_row is not None
        gw_row.subtype, gw_row.fw_arm = "wifi", "V3.2.0"
        s.flush()
        refresh_live_data(s, gw_row.site_id)
    inv = ids["GWLIVE1-INV"]
    h = env.world.accounts["om@I1"].headers()
    t = [1000.0]  # the gateway's clock

    def switch(on: bool) -> None:
        r = env.client.patch(f"/api/v1/devices/{inv}", json={"live_data_enabled": on}, headers=h)
        assert r.status_code == 200, r.text

    async def scenario() -> None:
        bridge = Bridge(MqttBridgeService.of(env.runtime), env.bridge_config("bridge-live1"))
        async with running(bridge):
            gw = MqttGateway(
                "127.0.0.1",
                env.files.listen_port,
                "GWLIVE1",
                ids["token"],
                _refuse,
                backoff_min_s=0.1,
                backoff_max_s=0.5,
                reporting=Reporting(normal_s=300.0),
                clock=lambda: t[0],
            )
            gw.start()
            try:
                assert await gw.wait_connected(10)
                assert gw.interval_s() == 300.0
                await asyncio.to_thread(switch, True)
                await until(lambda: gw.interval_s() == 10.0, what="the live interval")
                await until(
                    lambda: [st for st, _ in _live_commands(env)] == ["acknowledged"],
                    what="the acknowledged request",
                )
                (_, params), *_ = _live_commands(env)
                assert params == {"enabled": True, "interval_s": 10, "duration_s": 900}

                t[0] += 899.0
                assert gw.interval_s() == 10.0
                t[0] += 2.0  # the request ran out: back to the gateway's own interval
                assert gw.interval_s() == 300.0

                # Still enabled: the renewal job asks again, and the gateway reports fast again.
                n = await asyncio.to_thread(renew, env.runtime.db, datetime.now(UTC))
                assert n == 1
                await until(lambda: gw.interval_s() == 10.0, what="the renewed live interval")

                # Switched off: back to its own interval at once, long before the request ends.
                await asyncio.to_thread(switch, False)
                await until(lambda: gw.interval_s() == 300.0, what="the normal interval")
                await until(
                    lambda: _live_commands(env)[-1] == ("acknowledged", {"enabled": False}),
                    what="the acknowledged stop",
                )
            finally:
                await gw.close()

    run(scenario())
