"""A gateway's inventory applied on the database (usecases/discovery.py), audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from voltfleet.app import audit
from voltfleet.app.devices.service import refresh_live_data
from voltfleet.store.discovery_repository import SqlDiscoveryRepository
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site
from voltfleet.usecases.discovery import Outcome, apply_inventory


def apply(session: Session, gateway: Device, body: Any, now: datetime) -> Outcome:
    """Raises ``Invalid`` when the body is no inventory."""
    repo = SqlDiscoveryRepository(session, gateway)
    outcome = apply_inventory(repo, gateway.id, gateway.site_id, body, now)
    if outcome.added or outcome.updated:
        refresh_live_data(session, gateway.site_id)
    if outcome.added or outcome.offered:
        site = session.get(Site, gateway.site_id)
        audit.record(
            session,
            actor=None,
            action="gateway.inventory",
            object_type="device",
            object_id=gateway.id,
            org_id=site.org_id if site is not None else None,
            detail={"gateway": gateway.serial, **outcome.as_dict()},
        )
    return outcome
