"""The edge agent's MQTT link: the platform's topics (protocols/mqtt/topics.py) with the gateway's
own credential (username = its serial, password = its gateway token).

Session. Client id = the serial, ``clean_session=False`` (commands published while the agent is
away wait in the broker), last will a retained ``offline`` on the status topic, a retained
``online`` once connected. Reconnects with jittered exponential backoff, logging the failure once
and the recovery once.

Telemetry. The outbox (edge/outbox.py) is drained in order, up to ``batch_readings`` readings a
message, QoS 1; rows leave the outbox only once the broker's PUBACK came. A connection lost
before that sends them again on the next connection (the platform stores a reading once).

Commands. ``cmd/<id>`` goes to the agent's handler; the reply ``{"status", "message",
"details"}`` goes out on ``cmd/<id>/reply`` (QoS 1) and only then is the command acknowledged to
the broker, so a command whose reply did not go out comes again; the handler answers a command id
it already applied with the reply it gave (never applied twice).

Inventory. The latest inventory (``{"devices": [...]}``) is published on ``inventory`` (QoS 1)
once connected and whenever it changes, until a PUBACK came.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

import aiomqtt

from voltfleet.edge.outbox import Outbox
from voltfleet.protocols.mqtt import topics
from voltfleet.protocols.mqtt.bridge import parse_url
from voltfleet.protocols.mqtt.gateway_client import announce, gateway_client
from voltfleet.protocols.mqtt.topics import Channel

log = logging.getLogger(__name__)

CommandHandler = Callable[[str, Any], Awaitable[dict[str, Any]]]


class MqttLink:
    def __init__(
        self,
        url: str,
        serial: str,
        token: str,
        outbox: Outbox,
        on_command: CommandHandler,
        *,
        batch_readings: int = 2000,
        keepalive_s: int = 30,
        backoff_min_s: float = 0.2,
        backoff_max_s: float = 10.0,
        publish_timeout_s: float = 15.0,
    ) -> None:
        self.host, self.port = parse_url(url)
        self.serial = serial
        self.token = token
        self.outbox = outbox
        self.on_command = on_command
        self.batch_readings = batch_readings
        self.keepalive_s = keepalive_s
        self.backoff_min_s = backoff_min_s
        self.backoff_max_s = backoff_max_s
        self.publish_timeout_s = publish_timeout_s
        self.connected = asyncio.Event()
        self.connects = 0
        self.messages = 0  # telemetry messages acknowledged
        self._wake = asyncio.Event()
        self._inventory: bytes | None = None
        self._inventory_sent = asyncio.Event()
        self._failing = False

    def wake(self) -> None:
        """New rows in the outbox."""
        self._wake.set()

    def inventory(self, body: dict[str, Any]) -> None:
        self._inventory = json.dumps(body).encode()
        self._inventory_sent.clear()
        self._wake.set()

    async def run(self) -> None:
        backoff = self.backoff_min_s
        loop = asyncio.get_running_loop()
        while True:
            client = gateway_client(
                self.host,
                self.port,
                self.serial,
                self.token,
                keepalive_s=self.keepalive_s,
                timeout_s=self.publish_timeout_s,
            )
            lost: asyncio.Future[None] = loop.create_future()
            try:
                async with client:
                    await announce(client, self.serial)
                    self.connects += 1
                    backoff = self.backoff_min_s
                    if self._failing:
                        self._failing = False
                        log.warning("edge %s: MQTT link recovered", self.serial)
                    self.connected.set()
                    tasks = [
                        asyncio.create_task(self._drain(client, lost)),
                        asyncio.create_task(self._receive(client)),
                    ]
                    try:
                        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
                        for t in done:
                            t.result()
                    finally:
                        for t in tasks:
                            t.cancel()
                        for t in tasks:
                            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                                await t
            except aiomqtt.MqttError as exc:
                if not self._failing:
                    self._failing = True
                    log.warning(
                        "edge %s: MQTT link to %s:%s failed (%s); reconnecting with backoff",
                        self.serial,
                        self.host,
                        self.port,
                        str(exc) or repr(exc),
                    )
            finally:
                self.connected.clear()
                if not lost.done():
                    lost.set_result(None)
            await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
            backoff = min(backoff * 2, self.backoff_max_s)

    async def _publish(self, client: aiomqtt.Client, topic: str, payload: bytes) -> None:
        """QoS 1; returns once the broker's PUBACK came, raises MqttError otherwise."""
        await client.publish(topic, payload, qos=1, timeout=self.publish_timeout_s)

    async def _drain(self, client: aiomqtt.Client, lost: asyncio.Future[None]) -> None:
        topic = topics.telemetry(self.serial)
        while True:
            if self._inventory is not None and not self._inventory_sent.is_set():
                body = self._inventory
                await self._publish(client, topics.inventory(self.serial), body)
                if body is self._inventory:
                    self._inventory_sent.set()
            seqs, readings, n = await asyncio.to_thread(self.outbox.peek, self.batch_readings)
            if not seqs:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), 1.0)
                continue
            await self._publish(client, topic, b'{"readings":' + readings.encode() + b"}")
            await asyncio.to_thread(self.outbox.done, seqs, n)
            self.messages += 1

    async def _receive(self, client: aiomqtt.Client) -> None:
        async for m in client.messages:
            t = topics.parse(m.topic.value)
            if t is not None and t.channel is Channel.COMMAND and t.command_id is not None:
                raw = m.payload if isinstance(m.payload, bytes) else str(m.payload).encode()
                try:
                    body: Any = json.loads(raw)
                except (ValueError, UnicodeDecodeError, RecursionError):
                    body = None
                reply = await self.on_command(t.command_id, body)
                await self._publish(
                    client, topics.reply(self.serial, t.command_id), json.dumps(reply).encode()
                )
            else:
                log.warning("edge %s: ignored a message on %s", self.serial, m.topic.value)
            if m.qos > 0:
                client._client.ack(m.mid, m.qos)
