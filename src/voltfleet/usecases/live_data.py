"""The live-data switch, made to mean something: a device with live data enabled has the gateway
above it asked (a ``live_data`` command, domain.commands) to send every 10 s for a while; the
request is renewed while live data stays enabled (``renew``, a periodic job), and the gateway
goes back to its own interval by itself when the request runs out, or at once when the switch is
turned off. Commands go the usual way (usecases.commands: pushed over MQTT while the gateway is
connected, handed out when it polls over HTTP). Never commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from voltfleet.domain import commands as dc
from voltfleet.usecases.commands import CommandLike, CommandRepository, queue, target_of

SOURCE = "live-data"
DEFAULT_DURATION = timedelta(minutes=15)  # one request's length; renewed at half of it
TTL = timedelta(minutes=2)  # a request not delivered by then is stale (the next renewal follows)


def params(enabled: bool, duration: timedelta = DEFAULT_DURATION) -> dict[str, object]:
    if not enabled:
        return {"enabled": False}
    return {
        "enabled": True,
        "interval_s": dc.LIVE_INTERVAL_S,
        "duration_s": int(duration.total_seconds()),
    }


def switch(
    repo: CommandRepository,
    device_id: str,
    enabled: bool,
    *,
    now: datetime,
    duration: timedelta = DEFAULT_DURATION,
    created_by: str | None = None,
) -> CommandLike | None:
    """Ask the gateway above the device to send live data (or to stop); None when no gateway is
    above it (a charger reports over OCPP, which has its own pace)."""
    target = target_of(repo, device_id)
    if target.gateway_id is None or target.kind not in dc.TARGETS[dc.CommandKind.LIVE_DATA]:
        return None
    return queue(
        repo,
        device_id,
        dc.CommandKind.LIVE_DATA.value,
        params(enabled, duration),
        now=now,
        ttl=min(TTL, duration),
        source=SOURCE,
        created_by=created_by,
    )


def renew(
    repo: CommandRepository,
    device_ids: Iterable[str],
    *,
    now: datetime,
    duration: timedelta = DEFAULT_DURATION,
    waiting: Iterable[str] = (),
) -> int:
    """Ask again for the devices whose live data is still enabled (one request per gateway:
    the gateway's interval is the gateway's), except through the gateways in ``waiting`` (a
    request of theirs is still queued: the gateway is away, so asking again would only pile
    up); how many requests were queued."""
    asked: set[str] = set(waiting)
    n = 0
    for device_id in device_ids:
        target = repo.target(device_id)
        if target is None or target.gateway_id is None or target.gateway_id in asked:
            continue
        if switch(repo, device_id, True, now=now, duration=duration) is not None:
            asked.add(target.gateway_id)
            n += 1
    return n
