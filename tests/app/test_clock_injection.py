"""The injected clock is the HTTP edge's only "now": with a ManualClock in the runtime, what the
API stores and computes follows the clock when a test moves it (no sleeping), and the converted
modules cannot go back to reading the wall clock themselves."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.app.test_alarms import home
from tests.app.test_telemetry import bearer, h
from tests.support.world import PASSWORD, World, build_world, login
from voltfleet.app.runtime import Runtime
from voltfleet.clock import ManualClock
from voltfleet.jobs.platform import command_sweep
from voltfleet.store.command_models import Command
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site

SRC = Path(__file__).resolve().parents[2] / "src" / "voltfleet"


@pytest.fixture
def clock(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    """The runtime (and so the app serving it) with a clock that only the test moves. It starts at
    the wall clock's second; tests that need another instant set it."""
    manual = ManualClock(datetime.now(UTC).replace(microsecond=0))
    monkeypatch.setattr(runtime, "clock", manual)
    return manual


@pytest.fixture
def world(client: TestClient, runtime: Runtime, clock: ManualClock) -> World:
    return build_world(runtime)  # tokens issued at the manual clock's instant


def bearer_of(client: TestClient, email: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {login(client, email, PASSWORD)}"}


def test_a_command_expires_when_the_injected_clock_passes_its_ttl(
    client: TestClient, world: World, clock: ManualClock
) -> None:
    ids, _ = home(client, world, "GWCK1")
    bat = ids["GWCK1-BAT"]
    r = client.post(
        f"/api/v1/devices/{bat}/commands",
        json={"kind": "battery_mode", "params": {"mode": "idle"}, "ttl_s": 300},
        headers=h(world, "om@I1"),
    )
    assert r.status_code == 201, r.text

    def state() -> str:
        got = client.get(f"/api/v1/devices/{bat}/commands", headers=h(world, "om@I1"))
        assert got.status_code == 200, got.text
        return str(got.json()["items"][0]["state"])

    clock.advance(timedelta(seconds=240))
    assert state() == "queued"  # 4 of its 5 minutes have passed on the injected clock
    clock.advance(timedelta(seconds=120))
    assert state() == "expired"  # no sleeping: the clock was moved past the command's expiry


def test_a_queued_command_expires_and_a_sent_one_times_out_on_the_injected_clock(
    client: TestClient, world: World, runtime: Runtime, clock: ManualClock
) -> None:
    """Far from the wall clock (2031): a command is created, handed out, expired and timed out
    only as the manual clock moves; the command-sweeper job takes ``now`` from it too."""
    ids, token = home(client, world, "GWCK3")
    bat = ids["GWCK3-BAT"]
    start = datetime(2031, 3, 1, 10, 0, tzinfo=UTC)
    clock.set(start)
    om = bearer_of(client, world.accounts["om@I1"].email)

    def send(ttl_s: int) -> str:
        r = client.post(
            f"/api/v1/devices/{bat}/commands",
            json={"kind": "battery_setpoint", "params": {"battery_power_w": 500}, "ttl_s": ttl_s},
            headers=om,
        )
        assert r.status_code == 201, r.text
        assert r.json()["created_at"].startswith("2031-03-01T10:00:00")
        return str(r.json()["id"])

    sent = send(300)
    polled = client.get("/api/v1/gateway/commands", headers=bearer(token)).json()["commands"]
    assert [c["id"] for c in polled] == [sent]
    queued = send(60)  # the gateway stays silent from now on

    def state(command_id: str) -> tuple[str, str]:
        got = client.get(f"/api/v1/commands/{command_id}", headers=om).json()
        return got["state"], got["message"]

    clock.advance(timedelta(seconds=59))
    assert state(queued)[0] == "queued" and state(sent)[0] == "sent"
    clock.advance(timedelta(seconds=1))  # the queued command's ttl has passed
    assert state(queued) == ("expired", "not delivered before it expired (is the gateway online?)")
    assert state(sent)[0] == "sent"

    clock.advance(timedelta(seconds=239))  # 1 s before the sent command's reply deadline
    assert command_sweep(runtime.db, clock.now()) == 0
    clock.advance(timedelta(seconds=1))
    assert command_sweep(runtime.db, clock.now()) == 1  # the job, as of the injected clock
    with runtime.db.session() as s:
        row = s.get(Command, sent)
        assert row is not None and row.state == "failed"
        assert row.message == "no reply from the gateway in time"
    # the late answer changes nothing: the command was not applied
    r = client.post(
        f"/api/v1/gateway/commands/{sent}/reply",
        json={"status": "acknowledged"},
        headers=bearer(token),
    )
    assert r.status_code == 409 and "already failed" in r.json()["detail"]
    assert state(sent)[0] == "failed"


def test_tokens_expire_on_the_injected_clock(
    client: TestClient, world: World, runtime: Runtime, clock: ManualClock
) -> None:
    ok = client.get("/api/v1/sites", headers=h(world, "om@I1"))
    assert ok.status_code == 200, ok.text
    clock.advance(timedelta(minutes=runtime.settings.access_token_minutes, seconds=1))
    assert client.get("/api/v1/sites", headers=h(world, "om@I1")).status_code == 401
    # a token issued now (at the moved clock) works again
    fresh = bearer_of(client, world.accounts["om@I1"].email)
    assert client.get("/api/v1/sites", headers=fresh).status_code == 200


def test_deletions_are_stamped_and_today_is_read_from_the_injected_clock(
    client: TestClient, world: World, runtime: Runtime, clock: ManualClock
) -> None:
    ids = home(client, world, "GWCK2")[0]
    clock.advance(timedelta(hours=1, seconds=7))
    at = clock.now()
    assert (
        client.delete(
            f"/api/v1/devices/{ids['GWCK2-MTR']}", headers=h(world, "admin@I1")
        ).status_code
        == 204
    )

    r = client.post(
        "/api/v1/sites",
        json={"name": "Empty", "timezone": "Europe/Berlin"},
        headers=h(world, "admin@I1"),
    )
    assert r.status_code == 201, r.text
    empty = r.json()["id"]
    assert client.delete(f"/api/v1/sites/{empty}", headers=h(world, "admin@I1")).status_code == 204
    with runtime.db.session() as s:
        meter = s.get(Device, ids["GWCK2-MTR"])
        site = s.get(Site, empty)
        assert meter is not None and site is not None
        assert meter.deleted_at == at
        assert site.deleted_at == at
        assert site.purge_after == at + timedelta(days=runtime.settings.site_retention_days)

    # "today" at the site (Europe/Berlin) is the injected clock's day, wherever the wall clock is
    clock.set(datetime(2031, 7, 4, 22, 30, tzinfo=UTC))  # 00:30 on 5 July in Berlin
    admin = bearer_of(client, world.accounts["admin@I1"].email)
    r = client.get(f"/api/v1/sites/{ids['site']}/status", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["day"] == "2031-07-05"


# Modules that take "now" from the injected clock (through the request, the runtime or their
# caller). A wall-clock read here is a regression: pass ``now`` in instead.
CONVERTED = [
    "app/sites/service.py",
    "app/sites/endpoints.py",
    "app/sites/detail_pages.py",
    "app/devices/service.py",
    "app/devices/endpoints.py",
    "app/commands/endpoints.py",
    "app/commands/service.py",
    "app/mqtt_adapter.py",
    "usecases/commands.py",
    "store/command_repository.py",
    "jobs/platform.py",
    "app/registers/service.py",
    "app/registers/endpoints.py",
    "app/registers/pages.py",
    "simulator/register_bank.py",
    "app/commands/pages.py",
    "app/commands/plan_service.py",
    "app/commands/plan_endpoints.py",
    "app/alarms/service.py",
    "app/alarms/endpoints.py",
    "app/alarms/pages.py",
    "app/users/service.py",
    "app/me/service.py",
    "app/auth/service.py",
    "app/auth/codes.py",
    "app/auth/endpoints.py",
    "app/security.py",
    "app/deps.py",
    "app/portal/session.py",
    "app/portal/home_pages.py",
    "app/telemetry/read_service.py",
    "app/telemetry/read_endpoints.py",
    "app/telemetry/live_service.py",
    "app/telemetry/live.py",
    "app/telemetry/site_figures.py",
    "app/telemetry/fleet_service.py",
    "app/telemetry/pages.py",
    "app/telemetry/energy_pages.py",
    "app/tariffs/savings_pages.py",
    "app/tariffs/page_text.py",
    "app/tariffs/pages.py",
    "app/charging/service.py",
    "app/charging/alarm_hooks.py",
    "app/charging/link.py",
    "app/charging/ws.py",
    "usecases/ingest.py",
    "demo.py",
]
WALL_CLOCK = re.compile(
    r"\butcnow\(\)|\bdatetime\.now\(|\bdatetime\.utcnow\(|\btime\.time\(\)|SystemClock\(\)"
)


@pytest.mark.parametrize("module", CONVERTED)
def test_converted_modules_do_not_read_the_wall_clock(module: str) -> None:
    text = (SRC / module).read_text(encoding="utf-8")
    found = [
        f"{module}:{n}: {line.strip()}"
        for n, line in enumerate(text.splitlines(), 1)
        if WALL_CLOCK.search(line)
    ]
    assert not found, "read the injected clock (or take now) instead:\n" + "\n".join(found)
