"""The production set of docs/deployment.md on one machine: PostgreSQL, Mosquitto, the shipped
nginx site, two API processes, two MQTT bridges sharing the uplink, and two job workers. Simulated
homes send over HTTPS (through nginx) and over MQTT, and OCPP chargers stay connected through
nginx; mid-run the API process holding the most chargers and one bridge are SIGKILLed and
restarted, and the site's main fuse is lowered while that process's chargers are away.
Afterwards every reading the platform acknowledged (HTTP answers, MQTT PUBACKs) is stored once,
both bridges took part, the restarted ones serve again, every charger is connected again and
holds the limits the platform recorded as sent after the change, and no job ran twice (the
workers keep their finished jobs: procrastinate's tables are the audit)."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.protocols.mosquitto import Mosquitto, free_port, require_mosquitto
from tests.support.chargers import Charger, ChargerFleet
from tests.support.nginx_proxy import Nginx, nginx_binary
from tests.support.pg_server import fresh_database
from tests.support.server_process import SECRET, ServerProcess, seed_installer
from voltfleet.protocols.mqtt import broker
from voltfleet.protocols.mqtt.broker import BrokerFiles
from voltfleet.simulator.fleet import FleetConfig, FleetReport, run_fleet_sync

pytestmark = pytest.mark.pg

BRIDGE_PASSWORD = "bridge-secret-for-the-production-set"
METRICS_TOKEN = "metrics-token-for-the-production-set"
CHARGERS = 4
FUSE_BEFORE_A, FUSE_AFTER_A = 64.0, 40.0  # the main fuse, shared by the chargers (no meter)


class CliProcess:
    """``python -m voltfleet.cli <args>`` with the set's environment; output to ``log``."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args, self.env, self.log = args, env, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "voltfleet.cli", *self.args],
                env=self.env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
            self.proc = None

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


@dataclass
class ProductionSet:
    url: str  # the database
    nginx: Nginx
    apis: list[ServerProcess]
    bridges: list[CliProcess]
    workers: list[CliProcess]
    email: str
    password: str
    mqtt_url: str


@pytest.fixture
def production(pg_url: str | None, tmp_path: Path) -> Iterator[ProductionSet]:
    if pg_url is None:
        pytest.skip("PostgreSQL server not available (install the postgresql package)")
    if nginx_binary() is None:
        if os.environ.get("VOLTFLEET_REQUIRE_NGINX") == "1":
            pytest.fail("nginx is required (VOLTFLEET_REQUIRE_NGINX=1) but was not found")
        pytest.skip("nginx not installed")
    require_mosquitto()
    t0 = time.monotonic()
    url = fresh_database(pg_url, "voltfleet_production_set")
    email, password = seed_installer(url, tmp_path)
    print(f"migrated and seeded in {time.monotonic() - t0:.0f} s")
    files = BrokerFiles(
        tmp_path / "broker",
        bridge_password=BRIDGE_PASSWORD,
        listen_port=free_port(),
        pid_file=tmp_path / "broker" / "mosquitto.pid",
        run_as_user="root" if os.geteuid() == 0 else None,
        autosave_interval_s=1,
    )
    broker.write(files)
    mosquitto = Mosquitto(files)
    mosquitto.start()
    mqtt_url = f"mqtt://127.0.0.1:{files.listen_port}"
    shared = {
        "VOLTFLEET_JOBS": "worker",  # the API processes defer, the worker runs
        "VOLTFLEET_TRUSTED_PROXIES": "127.0.0.1",
        "VOLTFLEET_MQTT_URL": mqtt_url,
        "VOLTFLEET_MQTT_PASSWORD": BRIDGE_PASSWORD,
        "VOLTFLEET_MQTT_BROKER_DIR": str(files.directory),
        "VOLTFLEET_MQTT_BROKER_PID_FILE": str(files.pid_file),
        "VOLTFLEET_MQTT_SHARED_GROUP": "voltfleet",
        "VOLTFLEET_METRICS_TOKEN": METRICS_TOKEN,  # which API process holds how many chargers
    }
    apis = [ServerProcess(url, tmp_path, env=shared, log_name=f"api-{n}.log") for n in ("a", "b")]
    base = {k: v for k, v in os.environ.items() if not k.startswith("VOLTFLEET_")}
    base.update(
        shared,
        VOLTFLEET_MODE="test",
        VOLTFLEET_DATA_DIR=str(tmp_path),
        VOLTFLEET_DATABASE_URL=url,
        VOLTFLEET_SECRET_KEY=SECRET,
    )
    bridges = [
        CliProcess(["mqtt-bridge"], {**base, "VOLTFLEET_MQTT_CLIENT_ID": f"bridge-{n}"},
                   tmp_path / f"bridge-{n}.log")
        for n in (1, 2)
    ]  # fmt: skip
    workers = [  # two: a job runs once however many workers run; they keep finished jobs
        CliProcess(["worker", "--name", f"w{n}", "--keep-jobs"], base, tmp_path / f"worker-{n}.log")
        for n in (1, 2)
    ]
    proxy = Nginx(tmp_path / "nginx", [s.port for s in apis])
    try:
        # All at once: each start costs seconds of CPU (imports), so on a busy machine starting
        # them in parallel is what keeps the set's start within a minute or two.
        for api in apis:
            api.launch()
        for worker in workers:
            worker.start()
        for bridge in bridges:
            bridge.start()
        for api in apis:
            api.wait_up(120)
        proxy.start()
        print(f"the set is up in {time.monotonic() - t0:.0f} s")
        yield ProductionSet(url, proxy, apis, bridges, workers, email, password, mqtt_url)
    finally:
        proxy.stop()
        stop_all([*bridges, *workers, *apis])
        mosquitto.stop()


