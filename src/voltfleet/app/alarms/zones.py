"""Time zones of the alarm lists: which zone a list's range is read in and its times are shown in.

A site's alarms default to the site's zone; the fleet-wide list to the reader's zone from their
profile (``User.timezone`` where the profile has one), else UTC. A day range "from 2026-03-01 to
2026-03-02" in a zone is [local midnight of the first day, local midnight after the last day), as
UTC instants: 23 or 25 hours long on a day the clocks change.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from voltfleet.app.i18n import _
from voltfleet.usecases.errors import Invalid


@cache
def known_zones() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


def zone(name: str | None, default: str = "UTC") -> str:
    """``name`` if it is an IANA zone this machine knows, ``default`` when empty; else Invalid."""
    text = (name or "").strip()
    if not text:
        return default if default in known_zones() else "UTC"
    if text not in known_zones():
        raise Invalid(
            _("tz: '%(zone)s' is not a time zone (e.g. Europe/Berlin)") % {"zone": text[:64]}
        )
    return text


def user_zone(user: Any) -> str:
    """The reader's zone from their profile ("" or missing: UTC)."""
    name = getattr(user, "timezone", "") or ""
    return name if name in known_zones() else "UTC"


def local(instant: datetime | None, zone_name: str) -> datetime | None:
    return None if instant is None else instant.astimezone(ZoneInfo(zone_name))


def shown(instant: datetime | None, zone_name: str) -> str:
    """An instant as the reader's formats write it on the clock of ``zone_name``, with the
    offset: "2026-03-02 11:15 +01:00" (ISO), "02/03/2026 11:15 +01:00" (en-GB) ..."""
    from voltfleet.app.formatting import in_zone  # the one clock of the portal (issue 19)

    return "" if instant is None else in_zone(instant, zone_name)


def day(text: str, name: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise Invalid(
            _("%(name)s: '%(text)s' is not a date (YYYY-MM-DD)") % {"name": name, "text": text[:32]}
        ) from None


def day_range(
    since: date | None, until: date | None, zone_name: str
) -> tuple[datetime | None, datetime | None]:
    """The days [since, until] (both included) in ``zone_name`` as UTC instants [start, end)."""
    tz = ZoneInfo(zone_name)

    def midnight(d: date) -> datetime:
        return datetime.combine(d, time(), tz).astimezone(UTC)

    return (
        midnight(since) if since else None,
        midnight(until + timedelta(days=1)) if until else None,
    )
