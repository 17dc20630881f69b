"""The gateway side of the topic layout: how a gateway (the edge agent, a simulated home)
connects to the broker and says it is online. Both are clients of the same contract, so the
session, the last will and the order of subscribe-then-announce live here once."""

from __future__ import annotations

import aiomqtt

from voltfleet.protocols.mqtt import topics


def gateway_client(
    host: str, port: int, serial: str, token: str, *, keepalive_s: int, timeout_s: float
) -> aiomqtt.Client:
    """A client signed in as the gateway ``serial`` (its username) with its token: a persistent
    session under the serial (the broker keeps commands sent while it is away), and "offline"
    retained as its last will. Commands are acknowledged by hand, after the reply went out (as
    the bridge does; aiomqtt has no public switch for it), set before connecting because a
    persistent session hands over its waiting commands at once."""
    client = aiomqtt.Client(
        host,
        port,
        username=serial,
        password=token,
        identifier=serial,
        clean_session=False,
        keepalive=keepalive_s,
        will=aiomqtt.Will(topics.status(serial), topics.OFFLINE, qos=1, retain=True),
        timeout=timeout_s,
    )
    client._client.manual_ack_set(True)
    return client


async def announce(client: aiomqtt.Client, serial: str) -> None:
    """Subscribe to the gateway's commands, then publish "online" (retained): the bridge may
    push commands as soon as it sees the status, and none of them is missed."""
    await client.subscribe(topics.gateway_subscription(serial), qos=1)
    await client.publish(topics.status(serial), topics.ONLINE, qos=1, retain=True)
