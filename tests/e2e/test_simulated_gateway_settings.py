"""End to end (issue 15): gateway settings sent as commands reach a simulated home's gateway
over its HTTP poll (real uvicorn on loopback, the simulator through the public API); it
acknowledges with the values it applied, and a reset reboots it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from tests.e2e.test_simulated_fleet import EMAIL, PASSWORD, Server, server
from tests.support.waiting import until
from voltfleet.simulator.fleet import FleetConfig, FleetReport, run_fleet_sync
from voltfleet.store.command_models import Command
from voltfleet.store.command_repository import SqlCommandRepository
from voltfleet.store.fleet_models import Device
from voltfleet.usecases.commands import queue

__all__ = ["server"]  # the fixture


def test_a_simulated_gateway_applies_its_settings(server: Server) -> None:
    stop = threading.Event()
    out: dict[str, FleetReport | BaseException] = {}
    config = FleetConfig(
        sites=1,
        speed=1.0,
        hours=0.5,  # bounded; stopped long before
        step_s=12.0,
        seed=12,
        tag="GWS",
        start=datetime.now(UTC) - timedelta(seconds=36),
        backfill_until=datetime.now(UTC),
        command_poll_s=0.3,
    )

    def fleet() -> None:
        try:
            out["report"] = run_fleet_sync(server.url, EMAIL, PASSWORD, config, stop=stop)
        except BaseException as exc:
            out["error"] = exc

    def gateway() -> str | None:
        assert "error" not in out, out.get("error")
        with server.runtime.db.session() as s:
            return s.scalar(select(Device.id).where(Device.serial == "SIMGWS00000-GW"))

    def ask(kind: str, params: dict[str, Any]) -> str:
        with server.runtime.db.session() as s:
            c = queue(
                SqlCommandRepository(s),
                gateway_id,
                kind,
                params,
                now=datetime.now(UTC),
                ttl=timedelta(minutes=2),
            )
            return c.id

    def answered(cid: str) -> Command | None:
        with server.runtime.db.session() as s:
            row = s.get(Command, cid)
            assert row is not None
            if row.state in ("queued", "sent"):
                return None
            s.expunge(row)
            return row

    thread = threading.Thread(target=fleet, daemon=True)
    thread.start()
    try:
        gateway_id = until(gateway, 30, "the simulated home's gateway")
        cid = ask("upload_interval", {"interval_s": 60, "safe_restart": True})
        row = until(lambda: answered(cid), 15, "the upload_interval reply")
        assert row.state == "acknowledged", row.message
        assert row.result["applied"] == {"interval_s": 60, "safe_restart": True}
        cid = ask("gateway_reset", {"confirm": True})
        row = until(lambda: answered(cid), 15, "the reset reply")
        assert row.state == "acknowledged" and row.result["reboots"] == 1
    finally:
        stop.set()
        thread.join(20)
    assert "error" not in out, out.get("error")
