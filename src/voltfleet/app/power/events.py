"""Marking a location for a new cycle once the current transaction commits (app.power.wiring
reads the mark after the commit)."""

from __future__ import annotations

from sqlalchemy.orm import Session

CHANGED = "power_locations_changed"  # session.info key: locations to recompute after commit


def changed(session: Session, location_id: str) -> None:
    """Recompute this location once the transaction commits."""
    session.info.setdefault(CHANGED, set()).add(location_id)
