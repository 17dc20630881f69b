"""A card shown after the start (OCPP 2.0.1 E02/E03, "cable plugin first"): the station starts
its transaction when the cable is plugged in, with no idToken, and sends the card later in a
TransactionEvent Updated (triggerReason Authorized). The central checks the card as at a start
(``id_tags.verdict``, in ``AppChargerLink.authorize``); an accepted card is recorded on the
running session when it had none, and the card's default departure (departure_defaults) is
applied when the session has no departure yet. Never commits."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.app.charging import departure_defaults, service
from voltfleet.store.charging_models import ID_TOKEN_CHARS, ChargingSession
from voltfleet.store.fleet_models import Device

log = logging.getLogger(__name__)


def _running(
    session: Session, device: Device, connector_id: int, transaction_ref: str
) -> ChargingSession | None:
    row = session.scalar(
        select(ChargingSession).where(
            ChargingSession.device_id == device.id,
            ChargingSession.transaction_ref == transaction_ref,
            ChargingSession.stopped_at.is_(None),
        )
    )
    return row if row is not None else service.open_session(session, device, connector_id)


def card_arrived(
    session: Session,
    device: Device,
    connector_id: int,
    transaction_ref: str,
    id_tag: str,
    now: datetime,
) -> bool:
    """Record the accepted card ``id_tag`` on the running transaction ``transaction_ref`` (or
    the session open on the connector) when it has no card yet, and give the session its
    default departure if it has none. True when the card was recorded; False when no session
    runs there or the session already carries a card (that card is kept)."""
    row = _running(session, device, connector_id, transaction_ref)
    if row is None:
        log.info(
            "charger %s: card for transaction %r, which is not running", device.id, transaction_ref
        )
        return False
    if row.id_tag:
        if row.id_tag != id_tag[:ID_TOKEN_CHARS]:
            log.info("session %s keeps its card; another card was shown later", row.id)
        return False
    row.id_tag = id_tag[:ID_TOKEN_CHARS]
    row.updated_at = now
    session.flush()
    departure_defaults.apply_to_session(session, device, row, id_tag, now)
    return True
