"""The MQTT bridge: gateways' messages from the broker to the platform's use cases.

A wire engine: it knows topics, payloads and the broker's delivery rules, and no database. What a
message does is asked of a ``BridgeService`` it is given (implemented by app/mqtt_adapter.py on
the database, wired by the CLI): ingest a gateway's telemetry, apply its alarm events, record a
command's reply, set the gateway online or offline, quarantine what cannot be read, claim the
commands to deliver and put back those that could not be published.

It subscribes with its own credential to every gateway's ``telemetry``, ``status``, ``alarms`` and
command-reply topics (QoS 1) and takes the gateway's identity from the topic: the broker's ACL
lets a gateway (username = its serial) publish only below ``voltfleet/v1/<its serial>/``, so the
topic names the credential that sent the message, never the payload.

Delivery. The bridge connects with a fixed client id and ``clean_session=False``, so the broker
keeps its subscriptions and every QoS 1 message it has not acknowledged, and acknowledges
(PUBACK) by hand, in order, only after the transaction holding the message has committed. A
message is lost to the platform only if the broker loses it; a message whose PUBACK did not reach
the broker (bridge crash, cancelled task, broker or network failure between commit and PUBACK) is
delivered again and stored once, because the store keeps one reading per device, point and
timestamp. Messages are processed in batches (up to ``max_batch`` messages in one transaction).

While the database is unavailable the bridge holds the batch and retries with backoff (nothing is
acknowledged meanwhile); a message that fails for another reason is retried alone and, if it fails
again, is quarantined with the error and acknowledged, so one bad message cannot stall the rest.
Connection loss: reconnect with exponential backoff (0.5 s .. 30 s, jittered), logging the failure
once and the recovery once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiomqtt

from voltfleet.domain.telemetry.quarantine import (
    BAD_PAYLOAD,
    PROCESSING_ERROR,
    QuarantineEntry,
    of_raw,
)
from voltfleet.ports import Clock
from voltfleet.protocols.mqtt import topics
from voltfleet.protocols.mqtt.topics import Channel, Topic
from voltfleet.usecases import commands

log = logging.getLogger(__name__)

__all__ = ["BAD_PAYLOAD", "PROCESSING_ERROR", "Bridge", "BridgeConfig", "BridgeService"]


class GatewayUnit(Protocol):
    """What the messages of one batch do, in one transaction (committed when the unit's context
    ends without an error). Gateways are named by serial (the topic's): a unit ignores (and
    ``known`` says False for) a serial that is not a live gateway."""

    def known(self, serial: str) -> bool: ...

    def telemetry(self, serial: str, payload: bytes, now: datetime) -> int:
        """Ingest a telemetry message (the HTTP ingest body ``{"readings": [...]}`` or a bare
        list; readable readings stored, the others quarantined with their reasons); returns how
        many readings it held."""
        ...

    def alarms(self, serial: str, events: list[object], now: datetime) -> None:
        """Apply alarm events (raise / clear) as POST /api/v1/ingest's ``alarms`` does."""
        ...

    def presence(self, serial: str, online: bool, now: datetime) -> None:
        """The gateway said it is online (its status by the presence rule) or offline."""
        ...

    def reply(self, serial: str, command_id: str, reply: object, now: datetime) -> str | None:
        """Record a command's reply; the reason when it was refused."""
        ...

    def quarantine(self, serial: str, entries: Sequence[QuarantineEntry], now: datetime) -> None:
        """Keep what could not be read, with its reason."""
        ...

    def firmware(self, serial: str, report: object, now: datetime) -> str | None:
        """A device's firmware progress (POST /api/v1/gateway/firmware-status's body); the
        reason when it was refused."""
        ...

    def inventory(self, serial: str, body: object, now: datetime) -> str | None:
        """The devices the gateway found on its bus (auto-detect); the reason when the body is
        no inventory."""
        ...


class BridgeService(Protocol):
    """The platform as the bridge sees it."""

    @property
    def clock(self) -> Clock: ...

    def unit(self) -> AbstractContextManager[GatewayUnit]:
        """One transaction for a batch of messages."""
        ...

    def claim_commands(self, serials: set[str], now: datetime) -> list[tuple[str, str, Any]]:
        """The due commands of these (connected) gateways, marked sent over MQTT: (gateway
        serial, command id, the JSON body to publish)."""
        ...

    def unclaim(self, command_ids: list[str]) -> None:
        """Put back commands whose publish failed."""
        ...

    def unavailable(self, exc: BaseException) -> bool:
        """Whether ``exc`` says the platform's storage is unreachable or busy (wait it out)
        rather than that the message is bad."""
        ...


