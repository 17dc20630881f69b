"""A real Mosquitto on a free loopback port, configured by voltfleet's broker files."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from voltfleet.app.runtime import Runtime
from voltfleet.protocols.mqtt import broker
from voltfleet.protocols.mqtt.broker import BrokerFiles

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def require_mosquitto() -> str:
    if Path(MOSQUITTO).exists():
        return MOSQUITTO
    if os.environ.get("VOLTFLEET_REQUIRE_MQTT") == "1":
        pytest.fail("Mosquitto is required (VOLTFLEET_REQUIRE_MQTT=1) but was not found")
    pytest.skip("mosquitto is not installed (apt-get install mosquitto)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mosquitto:
    def __init__(self, files: BrokerFiles) -> None:
        self.files = files
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 10.0) -> None:
        log = open(self.files.directory / "mosquitto.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [require_mosquitto(), "-c", str(self.files.config)], stdout=log, stderr=log
        )
        log.close()
        if self.files.pid_file is not None:
            self.files.pid_file.write_text(str(self.proc.pid))
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.files.listen_port), 0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"mosquitto did not listen in {timeout_s} s: {self.log()}")

    def stop(self) -> None:
        """SIGTERM (Mosquitto saves its persistent state), SIGKILL after 5 s."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None

    def log(self) -> str:
        path = self.files.directory / "mosquitto.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


def platform_broker(
    runtime: Runtime, directory: Path, bridge_password: str, include_dir: Path | None = None
) -> Mosquitto:
    """A started Mosquitto on voltfleet's broker files in ``directory``, which the deployment
    of ``runtime`` keeps up to date: gateway tokens issued from now on can log in. Stop it (and
    set ``runtime.broker_files`` back to None)."""
    require_mosquitto()
    files = BrokerFiles(
        directory,
        bridge_password=bridge_password,
        listen_port=free_port(),
        pid_file=directory / "mosquitto.pid",
        run_as_user="root" if os.geteuid() == 0 else None,
        include_dir=include_dir,
    )
    broker.write(files)
    runtime.broker_files = files
    server = Mosquitto(files)
    server.start()
    return server
