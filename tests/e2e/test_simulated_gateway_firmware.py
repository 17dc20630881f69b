"""End to end (issue 15): simulated gateways report the firmware they run (real uvicorn on
loopback, the simulator through the public API), so the gateway dashboard's counts by firmware
version have no "not reported" group; a home an earlier run made without one gets it when the
simulator takes it up again."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select, update

from tests.e2e.test_simulated_fleet import EMAIL, PASSWORD, Server, server
from tests.support.waiting import until
from voltfleet.simulator.fleet import FleetConfig, FleetReport, run_fleet_sync
from voltfleet.store.fleet_models import Device

__all__ = ["server"]  # the fixture


def _run_until(server: Server, config: FleetConfig, done: object, what: str) -> None:
    stop = threading.Event()
    out: dict[str, FleetReport | BaseException] = {}

    def fleet() -> None:
        try:
            out["report"] = run_fleet_sync(server.url, EMAIL, PASSWORD, config, stop=stop)
        except BaseException as exc:
            out["error"] = exc

    thread = threading.Thread(target=fleet, daemon=True)
    thread.start()
    try:

        def check() -> bool:
            assert "error" not in out, out.get("error")
            return bool(done())  # type: ignore[operator]

        until(check, 40, what)
    finally:
        stop.set()
        thread.join(20)
    assert "error" not in out, out.get("error")


def test_simulated_gateways_report_their_firmware(server: Server) -> None:
    config = FleetConfig(
        sites=4,
        speed=1.0,
        hours=0.5,  # bounded; stopped long before
        step_s=12.0,
        seed=13,
        tag="GWF",
        start=datetime.now(UTC) - timedelta(seconds=36),
        backfill_until=datetime.now(UTC),
        command_poll_s=0.3,
    )

    def firmware() -> dict[str, str]:
        with server.runtime.db.session() as s:
            rows = s.execute(select(Device.serial, Device.fw_arm).where(Device.kind == "gateway"))
            return {serial: fw for serial, fw in rows}

    _run_until(server, config, lambda: len(firmware()) == 4, "the four homes' gateways")
    assert firmware() == {
        "SIMGWF00000-GW": "3.1.0",
        "SIMGWF00001-GW": "3.0.2",
        "SIMGWF00002-GW": "3.0.0",
        "SIMGWF00003-GW": "3.1.0",
    }
    with httpx.Client(base_url=server.url, trust_env=False) as http:
        r = http.post("/api/v1/auth/token", data={"username": EMAIL, "password": PASSWORD})
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        summary = http.get("/api/v1/gateways/summary", headers=auth).json()
    assert summary["by_firmware"] == {"3.1.0": 2, "3.0.2": 1, "3.0.0": 1}  # no "" group

    # a home made by a run whose gateways reported nothing is completed when taken up again
    with server.runtime.db.session() as s, s.begin():
        s.execute(update(Device).where(Device.serial == "SIMGWF00001-GW").values(fw_arm=""))
    again = replace(config, start=datetime.now(UTC) - timedelta(seconds=12))  # reattach: default
    _run_until(
        server,
        again,
        lambda: firmware()["SIMGWF00001-GW"] == "3.0.2",
        "the reattached gateway's firmware",
    )
