"""Mosquitto configuration for a deployment: the config file, the password file and the ACL file
for the gateways that hold an ingest token, kept in one directory the broker reads.

A gateway logs in to the broker with its serial number as username and its ingest token (the one
``POST /api/v1/devices/{id}/token`` shows once) as password. The database keeps only a SHA-256 of
the token, from which no broker hash can be made, so the broker hash (Mosquitto 2's
``$7$<iterations>$<salt>$<PBKDF2-SHA512>``, the format ``mosquitto_passwd`` writes; checked against
it) is made when the token is issued and kept with the id of its credential in
``credentials.json`` beside the broker files. ``keep_only`` rebuilds the files from that and the
live credentials (app/mqtt_broker_files.sync reads them from the database): an entry whose
credential was revoked, or whose gateway was deleted, is dropped, so a rotated token stops
working on the broker too. After each change the broker is told to reload
(SIGHUP to the pid in ``pid_file``, when one is configured); without it the files are still
written and take effect on the broker's next start or reload.

Serials containing ``:`` cannot be Mosquitto usernames (the password file separator): such
gateways use HTTP ingest only, and a warning says so.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import secrets
import signal
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voltfleet.protocols.mqtt import topics

log = logging.getLogger(__name__)

PBKDF2_ITERATIONS = 101  # mosquitto_passwd's default in 2.0; the tokens carry 256 random bits
DEFAULT_BRIDGE_USERNAME = "_voltfleet-bridge"  # a leading "_" is never a serial


def mosquitto_hash(
    password: str, *, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS
) -> str:
    """A password hash in the format Mosquitto 2 reads: ``$7$`` PBKDF2-HMAC-SHA512, 12-byte salt."""
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    b64 = base64.b64encode
    return f"$7${iterations}${b64(salt).decode()}${b64(digest).decode()}"


def check_mosquitto_hash(password: str, hashed: str) -> bool:
    try:
        _, kind, iterations, salt, digest = hashed.split("$")
        if kind != "7":
            return False
        mine = hashlib.pbkdf2_hmac(
            "sha512", password.encode(), base64.b64decode(salt), int(iterations)
        )
    except ValueError:
        return False
    return secrets.compare_digest(base64.b64encode(mine).decode(), digest)


def can_be_username(serial: str) -> bool:
    return topics.valid_level(serial) and ":" not in serial and not serial.startswith("_")


@dataclass(frozen=True)
class Entry:
    credential_id: str
    hash: str


@dataclass(frozen=True)
class BrokerFiles:
    """Where a deployment's Mosquitto files live, and how the broker is told to reload them."""

    directory: Path
    bridge_username: str = DEFAULT_BRIDGE_USERNAME
    bridge_password: str = ""
    listen_host: str = "127.0.0.1"
    listen_port: int = 1883
    pid_file: Path | None = None
    autosave_interval_s: int = 60
    max_queued_messages: int = 1_000_000
    # Started as root, Mosquitto switches to this user (its default: "mosquitto"), who must be
    # able to read the files; "root" keeps it as root (tests in a private temp directory).
    run_as_user: str | None = None
    # More listeners (a TLS one for gateways: deploy/mosquitto/tls.conf) in files of this
    # directory, which the written configuration includes.
    include_dir: Path | None = None
    # The largest MQTT packet the broker accepts (a bigger one disconnects its sender): the
    # HTTP ingest limit's size, so no path takes a batch the other refuses.
    max_packet_bytes: int = 8 * 1024 * 1024

    @property
    def config(self) -> Path:
        return self.directory / "mosquitto.conf"

    @property
    def passwd(self) -> Path:
        return self.directory / "passwd"

    @property
    def acl(self) -> Path:
        return self.directory / "acl"

    @property
    def credentials(self) -> Path:
        return self.directory / "credentials.json"

    @property
    def data(self) -> Path:
        return self.directory / "data"


def render_acl(bridge_username: str) -> str:
    p = topics.PREFIX
    return "\n".join(
        [
            "# Written by voltfleet (protocols/mqtt/broker.py), again on every token issued.",
            "# A gateway (username = its serial) writes its own topics and reads its commands.",
            f"pattern write {p}/%u/telemetry",
            f"pattern write {p}/%u/status",
            f"pattern write {p}/%u/alarms",
            f"pattern write {p}/%u/cmd/+/reply",
            f"pattern write {p}/%u/firmware",
            f"pattern write {p}/%u/inventory",
            f"pattern read {p}/%u/cmd/+",
            "",
            "# The bridge reads every gateway's uplink and sends commands.",
            f"user {bridge_username}",
            *(f"topic read {t}" for t in topics.BRIDGE_SUBSCRIPTIONS),
            f"topic read {topics.INVENTORY_SUBSCRIPTION}",
            f"topic write {p}/+/cmd/+",
            "",
        ]
    )


