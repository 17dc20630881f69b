"""End to end, as the demo shows it: an O&M engineer's register Write and Read reach a simulated
home over HTTP polling (real uvicorn on loopback, the simulator through the public API only), its
gateway answers from its register bank, and the values come back into the register list."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from tests.e2e.test_simulated_fleet import EMAIL, PASSWORD, Server, server
from tests.support.waiting import until
from voltfleet.simulator.fleet import FleetConfig, FleetReport, run_fleet_sync
from voltfleet.store.fleet_models import Device

__all__ = ["server"]  # the fixture


def test_a_simulated_home_answers_register_reads_and_writes(server: Server) -> None:
    stop = threading.Event()
    out: dict[str, FleetReport | BaseException] = {}
    config = FleetConfig(
        sites=1,
        speed=1.0,
        hours=0.5,  # bounded; stopped long before
        step_s=2.0,
        seed=11,
        tag="REG",
        start=datetime.now(UTC) - timedelta(seconds=10),
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

        def inverter() -> str | None:
            with server.runtime.db.session() as s:
                return s.scalar(select(Device.id).where(Device.serial == "SIMREG00000-INV"))

        inv = until(inverter, 30, "the simulated home's inverter")
        with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as http:
            r = http.post("/api/v1/auth/token", data={"username": EMAIL, "password": PASSWORD})
            headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
            r = http.post(
                f"/api/v1/devices/{inv}/registers/write",
                json={"key": "704.WMaxLimPct", "value": 55},
                headers=headers,
            )
            assert r.status_code == 201, r.text
            write_id = r.json()["id"]
            r = http.post(
                f"/api/v1/devices/{inv}/registers/read",
                json={"keys": ["1.Md", "124.WChaMax"]},
                headers=headers,
            )
            assert r.status_code == 201, r.text
            read_id = r.json()["id"]

            def done(cid: str) -> dict | None:  # type: ignore[type-arg]
                got = http.get(f"/api/v1/commands/{cid}", headers=headers).json()
                return got if got["state"] in ("acknowledged", "failed", "expired") else None

            written = until(lambda: done(write_id), 30, "the write's reply")
            assert written["state"] == "acknowledged", written
            assert (written["result"]["before"], written["result"]["after"]) == (100, 55)
            assert until(lambda: done(read_id), 30, "the read's reply")["state"] == "acknowledged"
            values = {
                r["key"]: r["value"]
                for g in ("Common (1)", "Storage (124)", "DER AC Controls (704)")
                for r in http.get(
                    f"/api/v1/devices/{inv}/registers", params={"group": g}, headers=headers
                ).json()["registers"]
            }
            assert values["1.Md"] == "SIM-HYB-5K" and values["124.WChaMax"] == 5000
            assert values["704.WMaxLimPct"] == 55
    finally:
        stop.set()
        thread.join(20)
    assert "error" not in out, out.get("error")
