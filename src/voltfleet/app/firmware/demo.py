"""The demo's firmware: two releases of the simulated gateway's firmware (the newer one NEW), one
of the simulated wallbox's (Upgrade > Charger: the demo's OCPP charger runs "sim-1.0" and can be
upgraded to it), and a small campaign that finished two days ago (three gateways upgraded, one
refused a corrupt download), so Upgrade shows something the moment the demo starts."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.domain.firmware.campaign import Policy
from voltfleet.store.firmware_models import (
    DeviceFirmware,
    FirmwareFile,
    FirmwareRelease,
    FirmwareRun,
    FirmwareTask,
)
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Org, User
from voltfleet.usecases.firmware import policy_json

MODEL = "voltfleet simulator"
CHARGER_MODEL = "simulated wallbox"  # what the simulated charger's BootNotification says


def _release(
    s: Session,
    org: Org,
    by: User | None,
    version: str,
    text: str,
    at: datetime,
    kind: str = "gateway",
) -> FirmwareRelease:
    content = f"voltfleet simulated {kind} firmware {version}\n".encode() * 256
    row = FirmwareRelease(
        org_id=org.id,
        org_path=org.path,
        device_kind=kind,
        model=MODEL if kind == "gateway" else CHARGER_MODEL,
        firmware_type=kind,
        version=version,
        description=text,
        file_name=f"voltfleet-{'gw' if kind == 'gateway' else kind}-{version}.bin",
        size_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        created_at=at,
        created_by=by.id if by else None,
        creator_name=by.username if by else "voltfleet",
    )
    s.add(row)
    s.flush()
    s.add(FirmwareFile(release_id=row.id, content=content))
    return row


def seed_firmware(s: Session, org: Org, gateways: list[Device], now: datetime) -> None:
    by = s.scalar(select(User).where(User.org_id == org.id, User.role == "om"))
    _release(
        s, org, by, "3.0.0", "first release with 10-second live data", now - timedelta(days=30)
    )
    new = _release(
        s, org, by, "3.1.0", "faster reconnect after a broker restart", now - timedelta(days=3)
    )
    # The charger's versions share the simulator's "sim-" prefix: versions compare as text after
    # their numbers, so "sim-1.1" is above "sim-1.0" (and would sort below a bare "2.0").
    _release(
        s,
        org,
        by,
        "sim-1.1",
        "OCPP 2.0.1 firmware status fixes",
        now - timedelta(days=1),
        kind="charger",
    )
    start = now - timedelta(days=2)
    task = FirmwareTask(
        number=1,
        org_id=org.id,
        org_path=org.path,
        release_id=new.id,
        device_kind="gateway",
        firmware_type="gateway",
        model=MODEL,
        version=new.version,
        state="finished",
        policy=policy_json(Policy(first_wave=1, wave_growth=3)),
        start_at=start,
        reserved=True,
        zone="Europe/Berlin",
        created_at=start - timedelta(hours=6),
        created_by=by.id if by else None,
        creator_name=by.username if by else "voltfleet",
    )
    s.add(task)
    s.flush()
    for i, gw in enumerate(gateways):
        ok = i != len(gateways) - 1
        began = start + timedelta(minutes=2 * i)
        s.add(
            FirmwareRun(
                task_id=task.id,
                device_id=gw.id,
                position=i,
                wave=0 if i == 0 else 1,
                state="succeeded" if ok else "failed",
                from_version="3.0.0",
                started_at=began,
                updated_at=began + timedelta(minutes=4),
                message="" if ok else "sha256 mismatch: the file is corrupt, not installed",
            )
        )
        version = new.version if ok else "3.0.0"
        gw.fw_arm = version
        s.add(
            DeviceFirmware(
                device_id=gw.id, firmware_type="gateway", version=version, reported_at=began
            )
        )
