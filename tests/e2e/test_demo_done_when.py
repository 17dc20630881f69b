"""Issue 6's "Done when", end to end: ``voltfleet demo`` in a process of its own (a fresh data
directory, a free loopback port, nothing else running) shows within two minutes of the command a
fleet of twenty homes with live power flows, a day of history, an active alarm, a charging EV and
a battery following its plan, all at once.

Each item is read where a newcomer meets it: the API the portal's pages are drawn from, signed in
as the distributor (who sees every home), and the site page's fragments for the alarm, the
charger and the plan, signed in to the portal as the installer. Bounded: the demo gets 120 s,
then it is stopped (its whole process group) whatever happened.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.pg_server import free_port
from voltfleet.demo import DEMO_PASSWORD, HOMES

WITHIN_S = 120.0
HOMES_N = 20
DISTRIBUTOR = "distributor@demo.voltfleet"
INSTALLER = "installer@demo.voltfleet"
FIRST, DYNAMIC = HOMES[0][0], HOMES[1][0]  # the home with the EV and the alarm; the planned one


class Demo:
    """``python -m voltfleet.cli demo`` in its own session (process group), output to a file."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / "demo.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("VOLTFLEET_")}
        env.update(VOLTFLEET_MODE="demo", VOLTFLEET_DATA_DIR=str(data_dir))
        self.started = time.monotonic()
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "voltfleet.cli", "demo", "--host", "127.0.0.1",
                 "--port", str(self.port)],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def stop(self) -> None:
        """SIGTERM to the demo's process group, SIGKILL after 15 s."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    d = Demo(tmp_path)
    try:
        yield d
    finally:
        d.stop()


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


class Newcomer:
    """What the newcomer has open: the API as the distributor, the portal as the installer."""

    def __init__(self, url: str) -> None:
        self.api = httpx.Client(base_url=url, timeout=20, trust_env=False)
        self.portal = httpx.Client(base_url=url, timeout=20, trust_env=False)
        self.sites: dict[str, dict[str, Any]] = {}  # name -> site

    def sign_in(self) -> None:
        r = self.api.post(
            "/api/v1/auth/token", data={"username": DISTRIBUTOR, "password": DEMO_PASSWORD}
        )
        assert r.status_code == 200, r.text
        self.api.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        r = self.portal.post("/login", data={"email": INSTALLER, "password": DEMO_PASSWORD})
        assert r.status_code in (200, 303), r.text
        assert self.portal.get("/home").status_code == 200

    def get(self, path: str, **params: Any) -> Any:
        r = self.api.get(path, params=params)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        return r.json()

    def page(self, path: str) -> str:
        r = self.portal.get(path)
        assert r.status_code == 200, (path, r.status_code)
        return r.text

    # ---- the five things, each True once the newcomer can see it ----

    def fleet_live(self) -> bool:
        """Twenty homes, each with fresh power flows that balance (pv + grid = load + battery)."""
        got = self.get("/api/v1/sites", page_size=100)
        self.sites = {s["name"]: s for s in got["items"]}
        if got["total"] < HOMES_N:
            return False
        assert got["total"] == HOMES_N, sorted(self.sites)
        fresh = datetime.now(UTC) - timedelta(minutes=3)
        for site in self.sites.values():
            f = self.get(f"/api/v1/sites/{site['id']}/live/now")["flows"]
            if f["ts"] is None or ts(f["ts"]) < fresh or f["pv_power_w"] is None:
                return False
            assert f["grid_power_w"] is not None and f["load_power_w"] is not None, f
            assert not f["load_derived"], f  # measured by the inverter
            supply = f["pv_power_w"] + f["grid_power_w"]
            assert supply == pytest.approx(
                f["load_power_w"] + (f["battery_power_w"] or 0.0), abs=5.0
            ), (site["name"], f)
        return True

    def day_of_history(self) -> bool:
        """Every home's meter has readings in (nearly) every hour of the last day: the charts
        and the energy bars are full."""
        if len(self.sites) < HOMES_N:
            return False
        now = datetime.now(UTC)
        meters = self.get("/api/v1/devices", kind="meter", page_size=100)["items"]
        assert len(meters) == HOMES_N
        for m in meters:
            series = self.get(
                f"/api/v1/devices/{m['id']}/series",
                points="grid_power_w",
                resolution="hour",
                start_time=(now - timedelta(hours=24)).isoformat(),
                end_time=now.isoformat(),
            )["series"][0]["rows"]
            if sum(1 for row in series if row["samples"]) < 23:
                return False
        return True

    def active_alarm(self) -> bool:
        """The first home's battery has lost its communication: an active major alarm in the
        alarm list, in the home page's counts and on the site's page."""
        active = self.get("/api/v1/alarms", status="active", page_size=100)["items"]
        mine = [a for a in active if a["device_serial"] == "SIMDEMO00000-BAT"]
        if not mine or FIRST not in self.sites:
            return False
        assert mine[0]["code"] == "BAT_COMM_LOST" and mine[0]["severity"] == "major", mine
        assert self.get("/api/v1/fleet/kpis")["alarms"]["major"] >= 1
        return "BAT_COMM_LOST" in self.page(f"/site/{self.sites[FIRST]['id']}/alarms")

    def ev_charging(self, since: datetime) -> bool:
        """The first home's EV came home just before the start: its session is running, at
        most at the charger's 7.4 kW and at least at the 6 A the power manager never goes
        below for a charging car (the home is the demo's power-management location, in solar
        balancing: the limit follows the sun and the house load), and the site page's charger
        card says it is charging."""
        running = self.get("/api/v1/charging/sessions", active="true")["items"]
        now_charging = [
            x
            for x in running
            if x["charger_serial"] == "SIMDEMO00000-EVC"
            and ts(x["started_at"]) > since - timedelta(minutes=15)
            and (x["power_w"] or 0.0) > 0
        ]
        if not now_charging or FIRST not in self.sites:
            return False
        assert 6 * 230.0 <= now_charging[0]["power_w"] <= 7400.0, now_charging[0]
        return "charging" in self.page(f"/site/{self.sites[FIRST]['id']}/chargers")

    def battery_follows_plan(self, since: datetime) -> bool:
        """The dynamic-tariff home's battery: a day plan made since the start and acknowledged,
        and over its day of history the reported power on the planned power (5-minute means
        within 5 % in the charge and discharge hours, for half an hour at least); the site page
        shows the plan's table."""
        if DYNAMIC not in self.sites:
            return False
        site_id = self.sites[DYNAMIC]["id"]
        now = datetime.now(UTC)
        plan = self.get(
            f"/api/v1/sites/{site_id}/battery-plan",
            start_time=(now - timedelta(hours=24)).isoformat(),
            end_time=(now + timedelta(hours=12)).isoformat(),
        )
        live = [
            c
            for c in plan["commands"]
            if ts(c["created_at"]) > since and c["state"] == "acknowledged"
        ]
        if not live:
            return False
        agree = 0
        for c in plan["commands"]:
            planned = c["params"].get("battery_power_w")
            if planned is None or c["state"] != "acknowledged":
                continue
            inside = [
                a["battery_power_w"]
                for a in plan["actual"]
                if ts(c["not_before"]) <= ts(a["start_time"]) < ts(c["expires_at"])
            ]
            agree += sum(1 for w in inside if abs(w - planned) <= 0.05 * abs(planned))
        if agree < 6:
            return False
        fragment = self.page(f"/site/{site_id}/battery-plan")
        return 'id="plan-table"' in fragment and "acknowledged" in fragment


