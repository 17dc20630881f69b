"""End to end: an upgrade task reaches a simulated home's gateway over HTTP polling (real uvicorn
on loopback, the simulator through the public API only); the gateway fetches the file with the
command's signed link, checks its hash, installs, reports each step with POST
/api/v1/gateway/firmware-status, and the task ends succeeded with the device on the new
version."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select, update

from tests.e2e.test_simulated_fleet import EMAIL, PASSWORD, Server, server
from tests.support.waiting import until
from voltfleet.app.firmware.jobs import TaskStep
from voltfleet.simulator.fleet import FleetConfig, FleetReport, run_fleet_sync
from voltfleet.store.firmware_models import FirmwareRun
from voltfleet.store.fleet_models import Device

__all__ = ["server"]  # the fixture
FILE = b"simulated gateway firmware 2.0\n" * 200


def test_a_simulated_gateway_installs_a_release_over_http(server: Server) -> None:
    server.runtime.settings.base_url = server.url  # the links the gateways get
    stop = threading.Event()
    out: dict[str, FleetReport | BaseException] = {}
    config = FleetConfig(
        sites=1,
        speed=1.0,
        hours=0.5,
        step_s=2.0,
        seed=11,
        tag="FWU",
        start=datetime.now(UTC) - timedelta(seconds=20),
        backfill_until=datetime.now(UTC),
        command_poll_s=0.5,
    )

    def fleet() -> None:
        try:
            out["report"] = run_fleet_sync(server.url, EMAIL, PASSWORD, config, stop=stop)
        except BaseException as exc:
            out["error"] = exc

    thread = threading.Thread(target=fleet, daemon=True)
    thread.start()
    try:

        def gateway() -> str | None:
            with server.runtime.db.session() as s:
                row = s.scalars(
                    select(Device).where(Device.kind == "gateway", Device.serial.like("SIMFWU%"))
                ).first()
                if row is None or row.status != "online":
                    return None
                row.model = "SIM-GW"
                return row.id

        gateway_id = until(gateway, 30, "the simulated home's gateway online")
        with server.runtime.db.session() as s:
            s.execute(update(Device).where(Device.id == gateway_id).values(fw_arm="1.0"))
        with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as http:
            r = http.post("/api/v1/auth/token", data={"username": EMAIL, "password": PASSWORD})
            headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
            r = http.post(
                "/api/v1/firmware/releases",
                data={"model": "SIM-GW", "firmware_type": "gateway", "version": "2.0"},
                files={"file": ("gw.bin", FILE, "application/octet-stream")},
                headers=headers,
            )
            assert r.status_code == 201, r.text
            r = http.post(
                "/api/v1/firmware/tasks",
                json={"release_id": r.json()["id"], "device_ids": [gateway_id]},
                headers=headers,
            )
            assert r.status_code == 201, r.text
            task_id = r.json()["id"]
            assert TaskStep(server.runtime.db, server.runtime.settings)(datetime.now(UTC), task_id)

            def finished() -> tuple[str, str] | None:
                with server.runtime.db.session() as s:
                    run = s.scalars(select(FirmwareRun).where(FirmwareRun.task_id == task_id)).one()
                    return (
                        (run.state, run.message) if run.state in ("succeeded", "failed") else None
                    )

            state, message = until(finished, 30, "the gateway's success report")
            assert state == "succeeded", message
            device = http.get(f"/api/v1/devices/{gateway_id}", headers=headers).json()
            assert device["fw_arm"] == "2.0"
    finally:
        stop.set()
        thread.join(20)
    assert "error" not in out, out.get("error")
