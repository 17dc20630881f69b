"""The production set of docs/deployment.md on one machine: PostgreSQL, Mosquitto, the shipped
nginx site, two API processes, two MQTT bridges sharing the uplink, and a job worker. Simulated
homes send over HTTPS (through nginx) and over MQTT; mid-run one API process and one bridge are
SIGKILLed and restarted. Afterwards every reading the platform acknowledged (HTTP answers, MQTT
PUBACKs) is stored once, both bridges took part, and the restarted ones serve again. (That a job
runs once however many workers run is tests/app/test_jobs_worker.py; chargers and their profiles
join this test when the OCPP central grows its cross-process link: issues 13 and 18.)"""

from __future__ import annotations

import os
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
from tests.support.nginx_proxy import Nginx, nginx_binary
from tests.support.pg_server import fresh_database
from tests.support.server_process import SECRET, ServerProcess, seed_installer
from voltfleet.protocols.mqtt import broker
from voltfleet.protocols.mqtt.broker import BrokerFiles
from voltfleet.simulator.fleet import FleetConfig, FleetReport, run_fleet_sync

pytestmark = pytest.mark.pg

BRIDGE_PASSWORD = "bridge-secret-for-the-production-set"


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
    worker: CliProcess
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
    url = fresh_database(pg_url, "voltfleet_production_set")
    email, password = seed_installer(url, tmp_path)
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
    worker = CliProcess(["worker", "--name", "w1"], base, tmp_path / "worker.log")
    proxy = Nginx(tmp_path / "nginx", [s.port for s in apis])
    try:
        for api in apis:
            api.start()
        worker.start()
        for bridge in bridges:
            bridge.start()
        proxy.start()
        yield ProductionSet(url, proxy, apis, bridges, worker, email, password, mqtt_url)
    finally:
        proxy.stop()
        for p in (*bridges, worker):
            p.stop()
        for api in apis:
            api.stop()
        mosquitto.stop()


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


def test_the_production_set_loses_and_doubles_nothing_when_processes_die(
    production: ProductionSet,
) -> None:
    p = production
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
    p.apis[0].kill()
    p.bridges[0].kill()
    time.sleep(3)
    p.bridges[0].start()
    p.apis[0].start()
    wait_for(lambda: p.bridges[0].tail().count("connected to") == 2, 90, "bridge-1 back")
    for t in threads:
        t.join(120)
    assert not errors, f"{errors!r}\n{p.bridges[0].tail()}\n{p.apis[0].log_tail()}"
    http, mqtt = reports["http"].stats, reports["mqtt"].stats
    assert http.failed_readings == 0 and http.quarantined == 0, reports["http"].summary()
    assert mqtt.failed_readings == 0, reports["mqtt"].summary()
    assert http.sent > 0 and mqtt.delivered > 0

    # Every acknowledged reading is stored, once (the store keeps one per device, point, time).
    assert stored(p.url, "PSH") == http.acknowledged
    deadline = time.monotonic() + 60  # the bridges drain what the broker acknowledged
    while stored(p.url, "PSM") < mqtt.delivered and time.monotonic() < deadline:
        time.sleep(0.5)
    assert stored(p.url, "PSM") == mqtt.delivered, p.bridges[0].tail() + p.bridges[1].tail()

    # Both bridges took part; the killed one came back and consumed again.
    logs = [b.tail() for b in p.bridges]
    assert all("connected to" in log for log in logs), logs
    assert p.bridges[0].tail().count("voltfleet mqtt-bridge:") == 2  # started twice

    # The restarted API process serves again, behind the proxy and alone.
    with httpx.Client(base_url=p.apis[0].url, timeout=10, trust_env=False) as direct:
        assert direct.get("/readyz").status_code == 200
