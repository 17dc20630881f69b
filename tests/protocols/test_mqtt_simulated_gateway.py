"""The simulator's gateway link (simulator/mqtt_gateway.py) against a real Mosquitto and the
bridge: a batch published while the broker is away waits, goes out once it is back and is stored
once; one whose PUBACK never came is sent again and stored once; a command sent while the
gateway is away waits in its persistent session and is answered when it comes back; a wrong token
never gets a session. Every wait is bounded."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from tests.protocols.test_mqtt_bridge import NOW, Env, env, reading, run, running, until
from voltfleet.app.mqtt_adapter import MqttBridgeService
from voltfleet.protocols.mqtt.bridge import Bridge
from voltfleet.simulator.mqtt_gateway import MqttGateway
from voltfleet.store.alarm_models import Alarm

__all__ = ["env"]  # the broker fixture


def _refuse(command_id: str, body: Any) -> dict[str, Any]:
    return {"status": "failed", "message": "not expected in this test"}


def _gateway(
    env: Env, serial: str, token: str, on_command: Any = _refuse, port: int | None = None
) -> MqttGateway:
    return MqttGateway(
        "127.0.0.1",
        port or env.files.listen_port,
        serial,
        token,
        on_command,
        backoff_min_s=0.1,
        backoff_max_s=0.5,
        deliver_timeout_s=30.0,
    )


def test_a_batch_sent_while_the_broker_is_away_goes_out_when_it_is_back(env: Env) -> None:
    ids = env.site("GWSIM1")
    inv = ids["GWSIM1-INV"]
    raise_ = {
        "device": "GWSIM1-INV",
        "code": "INV_GRID_LOST",
        "action": "raise",
        "ts": (NOW + timedelta(seconds=15)).isoformat(),
    }

    async def scenario() -> None:
        bridge = Bridge(MqttBridgeService.of(env.runtime), env.bridge_config("bridge-sim1"))
        async with running(bridge):
            gw = _gateway(env, "GWSIM1", ids["token"])
            gw.start()
            try:
                assert await gw.wait_connected(10)
                assert await gw.send([reading("GWSIM1-INV", i) for i in range(10)])
                await until(lambda: env.count(inv) == 10, what="the first batch")

                await asyncio.to_thread(env.server.stop)
                batch = [reading("GWSIM1-INV", 10 + i) for i in range(10)]
                sending = asyncio.create_task(gw.send(batch, [raise_]))
                await asyncio.sleep(1.0)  # a few reconnects fail meanwhile
                assert not sending.done()  # nothing counts as delivered without a PUBACK
                await asyncio.to_thread(env.server.start)
                assert await asyncio.wait_for(sending, 20)
                await until(lambda: env.count(inv) == 20, what="the batch after the restart")
                await until(lambda: bool(alarms(env)), what="the alarm after the restart")
            finally:
                await gw.close()
            assert gw.link.connects == 2
            assert gw.stats.delivered == gw.stats.sent == 20 and gw.stats.alarm_events == 1
            assert gw.stats.failed_batches == 0

    run(scenario())
    assert [(a.code, a.device_id) for a in alarms(env)] == [("INV_GRID_LOST", inv)]


class Proxy:
    """A TCP proxy on loopback in front of the broker that can swallow what the broker sends
    (its PUBACKs) and then cut the connections, as a network that fails mid-conversation."""

    def __init__(self, broker_port: int) -> None:
        self.broker_port = broker_port
        self.mute = False  # drop what the broker sends
        self.port = 0
        self._server: asyncio.Server | None = None
        self._connections: list[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        broker_r, broker_w = await asyncio.open_connection("127.0.0.1", self.broker_port)
        self._connections.append((client_w, broker_w))

        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter, down: bool) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await r.read(65536):
                    if not (down and self.mute):
                        w.write(data)
                        await w.drain()
            w.close()

        await asyncio.gather(pipe(client_r, broker_w, False), pipe(broker_r, client_w, True))

    def cut(self) -> None:
        """Reset every connection; new ones are forwarded both ways again."""
        for client_w, broker_w in self._connections:
            client_w.transport.abort()
            broker_w.transport.abort()
        self._connections.clear()
        self.mute = False

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


def test_a_batch_whose_puback_never_came_is_sent_again_and_stored_once(env: Env) -> None:
    ids = env.site("GWSIM4")
    inv = ids["GWSIM4-INV"]

    async def scenario() -> None:
        bridge = Bridge(MqttBridgeService.of(env.runtime), env.bridge_config("bridge-sim4"))
        proxy = Proxy(env.files.listen_port)
        await proxy.start()
        async with running(bridge):
            gw = _gateway(env, "GWSIM4", ids["token"], port=proxy.port)
            gw.start()
            try:
                assert await gw.wait_connected(10)
                proxy.mute = True  # the broker gets the batch; its PUBACK never arrives
                sending = asyncio.create_task(
                    gw.send([reading("GWSIM4-INV", i) for i in range(10)])
                )
                await until(lambda: env.count(inv) == 10, what="the first copy stored")
                await asyncio.sleep(0.3)
                assert not sending.done()  # not delivered as far as the gateway knows
                proxy.cut()
                assert await asyncio.wait_for(sending, 20)
                await until(lambda: bridge.stats.readings >= 20, what="the second copy")
            finally:
                await gw.close()
                await proxy.close()
            assert gw.link.resends == 1 and gw.link.connects == 2
            assert gw.stats.delivered == 10 and gw.stats.failed_batches == 0

    run(scenario())
    assert env.count(inv) == 10  # two copies, stored once


def alarms(env: Env) -> list[Alarm]:
    with env.runtime.db.session() as s:
        return list(s.scalars(select(Alarm)))


def test_a_command_sent_while_the_gateway_is_away_is_answered_when_it_returns(env: Env) -> None:
    ids = env.site("GWSIM2")
    seen: list[tuple[str, Any]] = []

    def apply(command_id: str, body: Any) -> dict[str, Any]:
        seen.append((command_id, body))
        return {"status": "acknowledged", "message": "idle", "details": {"mode": "idle"}}

    async def scenario() -> None:
        bridge = Bridge(MqttBridgeService.of(env.runtime), env.bridge_config("bridge-sim2"))
        async with running(bridge):
            gw = _gateway(env, "GWSIM2", ids["token"], apply)
            gw.start()
            assert await gw.wait_connected(10)
            await gw.close()  # its session (and subscription) stays with the broker

            body = {"id": "c1", "kind": "battery_mode", "params": {"mode": "idle"}}
            answer = asyncio.create_task(bridge.send_command("GWSIM2", "c1", body, timeout_s=15))
            await asyncio.sleep(0.5)
            assert not answer.done() and seen == []
            gw = _gateway(env, "GWSIM2", ids["token"], apply)
            gw.start()
            try:
                reply = await asyncio.wait_for(answer, 15)
            finally:
                await gw.close()
            assert reply == {"status": "acknowledged", "message": "idle", "mode": "idle"}
            assert seen == [("c1", body)] and gw.link.commands == 1

    run(scenario())


def test_a_gateway_with_a_wrong_token_gets_no_session(env: Env) -> None:
    env.site("GWSIM3")

    async def scenario() -> None:
        gw = _gateway(env, "GWSIM3", "vfg_not-the-token")
        gw.start()
        try:
            assert not await gw.wait_connected(1.0)
        finally:
            await gw.close()
        assert gw.link.connects == 0
        assert gw.last_error is not None and "authori" in gw.last_error.lower()

    run(scenario())
