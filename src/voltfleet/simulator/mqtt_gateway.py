"""A simulated home's gateway on MQTT: the platform's topics (protocols/mqtt/topics.py), with the
gateway's own credential, used the way a real gateway uses them.

Identity. The gateway logs in with its serial number as username and its gateway token as
password (what ``POST /api/v1/devices/{id}/token`` issued; the platform writes it to the broker's
password file), with its serial as client id and a persistent session (``clean_session=False``):
commands published while it is away wait in the broker. Its last will is a retained ``offline``
on its status topic. Once connected it subscribes to its commands and publishes a retained
``online``; closing cleanly, it publishes ``offline`` itself (a clean DISCONNECT fires no will).

Telemetry. A batch goes as one QoS 1 message on the telemetry topic, the body of
``POST /api/v1/ingest`` (``{"readings": [...]}``), and its alarm events as one on the alarms
topic (``{"alarms": [...]}``). A message counts as delivered only once the broker has
acknowledged it (PUBACK). One that fails, or whose PUBACK does not come (connection lost, broker
gone), is published again once the link is back, for up to ``deliver_timeout_s``; the platform
stores each reading once, so a message that arrives twice is stored once.

Live data. A ``live_data`` command changes the interval the gateway reports at
(``interval_s()``: 10 s while the request runs, its own interval after; simulator/live_data.py).

Commands. A command (``cmd/<id>``) is handed to ``on_command`` (id and body in, the reply out;
it applies the command to the home), the reply is published on ``cmd/<id>/reply`` (QoS 1, its
details beside ``status`` and ``message``), and
only then is the command acknowledged to the broker: a command whose reply did not go out comes
again after a reconnect, and ``on_command`` recognises it by its id.

The link reconnects with jittered exponential backoff (``backoff_min_s`` .. ``backoff_max_s``),
logging a failure once and the recovery once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import aiomqtt

from voltfleet.protocols.mqtt import topics
from voltfleet.protocols.mqtt.gateway_client import announce, gateway_client
from voltfleet.protocols.mqtt.topics import Channel
from voltfleet.simulator.client import Stats
from voltfleet.simulator.firmware import Installer
from voltfleet.simulator.gateway_settings import KINDS as GATEWAY_SETTING_KINDS
from voltfleet.simulator.gateway_settings import GatewaySettings
from voltfleet.simulator.live_data import Reporting

log = logging.getLogger(__name__)

Transport = Literal["http", "mqtt"]
TRANSPORTS: tuple[Transport, ...] = ("http", "mqtt")

# (command id, command body: parsed JSON, None when unreadable) -> the reply, as HTTP takes it:
# {"status": "acknowledged" | "failed", "message": "...", "details": {...}}
CommandHandler = Callable[[str, Any], dict[str, Any]]


def wire_reply(reply: dict[str, Any]) -> dict[str, Any]:
    """A reply as MQTT carries it: its details are keys beside ``status`` and ``message``
    (domain.commands.parse_reply), where HTTP's ``POST .../reply`` has a ``details`` object."""
    details = reply.get("details")
    flat = {k: v for k, v in reply.items() if k != "details"}
    return {**details, **flat} if isinstance(details, dict) else flat


def broker_address(url: str) -> tuple[str, int]:
    """``mqtt://host:port`` (or ``tcp://``; port 1883 when omitted) -> (host, port)."""
    parts = urlsplit(url)
    try:
        port = 1883 if parts.port is None else parts.port
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise ValueError(f"MQTT URL {url!r}: the port must be a number 1..65535")
    if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
        raise ValueError(f"MQTT URL {url!r}: expected mqtt://host:port")
    if parts.path not in ("", "/") or parts.query or parts.username or parts.password:
        raise ValueError(
            f"MQTT URL {url!r}: only mqtt://host:port (each gateway logs in with its own token)"
        )
    return parts.hostname, port


@dataclass
class LinkStats:
    """One gateway's MQTT link."""

    connects: int = 0  # sessions opened (the first, and each reconnect)
    resends: int = 0  # messages published again after a failure or a PUBACK that did not come
    commands: int = 0  # command messages received (a command sent again counts again)


