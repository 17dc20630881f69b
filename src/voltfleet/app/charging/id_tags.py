"""Id tags (RFID cards, tokens) per site: which a site's chargers accept, and their list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from voltfleet.store.fleet_models import Device
from voltfleet.store.ocpp_models import IdTag
from voltfleet.usecases.charging import CardVerdict


def verdict(session: Session, device: Device, id_tag: str, *, now: datetime) -> CardVerdict:
    """What the charger ``device`` is told of ``id_tag``: accepted when it is an active tag of
    its site or the site keeps no tags; blocked when it is on the list but switched off;
    unknown when the site keeps a list without it."""
    del now
    site_has_tags = session.scalar(select(exists().where(IdTag.site_id == device.site_id)))
    if not site_has_tags:
        return CardVerdict.ACCEPTED
    active = session.scalar(
        select(IdTag.active).where(IdTag.site_id == device.site_id, IdTag.tag == id_tag)
    )
    if active is None:
        return CardVerdict.UNKNOWN
    return CardVerdict.ACCEPTED if active else CardVerdict.BLOCKED


def of_site(session: Session, site_id: str) -> list[IdTag]:
    return list(session.scalars(select(IdTag).where(IdTag.site_id == site_id).order_by(IdTag.tag)))