def parse_url(url: str) -> tuple[str, int]:
    """``mqtt://host:port`` (or ``tcp://``) -> (host, port)."""
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    if parts.scheme not in ("mqtt", "tcp"):
        raise ValueError(f"{url!r}: only mqtt://host:port is supported")
    return parts.hostname or "127.0.0.1", parts.port or 1883


@dataclass(frozen=True)
class BridgeConfig:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str = "_voltfleet-bridge"
    password: str = ""
    client_id: str = "voltfleet-bridge"  # stable: it names the persistent session
    # Several bridges: the same group in each, a client id of its own (topics.bridge_subscriptions)
    shared_group: str = ""
    max_batch: int = 200  # messages per transaction
    keepalive_s: int = 30
    backoff_min_s: float = 0.5
    backoff_max_s: float = 30.0
    command_poll_s: float = 1.0  # how often due commands are looked up for connected gateways

    @classmethod
    def from_url(
        cls, url: str, username: str, password: str, client_id: str, shared_group: str = ""
    ) -> BridgeConfig:
        host, port = parse_url(url)
        return cls(
            host=host,
            port=port,
            username=username,
            password=password,
            client_id=client_id,
            shared_group=shared_group,
        )


@dataclass
class Stats:
    messages: int = 0  # processed and acknowledged
    readings: int = 0  # received in telemetry messages
    batches: int = 0  # transactions committed
    connects: int = 0


@dataclass
class _Item:
    topic: Topic | None
    raw_topic: str
    payload: bytes
    mid: int
    qos: int


@dataclass
class _Failure:
    """Logs a failing dependency once when it fails and once when it recovers."""

    what: str
    failing: bool = False
    detail: str = field(default="")

    def failed(self, exc: BaseException) -> None:
        if not self.failing:
            self.failing = True
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            log.warning("mqtt bridge: %s failed (%s); retrying with backoff", self.what, first)

    def recovered(self) -> None:
        if self.failing:
            self.failing = False
            log.warning("mqtt bridge: %s recovered", self.what)


