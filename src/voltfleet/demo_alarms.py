"""The demo's alarm notifications: the installer's on-call mail (urgent and important alarms of
every site), a ticketing webhook that is down (its deliveries retry with backoff and then fail,
visible in the delivery log), and the home owner's own mail in German; and yesterday's alarm of
another home with its delivery history, so the log is not empty when the demo starts. The alarms
the simulated homes raise while the demo runs are queued and delivered as they happen."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from voltfleet.domain.alarm_notifications import new_secret
from voltfleet.store.alarm_models import Alarm
from voltfleet.store.alarm_notify_models import AlarmDelivery, AlarmSubscription
from voltfleet.store.alarm_notify_repository import payload
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Org, Site, User

# Nothing listens here: the demo's webhook shows retries and a failure in the delivery log.
DOWN_WEBHOOK = "http://127.0.0.1:9/tickets/voltfleet-alarms"


def seed_alarm_notifications(
    s: Session,
    installer: Org,
    owner: User,
    sites: list[Site],
    gateways: list[Device],
    now: datetime,
) -> None:
    mail = AlarmSubscription(
        org_id=installer.id,
        name="On-call engineer",
        channel="email",
        target="oncall@sunrise-installer.example",
        levels=["urgent", "important"],
        site_ids=[],
        language="en",
    )
    hook = AlarmSubscription(
        org_id=installer.id,
        name="Ticketing system",
        channel="webhook",
        target=DOWN_WEBHOOK,
        secret=new_secret(b"voltfleet-demo-secret-24"),
        levels=["urgent", "important"],
        site_ids=[],
    )
    home = AlarmSubscription(
        org_id=installer.id,
        owner_user_id=owner.id,
        name="Mein Zuhause",
        channel="email",
        target=owner.email,
        levels=["urgent", "important", "common"],
        site_ids=[sites[0].id],
        language="de",
    )
    s.add_all([mail, hook, home])
    s.flush()
    # Yesterday: the second home's gateway lost its uplink for a while (important), the on-call
    # mail went out at once; the ticketing webhook was down and gave up after its retries.
    site, gateway = sites[1], gateways[1]
    raised = now - timedelta(days=1, hours=3)
    alarm = Alarm(
        site_id=site.id,
        device_id=gateway.id,
        code="GW_BUFFER_NEARLY_FULL",
        severity="minor",
        level="important",
        message="uplink down for 6 h",
        raised_at=raised,
        cleared_at=raised + timedelta(hours=2),
        received_at=raised,
    )
    s.add(alarm)
    s.flush()
    body = payload(alarm, site, gateway)
    s.add(
        AlarmDelivery(
            subscription_id=mail.id,
            alarm_id=alarm.id,
            site_id=site.id,
            channel="email",
            target=mail.target,
            status="delivered",
            attempts=1,
            last_attempt_at=raised + timedelta(seconds=4),
            delivered_at=raised + timedelta(seconds=4),
            payload=body,
            created_at=raised,
        )
    )
    s.add(
        AlarmDelivery(
            subscription_id=hook.id,
            alarm_id=alarm.id,
            site_id=site.id,
            channel="webhook",
            target=hook.target,
            status="failed",
            attempts=8,
            last_attempt_at=raised + timedelta(hours=1, minutes=4),
            last_error="ConnectError: [Errno 111] Connection refused",
            payload=body,
            created_at=raised,
        )
    )
