"""Firmware over HTTP: releases (hash, signature, NEW mark, owners refused), upgrade tasks that
reach a gateway as a firmware_update command with a signed link, progress reports, the device's
version and history, reserved starts moved by a ManualClock, downgrades, delete and cancel."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tests.app.test_alarms import home
from tests.app.test_telemetry import bearer, h
from tests.support.world import World, build_world
from voltfleet.app.firmware import jobs as firmware_jobs
from voltfleet.app.runtime import Runtime
from voltfleet.clock import ManualClock
from voltfleet.jobs.inprocess import InProcessJobs
from voltfleet.jobs.platform import platform_jobs
from voltfleet.store.command_models import Command
from voltfleet.store.fleet_models import Device

FILE = b"\x7fVOLTFW" + bytes(range(256)) * 40


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


def upload(
    client: TestClient,
    world: World,
    *,
    model: str = "CPS WiFi Kit",
    ftype: str = "gateway",
    version: str = "10.00",
    content: bytes = FILE,
    signature: str = "",
    who: str = "om@I1",
):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/firmware/releases",
        data={
            "model": model,
            "firmware_type": ftype,
            "version": version,
            "description": "release",
            "signature": signature,
        },
        files={"file": ("fw.bin", content, "application/octet-stream")},
        headers=h(world, who),
    )


def fleet(client: TestClient, world: World, runtime: Runtime, gw: str, version: str = "9.02"):  # type: ignore[no-untyped-def]
    ids, token = home(client, world, gw)
    with runtime.db.session() as s:
        s.execute(
            update(Device)
            .where(Device.id == ids[gw])
            .values(model="CPS WiFi Kit", fw_arm=version, status="online")
        )
    return ids, token


def test_release_upload_hash_new_mark_download_and_owners_refused(
    client: TestClient, world: World
) -> None:
    r = upload(client, world, version="8.12.E3")
    assert r.status_code == 201, r.text
    old = r.json()
    assert old["sha256"] == hashlib.sha256(FILE).hexdigest() and old["size_bytes"] == len(FILE)
    assert old["new"] is True and old["creator"] and old["firmware_type_label"] == "Gateway"
    new = upload(client, world, version="10.00").json()
    got = client.get(
        "/api/v1/firmware/releases", params={"device_kind": "gateway"}, headers=h(world, "om@I1")
    ).json()
    assert {r["version"]: r["new"] for r in got} == {"10.00": True, "8.12.E3": False}
    assert upload(client, world, version="10.00").status_code == 409  # same version again
    bad = upload(client, world, ftype="toaster")
    assert bad.status_code == 422 and "firmware type" in bad.json()["detail"]
    file = client.get(f"/api/v1/firmware/releases/{new['id']}/file", headers=h(world, "om@I1"))
    assert file.status_code == 200 and file.content == FILE
    # Owners neither upload nor see releases; another tenant does not see them.
    assert upload(client, world, who="owner@I1").status_code == 403
    assert client.get("/api/v1/firmware/releases", headers=h(world, "owner@I1")).status_code == 403
    r = client.get(f"/api/v1/firmware/releases/{new['id']}/file", headers=h(world, "owner@I1"))
    assert r.status_code == 403
    assert client.get("/api/v1/firmware/releases", headers=h(world, "om@I2")).json() == []
    r = client.get(f"/api/v1/firmware/releases/{new['id']}", headers=h(world, "om@I2"))
    assert r.status_code == 404


def test_a_signing_key_refuses_unsigned_and_wrongly_signed_releases(
    client: TestClient, world: World, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    monkeypatch.setattr(runtime.settings, "firmware_signing_key", base64.b64encode(public).decode())
    r = upload(client, world)
    assert r.status_code == 422 and "signed" in r.json()["detail"]
    other = base64.b64encode(Ed25519PrivateKey.generate().sign(FILE)).decode()
    r = upload(client, world, signature=other)
    assert r.status_code == 422 and "does not match" in r.json()["detail"]
    tampered = base64.b64encode(key.sign(FILE + b"x")).decode()
    assert upload(client, world, signature=tampered).status_code == 422
    good = upload(client, world, signature=base64.b64encode(key.sign(FILE)).decode())
    assert good.status_code == 201, good.text and good.json()["signed"] is True


def test_a_task_reaches_the_gateway_with_a_signed_link_and_its_reports_finish_it(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids, token = fleet(client, world, runtime, "GWF1")
    release = upload(client, world).json()
    candidates = client.get(
        f"/api/v1/firmware/releases/{release['id']}/candidates",
        params={"serial": "GWF1"},
        headers=h(world, "om@I1"),
    ).json()
    assert [(c["serial"], c["version"]) for c in candidates["items"]] == [("GWF1", "9.02")]
    r = client.post(
        "/api/v1/firmware/tasks",
        json={"release_id": release["id"], "device_ids": [ids["GWF1"]]},
        headers=h(world, "owner@I1"),
    )
    assert r.status_code == 404  # not the owner's home, and no release is theirs to use
    r = client.post(
        "/api/v1/firmware/tasks",
        json={"release_id": release["id"], "device_ids": [ids["GWF1"]]},
        headers=h(world, "om@I1"),
    )
    assert r.status_code == 201, r.text
    task = r.json()
    assert task["number"] >= 1 and task["reservation"] == "-" and task["stats"]["pending"] == 1
    # The job's step (run here directly, as the job queue would).
    clock_now = datetime.now(UTC)
    step = firmware_jobs.TaskStep(runtime.db, runtime.settings)
    assert step(clock_now, task["id"]) == 1
    got = client.get("/api/v1/gateway/commands", headers=bearer(token)).json()["commands"]
    assert [c["kind"] for c in got] == ["firmware_update"]
    params = got[0]["params"]
    assert got[0]["device"] == "GWF1" and params["sha256"] == release["sha256"]
    assert params["version"] == "10.00" and params["size_bytes"] == len(FILE)
    url = urlsplit(params["url"])
    fetched = client.get(f"{url.path}?{url.query}")  # no token: the link is its own credential
    assert (
        fetched.status_code == 200
        and hashlib.sha256(fetched.content).hexdigest() == params["sha256"]
    )
    sig = url.query.split("sig=")[1]
    flipped = ("1" if sig[0] == "0" else "0") + sig[1:]
    forged = client.get(f"{url.path}?{url.query.replace(sig, flipped)}")
    assert forged.status_code == 403
    for state in ("downloading", "installing", "rebooting"):
        r = client.post(
            "/api/v1/gateway/firmware-status",
            json={"device": "GWF1", "release_id": release["id"], "state": state},
            headers=bearer(token),
        )
        assert r.status_code == 200 and r.json()["task_id"] == task["id"], r.text
    detail = client.get(f"/api/v1/firmware/tasks/{task['id']}", headers=h(world, "om@I1")).json()
    assert detail["runs"][0]["state"] == "rebooting" and detail["stats"]["running"] == 1
    r = client.post(
        "/api/v1/gateway/firmware-status",
        json={"release_id": release["id"], "state": "running", "version": "10.00"},
        headers=bearer(token),
    )
    assert r.status_code == 200, r.text
    step(clock_now + timedelta(seconds=15), task["id"])
    detail = client.get(f"/api/v1/firmware/tasks/{task['id']}", headers=h(world, "om@I1")).json()
    assert detail["state"] == "finished" and detail["stats"]["succeeded"] == 1
    device = client.get(f"/api/v1/devices/{ids['GWF1']}", headers=h(world, "om@I1")).json()
    assert device["fw_arm"] == "10.00"
    tab = client.get(f"/api/v1/devices/{ids['GWF1']}/firmware", headers=h(world, "om@I1")).json()
    assert tab["versions"] == {"gateway": "10.00"}
    assert [(x["from_version"], x["version"], x["state"]) for x in tab["history"]] == [
        ("9.02", "10.00", "succeeded")
    ]
    stats = client.get(f"/api/v1/firmware/releases/{release['id']}", headers=h(world, "om@I1"))
    assert stats.json()["devices_running"] == 1
    # Reports of a device that is not below the gateway are refused.
    r = client.post(
        "/api/v1/gateway/firmware-status",
        json={"device": "ELSEWHERE", "release_id": release["id"], "state": "running"},
        headers=bearer(token),
    )
    assert r.status_code == 404
    r = client.post(
        "/api/v1/gateway/firmware-status", json={"state": "installing"}, headers=h(world, "om@I1")
    )
    assert r.status_code == 401


def runs_of(client: TestClient, world: World, task_id: str) -> list[str]:
    got = client.get(f"/api/v1/firmware/tasks/{task_id}", headers=h(world, "om@I1")).json()
    return [r["state"] for r in got["runs"]]


def test_a_reserved_task_starts_at_its_time_and_not_before(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids, token = fleet(client, world, runtime, "GWF2")
    release = upload(client, world).json()
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
    r = client.post(
        "/api/v1/firmware/tasks",
        json={
            "release_id": release["id"],
            "device_ids": [ids["GWF2"]],
            "start_at": start.isoformat(),
        },
        headers=h(world, "om@I1"),
    )
    assert r.status_code == 201, r.text
    task = r.json()
    local = start.astimezone(ZoneInfo("Europe/Berlin")).isoformat(sep=" ")
    # In the site's zone with its offset, as the manual shows it: "2025-03-06 00:00:00 +08:00"
    assert task["reservation"] == f"{local[:19]} {local[19:]}"
    clock = ManualClock(datetime.now(UTC))
    jobs = InProcessJobs(platform_jobs(runtime.db, runtime.settings), clock)
    firmware_jobs.bind(jobs.registry, jobs)
    assert firmware_jobs.wake(runtime.db, jobs, clock.now()) == 1
    clock.set(start - timedelta(seconds=1))
    jobs.run_due()
    assert client.get("/api/v1/gateway/commands", headers=bearer(token)).json()["commands"] == []
    assert runs_of(client, world, task["id"]) == ["pending"]
    with runtime.db.session() as s:
        assert s.scalars(select(Command)).all() == []
    clock.set(start)
    assert "firmware-task" in jobs.run_due()
    assert runs_of(client, world, task["id"]) == ["sent"]
    with runtime.db.session() as s:
        queued = s.scalars(select(Command)).one()
        assert queued.kind == "firmware_update" and queued.not_before == start
    # The step deferred the next one itself.
    clock.advance(timedelta(seconds=15))
    assert "firmware-task" in jobs.run_due()


def test_downgrade_needs_confirmation_delete_before_start_and_cancel(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids, _ = fleet(client, world, runtime, "GWF3", version="10.00")
    old = upload(client, world, version="8.12.E3").json()
    body = {"release_id": old["id"], "device_ids": [ids["GWF3"]]}
    r = client.post("/api/v1/firmware/tasks", json=body, headers=h(world, "om@I1"))
    assert r.status_code == 409 and r.json()["code"] == "downgrade_needs_confirmation"
    r = client.post(
        "/api/v1/firmware/tasks",
        json={**body, "confirm_downgrade": True},
        headers=h(world, "om@I1"),
    )
    assert r.status_code == 201, r.text
    task = r.json()
    assert (
        client.delete(f"/api/v1/firmware/tasks/{task['id']}", headers=h(world, "om@I1")).status_code
        == 204
    )
    r = client.post(
        "/api/v1/firmware/tasks",
        json={**body, "confirm_downgrade": True},
        headers=h(world, "om@I1"),
    )
    task = r.json()
    firmware_jobs.TaskStep(runtime.db, runtime.settings)(datetime.now(UTC), task["id"])
    r = client.delete(f"/api/v1/firmware/tasks/{task['id']}", headers=h(world, "om@I1"))
    assert r.status_code == 409  # started: cancel instead
    r = client.post(f"/api/v1/firmware/tasks/{task['id']}/cancel", headers=h(world, "om@I1"))
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    listed = client.get("/api/v1/firmware/tasks", headers=h(world, "om@I1")).json()
    assert [t["id"] for t in listed["items"]] == [task["id"]]
    assert client.get("/api/v1/firmware/tasks", headers=h(world, "om@I2")).json()["items"] == []


def test_a_gateway_that_refuses_the_update_command_fails_its_device_at_the_next_step(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids, token = fleet(client, world, runtime, "GWF4")
    release = upload(client, world).json()
    r = client.post(
        "/api/v1/firmware/tasks",
        json={"release_id": release["id"], "device_ids": [ids["GWF4"]]},
        headers=h(world, "om@I1"),
    )
    task = r.json()
    step = firmware_jobs.TaskStep(runtime.db, runtime.settings)
    now = datetime.now(UTC)
    assert step(now, task["id"]) == 1
    cmd = client.get("/api/v1/gateway/commands", headers=bearer(token)).json()["commands"][0]
    r = client.post(
        f"/api/v1/gateway/commands/{cmd['id']}/reply",
        json={"status": "failed", "message": "no space for the image"},
        headers=bearer(token),
    )
    assert r.status_code == 200, r.text
    step(now + timedelta(seconds=15), task["id"])
    detail = client.get(f"/api/v1/firmware/tasks/{task['id']}", headers=h(world, "om@I1")).json()
    assert detail["runs"][0]["state"] == "failed"
    assert "refused the update: no space for the image" in detail["runs"][0]["message"]
    assert detail["state"] == "finished"


def test_the_demo_shows_a_new_release_and_a_finished_campaign(
    client: TestClient, runtime: Runtime
) -> None:
    from voltfleet.demo import DEMO_PASSWORD, seed_demo

    seed_demo(runtime)
    r = client.post(
        "/api/v1/auth/token", data={"username": "om@demo.voltfleet", "password": DEMO_PASSWORD}
    )
    assert r.status_code == 200, r.text
    auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
    got = client.get(
        "/api/v1/firmware/releases", params={"device_kind": "gateway"}, headers=auth
    ).json()
    assert {(x["version"], x["new"], x["devices_running"]) for x in got} == {
        ("3.1.0", True, 3),
        ("3.0.0", False, 1),
    }
    # Upgrade > Charger has one release of the simulated wallbox (issue 16's leftover).
    chargers = client.get(
        "/api/v1/firmware/releases", params={"device_kind": "charger"}, headers=auth
    ).json()
    assert [(x["model"], x["version"], x["new"]) for x in chargers] == [
        ("simulated wallbox", "sim-1.1", True)
    ]
    tasks = client.get("/api/v1/firmware/tasks", headers=auth).json()["items"]
    assert [(t["state"], t["stats"]["succeeded"], t["stats"]["failed"]) for t in tasks] == [
        ("finished", 3, 1)
    ]
    assert "+01:00" in tasks[0]["reservation"] or "+02:00" in tasks[0]["reservation"]


def test_inverters_below_a_gateway_pause_at_the_error_threshold_and_resume(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids, token = fleet(client, world, runtime, "GWF5")
    with runtime.db.session() as s:
        gateway = s.get(Device, ids["GWF5"])
        assert gateway is not None
        inverters = [
            Device(
                site_id=gateway.site_id,
                parent_id=gateway.id,
                kind="inverter",
                serial=f"INV5-{k:02d}",
                model="CPS SCH",
                fw_dsp="1.0",
                status="online",
            )
            for k in range(20)
        ]
        s.add_all(inverters)
        s.flush()
        inverter_ids = [d.id for d in inverters]
    release = upload(client, world, model="CPS SCH", ftype="dsp", version="2.0").json()
    policy = {"first_wave": 4, "wave_growth": 2, "error_threshold": 0.3, "min_finished": 4}
    r = client.post(
        "/api/v1/firmware/tasks",
        json={"release_id": release["id"], "device_ids": inverter_ids, "policy": policy},
        headers=h(world, "om@I1"),
    )
    assert r.status_code == 201, r.text
    task = r.json()
    step = firmware_jobs.TaskStep(runtime.db, runtime.settings)
    now = datetime.now(UTC)

    def commands() -> list[dict]:  # type: ignore[type-arg]
        return client.get("/api/v1/gateway/commands", headers=bearer(token)).json()["commands"]

    def report(serial: str, state: str, version: str = "", message: str = "") -> None:
        body = {"device": serial, "release_id": release["id"], "state": state}
        body |= {"version": version, "message": message}
        r = client.post("/api/v1/gateway/firmware-status", json=body, headers=bearer(token))
        assert r.status_code == 200, r.text

    assert step(now, task["id"]) == 4
    first = commands()
    assert sorted(c["device"] for c in first) == [f"INV5-{k:02d}" for k in range(4)]
    assert {c["params"]["firmware_type"] for c in first} == {"dsp"}
    report("INV5-00", "running", "2.0")
    report("INV5-01", "running", "2.0")
    report("INV5-02", "failed", message="install failed")
    report("INV5-03", "failed", message="sha256 mismatch")
    for k in range(1, 6):  # time goes on: the campaign paused itself, nothing more starts
        assert step(now + timedelta(seconds=15 * k), task["id"]) == 0
    detail = client.get(f"/api/v1/firmware/tasks/{task['id']}", headers=h(world, "om@I1")).json()
    assert detail["state"] == "paused" and "error threshold" in detail["reason"]
    assert detail["stats"] == {
        "pending": 16,
        "running": 0,
        "succeeded": 2,
        "failed": 2,
        "skipped": 0,
    }
    with runtime.db.session() as s:
        queued = s.scalars(select(Command).where(Command.kind == "firmware_update")).all()
        assert len(queued) == 4  # none after the pause
    r = client.post(f"/api/v1/firmware/tasks/{task['id']}/resume", headers=h(world, "om@I1"))
    assert r.status_code == 200 and r.json()["state"] == "running"
    assert step(now + timedelta(minutes=5), task["id"]) == 8  # the next wave, twice the first


def test_a_device_with_no_gateway_above_it_fails_with_the_reason(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids, _ = fleet(client, world, runtime, "GWF6")
    with runtime.db.session() as s:
        gateway = s.get(Device, ids["GWF6"])
        assert gateway is not None
        lone = Device(
            site_id=gateway.site_id, kind="inverter", serial="LONE-1", model="X", status="online"
        )
        s.add(lone)
        s.flush()
        lone_id = lone.id
    release = upload(client, world, model="X", ftype="lcd", version="3.0").json()
    r = client.post(
        "/api/v1/firmware/tasks",
        json={"release_id": release["id"], "device_ids": [lone_id]},
        headers=h(world, "om@I1"),
    )
    task = r.json()
    firmware_jobs.TaskStep(runtime.db, runtime.settings)(datetime.now(UTC), task["id"])
    detail = client.get(f"/api/v1/firmware/tasks/{task['id']}", headers=h(world, "om@I1")).json()
    assert detail["runs"][0]["state"] == "failed"
    assert detail["runs"][0]["message"] == "no gateway above the device"