def render_config(files: BrokerFiles) -> str:
    d = files.directory.resolve()
    return "\n".join(
        [
            "# Written by voltfleet (protocols/mqtt/broker.py). Run: mosquitto -c "
            + str(d / "mosquitto.conf"),
            "per_listener_settings false",
            *([f"user {files.run_as_user}"] if files.run_as_user else []),
            f"listener {files.listen_port} {files.listen_host}",
            "allow_anonymous false",
            f"password_file {d / 'passwd'}",
            f"acl_file {d / 'acl'}",
            # Persistent sessions (the bridge's unacknowledged QoS 1 messages) survive a restart;
            # the in-memory state reaches the disk every autosave_interval and at shutdown.
            "persistence true",
            f"persistence_location {d / 'data'}/",
            f"autosave_interval {files.autosave_interval_s}",
            # Mosquitto silently drops messages beyond these queues (default 1000 messages):
            # make room for a bridge that is down for a while.
            f"max_queued_messages {files.max_queued_messages}",
            "max_queued_bytes 0",
            "max_inflight_messages 1000",
            f"max_packet_size {files.max_packet_bytes}",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            *([f"include_dir {files.include_dir.resolve()}"] if files.include_dir else []),
            "",
        ]
    )


@contextlib.contextmanager
def _locked(files: BrokerFiles) -> Iterator[None]:
    files.directory.mkdir(parents=True, exist_ok=True)
    with open(files.directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write(path: Path, text: str, mode: int = 0o600) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _load(files: BrokerFiles) -> dict[str, Entry]:
    try:
        raw: dict[str, Any] = json.loads(files.credentials.read_text())
    except FileNotFoundError:
        return {}
    return {k: Entry(v["credential_id"], v["hash"]) for k, v in raw.items()}


def _write_all(files: BrokerFiles, entries: dict[str, Entry]) -> None:
    files.data.mkdir(parents=True, exist_ok=True)
    _write(
        files.credentials,
        json.dumps({k: vars(v) for k, v in sorted(entries.items())}, indent=1),
    )
    lines = [f"{serial}:{e.hash}" for serial, e in sorted(entries.items())]
    if files.bridge_password:
        lines.append(f"{files.bridge_username}:{mosquitto_hash(files.bridge_password)}")
    _write(files.passwd, "\n".join(lines) + "\n")
    _write(files.acl, render_acl(files.bridge_username), 0o644)
    _write(files.config, render_config(files), 0o644)


def reload(files: BrokerFiles) -> bool:
    """SIGHUP to the broker named by ``pid_file``: it rereads the password and ACL files."""
    if files.pid_file is None:
        return False
    try:
        pid = int(files.pid_file.read_text().strip())
        os.kill(pid, signal.SIGHUP)
    except (OSError, ValueError) as exc:
        log.warning("mqtt broker not reloaded (pid file %s): %s", files.pid_file, exc)
        return False
    return True


def write(files: BrokerFiles) -> None:
    """Write the files for the credentials already recorded (a fresh deployment: none)."""
    with _locked(files):
        _write_all(files, _load(files))
    reload(files)


def record_credential(files: BrokerFiles, serial: str, credential_id: str, token: str) -> None:
    """Let a gateway log in with a newly issued token (its earlier one stops working)."""
    if not can_be_username(serial):
        log.warning(
            "gateway %s cannot log in to the MQTT broker: its serial is no username", serial
        )
        return
    with _locked(files):
        entries = _load(files)
        entries[serial] = Entry(credential_id, mosquitto_hash(token))
        _write_all(files, entries)
    reload(files)


def keep_only(files: BrokerFiles, live: Mapping[str, str]) -> int:
    """Rebuild the files keeping only the credentials in ``live`` (credential id -> gateway
    serial: the live credentials of live gateways); returns how many are kept."""
    with _locked(files):
        entries = {s: e for s, e in _load(files).items() if live.get(e.credential_id) == s}
        _write_all(files, entries)
    reload(files)
    return len(entries)