def stop_all(processes: list[CliProcess | ServerProcess]) -> None:
    """SIGTERM to every process at once, then wait for each (SIGKILL after 10 s): a graceful stop
    takes seconds per process on a busy machine, so one after the other would take a minute."""
    for p in processes:
        if p.proc is not None:
            p.proc.terminate()
    deadline = time.monotonic() + 10
    for p in processes:
        if p.proc is not None:
            try:
                p.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.proc.kill()
                p.proc.wait(10)
            p.proc = None


def stored(url: str, serial_tag: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT count(*) FROM device_readings r "
                        "JOIN devices d ON d.id = r.device_id WHERE d.serial LIKE :tag"
                    ),
                    {"tag": f"%{serial_tag}%"},
                ).scalar_one()
            )
    finally:
        engine.dispose()


def wait_for(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.25)


def setup_chargers(p: ProductionSet, tls: ssl.SSLContext) -> tuple[str, list[Charger]]:
    """A depot with ``CHARGERS`` chargers of one 32 A connector sharing the main fuse (no meter;
    idle, each gets an equal share as its fallback limit, a default profile), set up through
    nginx; (its power URL, the chargers with their OCPP passwords)."""
    with httpx.Client(base_url=p.nginx.url, verify=tls, timeout=30, trust_env=False) as http:
        r = http.post("/api/v1/auth/token", data={"username": p.email, "password": p.password})
        http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        r = http.post(
            "/api/v1/sites",
            json={"name": "Depot", "timezone": "Europe/Berlin", "gateway": {"serial": "PSC-GW"}},
        )
        assert r.status_code == 201, r.text
        site = r.json()["id"]
        serials = [f"PSC-EVC{n}" for n in range(CHARGERS)]
        for serial in serials:
            device = {"kind": "charger", "serial": serial,
                      "connectors": [{"connector_no": 1, "max_current_a": 32}]}  # fmt: skip
            r = http.post(f"/api/v1/sites/{site}/devices", json=device)
            assert r.status_code == 201, r.text
        r = http.get("/api/v1/devices", params={"site_id": site})
        ids = {d["serial"]: d["id"] for d in r.json()["items"]}
        chargers = [
            Charger(serial, http.post(f"/api/v1/devices/{ids[serial]}/token").json()["token"])
            for serial in serials
        ]
        power = f"/api/v1/sites/{site}/power"
        r = http.put(power, json={"grid_type": "3x400", "main_fuse_a": FUSE_BEFORE_A})
        assert r.status_code == 200, r.text
        root = r.json()["groups"][0]["id"]
        for c in r.json()["connectors"]:
            r = http.put(f"{power}/connectors/{c['connector_id']}", json={"group_id": root})
            assert r.status_code == 200, r.text
    return power, chargers