class Bridge:
    """Run with ``await bridge.run()`` (forever; cancel to stop)."""

    def __init__(
        self,
        service: BridgeService,
        config: BridgeConfig,
        *,
        on_alarm: Callable[[str, Any], None] | None = None,
        on_reply: Callable[[str, str, Any], None] | None = None,
    ) -> None:
        self.service = service
        self.config = config
        self.on_alarm = on_alarm
        self.on_reply = on_reply
        self.stats = Stats()
        self.connected = asyncio.Event()
        self._client: aiomqtt.Client | None = None
        self._replies: dict[tuple[str, str], asyncio.Future[Any]] = {}
        self._broker = _Failure("broker connection")
        self._database = _Failure("database")
        self.online: set[str] = set()  # gateways whose retained status is "online"

    # ---- connection ------------------------------------------------------------------------------

    async def run(self) -> None:
        backoff = self.config.backoff_min_s
        while True:
            client = aiomqtt.Client(
                self.config.host,
                self.config.port,
                username=self.config.username,
                password=self.config.password,
                identifier=self.config.client_id,
                clean_session=False,
                keepalive=self.config.keepalive_s,
                timeout=10,
            )
            # Before connecting: the broker resends the session's unacknowledged messages at once.
            client._client.manual_ack_set(True)
            try:
                async with client:
                    subscriptions = topics.bridge_subscriptions(self.config.shared_group)
                    await client.subscribe([(t, 1) for t in subscriptions])
                    self._client = client
                    self.stats.connects += 1
                    self._broker.recovered()
                    log.info("mqtt bridge connected to %s:%s", self.config.host, self.config.port)
                    backoff = self.config.backoff_min_s
                    self.connected.set()
                    dispatch = asyncio.create_task(self._dispatch_commands(client))
                    try:
                        await self._consume(client)
                    finally:
                        dispatch.cancel()
            except aiomqtt.MqttError as exc:
                self._broker.failed(exc)
            finally:
                self._client = None
                self.connected.clear()
            await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
            backoff = min(backoff * 2, self.config.backoff_max_s)

    async def _consume(self, client: aiomqtt.Client) -> None:
        messages = aiter(client.messages)
        while True:
            batch = [await anext(messages)]
            while len(client.messages) and len(batch) < self.config.max_batch:
                batch.append(await anext(messages))
            await self._handle(batch)
            for m in batch:
                if m.qos > 0:  # in the order received, after the commit
                    client._client.ack(m.mid, m.qos)
            self.stats.messages += len(batch)

    # ---- commands --------------------------------------------------------------------------------

    async def send_command(
        self, serial: str, command_id: str, body: Any, timeout_s: float = 30.0
    ) -> Any:
        """Publish a command to a gateway (QoS 1) and wait for its reply (the parsed JSON)."""
        client = self._client
        if client is None:
            raise aiomqtt.MqttError("the bridge is not connected to the broker")
        key = (serial, command_id)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._replies[key] = fut
        try:
            await client.publish(topics.command(serial, command_id), json.dumps(body), qos=1)
            return await asyncio.wait_for(fut, timeout_s)
        finally:
            self._replies.pop(key, None)

    async def _dispatch_commands(self, client: aiomqtt.Client) -> None:
        """Publish the due commands of the gateways connected to the broker (QoS 1) every
        ``command_poll_s``; a gateway that is not connected gets them by HTTP polling. A command
        whose publish fails goes back to the queue."""
        poll = self.config.command_poll_s
        while poll > 0:
            await asyncio.sleep(poll)
            if not self.online:
                continue
            try:
                due = await asyncio.to_thread(
                    self.service.claim_commands, set(self.online), self._now()
                )
            except Exception as exc:
                if not self.service.unavailable(exc):
                    log.exception("mqtt bridge: cannot look up commands")
                continue
            failed = await commands.push(self, due)  # through this bridge as GatewayLink
            if failed:
                await asyncio.to_thread(self.service.unclaim, failed)

    # GatewayLink (ports): how a command reaches a gateway connected to the broker

    def reachable(self, serial: str) -> bool:
        return self._client is not None and serial in self.online

    async def deliver(self, serial: str, command_id: str, body: Mapping[str, Any]) -> None:
        """Publish a command to a gateway (QoS 1); raises when it could not be published."""
        client = self._client
        if client is None:
            raise aiomqtt.MqttError("the bridge is not connected to the broker")
        await client.publish(topics.command(serial, command_id), json.dumps(body), qos=1)

    def _now(self) -> datetime:
        return self.service.clock.now()

    # ---- messages --------------------------------------------------------------------------------

    async def _handle(self, batch: Sequence[aiomqtt.Message]) -> None:
        work: list[_Item] = []
        for m in batch:
            raw = m.payload if isinstance(m.payload, bytes) else str(m.payload).encode()
            item = _Item(topics.parse(m.topic.value), m.topic.value, raw, m.mid, m.qos)
            if item.topic is not None and item.topic.channel is Channel.REPLY:
                self._reply(item.topic, raw)
                work.append(item)  # recorded on its command, acknowledged after the commit
            elif item.topic is None or item.topic.channel is Channel.COMMAND:
                log.warning("mqtt bridge: ignored a message on %s", item.raw_topic)
            else:
                if item.topic.channel is Channel.STATUS:
                    word = topics.parse_status(raw)
                    if word == topics.ONLINE:
                        self.online.add(item.topic.gateway)
                    elif word == topics.OFFLINE:
                        self.online.discard(item.topic.gateway)
                work.append(item)
        if work:
            await self._commit(work)

    def _reply(self, topic: Topic, payload: bytes) -> None:
        try:
            body: Any = json.loads(payload)
        except (ValueError, RecursionError):  # not JSON, or nested too deep to read
            body = {"raw": payload.decode("utf-8", "replace")}
        assert topic.command_id is not None
        fut = self._replies.get((topic.gateway, topic.command_id))
        if fut is not None and not fut.done():
            fut.set_result(body)
        if self.on_reply is not None:
            self.on_reply(topic.gateway, topic.command_id, body)

    async def _commit(self, work: list[_Item]) -> None:
        """Process ``work`` in one transaction, retrying while the database is unavailable;
        returns once it is committed (or, for a message that cannot be processed, quarantined)."""
        backoff = self.config.backoff_min_s
        while True:
            # A cancelled bridge lets the running transaction finish, then stops without PUBACK.
            job = asyncio.ensure_future(asyncio.to_thread(self._process, work))
            try:
                await asyncio.shield(job)
            except asyncio.CancelledError:
                with contextlib.suppress(BaseException):
                    await job
                raise
            except Exception as exc:
                # Only an unreachable or busy database is waited out; a DB error that says the
                # message itself is bad (IntegrityError, DataError ...) must not stall the stream.
                if self.service.unavailable(exc):
                    self._database.failed(exc)
                    await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
                    backoff = min(backoff * 2, self.config.backoff_max_s)
                    continue
                if len(work) > 1:
                    for item in work:  # find the one that fails
                        await self._commit([item])
                    return
                log.exception("mqtt bridge: cannot process the message on %s", work[0].raw_topic)
                await asyncio.to_thread(self._quarantine_failure, work[0])
                return
            self._database.recovered()
            self.stats.batches += 1
            return

    def _process(self, work: list[_Item]) -> None:
        with self.service.unit() as unit:
            for item in work:
                assert item.topic is not None
                if not unit.known(item.topic.gateway):
                    log.warning(
                        "mqtt bridge: no live gateway %s: message on %s not stored",
                        item.topic.gateway,
                        item.raw_topic,
                    )
                    continue
                self._apply(unit, item)

    def _apply(self, unit: GatewayUnit, item: _Item) -> None:
        assert item.topic is not None
        now = self._now()
        serial = item.topic.gateway
        channel = item.topic.channel
        if channel is Channel.TELEMETRY:
            self.stats.readings += unit.telemetry(serial, item.payload, now)
        elif channel is Channel.STATUS:
            word = topics.parse_status(item.payload)
            if word in (topics.ONLINE, topics.OFFLINE):
                unit.presence(serial, word == topics.ONLINE, now)
            else:
                log.warning("mqtt bridge: unreadable status from %s: %r", serial, item.payload[:64])
        elif channel is Channel.ALARMS:
            # The body of POST /api/v1/ingest's "alarms" ({"alarms": [...]}, a bare list or one
            # event), applied by the same use case; refused events are quarantined there.
            try:
                body = json.loads(item.payload)
            except (ValueError, UnicodeDecodeError, RecursionError):
                body = None
            events = topics.alarm_events(body)
            if events is None:
                raw = item.payload[:64].decode("utf-8", "replace")
                why = 'alarms payload must be JSON: {"alarms": [...]}, a list or one event'
                unit.quarantine(serial, [of_raw(raw, BAD_PAYLOAD, why)], now)
            else:
                unit.alarms(serial, events, now)
            if self.on_alarm is not None:
                self.on_alarm(serial, body)
        elif channel is Channel.INVENTORY:
            try:
                inventory = json.loads(item.payload)
            except (ValueError, UnicodeDecodeError, RecursionError):
                inventory = None
            refused = unit.inventory(serial, inventory, now)
            if refused:
                log.warning("mqtt bridge: inventory of %s not applied: %s", serial, refused)
        elif channel is Channel.REPLY and item.topic.command_id is not None:
            try:
                reply = json.loads(item.payload)
            except (ValueError, UnicodeDecodeError, RecursionError):
                reply = None
            refused = unit.reply(serial, item.topic.command_id, reply, now)
            if refused:
                log.warning("mqtt bridge: reply on %s not recorded: %s", item.raw_topic, refused)
        elif channel is Channel.FIRMWARE:
            try:
                report = json.loads(item.payload)
            except (ValueError, UnicodeDecodeError, RecursionError):
                report = None
            refused = unit.firmware(serial, report, now)
            if refused:
                log.warning(
                    "mqtt bridge: firmware report on %s refused: %s", item.raw_topic, refused
                )

    def _quarantine_failure(self, item: _Item) -> None:
        assert item.topic is not None
        try:
            with self.service.unit() as unit:
                raw = item.payload[:64].decode("utf-8", "replace")
                detail = f"message on {item.raw_topic} could not be processed (see the log)"
                entry = of_raw(raw, PROCESSING_ERROR, detail)
                unit.quarantine(item.topic.gateway, [entry], self._now())
        except Exception:
            log.exception("mqtt bridge: could not quarantine the message on %s", item.raw_topic)
