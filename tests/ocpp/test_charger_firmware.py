"""Issue 16: firmware for chargers over OCPP. A task over a charger sends UpdateFirmware (1.6:
location, retrieveDate, retries; 2.0.1: requestId and firmware {location, retrieveDateTime,
signature}); the simulated charge point (a client of the public protocol) fetches the file with
the signed link without a session, reports FirmwareStatusNotification step by step, reboots, and
its BootNotification's firmwareVersion settles the run. A download that fails fails the run."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.support.live_server import free_port
from tests.support.world import World
from voltfleet.app.charging.charger_link import charger_link
from voltfleet.app.firmware.jobs import TaskStep
from voltfleet.app.runtime import Runtime
from voltfleet.simulator.charger_firmware import HEADER
from voltfleet.simulator.ocpp_charger import SimulatedCharger
from voltfleet.store.firmware_models import FirmwareRun
from voltfleet.store.fleet_models import Device

pytestmark = pytest.mark.parametrize("runtime", ["sqlite"], indirect=True)

FILE = HEADER + b"sim-2.0\n" + b"simulated charger firmware\n" * 300
SIGNATURE = base64.b64encode(bytes(range(64))).decode()


def upgrade(
    client: TestClient,
    runtime: Runtime,
    om: dict[str, str],
    charger: dict[str, str],
    version: str,
    base: str,
    links_to: str,
) -> dict[str, Any]:
    """Connect the simulated charger, release sim-2.0 for its model, run the task to its end: the
    run's row and what the charger did."""

    async def main() -> dict[str, Any]:
        cp = SimulatedCharger(base, charger["serial"], charger["token"], version=version)
        await cp.connect()
        try:
            with runtime.db.session() as s:
                model = s.get(Device, charger["charger"]).model  # type: ignore[union-attr]
            r = client.post(
                "/api/v1/firmware/releases",
                data={
                    "model": model,
                    "firmware_type": "charger",
                    "version": "sim-2.0",
                    "signature": SIGNATURE,
                },
                files={"file": ("wallbox.bin", FILE, "application/octet-stream")},
                headers=om,
            )
            assert r.status_code == 201, r.text
            r = client.post(
                "/api/v1/firmware/tasks",
                json={"release_id": r.json()["id"], "device_ids": [charger["charger"]]},
                headers=om,
            )
            assert r.status_code == 201, r.text
            task_id = r.json()["id"]
            runtime.settings.base_url = links_to  # where the signed link points
            step = TaskStep(runtime.db, runtime.settings, lambda: charger_link(runtime))
            started = await asyncio.to_thread(step, datetime.now(UTC), task_id)
            assert started == 1
            for _ in range(300):
                with runtime.db.session() as s:
                    run = s.scalars(select(FirmwareRun).where(FirmwareRun.task_id == task_id)).one()
                    if run.state in ("succeeded", "failed"):
                        break
                await asyncio.sleep(0.05)
            await cp.firmware.wait()
            return {
                "state": run.state,
                "message": run.message,
                "command_id": run.command_id,
                "statuses": list(cp.firmware.statuses),
                "version": cp.firmware.version,
            }
        finally:
            await cp.close()

    out = asyncio.run(main())
    with runtime.db.session() as s:
        out["fw_arm"] = s.get(Device, charger["charger"]).fw_arm  # type: ignore[union-attr]
    return out