def sent_limits(url: str) -> dict[str, float | None]:
    """The fallback limit (an idle connector's default profile) the platform recorded as accepted
    by each charger, by serial."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT d.serial, pc.fallback_sent_a FROM power_connectors pc "
                    "JOIN connectors c ON c.id = pc.connector_id "
                    "JOIN devices d ON d.id = c.charger_id WHERE d.serial LIKE 'PSC-%'"
                )
            ).all()
        return {serial: sent for serial, sent in rows}
    finally:
        engine.dispose()


def held_by(api: ServerProcess) -> int:
    """The chargers connected to this API process (its own metrics, not through the proxy)."""
    try:
        r = httpx.get(
            api.url + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
            timeout=10, trust_env=False,
        )  # fmt: skip
    except httpx.TransportError:
        return 0
    for line in r.text.splitlines():
        if line.startswith("voltfleet_ocpp_connections "):
            return int(float(line.split()[1]))
    return 0


def jobs_run_twice(url: str) -> tuple[int, list[tuple[object, ...]], list[tuple[object, ...]]]:
    """From procrastinate's tables (the workers keep finished jobs): how many jobs ran; the jobs
    started more often than they were retried plus one; the periodic slots (task, scheduled
    instant) deferred more than once."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            ran = conn.execute(
                text("SELECT count(*) FROM procrastinate.procrastinate_jobs WHERE status <> 'todo'")
            ).scalar_one()
            twice = conn.execute(
                text(
                    "SELECT j.id, j.task_name, j.worker_id, "
                    "count(*) FILTER (WHERE e.type = 'started') AS starts, "
                    "count(*) FILTER (WHERE e.type IN ('deferred_for_retry', 'retried')) "
                    "FROM procrastinate.procrastinate_jobs j "
                    "JOIN procrastinate.procrastinate_events e ON e.job_id = j.id "
                    "GROUP BY j.id HAVING count(*) FILTER (WHERE e.type = 'started') > "
                    "1 + count(*) FILTER (WHERE e.type IN ('deferred_for_retry', 'retried'))"
                )
            ).all()
            slots = conn.execute(
                text(
                    "SELECT task_name, args->>'timestamp', count(*) "
                    "FROM procrastinate.procrastinate_jobs WHERE args ? 'timestamp' "
                    "GROUP BY 1, 2 HAVING count(*) > 1"
                )
            ).all()
        return int(ran), [tuple(r) for r in twice], [tuple(r) for r in slots]
    finally:
        engine.dispose()


def test_the_production_set_loses_and_doubles_nothing_when_processes_die(
    production: ProductionSet,
) -> None:
    p = production
    tls = ssl.create_default_context(cafile=str(p.nginx.cert))
    power, chargers = setup_chargers(p, tls)
    fleet_of_chargers = ChargerFleet(p.nginx.url, chargers, tls=tls, reconnect_s=3.0)
    fleet_of_chargers.start()
    try:
        run_the_set(p, tls, power, chargers, fleet_of_chargers)
    except BaseException:
        for proc in (*p.workers,):
            print(proc.log.name, proc.tail(), file=sys.stderr)
        for api in p.apis:
            print(api.log_path.name, api.log_tail(), file=sys.stderr)
        raise
    finally:
        fleet_of_chargers.stop()


