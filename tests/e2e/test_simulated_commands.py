"""End to end: a command sent through the API reaches a simulated home over HTTP polling (real
uvicorn on loopback, the simulator through the public API only), the home's battery follows it
(the stored battery power), and the command ends acknowledged."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from tests.e2e.test_simulated_fleet import EMAIL, PASSWORD, Server, server
from tests.support.waiting import until
from voltfleet.simulator.fleet import FleetConfig, FleetReport, run_fleet_sync
from voltfleet.store.command_models import Command
from voltfleet.store.fleet_models import Device
from voltfleet.store.timeseries import store_for

__all__ = ["server"]  # the fixture
SETPOINT_W = 2500.0


def test_a_simulated_home_applies_a_command_and_its_battery_follows(server: Server) -> None:
    stop = threading.Event()
    out: dict[str, FleetReport | BaseException] = {}
    config = FleetConfig(
        sites=1,
        speed=1.0,
        hours=0.5,  # bounded; stopped long before
        step_s=2.0,
        seed=7,
        tag="CMD",
        start=datetime.now(UTC) - timedelta(seconds=20),
        backfill_until=datetime.now(UTC),  # then simulated time keeps to the real clock
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

        def battery() -> str | None:
            with server.runtime.db.session() as s:
                return s.scalar(select(Device.id).where(Device.serial == "SIMCMD00000-BAT"))

        battery_id = until(battery, 30, "the simulated home's battery")

        def history() -> list[float] | None:
            with server.runtime.db.engine.connect() as conn:
                got = store_for(conn).read(
                    battery_id,
                    "battery_power_w",
                    datetime.now(UTC) - timedelta(minutes=5),
                    datetime.now(UTC) + timedelta(minutes=1),
                )
            return [v.value for v in got] if len(got) >= 5 else None

        before = until(history, 30, "the home's first readings")  # before any command
        with httpx.Client(base_url=server.url, trust_env=False, timeout=10) as http:
            r = http.post("/api/v1/auth/token", data={"username": EMAIL, "password": PASSWORD})
            headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
            r = http.post(
                f"/api/v1/devices/{battery_id}/commands",
                json={"kind": "battery_setpoint", "params": {"battery_power_w": SETPOINT_W}},
                headers=headers,
            )
            assert r.status_code == 201, r.text
            cid = r.json()["id"]

            def acknowledged() -> dict | None:  # type: ignore[type-arg]
                got = http.get(f"/api/v1/commands/{cid}", headers=headers).json()
                return got if got["state"] in ("acknowledged", "failed", "expired") else None

            done = until(acknowledged, 30, "the command's reply")
        assert done["state"] == "acknowledged", done
        assert done["sent_via"] == "http" and "holding at 2500 W" in done["message"]
        replied = datetime.fromisoformat(done["replied_at"])

        def followed() -> list[float] | None:
            with server.runtime.db.engine.connect() as conn:
                samples = store_for(conn).read(
                    battery_id,
                    "battery_power_w",
                    replied + timedelta(seconds=4),  # from the step after the reply
                    datetime.now(UTC) + timedelta(minutes=1),
                )
            values = [v.value for v in samples]
            return values if len(values) >= 3 else None

        after = until(followed, 30, "battery power readings after the command")
        assert all(abs(v - SETPOINT_W) < 1.0 for v in after), after
        assert any(abs(v - SETPOINT_W) > 1.0 for v in before), before
        with server.runtime.db.session() as s:
            row = s.get(Command, cid)
            assert row is not None and row.result == {"applied_battery_power_w": SETPOINT_W}
    finally:
        stop.set()
        thread.join(20)
    assert "error" not in out, out.get("error")
    report = out["report"]
    assert isinstance(report, FleetReport)
    assert report.stats.commands_received == 1 and report.stats.commands_acknowledged == 1
