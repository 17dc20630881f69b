"""The ``alarm-notifications`` job: delivers the queued alarm notifications that are due, by mail
(app/mail.py, kept in the outbox) or by signed webhook (domain/alarm_notifications.py), and
records each attempt in the delivery log; a failure is tried again with backoff, then given up.

Runs every few seconds beside ingest and never inside it: a slow mail server or webhook delays
only this job. Each delivery is its own transaction, its row locked (``SKIP LOCKED`` on
PostgreSQL) so several workers never send one twice.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select

from voltfleet import __version__
from voltfleet.app import i18n
from voltfleet.app.i18n import _
from voltfleet.app.mail import Mailer
from voltfleet.domain.alarm_notifications import Backoff, Channel, DeliveryStatus, signed_headers
from voltfleet.ports import Every, JobSpec
from voltfleet.settings import Settings
from voltfleet.store.alarm_notify_models import AlarmDelivery, AlarmSubscription
from voltfleet.store.db import Database

log = logging.getLogger("voltfleet.alarms.delivery")

ALARM_NOTIFICATIONS = "alarm-notifications"
EVERY_S = 5.0
BATCH = 50
TIMEOUT_S = 5.0
BACKOFF = Backoff()

Post = Callable[[str, bytes, dict[str, str]], int]  # url, body, headers -> HTTP status


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    with httpx.Client(timeout=TIMEOUT_S, follow_redirects=False) as client:
        return client.post(url, content=body, headers=headers).status_code


def private_target(url: str) -> str | None:
    """Why ``url`` may not be called from a production platform (a loopback, private, link-local
    or reserved address: a webhook must not reach into the platform's own network), or None."""
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        return f"cannot resolve {host}: {exc}"
    for info in infos:
        addr = ipaddress.ip_address(info[4][0])
        if (
            addr.is_private
            or addr.is_loopback
            or addr.is_link_local
            or addr.is_reserved
            or addr.is_multicast
            or addr.is_unspecified
        ):
            return f"{host} resolves to {addr}, a private address (VOLTFLEET_WEBHOOK_ALLOW_PRIVATE)"
    return None


def _mail(delivery: AlarmDelivery, language: str) -> tuple[str, str]:
    """A mail's subject and body in ``language``."""
    p = delivery.payload
    alarm, site, device = p["alarm"], p["site"], p["device"]
    zone = site.get("timezone") or "UTC"
    try:
        raised = datetime.fromisoformat(alarm["raised_at"]).astimezone(ZoneInfo(zone))
    except (ValueError, KeyError):
        raised = None
    before = i18n.current_language()
    i18n.use_language(language)
    try:
        level = _(str(alarm["level"]).capitalize())
        subject = _("%(level)s alarm at %(site)s: %(title)s") % {
            "level": level,
            "site": site["name"],
            "title": _(alarm["title"]),
        }
        lines = [
            _("Alarm type: %(level)s") % {"level": level},
            _("Site: %(site)s") % {"site": site["name"]},
            _("Device: %(serial)s (%(kind)s)")
            % {"serial": device["serial"], "kind": device["kind"]},
            _("Fault code: %(code)s") % {"code": alarm["code"]},
            _("Time: %(time)s")
            % {"time": raised.isoformat(sep=" ") if raised else alarm["raised_at"]},
            _("Alarm info: %(title)s") % {"title": _(alarm["title"])},
        ]
        if alarm.get("message"):
            lines.append(_("The device says: %(message)s") % {"message": alarm["message"]})
        lines += ["", _("What to do:"), _(alarm.get("suggested_action", "")), ""]
        lines.append(_("The site's alarms: /site/%(id)s/alarms") % {"id": site["id"]})
        return subject[:300], "\n".join(lines)
    finally:
        i18n.use_language(before)


def _attempt(
    delivery: AlarmDelivery,
    sub: AlarmSubscription,
    session: object,
    settings: Settings,
    now: datetime,
    post: Post,
) -> tuple[bool, int | None, str]:
    """(delivered, HTTP status, error) of one attempt."""
    if delivery.channel == Channel.EMAIL:
        subject, body = _mail(delivery, sub.language)
        Mailer(settings).send(session, delivery.target, subject, body)  # type: ignore[arg-type]
        return True, None, ""
    allow_private = settings.webhook_allow_private or settings.mode in {"dev", "demo", "test"}
    refused = None if allow_private else private_target(delivery.target)
    if refused:
        return False, None, refused
    data = json.dumps(
        {**delivery.payload, "delivery_id": delivery.id}, separators=(",", ":"), sort_keys=True
    ).encode()
    headers = {
        "content-type": "application/json",
        "user-agent": f"voltfleet/{__version__}",
        "x-voltfleet-event": delivery.event,
        **signed_headers(sub.secret, delivery.id, now, data),
    }
    status = post(delivery.target, data, headers)
    if 200 <= status < 300:
        return True, status, ""
    return False, status, f"HTTP {status}"


def deliver_due(
    db: Database, settings: Settings, now: datetime, *, post: Post = _post, batch: int = BATCH
) -> int:
    """Attempt every notification due as of ``now`` (at most ``batch``); returns how many were
    delivered."""
    with db.session() as session:
        due = list(
            session.scalars(
                select(AlarmDelivery.id)
                .where(
                    AlarmDelivery.status == DeliveryStatus.PENDING.value,
                    AlarmDelivery.next_attempt_at <= now,
                )
                .order_by(AlarmDelivery.next_attempt_at)
                .limit(batch)
            )
        )
    delivered = 0
    for delivery_id in due:
        with db.session() as session:
            d = session.scalar(
                select(AlarmDelivery)
                .where(
                    AlarmDelivery.id == delivery_id,
                    AlarmDelivery.status == DeliveryStatus.PENDING.value,
                )
                .with_for_update(skip_locked=True)
            )
            if d is None:
                continue  # another worker has it, or it is done
            sub = session.get(AlarmSubscription, d.subscription_id)
            if sub is None:
                continue
            try:
                ok, status, error = _attempt(d, sub, session, settings, now, post)
            except Exception as exc:  # a mail server or a network fails: logged, tried again
                ok, status, error = False, None, f"{type(exc).__name__}: {exc}"[:500]
            d.attempts += 1
            d.last_attempt_at = now
            d.response_status = status
            d.last_error = error
            if ok:
                d.status = DeliveryStatus.DELIVERED.value
                d.delivered_at = now
                d.next_attempt_at = None
                delivered += 1
            else:
                d.next_attempt_at = BACKOFF.next_attempt(d.attempts, now)
                if d.next_attempt_at is None:
                    d.status = DeliveryStatus.FAILED.value
                    log.warning("alarm notification %s given up: %s", d.id, error)
    return delivered


def spec(db: Database, settings: Settings) -> JobSpec:
    """The job, every few seconds; one run at a time."""
    return JobSpec(
        ALARM_NOTIFICATIONS,
        lambda now: deliver_due(db, settings, now),
        Every(EVERY_S),
        lock=ALARM_NOTIFICATIONS,
    )
