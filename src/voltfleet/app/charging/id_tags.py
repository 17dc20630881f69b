"""Id tags (RFID cards, tokens) per site: which a site's chargers accept, and their list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from voltfleet.store.fleet_models import Device
from voltfleet.store.ocpp_models import IdTag

MAX_TAG_CHARS = 36  # OCPP 2.0.1's IdToken (1.6: 20)


def accepts(session: Session, device: Device, id_tag: str, *, now: datetime) -> bool:
    """Whether the charger ``device`` accepts ``id_tag``: an active tag of its site, or any tag
    when the site has no tags."""
    del now
    site_has_tags = session.scalar(select(exists().where(IdTag.site_id == device.site_id)))
    if not site_has_tags:
        return True
    found = session.scalar(
        select(IdTag.active).where(IdTag.site_id == device.site_id, IdTag.tag == id_tag)
    )
    return bool(found)


def of_site(session: Session, site_id: str) -> list[IdTag]:
    return list(session.scalars(select(IdTag).where(IdTag.site_id == site_id).order_by(IdTag.tag)))
