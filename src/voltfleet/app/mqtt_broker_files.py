"""Keeping the MQTT broker's files (protocols/mqtt/broker.py) in line with the database: the
deployment's files from the settings, a rebuild from the live credentials, and the hook the token
service calls so a newly issued token works on the broker once its transaction commits."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from voltfleet.domain.fleet import DeviceKind
from voltfleet.protocols.mqtt.broker import BrokerFiles, keep_only, record_credential
from voltfleet.settings import Settings
from voltfleet.store.fleet_models import Device
from voltfleet.store.telemetry_models import DeviceCredential

log = logging.getLogger("voltfleet.protocols.mqtt.broker")


def files_from_settings(settings: Settings) -> BrokerFiles | None:
    """The deployment's broker files, when ``VOLTFLEET_MQTT_BROKER_DIR`` is set."""
    if settings.mqtt_broker_dir is None:
        return None
    parts = urlsplit(
        settings.mqtt_url if "://" in settings.mqtt_url else "mqtt://" + settings.mqtt_url
    )
    return BrokerFiles(
        directory=settings.mqtt_broker_dir,
        bridge_username=settings.mqtt_username,
        bridge_password=settings.mqtt_password,
        listen_host=parts.hostname or "127.0.0.1",
        listen_port=parts.port or 1883,
        pid_file=settings.mqtt_broker_pid_file,
        include_dir=settings.mqtt_broker_include_dir,
        max_packet_bytes=settings.max_ingest_body_bytes,
    )


def sync(session: Session, files: BrokerFiles) -> int:
    """Rebuild the files keeping only live credentials of live gateways; returns how many."""
    live = {
        cred_id: serial
        for cred_id, serial in session.execute(
            select(DeviceCredential.id, Device.serial)
            .join(Device, Device.id == DeviceCredential.device_id)
            .where(
                DeviceCredential.revoked_at.is_(None),
                Device.deleted_at.is_(None),
                Device.kind == DeviceKind.GATEWAY.value,
            )
        )
    }
    return keep_only(files, live)


_PENDING = "voltfleet.mqtt.pending"


def _after_commit(session: Session) -> None:
    for files, serial, credential, token in session.info.pop(_PENDING, []):
        try:
            record_credential(files, serial, credential.id, token)
        except OSError:
            log.exception("could not write the MQTT broker files for gateway %s", serial)


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def credential_issued(
    session: Session,
    files: BrokerFiles | None,
    serial: str,
    credential: DeviceCredential,
    token: str,
) -> None:
    """Called when a gateway token is issued: once the transaction commits, the broker files
    ``files`` (the deployment's, wired by bootstrap; None: it has none) let the gateway log in
    with it. Nothing happens on rollback."""
    if files is None:
        return
    pending = session.info.setdefault(_PENDING, [])
    pending.append((files, serial, credential, token))
    if not event.contains(session, "after_commit", _after_commit):
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_rollback", _after_rollback)