def answers(http: httpx.Client) -> bool:
    try:
        return http.get("/login").status_code == 200
    except httpx.TransportError:
        return False


def test_the_demo_shows_a_live_fleet_within_two_minutes(demo: Demo) -> None:
    since = datetime.now(UTC)
    newcomer = Newcomer(demo.url)
    seen: dict[str, float] = {}
    try:
        while not answers(newcomer.api):
            assert demo.proc.poll() is None, demo.log_tail()
            assert demo.elapsed() < WITHIN_S, f"no portal in {WITHIN_S:.0f} s\n{demo.log_tail()}"
            time.sleep(0.2)
        seen["portal answers"] = demo.elapsed()
        newcomer.sign_in()
        checks: dict[str, Callable[[], bool]] = {
            "20 homes with live power flows": newcomer.fleet_live,
            "a day of history": newcomer.day_of_history,
            "an active alarm": newcomer.active_alarm,
            "a charging EV": lambda: newcomer.ev_charging(since),
            "a battery following its plan": lambda: newcomer.battery_follows_plan(since),
        }
        while demo.elapsed() < WITHIN_S and len(seen) < len(checks) + 1:
            assert demo.proc.poll() is None, demo.log_tail()
            for name, check in checks.items():
                if name not in seen and check():
                    seen[name] = demo.elapsed()
            time.sleep(1.0)
        missing = [name for name in checks if name not in seen]
        assert not missing, f"not shown within {WITHIN_S:.0f} s: {missing}\n{demo.log_tail()}"
        # all five at once: the fleet is still live, and the alarm still active, at the end
        assert newcomer.fleet_live() and newcomer.active_alarm()
    finally:
        newcomer.api.close()
        newcomer.portal.close()
    print("\n" + "\n".join(f"{t:6.1f} s  {name}" for name, t in seen.items()))
