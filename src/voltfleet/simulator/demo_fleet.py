"""The simulated homes of ``voltfleet demo``: a few homes in a background thread, talking to the
demo's own server through its HTTP API as the demo installer, so a newcomer sees live data.

Once the server answers, the last simulated day is back-filled flat out (charts and energy bars
have a day at once: about 50 s for 20 homes on the 2-core machine), the last minutes at
``speed``, and from then on the homes keep pace with the real clock (the platform refuses
readings from the future). The first home has an EV that came home a few minutes before the
start, so its charger (OCPP, over the demo's own server) is charging it from the first minutes
on. The home on the dynamic tariff follows, over the back-filled day, the plan the demo seeded
for it (demo.seed_plan_history), and gets its live day plan once the homes have caught up. The
homes carry a fixed serial tag, so a demo started again on the same data directory goes on with
the same homes. ``stop()`` ends the run within about a second; the thread is a daemon, so it
never holds the process up.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from voltfleet.simulator.demo_homes import (
    DEMO_HISTORY,
    DEMO_TAG,
    DYNAMIC_BATTERY_W,
    DYNAMIC_BATTERY_WH,
    DYNAMIC_HOME,
    HOMES,
)
from voltfleet.simulator.fleet import MAX_HOURS, FleetConfig, FleetReport, run_fleet_sync
from voltfleet.simulator.model import EvSpec, FaultSpec, HomeSpec

log = logging.getLogger(__name__)

DEMO_SEED = 2026
DEMO_EV_ARRIVES = timedelta(minutes=5)  # before the demo starts: charging at once
DEMO_ZONE = ZoneInfo(HOMES[0][2])  # the first home's time zone, where the demo's EV lives


def demo_ev(now: datetime) -> EvSpec:
    """The first home's EV: comes home every day at the time it came home just before the demo
    started and leaves two hours before that, wanting 30-80 kWh, so it charges at 7.4 kW for four
    hours or more from the start (the back-filled day holds the day before's session)."""
    arrival = (now - DEMO_EV_ARRIVES).astimezone(DEMO_ZONE)
    return EvSpec(
        battery_wh=100_000.0,
        max_power_w=7_400.0,
        arrive_hour=(hour := arrival.hour + arrival.minute / 60 + arrival.second / 3600),
        arrive_spread_h=0.0,
        # leaves two hours before it comes back: the day of history before the start holds the
        # day before's session, closed, and the session of the start is a new one
        depart_hour=(hour - 2.0) % 24,
        depart_spread_h=0.0,
        daily_need_wh=100_000.0,
        at_home_probability=1.0,
    )


def on_seeded_sites(specs: list[HomeSpec]) -> list[HomeSpec]:
    """The first homes are the demo's seeded sites (demo.HOMES, which carry their gateways):
    their names, places, countries, time zones and PV sizes, so a home in Graz keeps Austrian
    holidays on Vienna's clock in its household load (and its EV's hours); the rest stay as the
    seed made them. The home on the dynamic tariff gets the battery the demo seeded for it (and
    planned its day of history with)."""
    out = list(specs)
    for i, (name, country, tz, kwp, lat, lon) in enumerate(HOMES[: len(out)]):
        s = out[i]
        battery = s.battery
        if i == DYNAMIC_HOME and battery is not None:
            battery = replace(
                battery,
                capacity_wh=DYNAMIC_BATTERY_WH,
                max_charge_w=DYNAMIC_BATTERY_W,
                max_discharge_w=DYNAMIC_BATTERY_W,
            )
        out[i] = replace(
            s,
            name=name,
            latitude=lat,
            longitude=lon,
            timezone=tz,
            country=country,
            pv=replace(s.pv, capacity_wp=kwp * 1000, inverter_ac_w=round(kwp * 900 / 500) * 500),
            battery=battery,
        )
    return out


class QuietSimulatedTraffic(logging.Filter):
    """Leaves the demo's simulated devices out of the server's line-per-message logs: twenty
    homes sending and fetching commands, and a charger's OCPP messages, would scroll the logins
    the demo printed (and a person's own requests) out of the terminal at some 80 lines a second.
    Dropped: access-log lines of device calls (ingest and gateway command polling, which only
    devices make) and OCPP message lines of the demo's chargers (those with the demo's serial
    tag). The simulator still logs its problems, and its summary when it stops."""

    DEVICE_PATHS = ("/api/v1/ingest", "/api/v1/gateway/")
    CHARGERS = f"SIM{DEMO_TAG}"
    # where those lines are logged: uvicorn's access log, and the central system's message log
    # (the ocpp library logs "<charge point id>: send|receive ..." through the charger's channel)
    LOGGERS = ("uvicorn.access", "voltfleet.protocols.ocpp.connection")

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        if record.name == "uvicorn.access":  # '%s - "%s %s HTTP/%s" %d': client, method, path
            return not (len(args) > 2 and str(args[2]).startswith(self.DEVICE_PATHS))
        return not (args and str(args[0]).startswith(self.CHARGERS))

    def install(self) -> None:
        for name in self.LOGGERS:
            logging.getLogger(name).addFilter(self)

    def remove(self) -> None:
        for name in self.LOGGERS:
            logging.getLogger(name).removeFilter(self)


def local_url(host: str, port: int) -> str:
    """The URL a client in this process reaches a server bound to ``host`` at."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class DemoFleet:
    def __init__(
        self,
        url: str,
        email: str,
        password: str,
        *,
        sites: int = 20,
        speed: float = 60.0,
        history_hours: float = DEMO_HISTORY.total_seconds() / 3600,
        paced_minutes: float = 10.0,
        step_s: float = 60.0,
        ready_timeout_s: float = 60.0,
        early_fault_minutes: float | None = 30.0,
        org_id: str | None = None,
    ) -> None:
        """``early_fault_minutes``: the first home's battery loses its communication one
        simulated minute into the paced part, for this long (None: only the random faults), so
        an active alarm shows within seconds of the start and then clears."""
        self.url = url.rstrip("/")
        self.email = email
        self.password = password
        self.sites = sites
        self.speed = speed
        self.history_hours = history_hours
        self.paced_minutes = paced_minutes
        self.step_s = step_s
        self.ready_timeout_s = ready_timeout_s
        self.early_fault_minutes = early_fault_minutes
        self.org_id = org_id  # where the homes beyond the seeded sites go
        self.report: FleetReport | None = None
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="voltfleet-demo-fleet", daemon=True)
        self._quiet = QuietSimulatedTraffic()

    def start(self) -> DemoFleet:
        self._quiet.install()
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> bool:
        """Ask the run to end and wait for it; True when the thread has ended."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        self._quiet.remove()
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def config(self, now: datetime | None = None) -> FleetConfig:
        now = now or datetime.now(UTC)
        begin = now - timedelta(hours=self.history_hours)
        start = datetime.fromtimestamp(
            math.floor(begin.timestamp() / self.step_s) * self.step_s, UTC
        )
        return FleetConfig(
            sites=self.sites,
            speed=self.speed,
            hours=MAX_HOURS,  # bounded: four weeks of real time, or until stopped
            step_s=self.step_s,
            seed=DEMO_SEED,
            tag=DEMO_TAG,
            start=start,
            backfill_until=now - timedelta(minutes=self.paced_minutes),
            concurrency=4,
            ev_homes=(0,),
            ev=demo_ev(now),
            faults=FaultSpec(),  # a few battery faults per home and week, each for minutes
            lifetime_counter=True,  # the portal's "total yield" from the inverters' registers
            forced_fault_at=None
            if self.early_fault_minutes is None
            else now - timedelta(minutes=self.paced_minutes - 1),
            forced_fault_minutes=self.early_fault_minutes or 0.0,
            adjust_homes=on_seeded_sites,
            site_org_id=self.org_id,
            plan_homes=(DYNAMIC_HOME,) if self.sites > DYNAMIC_HOME else (),
        )

    def _wait_for_server(self) -> bool:
        deadline = time.monotonic() + self.ready_timeout_s
        with httpx.Client(timeout=2.0, trust_env=False) as http:
            while not self._stop.is_set() and time.monotonic() < deadline:
                try:
                    http.get(f"{self.url}/openapi.json")
                    return True
                except httpx.TransportError:
                    self._stop.wait(0.2)
        return False

    def _run(self) -> None:
        try:
            if not self._wait_for_server():
                if not self._stop.is_set():
                    log.warning("demo simulator: no server at %s; not starting", self.url)
                return
            self.report = run_fleet_sync(
                self.url, self.email, self.password, self.config(), stop=self._stop
            )
            log.info("demo simulator stopped: %s", self.report.summary().replace("\n", "; "))
        except Exception as exc:  # the demo goes on without its simulated homes
            self.error = exc
            log.warning("demo simulator failed: %r", exc)
