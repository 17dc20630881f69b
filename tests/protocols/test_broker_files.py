"""The broker files: hashes Mosquitto reads, the ACL, and sync dropping revoked credentials."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from voltfleet.protocols.mqtt import broker
from voltfleet.protocols.mqtt.broker import BrokerFiles


def test_our_hash_checks_against_mosquitto_passwd(tmp_path: Path) -> None:
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        pytest.skip("mosquitto_passwd is not installed")
    pw = tmp_path / "pw"
    subprocess.run([tool, "-c", "-b", str(pw), "GW1", "vfg_secret"], check=True, timeout=10)
    theirs = pw.read_text().strip().split(":", 1)[1]
    assert broker.check_mosquitto_hash("vfg_secret", theirs)
    assert not broker.check_mosquitto_hash("vfg_other", theirs)
    mine = broker.mosquitto_hash("vfg_secret")
    assert mine.startswith("$7$101$") and broker.check_mosquitto_hash("vfg_secret", mine)
    assert mine != broker.mosquitto_hash("vfg_secret")  # salted


def test_files_written_and_rotated(tmp_path: Path) -> None:
    files = BrokerFiles(tmp_path / "b", bridge_password="bridge-pw", listen_port=18830)
    broker.write(files)
    assert files.passwd.read_text().startswith("_voltfleet-bridge:$7$")
    conf = files.config.read_text()
    assert "listener 18830 127.0.0.1" in conf and "allow_anonymous false" in conf
    acl = files.acl.read_text()
    assert "pattern write voltfleet/v1/%u/telemetry" in acl
    assert "pattern read voltfleet/v1/%u/cmd/+" in acl
    assert "user _voltfleet-bridge" in acl
    assert oct(files.passwd.stat().st_mode & 0o777) == "0o600"

    broker.record_credential(files, "GW1", "cred-1", "vfg_one")
    broker.record_credential(files, "GW1", "cred-2", "vfg_two")  # rotation: replaces
    broker.record_credential(files, "BAD:SERIAL", "cred-3", "vfg_three")  # cannot be a user
    lines = dict(line.split(":", 1) for line in files.passwd.read_text().splitlines())
    assert set(lines) == {"GW1", "_voltfleet-bridge"}
    assert broker.check_mosquitto_hash("vfg_two", lines["GW1"])
    assert not broker.check_mosquitto_hash("vfg_one", lines["GW1"])


def test_reload_without_a_pid_file_is_a_no_op(tmp_path: Path) -> None:
    assert broker.reload(BrokerFiles(tmp_path)) is False
    assert broker.reload(BrokerFiles(tmp_path, pid_file=tmp_path / "missing.pid")) is False