@pytest.fixture
def served(base_url: str, monkeypatch: pytest.MonkeyPatch, runtime: Runtime) -> str:
    """The platform on a real port; the settings' base URL put back after the test."""
    monkeypatch.setattr(runtime.settings, "base_url", runtime.settings.base_url)
    return base_url


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_a_simulated_charger_downloads_installs_reboots_and_runs_the_release(
    client: TestClient,
    served: str,
    runtime: Runtime,
    world: World,
    om: dict[str, str],
    charger: dict[str, str],
    version: str,
) -> None:
    out = upgrade(client, runtime, om, charger, version, served, links_to=served)
    assert out["state"] == "succeeded", out
    assert out["version"] == "sim-2.0" and out["fw_arm"] == "sim-2.0"
    assert str(out["command_id"]).startswith("ocpp:")
    if version == "1.6":
        assert out["statuses"] == ["Downloading", "Downloaded", "Installing", "Installed"]
    else:  # signed: the station verified the signature; it rebooted to install
        assert out["statuses"] == [
            "Downloading",
            "Downloaded",
            "SignatureVerified",
            "Installing",
            "InstallRebooting",
            "Installed",
        ]


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
def test_a_download_that_fails_fails_the_run_and_the_charger_keeps_its_version(
    client: TestClient,
    served: str,
    runtime: Runtime,
    world: World,
    om: dict[str, str],
    charger: dict[str, str],
    version: str,
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"  # the link points where nothing listens
    out = upgrade(client, runtime, om, charger, version, served, links_to=nowhere)
    assert out["state"] == "failed"
    assert "could not download" in out["message"]
    assert out["statuses"] == ["Downloading", "DownloadFailed"]
    assert out["version"] == "sim-1.0" and out["fw_arm"] == "sim-1.0"


# ---- the wire, with the independent conformance stations ------------------------------------


def test_update_firmware_on_the_wire_in_both_versions_and_status_notifications_answered(
    base_url: str, charger: dict[str, str], om: dict[str, str]
) -> None:
    from ocpp.v16 import call as call16
    from ocpp.v201 import call as call201

    from tests.ocpp.stations import command, station

    params = {
        "location": "https://fleet.example/api/v1/firmware/files/r1?expires=1&sig=ab",
        "retrieve_date": "2026-12-06T03:00:00Z",
        "retries": 3,
        "retry_interval": 60,
        "request_id": 42,
        "signature": SIGNATURE,
    }

    async def run(version: str) -> tuple[Any, list[Any], Any]:
        async with station(base_url, charger["serial"], charger["token"], version) as cp:
            r = await command(base_url, om, charger["charger"], "update_firmware", **params)
            if version == "1.6":
                answer = await cp.call(call16.FirmwareStatusNotification(status="Downloading"))
            else:
                answer = await cp.call(
                    call201.FirmwareStatusNotification(status="InstallRebooting", request_id=42)
                )
            return r, list(cp.received), answer

    r16, got16, answer16 = asyncio.run(run("1.6"))
    assert r16.status_code == 200, r16.text
    assert got16 == [
        (
            "UpdateFirmware",
            {
                "location": params["location"],
                "retrieve_date": "2026-12-06T03:00:00Z",
                "retries": 3,
                "retry_interval": 60,
            },
        )
    ]
    assert answer16 is not None  # answered (no campaign waits for it: nothing moves)

    r201, got201, answer201 = asyncio.run(run("2.0.1"))
    assert r201.status_code == 200, r201.text
    assert r201.json()["status"] == "Accepted"
    assert got201[0][0] == "UpdateFirmware"
    sent = got201[0][1]
    assert sent["request_id"] == 42 and sent["retries"] == 3
    assert sent["firmware"] == {
        "location": params["location"],
        "retrieve_date_time": "2026-12-06T03:00:00Z",
        "signature": SIGNATURE,
    }
    assert answer201 is not None


def test_update_firmware_without_a_location_is_a_400_naming_it(
    base_url: str, charger: dict[str, str], om: dict[str, str]
) -> None:
    from tests.ocpp.stations import command, station

    async def run() -> Any:
        async with station(base_url, charger["serial"], charger["token"]):
            return await command(
                base_url,
                om,
                charger["charger"],
                "update_firmware",
                retrieve_date="2026-12-06T03:00:00Z",
            )

    r = asyncio.run(run())
    assert r.status_code == 400 and "location" in r.json()["detail"]
