"""Where a charger's OCPP faults meet the platform's alarms.

OCPP 1.6 reports a fault as a StatusNotification (Faulted, or an errorCode other than NoError);
these hooks turn it into an alarm event of the alarm pipeline (app.alarms), with the charger as
the device that reports it. An OCPP error code without an alarm code in the catalogue is logged,
not raised. Which OCPP error code is which alarm is the protocol's (protocols.ocpp.faults).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from voltfleet.protocols.ocpp.faults import CHARGER_ALARMS
from voltfleet.store.fleet_models import Device

log = logging.getLogger(__name__)


def _send(session: Session, device: Device, events: list[dict[str, object]], now: datetime) -> None:
    from voltfleet.app.alarms.service import ingest_alarms  # the alarm pipeline, as for gateways

    out = ingest_alarms(session, device, events, now=now)
    for refusal in out.refusals:
        log.warning("charger %s: alarm event refused: %s", device.serial, refusal.detail)


def charger_fault_raised(
    session: Session,
    device: Device,
    *,
    connector_id: int,
    error_code: str,
    alarm_code: str | None,
    info: str,
    vendor_error_code: str,
    at: datetime,
    now: datetime,
) -> None:
    """A charger (connector 0) or one of its connectors reported a fault at ``at``, received at
    ``now``."""
    where = "the charger" if connector_id == 0 else f"connector {connector_id}"
    message = f"{error_code} on {where}" + "".join(
        f"; {k}: {v}" for k, v in (("info", info), ("vendor code", vendor_error_code)) if v
    )
    code = alarm_code
    if code is None:
        log.warning("charger %s: %s (no alarm code for it)", device.serial, message)
        return
    event = {"device": "", "code": code, "action": "raise", "ts": at.isoformat()}
    _send(session, device, [{**event, "message": message}], now)


def charger_fault_cleared(
    session: Session, device: Device, *, connector_id: int, at: datetime, now: datetime
) -> None:
    """A charger reported a status without an error: its fault alarms clear. (A clear of an alarm
    that is not open changes nothing.)"""
    ts = at.isoformat()
    _send(
        session,
        device,
        [{"device": "", "code": c, "action": "clear", "ts": ts} for c in CHARGER_ALARMS],
        now,
    )