class MqttGateway:
    """Start with ``start()`` inside a running event loop; ``send`` batches; ``close()`` at the
    end."""

    def __init__(
        self,
        host: str,
        port: int,
        serial: str,
        password: str,
        on_command: CommandHandler,
        *,
        stats: Stats | None = None,
        keepalive_s: int = 30,
        backoff_min_s: float = 0.2,
        backoff_max_s: float = 10.0,
        publish_timeout_s: float = 15.0,
        deliver_timeout_s: float = 120.0,
        stop: threading.Event | None = None,
        firmware: Installer | None = None,
        reporting: Reporting | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not topics.valid_level(serial):
            raise ValueError(f"gateway serial {serial!r} cannot be an MQTT topic level")
        self.host = host
        self.port = port
        self.serial = serial
        self.password = password
        self.on_command = on_command
        self.stats = stats if stats is not None else Stats()  # shared by a fleet's gateways
        self.link = LinkStats()
        self.keepalive_s = keepalive_s
        self.backoff_min_s = backoff_min_s
        self.backoff_max_s = backoff_max_s
        self.publish_timeout_s = publish_timeout_s
        self.deliver_timeout_s = deliver_timeout_s
        self.stop = stop  # once set, a message is not published again (the run is ending)
        self.firmware = firmware  # firmware_update commands; None: refused
        # its reporting interval, which live_data commands change (simulator/live_data.py)
        self.reporting = reporting if reporting is not None else Reporting()
        self.clock = clock  # the gateway's own clock (seconds), for a live-data request's end
        self.settings = GatewaySettings()  # its own settings (simulator/gateway_settings.py)
        self._reboot = False  # a reset was acknowledged: reconnect once it is acknowledged
        self.reboots = 0
        self._installs: set[asyncio.Task[bool]] = set()
        self.connected = asyncio.Event()
        self.last_error: str | None = None  # why the last connection attempt failed or dropped
        self._client: aiomqtt.Client | None = None
        self._lost: asyncio.Future[None] | None = None  # done when the current session ends
        self._task: asyncio.Task[None] | None = None
        self._failing = False

    # ---- the link ------------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"mqtt-{self.serial}")

    async def wait_connected(self, timeout_s: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.connected.wait(), timeout_s)
        return self.connected.is_set()

    async def close(self) -> None:
        """Publish ``offline`` (retained) and disconnect cleanly, so no last will fires."""
        task, self._task = self._task, None
        if task is None:
            return
        client = self._client
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError):
                await client.publish(
                    topics.status(self.serial), topics.OFFLINE, qos=1, retain=True, timeout=5
                )
        task.cancel()  # leaving ``async with client`` sends DISCONNECT
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _run(self) -> None:
        backoff = self.backoff_min_s
        loop = asyncio.get_running_loop()
        while True:
            client = gateway_client(
                self.host,
                self.port,
                self.serial,
                self.password,
                keepalive_s=self.keepalive_s,
                timeout_s=self.publish_timeout_s,
            )
            lost: asyncio.Future[None] = loop.create_future()
            try:
                async with client:
                    await announce(client, self.serial)
                    self._client, self._lost = client, lost
                    self.link.connects += 1
                    backoff = self.backoff_min_s
                    self._recovered()
                    self.connected.set()
                    commands: asyncio.Queue[aiomqtt.Message] = asyncio.Queue()
                    worker = asyncio.create_task(self._commands(client, commands))
                    try:
                        # Receiving stays apart from answering, so a lost connection is noticed
                        # (MqttError) even while a reply waits for its PUBACK.
                        async for m in client.messages:
                            commands.put_nowait(m)
                    finally:
                        worker.cancel()
                        with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                            await worker
            except aiomqtt.MqttError as exc:
                self._failed(exc)
            finally:
                self._client = None
                self.connected.clear()
                if not lost.done():
                    lost.set_result(None)
            await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
            backoff = min(backoff * 2, self.backoff_max_s)

    def _failed(self, exc: BaseException) -> None:
        self.last_error = str(exc).strip() or repr(exc)
        if not self._failing:
            self._failing = True
            log.warning(
                "gateway %s: MQTT link to %s:%s failed (%s); reconnecting with backoff",
                self.serial,
                self.host,
                self.port,
                self.last_error,
            )

    def _recovered(self) -> None:
        if self._failing:
            self._failing = False
            log.warning("gateway %s: MQTT link recovered", self.serial)

    def _stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    # ---- commands ------------------------------------------------------------------------------

    async def _commands(
        self, client: aiomqtt.Client, received: asyncio.Queue[aiomqtt.Message]
    ) -> None:
        """Apply each command in turn and publish its reply, then acknowledge the command (in
        the order received); a command not acknowledged when the connection ends comes again."""
        while True:
            m = await received.get()
            t = topics.parse(m.topic.value)
            if t is not None and t.channel is Channel.COMMAND and t.command_id is not None:
                self.link.commands += 1
                raw = m.payload if isinstance(m.payload, bytes) else str(m.payload).encode()
                try:
                    body: Any = json.loads(raw)
                except (ValueError, UnicodeDecodeError):
                    body = None
                reply = json.dumps(wire_reply(self._answer(t.command_id, body)))
                while True:  # until acknowledged; a lost connection cancels this task
                    try:
                        await client.publish(topics.reply(self.serial, t.command_id), reply, qos=1)
                        break
                    except aiomqtt.MqttError as exc:
                        self.last_error = str(exc) or repr(exc)
                        self.link.resends += 1
                        await asyncio.sleep(self.backoff_min_s)
            else:
                log.warning("gateway %s: ignored a message on %s", self.serial, m.topic.value)
            if m.qos > 0:
                client._client.ack(m.mid, m.qos)
            if self._reboot:  # a gateway_reset answered: drop the session, connect again
                self._reboot = False
                self.reboots += 1
                client._client.disconnect()

    def interval_s(self) -> float:
        """The interval this gateway reports at now (10 s while a live-data request runs)."""
        return self.reporting.interval_s(self.clock())

    def _answer(self, command_id: str, body: Any) -> dict[str, Any]:
        if isinstance(body, dict) and body.get("kind") == "firmware_update":
            return self._firmware(body)
        if isinstance(body, dict) and body.get("kind") == "live_data":
            return self.reporting.apply(body.get("params"), self.clock())
        if isinstance(body, dict) and body.get("kind") in GATEWAY_SETTING_KINDS:
            reply = self.settings.apply(body, self.reporting)
            self._reboot = body["kind"] == "gateway_reset" and reply["status"] == "acknowledged"
            return reply
        try:
            return self.on_command(command_id, body)
        except Exception:  # the command fails; the link and the other commands go on
            log.exception("gateway %s: command %s could not be applied", self.serial, command_id)
            return {"status": "failed", "message": "the gateway could not apply the command"}

    def _firmware(self, body: dict[str, Any]) -> dict[str, Any]:
        """Accept the update and install in the background; progress goes on the firmware
        channel (simulator/firmware.py)."""
        why = "this gateway takes no firmware updates" if self.firmware is None else None
        why = why or (self.firmware.check(body) if self.firmware else None)
        if why or self.firmware is None:
            return {"status": "failed", "message": why or "no installer"}
        task = asyncio.create_task(self.firmware.run(body, self.report_firmware))
        self._installs.add(task)
        task.add_done_callback(self._installs.discard)
        return {"status": "acknowledged", "message": "update accepted: progress follows"}

    async def report_firmware(self, report: dict[str, Any]) -> bool:
        """One firmware progress report (QoS 1), True once the broker acknowledged it."""
        deadline = time.monotonic() + self.deliver_timeout_s
        return await self._deliver(
            topics.firmware(self.serial), json.dumps(report).encode(), deadline
        )

    # ---- telemetry -----------------------------------------------------------------------------

    async def send(
        self, readings: list[dict[str, Any]], alarms: list[dict[str, Any]] | None = None
    ) -> bool:
        """Publish one batch (readings, then alarm events when given); True once the broker has
        acknowledged all of it."""
        if not readings and not alarms:
            return True
        self.stats.batches += 1
        self.stats.sent += len(readings)
        self.stats.alarm_events += len(alarms or [])
        deadline = time.monotonic() + self.deliver_timeout_s
        if readings:
            body = json.dumps({"readings": readings}).encode()
            if not await self._deliver(topics.telemetry(self.serial), body, deadline):
                self._lost_batch(len(readings), "readings")
                return False
            self.stats.delivered += len(readings)
        if alarms:
            body = json.dumps({"alarms": alarms}).encode()
            if not await self._deliver(topics.alarms(self.serial), body, deadline):
                self._lost_batch(0, "alarm events")
                return False
        return True

    def _lost_batch(self, readings: int, what: str) -> None:
        self.stats.failed_batches += 1
        self.stats.failed_readings += readings
        if not self._stopping():
            log.warning(
                "gateway %s: %s not delivered within %.0f s (%s)",
                self.serial,
                what,
                self.deliver_timeout_s,
                self.last_error or "no PUBACK",
            )

    async def _deliver(self, topic: str, payload: bytes, deadline: float) -> bool:
        """Publish at QoS 1 until the broker acknowledges it (True), or give up at ``deadline``
        or on stop (False)."""
        attempts = 0
        while True:
            client, lost = self._client, self._lost
            if client is None or lost is None or lost.done():
                if not await self._wait_link(deadline):
                    return False
                continue
            if attempts:
                self.link.resends += 1
                self.stats.retries += 1
            attempts += 1
            publish = asyncio.ensure_future(
                client.publish(topic, payload, qos=1, timeout=self.publish_timeout_s)
            )
            try:
                await asyncio.wait({publish, lost}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                if not publish.done():
                    publish.cancel()
                with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                    await publish
            if not publish.cancelled() and publish.exception() is None:
                return True
            if self._stopping() or time.monotonic() >= deadline:
                return False
            if not lost.done():  # a publish refused or not acknowledged on a live connection
                await asyncio.sleep(self.backoff_min_s)

    async def _wait_link(self, deadline: float) -> bool:
        """Wait until the link is up again; False at ``deadline`` or on stop."""
        while not self.connected.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or self._stopping():
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.connected.wait(), min(left, 0.5))
        return True
