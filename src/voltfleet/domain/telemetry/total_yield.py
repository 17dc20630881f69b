"""A site's or an inverter's "total yield", as the manual means it: what the inverters made since
they were manufactured, read from their lifetime energy counter (``lifetime_yield_wh``), and
where an inverter does not report one, honestly the yield since it joined the platform (the sum
of its PV yield counter's energy here), labelled so. Pure.

A site's total comes from the lifetime counters only when every inverter that counts in its
statistics reports one: a sum of some lifetime counters and some yields since joining would be
neither, so the site then shows its yield since it joined (with that date).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

LIFETIME_POINT = "lifetime_yield_wh"


@dataclass(frozen=True)
class TotalYield:
    """``wh`` of yield; ``lifetime`` when from lifetime counters, else the yield since the site
    or device joined the platform on ``since`` (its local date)."""

    wh: float
    lifetime: bool
    since: date | None = None


def device_total(lifetime_wh: float | None, since_joined_wh: float, joined: date) -> TotalYield:
    """An inverter's total yield: its lifetime counter's newest value, else its yield since it
    joined on ``joined``."""
    if lifetime_wh is not None:
        return TotalYield(lifetime_wh, True)
    return TotalYield(since_joined_wh, False, joined)


def site_total(
    lifetime_wh: Mapping[str, float | None], since_joined_wh: float, joined: date
) -> TotalYield:
    """A site's total yield from its counted inverters' lifetime counters (inverter id -> newest
    value, None for one that reports none): their sum when every one reports it, else the
    site's yield since it joined on ``joined``."""
    if lifetime_wh and all(v is not None for v in lifetime_wh.values()):
        return TotalYield(sum(v for v in lifetime_wh.values() if v is not None), True)
    return TotalYield(since_joined_wh, False, joined)
