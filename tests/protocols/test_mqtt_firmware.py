"""Firmware over MQTT against a real Mosquitto and a real HTTP server: an upgrade task's
firmware_update command reaches the simulated gateway, which fetches the file over HTTP with the
command's short-lived link, checks the hash, installs and reports each step on
``voltfleet/v1/<gw>/firmware``; the task ends succeeded and the device's version is the new one.
A corrupted download is refused by the gateway and reported failed (the version untouched)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from tests.protocols.test_mqtt_bridge import Env, env, run, running, until
from tests.support.live_server import live_server
from voltfleet.app.firmware import jobs as firmware_jobs
from voltfleet.app.mqtt_adapter import MqttBridgeService
from voltfleet.protocols.mqtt.bridge import Bridge
from voltfleet.simulator.firmware import Installer
from voltfleet.simulator.mqtt_gateway import MqttGateway
from voltfleet.store.firmware_models import FirmwareRun
from voltfleet.store.fleet_models import Device

__all__ = ["env"]  # the fixture

FILE = b"VOLTFW" + bytes(range(256)) * 64


def _prepare(env: Env, gw: str) -> dict[str, str]:
    ids = env.site(gw)
    with env.runtime.db.session() as s:
        s.execute(
            update(Device)
            .where(Device.id == ids[gw])
            .values(model="CPS WiFi Kit", fw_arm="9.02", status="online")
        )
    return ids


def _run_state(env: Env, device_id: str) -> tuple[str, str]:
    with env.runtime.db.session() as s:
        row = s.scalars(select(FirmwareRun).where(FirmwareRun.device_id == device_id)).one()
        return row.state, row.message


def test_a_gateway_fetches_checks_installs_and_reports_and_refuses_a_corrupt_file(
    env: Env, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    om = env.world.accounts["om@I1"].headers()
    good = _prepare(env, "GWU1")
    bad = _prepare(env, "GWU2")
    r = env.client.post(
        "/api/v1/firmware/releases",
        data={"model": "CPS WiFi Kit", "firmware_type": "gateway", "version": "10.00"},
        files={"file": ("fw.bin", FILE, "application/octet-stream")},
        headers=om,
    )
    assert r.status_code == 201, r.text
    release = r.json()
    r = env.client.post(
        "/api/v1/firmware/tasks",
        json={
            "release_id": release["id"],
            "device_ids": [good["GWU1"], bad["GWU2"]],
            "policy": {"first_wave": 2},
        },
        headers=om,
    )
    assert r.status_code == 201, r.text
    task_id = r.json()["id"]

    with live_server(app) as base_url:
        monkeypatch.setattr(env.runtime.settings, "base_url", base_url)
        step = firmware_jobs.TaskStep(env.runtime.db, env.runtime.settings)
        assert step(datetime.now(UTC), task_id) == 2
        fetched: list[str] = []

        async def fetch(url: str) -> bytes:
            from voltfleet.simulator.firmware import http_fetch

            fetched.append(url)
            return await http_fetch(url)

        def answer(_id: str, _body: Any) -> dict[str, Any]:
            return {"status": "failed", "message": "not a firmware command"}

        async def scenario() -> None:
            config = env.bridge_config("bridge-fw")
            bridge = Bridge(
                MqttBridgeService.of(env.runtime),
                config.__class__(**{**config.__dict__, "command_poll_s": 0.2}),
            )
            ok = Installer(fetch=fetch, versions={("GWU1", "gateway"): "9.02"}, step_s=0.01)
            corrupt = Installer(fetch=fetch, corrupt=True, step_s=0.01)
            port = env.files.listen_port
            gw1 = MqttGateway("127.0.0.1", port, "GWU1", good["token"], answer, firmware=ok)
            gw2 = MqttGateway("127.0.0.1", port, "GWU2", bad["token"], answer, firmware=corrupt)
            async with running(bridge):
                gw1.start()
                gw2.start()
                try:
                    await until(
                        lambda: _run_state(env, good["GWU1"])[0] == "succeeded",
                        what="the good gateway's success",
                    )
                    await until(
                        lambda: _run_state(env, bad["GWU2"])[0] == "failed",
                        what="the corrupt download's failure",
                    )
                finally:
                    await gw1.close()
                    await gw2.close()
            assert ok.versions[("GWU1", "gateway")] == "10.00" and ok.installed == [release["id"]]
            assert corrupt.installed == [] and corrupt.versions == {}

        run(scenario())
    assert len(fetched) == 2 and all(u.startswith(base_url) for u in fetched)
    assert "sha256 mismatch" in _run_state(env, bad["GWU2"])[1]
    assert hashlib.sha256(FILE).hexdigest() == release["sha256"]
    devices = {
        d["serial"]: d["fw_arm"]
        for d in env.client.get("/api/v1/devices", headers=om).json()["items"]
        if d["serial"] in ("GWU1", "GWU2")
    }
    assert devices == {"GWU1": "10.00", "GWU2": "9.02"}
    detail = env.client.get(f"/api/v1/firmware/tasks/{task_id}", headers=om).json()
    assert detail["stats"]["succeeded"] == 1 and detail["stats"]["failed"] == 1