def run_the_set(
    p: ProductionSet,
    tls: ssl.SSLContext,
    power: str,
    chargers: list[Charger],
    fleet_of_chargers: ChargerFleet,
) -> None:
    # Every charger connected (nginx spreads them) and holding its first limits.
    fleet_of_chargers.wait(lambda: all(c.connected for c in chargers), 60, "chargers connected")
    share = FUSE_BEFORE_A / CHARGERS
    fleet_of_chargers.wait(
        lambda: all(c.limits() == {"TxDefaultProfile": share} for c in chargers),
        60, "the first limits",
    )  # fmt: skip
    for bridge in p.bridges:  # a process starts in seconds, more on a busy machine
        wait_for(lambda b=bridge: "connected to" in b.tail(), 90, f"{bridge.log.name} up")
    reports: dict[str, FleetReport] = {}
    errors: list[BaseException] = []

    def fleet(transport: str, tag: str) -> None:
        config = FleetConfig(
            sites=2, speed=900.0, hours=4.0, step_s=60.0, seed=7, weather="clearsky",
            tag=tag, transport=transport, mqtt_url=p.mqtt_url, wall_limit_s=45.0,
            command_poll_s=None, ca_file=str(p.nginx.cert),
        )  # fmt: skip
        try:
            reports[transport] = run_fleet_sync(p.nginx.url, p.email, p.password, config)
        except BaseException as exc:  # reported below, with the processes' logs
            errors.append(exc)

    threads = [
        threading.Thread(target=fleet, args=("http", "PSH")),
        threading.Thread(target=fleet, args=("mqtt", "PSM")),
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 40
    while stored(p.url, "PSM") == 0 or stored(p.url, "PSH") == 0:  # both paths are flowing
        if errors or time.monotonic() > deadline:
            counts = {tag: stored(p.url, tag) for tag in ("PSH", "PSM")}
            pytest.fail(f"readings {counts}, errors {errors!r}: {p.bridges[0].tail()}")
        time.sleep(0.5)

    # SIGKILL the API process holding the most chargers, and a bridge; start both again at
    # once (a start costs ~4 s of CPU: on a busy 2-core machine that is most of a minute, so
    # the replacement comes up while the run goes on, and is waited for at the end).
    held = [held_by(api) for api in p.apis]
    victim = p.apis[held.index(max(held))]
    survivor = p.apis[1 - p.apis.index(victim)]
    connections_before = {c.serial: c.connections for c in chargers}
    victim.kill()
    p.bridges[0].kill()
    p.bridges[0].start()
    victim.launch()

    def dropped_now() -> list[Charger]:
        return [
            c for c in chargers if not c.connected or c.connections > connections_before[c.serial]
        ]

    fleet_of_chargers.wait(lambda: len(dropped_now()) >= max(held), 30, "the victim's chargers")
    dropped = dropped_now()

    # While the victim's chargers are away, lower the main fuse (through nginx, to the survivor):
    # the new, smaller share must reach every charger, the returning ones included.
    with httpx.Client(base_url=p.nginx.url, verify=tls, timeout=30, trust_env=False) as http:
        r = http.post("/api/v1/auth/token", data={"username": p.email, "password": p.password})
        http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        r = http.put(power, json={"grid_type": "3x400", "main_fuse_a": FUSE_AFTER_A})
        assert r.status_code == 200, r.text
    new_share = FUSE_AFTER_A / CHARGERS

    wait_for(lambda: p.bridges[0].tail().count("connected to") == 2, 90, "bridge-1 back")
    for t in threads:
        t.join(120)
    assert not errors, f"{errors!r}\n{p.bridges[0].tail()}\n{victim.log_tail()}"
    http_stats, mqtt_stats = reports["http"].stats, reports["mqtt"].stats
    assert http_stats.failed_readings == 0 and http_stats.quarantined == 0, reports[
        "http"
    ].summary()
    assert mqtt_stats.failed_readings == 0, reports["mqtt"].summary()
    assert http_stats.sent > 0 and mqtt_stats.delivered > 0

    # Every acknowledged reading is stored, once (the store keeps one per device, point, time).
    assert stored(p.url, "PSH") == http_stats.acknowledged
    deadline = time.monotonic() + 60  # the bridges drain what the broker acknowledged
    while stored(p.url, "PSM") < mqtt_stats.delivered and time.monotonic() < deadline:
        time.sleep(0.5)
    assert stored(p.url, "PSM") == mqtt_stats.delivered, p.bridges[0].tail() + p.bridges[1].tail()

    # Both bridges took part; the killed one came back and consumed again.
    logs = [b.tail() for b in p.bridges]
    assert all("connected to" in log for log in logs), logs
    started = p.bridges[0].log.read_text(errors="replace").count("voltfleet mqtt-bridge:")
    assert started == 2  # started twice (the whole log: a tail may have scrolled past the first)

    # Every charger is connected again; those of the killed process came back (through nginx, to
    # whichever process answered) and hold the limits sent while they were away: the share of
    # the lowered fuse (the fallback limit, their default profile), recorded as accepted.
    assert dropped and len(dropped) == max(held), (held, dropped)
    fleet_of_chargers.wait(
        lambda: all(c.connected for c in chargers)
        and all(c.connections > connections_before[c.serial] for c in dropped),
        60, "the dropped chargers back",
    )  # fmt: skip
    fleet_of_chargers.wait(
        lambda: all(
c.limits() == {"TxDefaultProfile": new_share} for c in chargers
        ),
        60, f"every charger holding {new_share} A",
    )  # fmt: skip
    assert sent_limits(p.url) == {c.serial: new_share for c in chargers}
    assert held_by(survivor) + held_by(victim) == CHARGERS

    # The restarted API process serves again, behind the proxy and alone.
    victim.wait_up(90)
    with httpx.Client(base_url=victim.url, timeout=10, trust_env=False) as direct:
        assert direct.get("/readyz").status_code == 200

    # No job ran twice, however many workers: none started more often than retried plus once,
    # and no periodic slot was deferred twice (procrastinate's own tables, kept by the workers).
    ran, twice, slots = jobs_run_twice(p.url)
    assert ran > 0
    assert twice == [] and slots == []
