"""Alarm notifications end to end: subscriptions made over the API, alarms raised by a gateway's
ingest, a signed webhook received by a real HTTP server on 127.0.0.1 (first answering 500, then
200: retried with backoff), a mail in the outbox, the delivery log in the API and the portal; and
another tenant's subscription is told nothing."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from standardwebhooks import Webhook

from tests.app.test_alarms import event, home, send
from tests.app.test_site_pages import login
from tests.app.test_telemetry import h
from tests.support.world import World, build_world
from voltfleet.app.alarms.delivery import deliver_due
from voltfleet.app.runtime import Runtime
from voltfleet.domain.alarm_notifications import verify
from voltfleet.store.alarm_notify_models import AlarmDelivery
from voltfleet.store.models import OutboxMail

NOW = datetime.now(UTC).replace(microsecond=0)


class Receiver:
    """A webhook receiver on 127.0.0.1: answers the first ``fail_first`` requests with 500."""

    def __init__(self, fail_first: int = 1) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.fail_first = fail_first
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                outer.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                code = 500 if len(outer.requests) <= outer.fail_first else 200
                self.send_response(code)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/alarms"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(fail_first=1) as r:
        yield r


def subscribe(client: TestClient, world: World, who: str, **body: object) -> dict:  # type: ignore[type-arg]
    r = client.post("/api/v1/alarm-subscriptions", json=body, headers=h(world, who))
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_webhook_is_signed_retried_and_logged_and_mail_lands_in_the_outbox(
    client: TestClient, world: World, runtime: Runtime, receiver: Receiver
) -> None:
    ids, token = home(client, world, "GWN1")
    hook = subscribe(
        client,
        world,
        "om@I1",
        name="On-call webhook",
        channel="webhook",
        target=receiver.url,
        levels=["urgent"],
        site_ids=[ids["site"]],
    )
    assert hook["secret"].startswith("whsec_") and hook["levels"] == ["urgent"]
    mail = subscribe(
        client,
        world,
        "admin@I1",
        name="Service desk",
        channel="email",
        target="desk@example.com",
        levels=["important", "urgent"],
        language="de",
    )
    assert mail["secret"] is None
    # Another tenant subscribes to everything: it is told nothing of I1's alarms.
    other = subscribe(
        client,
        world,
        "admin@I2",
        name="Other",
        channel="webhook",
        target=receiver.url,
        levels=["urgent", "important", "common", "prompt"],
    )
    # The secret is shown once: not when read again.
    again = client.get(f"/api/v1/alarm-subscriptions/{hook['id']}", headers=h(world, "om@I1"))
    assert again.status_code == 200 and again.json()["secret"] is None

    t0 = NOW - timedelta(minutes=5)
    out = send(
        client,
        token,
        [
            event("GWN1-BAT", "BAT_COMM_LOST", "raise", t0, "BMS silent"),  # urgent
            event("GWN1-INV", "INV_OVER_TEMPERATURE", "raise", t0),  # important
            event("GWN1-INV", "INV_EXPORT_LIMITED", "raise", t0),  # prompt: nobody wants it
        ],
    )
    assert out["alarms"]["opened"] == 3
    with runtime.db.session() as s:
        queued = {(d.subscription_id, d.status) for d in s.scalars(select(AlarmDelivery))}
    assert queued == {(hook["id"], "pending"), (mail["id"], "pending")}
    with runtime.db.session() as s:
        assert len(list(s.scalars(select(AlarmDelivery)))) == 3  # the mail twice, the hook once

    # First run: the mail goes out, the webhook answers 500 and waits for its retry.
    now = runtime.clock.now()
    assert deliver_due(runtime.db, runtime.settings, now) == 2
    assert len(receiver.requests) == 1
    log = client.get("/api/v1/alarm-deliveries", headers=h(world, "om@I1")).json()
    hooks = [d for d in log["items"] if d["channel"] == "webhook"]
    assert len(hooks) == 1 and hooks[0]["status"] == "pending"
    assert hooks[0]["attempts"] == 1 and hooks[0]["last_error"] == "HTTP 500"
    assert hooks[0]["response_status"] == 500
    retry_at = datetime.fromisoformat(hooks[0]["next_attempt_at"])
    assert timedelta(seconds=20) <= retry_at - now <= timedelta(minutes=1)
    with runtime.db.session() as s:
        mails = list(s.scalars(select(OutboxMail).where(OutboxMail.to == "desk@example.com")))
    assert len(mails) == 2
    subjects = sorted(m.subject for m in mails)  # in German, as the subscription asked
    assert subjects == [
        "Alarm (Dringend) bei Home: Batteriekommunikation verloren: Die Batterie bleibt im "
        "Leerlauf",
        "Alarm (Wichtig) bei Home: Wechselrichter überhitzt: Leistung reduziert",
    ]
    body = next(m.body for m in mails if "BAT_COMM_LOST" in m.body)
    assert "Das Gerät meldet: BMS silent" in body and f"/site/{ids['site']}/alarms" in body
    assert "+01:00" in body or "+02:00" in body, body  # the site's zone: Europe/Berlin

    # Not due yet: nothing is sent. Then the retry is delivered.
    assert deliver_due(runtime.db, runtime.settings, now + timedelta(seconds=5)) == 0
    assert len(receiver.requests) == 1
    later = retry_at + timedelta(seconds=1)
    assert deliver_due(runtime.db, runtime.settings, later) == 1
    assert len(receiver.requests) == 2
    log = client.get(
        "/api/v1/alarm-deliveries",
        params={"subscription_id": hook["id"]},
        headers=h(world, "om@I1"),
    ).json()
    assert [(d["status"], d["attempts"], d["last_error"]) for d in log["items"]] == [
        ("delivered", 2, "")
    ]

    # Both requests are signed with the subscription's secret, with the same webhook-id (the
    # receiver drops repeats by it) and each its own timestamp.
    (h1, b1), (h2, b2) = receiver.requests
    assert h1["webhook-id"] == h2["webhook-id"] == hooks[0]["id"]
    assert h1["webhook-timestamp"] == str(int(now.timestamp()))
    assert h2["webhook-timestamp"] == str(int(later.timestamp()))
    assert verify(hook["secret"], h2, b2, later)
    assert not verify(hook["secret"], h2, b2 + b" ", later)  # a changed body
    assert not verify(hook["secret"], h1, b1, later + timedelta(minutes=10))  # a replay
    assert not verify(other["secret"], h2, b2, later)  # another secret
    payload = json.loads(b2)
    assert payload["type"] == "alarm.raised" and payload["alarm"]["code"] == "BAT_COMM_LOST"
    assert payload["alarm"]["level"] == "urgent" and payload["site"]["id"] == ids["site"]
    assert payload["device"]["serial"] == "GWN1-BAT" and payload["delivery_id"] == h2["webhook-id"]
    # The reference library of the Standard Webhooks specification agrees (it checks the
    # timestamp against the wall clock, so sign a fresh copy with our function first).
    from voltfleet.domain.alarm_notifications import signed_headers

    fresh = signed_headers(hook["secret"], "msg_1", datetime.now(UTC), b2)
    assert Webhook(hook["secret"]).verify(b2, fresh)["alarm"]["code"] == "BAT_COMM_LOST"

    # The other tenant sees neither I1's subscriptions nor their deliveries, nor I1 theirs.
    r = client.get("/api/v1/alarm-deliveries", headers=h(world, "admin@I2"))
    assert r.status_code == 200 and r.json()["total"] == 0
    r = client.get(f"/api/v1/alarm-subscriptions/{hook['id']}", headers=h(world, "admin@I2"))
    assert r.status_code == 404
    listed = client.get("/api/v1/alarm-subscriptions", headers=h(world, "om@I1")).json()
    assert {s["id"] for s in listed["items"]} == {hook["id"], mail["id"]}

    # The portal: subscriptions and the delivery log.
    login(client, world.accounts["om@I1"].email)
    page = client.get("/maintenance/alarm-subscriptions").text
    assert page.count("data-subscription=") == 2 and "On-call webhook" in page
    assert page.count('data-status="delivered"') == 3 and "Other" not in page


def test_bad_subscriptions_are_refused_clearly(client: TestClient, world: World) -> None:
    ids = home(client, world, "GWN2")[0]
    om = h(world, "om@I1")
    base = {
        "name": "x",
        "channel": "webhook",
        "target": "https://example.com/h",
        "levels": ["urgent"],
    }
    cases = [
        ({"levels": ["loud"]}, 422, "levels"),
        ({"levels": []}, 422, "levels"),
        ({"channel": "sms"}, 422, "channel"),
        ({"target": "ftp://example.com/x"}, 400, "http(s) URL"),
        ({"target": "https://u:p@example.com/x"}, 400, "credentials"),
        ({"channel": "email", "target": "not-an-address"}, 400, "email address"),
        ({"site_ids": ["no-such-site"]}, 400, "in your scope"),
    ]
    for change, code, words in cases:
        r = client.post("/api/v1/alarm-subscriptions", json={**base, **change}, headers=om)
        assert r.status_code == code and words in r.text, (change, r.status_code, r.text)
    # A site of another tenant is as unknown as one that does not exist.
    r = client.post(
        "/api/v1/alarm-subscriptions",
        json={**base, "site_ids": [ids["site"]]},
        headers=h(world, "admin@I2"),
    )
    assert r.status_code == 400 and "in your scope" in r.text
    # An owner subscribes to their own home, and may not file it under another organisation.
    r = client.post(
        "/api/v1/alarm-subscriptions",
        json={**base, "org_id": world.org_id("D1")},
        headers=h(world, "owner@I1"),
    )
    assert r.status_code == 400 and "org_id" in r.text
    r = client.post("/api/v1/alarm-subscriptions", json=base, headers=h(world, "owner@I1"))
    assert r.status_code == 201 and r.json()["owner_user_id"] == world.accounts["owner@I1"].id
    # Changing and ending one.
    sub = r.json()["id"]
    r = client.patch(
        f"/api/v1/alarm-subscriptions/{sub}",
        json={"enabled": False, "rotate_secret": True},
        headers=h(world, "owner@I1"),
    )
    assert r.status_code == 200 and r.json()["enabled"] is False
    assert r.json()["secret"].startswith("whsec_")
    assert client.delete(f"/api/v1/alarm-subscriptions/{sub}", headers=om).status_code == 204
    assert client.get(f"/api/v1/alarm-subscriptions/{sub}", headers=om).status_code == 404


def test_the_delivery_job_is_registered_and_runs_on_the_clock(runtime: Runtime) -> None:
    from voltfleet.app.alarms.delivery import ALARM_NOTIFICATIONS
    from voltfleet.clock import ManualClock
    from voltfleet.jobs.inprocess import InProcessJobs
    from voltfleet.jobs.platform import all_jobs

    clock = ManualClock(NOW)
    jobs = InProcessJobs(all_jobs(runtime.db, runtime.settings), clock)
    assert jobs.registry.get(ALARM_NOTIFICATIONS).lock == ALARM_NOTIFICATIONS
    clock.advance(timedelta(seconds=6))
    assert ALARM_NOTIFICATIONS in jobs.run_due()
