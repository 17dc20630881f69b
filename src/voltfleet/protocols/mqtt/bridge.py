"""The MQTT bridge: gateways' messages from the broker into the telemetry pipeline.

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import aiomqtt
from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.app.alarms import service as alarms
from voltfleet.app.commands import service as commands
from voltfleet.app.devices.service import set_device_status
from voltfleet.app.errors import database_unavailable
from voltfleet.app.telemetry import service as telemetry
from voltfleet.app.telemetry.decode import decode_lenient
from voltfleet.domain.fleet import UP, DeviceKind, DeviceStatus
from voltfleet.domain.telemetry.validate import Limits
from voltfleet.protocols.mqtt import topics
from voltfleet.protocols.mqtt.topics import Channel, Topic
from voltfleet.settings import Settings
from voltfleet.store.db import Database, utcnow
from voltfleet.store.fleet_models import Device
from voltfleet.store.telemetry_models import QuarantinedReading

log = logging.getLogger(__name__)

BAD_PAYLOAD = "bad_payload"  # quarantine reason: the message or a reading in it is not readable
PROCESSING_ERROR = "processing_error"  # quarantine reason: the pipeline failed on the message


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
    max_batch: int = 200  # messages per transaction
    keepalive_s: int = 30
    backoff_min_s: float = 0.5
    backoff_max_s: float = 30.0
    command_poll_s: float = 1.0  # how often due commands are looked up for connected gateways

    @classmethod
    def from_settings(cls, settings: Settings) -> BridgeConfig:
        host, port = parse_url(settings.mqtt_url)
        return cls(
            host=host,
            port=port,
            username=settings.mqtt_username,
            password=settings.mqtt_password,
            client_id=settings.mqtt_client_id,
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
        db: Database,
        config: BridgeConfig,
        *,
        limits: Limits | None = None,
        clock: Callable[[], datetime] = utcnow,
        on_alarm: Callable[[Device, Any], None] | None = None,
        on_reply: Callable[[str, str, Any], None] | None = None,
    ) -> None:
        self.db = db
        self.config = config
        self.limits = limits
        self.clock = clock
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
                    await client.subscribe([(t, 1) for t in topics.BRIDGE_SUBSCRIPTIONS])
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
                due = await asyncio.to_thread(self._claim_commands, set(self.online))
            except Exception as exc:
                if not database_unavailable(exc):
                    log.exception("mqtt bridge: cannot look up commands")
                continue
            failed: list[str] = []
            for serial, d in due:
                try:
                    await client.publish(
                        topics.command(serial, d.command.id), json.dumps(d.body()), qos=1
                    )
                except (aiomqtt.MqttError, ValueError) as exc:
                    log.warning("mqtt bridge: command %s not published: %r", d.command.id, exc)
                    failed.append(d.command.id)
            if failed:
                await asyncio.to_thread(self._unclaim, failed)

    def _claim_commands(self, serials: set[str]) -> list[tuple[str, commands.Delivery]]:
        with self.db.session() as s:
            due = commands.claim_for_serials(s, serials, self.clock())
            for _, d in due:
                s.expunge(d.command)
            return due

    def _unclaim(self, ids: list[str]) -> None:
        with self.db.session() as s:
            commands.unclaim(s, ids)

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
                if database_unavailable(exc):
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
        gateways: dict[str, Device | None] = {}
        with self.db.session() as s:
            for item in work:
                assert item.topic is not None
                serial = item.topic.gateway
                if serial not in gateways:
                    gateways[serial] = _gateway(s, serial)
                gateway = gateways[serial]
                if gateway is None:
                    log.warning(
                        "mqtt bridge: no live gateway %s: message on %s not stored",
                        serial,
                        item.raw_topic,
                    )
                    continue
                self._apply(s, gateway, item)

    def _apply(self, s: Session, gateway: Device, item: _Item) -> None:
        assert item.topic is not None
        now = self.clock()
        channel = item.topic.channel
        if channel is Channel.TELEMETRY:
            readings, bad = decode_lenient(item.payload)
            self.stats.readings += len(readings) + len(bad)
            if bad:
                _quarantine(s, gateway, now, [(raw, BAD_PAYLOAD, why) for raw, why in bad])
            if readings:
                telemetry.ingest(s, gateway, readings, now=now, limits=self.limits)
        elif channel is Channel.STATUS:
            word = topics.parse_status(item.payload)
            if word == topics.OFFLINE:
                set_device_status(s, gateway, DeviceStatus.OFFLINE, now)
            elif word == topics.ONLINE:
                current = DeviceStatus(gateway.status)
                set_device_status(
                    s, gateway, current if current in UP else DeviceStatus.ONLINE, now
                )
            else:
                log.warning(
                    "mqtt bridge: unreadable status from %s: %r", gateway.serial, item.payload[:64]
                )
        elif channel is Channel.ALARMS:
            # The body of POST /api/v1/ingest's "alarms" ({"alarms": [...]}, a bare list or one
            # event), applied by the same function; refused events are quarantined there.
            try:
                body = json.loads(item.payload)
            except (ValueError, UnicodeDecodeError, RecursionError):
                body = None
            events = alarms.events_of(body)
            if events is None:
                raw = item.payload[:64].decode("utf-8", "replace")
                why = 'alarms payload must be JSON: {"alarms": [...]}, a list or one event'
                _quarantine(s, gateway, now, [(raw, BAD_PAYLOAD, why)])
            else:
                alarms.ingest_alarms(s, gateway, events, now=now)
            if self.on_alarm is not None:
                self.on_alarm(gateway, body)
        elif channel is Channel.REPLY and item.topic.command_id is not None:
            try:
                reply = json.loads(item.payload)
            except (ValueError, UnicodeDecodeError, RecursionError):
                reply = None
            refused = commands.mqtt_reply(s, gateway, item.topic.command_id, reply, now)
            if refused:
                log.warning("mqtt bridge: reply on %s not recorded: %s", item.raw_topic, refused)

    def _quarantine_failure(self, item: _Item) -> None:
        assert item.topic is not None
        try:
            with self.db.session() as s:
                gateway = _gateway(s, item.topic.gateway)
                if gateway is not None:
                    raw = item.payload[:64].decode("utf-8", "replace")
                    detail = f"message on {item.raw_topic} could not be processed (see the log)"
                    _quarantine(s, gateway, self.clock(), [(raw, PROCESSING_ERROR, detail)])
        except Exception:
            log.exception("mqtt bridge: could not quarantine the message on %s", item.raw_topic)


def _gateway(s: Session, serial: str) -> Device | None:
    return s.scalar(
        select(Device).where(
            Device.serial == serial,
            Device.deleted_at.is_(None),
            Device.kind == DeviceKind.GATEWAY.value,
        )
    )


def _quarantine(
    s: Session, gateway: Device, now: datetime, rows: list[tuple[Any, str, str]]
) -> None:
    for raw, reason, detail in rows:
        d = raw if isinstance(raw, dict) else {}
        s.add(
            QuarantinedReading(
                received_at=now,
                site_id=gateway.site_id,
                gateway_id=gateway.id,
                device_ref=str(d.get("device", ""))[:64],
                point=str(d.get("point", ""))[:64],
                ts_text=str(d.get("ts", ""))[:64],
                value_text=str(d.get("value", raw if not d else ""))[:64],
                unit=str(d.get("unit", ""))[:16],
                reason=reason,
                detail=detail,
            )
        )
