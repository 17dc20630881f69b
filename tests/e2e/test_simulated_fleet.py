"""End to end: 10 simulated homes run one simulated day against a real voltfleet server (uvicorn
on loopback, fresh SQLite) through its public HTTP API only; the energy the platform stored must
match the simulator's own totals to within 0.1 %."""

from __future__ import annotations

import math
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import uvicorn

from voltfleet.accounts import ensure_platform
from voltfleet.app.orgs.service import build_org
from voltfleet.app.runtime import Runtime
from voltfleet.app.users.service import new_user
from voltfleet.bootstrap import build_runtime, create_app
from voltfleet.domain.access import OrgType
from voltfleet.domain.telemetry.rollup import Resolution
from voltfleet.settings import Settings
from voltfleet.simulator.fleet import FleetConfig, FleetReport, run_fleet_sync
from voltfleet.simulator.model import Counters
from voltfleet.store.timeseries import store_for

EMAIL = "installer@sim.test"
PASSWORD = "SimFleet-2026"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """voltfleet served by uvicorn on 127.0.0.1 in a daemon thread, on a fresh SQLite file."""

    def __init__(self, data_dir: Path) -> None:
        settings = Settings(
            mode="test",
            data_dir=data_dir,
            database_url=f"sqlite:///{data_dir / 'voltfleet.db'}",
            secret_key="e2e-secret-" + "s" * 40,
            argon2_time_cost=1,
            argon2_memory_kib=1024,
        )
        self.runtime: Runtime = build_runtime(settings)
        self.app = create_app(runtime=self.runtime)
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=port, log_level="warning", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="uvicorn", daemon=True)

    def start(self, timeout_s: float = 15.0) -> Server:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on {self.url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self.runtime.db.engine.dispose()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path)
    with srv.runtime.db.session() as s:
        platform = ensure_platform(s)
        dist = build_org(platform, "Sim Distribution", OrgType.DISTRIBUTOR, "DE")
        s.add(dist)
        s.flush()
        inst = build_org(dist, "Sim Installers", OrgType.INSTALLER, "DE")
        s.add(inst)
        s.flush()
        new_user(
            s,
            srv.runtime,
            email=EMAIL,
            username="sim installer",
            password=PASSWORD,
            org_id=inst.id,
            role="admin",
        )
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


POINTS = {
    # simulator total -> (device role, stored counter)
    "pv_wh": ("inverter", "pv_energy_wh"),
    "load_wh": ("inverter", "load_energy_wh"),
    "import_wh": ("meter", "grid_import_energy_wh"),
    "export_wh": ("meter", "grid_export_energy_wh"),
    "charge_wh": ("battery", "battery_charge_energy_wh"),
    "discharge_wh": ("battery", "battery_discharge_energy_wh"),
}


def stored_totals(server: Server, report: FleetReport) -> dict[int, dict[str, float]]:
    """Energy per home and counter over the run, from the stored hourly roll-ups."""
    lo = report.sim_start - timedelta(hours=2)
    hi = report.sim_end + timedelta(hours=2)
    out: dict[int, dict[str, float]] = {}
    with server.runtime.db.engine.connect() as conn:
        store = store_for(conn)
        for acc in report.accounts:
            serial = {
                "inverter": acc.inverter_serial,
                "battery": acc.battery_serial,
                "meter": acc.meter_serial,
            }
            out[acc.index] = {}
            for key, (role, point) in POINTS.items():
                device_id = acc.device_ids[serial[role]]
                rows = store.read_rollups(device_id, point, Resolution.HOUR, lo, hi)
                out[acc.index][key] = sum(r.value for r in rows)
    return out


def test_ten_homes_for_a_day_store_the_energy_the_simulator_made(server: Server) -> None:
    t0 = time.monotonic()
    config = FleetConfig(sites=10, speed=math.inf, hours=24.0, step_s=60.0, seed=11)
    report = run_fleet_sync(server.url, EMAIL, PASSWORD, config)
    wall = time.monotonic() - t0
    stats = report.stats
    assert not report.stopped_early and report.steps == 1440 and report.homes == 10
    assert stats.failed_readings == 0 and stats.quarantined == 0, stats.rejections[:5]
    assert stats.acknowledged == stats.sent and stats.duplicates == 0
    assert stats.sent == 10 * (7 + 1440 * 12)

    stored = stored_totals(server, report)
    total_sim = Counters()
    for i, sim in report.totals.items():
        total_sim = total_sim.plus(sim)
        for key in POINTS:
            want = getattr(sim, key)
            got = stored[i][key]
            assert got == pytest.approx(want, rel=1e-3, abs=0.5), (i, key, got, want)
    # the day was a real one: energy flowed every way
    assert total_sim.pv_wh > 0 and total_sim.load_wh > 10 * 2000
    assert total_sim.import_wh > 0 and total_sim.charge_wh + total_sim.discharge_wh > 0
    assert wall < 90, f"took {wall:.0f} s"
    print(f"\n{report.summary()}\n(test wall time {wall:.1f} s)")
