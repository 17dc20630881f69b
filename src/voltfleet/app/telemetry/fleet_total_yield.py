"""The fleet's total yield for the home page, as the site list and overview count it
(domain.telemetry.total_yield, app/telemetry/total_yield.py): a site's inverters' lifetime
counters where every inverter counted in its statistics reports one, else its yield since it
joined (its summary's ``pv_total``). In SQL, so one grouped statement serves the tile and one the
cumulative ranking whatever the fleet's size: ``per_site`` is a site's total as a column
expression over ``Site``, ``SiteSummary`` and the subquery ``inverters()``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Subquery, and_, case, func, select
from sqlalchemy.orm import Session

from voltfleet.app.deps import Caller
from voltfleet.app.sites.repository import owned_sites
from voltfleet.domain.fleet import DeviceKind
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site
from voltfleet.store.telemetry_models import SiteSummary
from voltfleet.store.yield_models import LifetimeYield


@dataclass(frozen=True)
class FleetTotalYield:
    """``wh`` of the fleet's sites; ``lifetime_sites`` of ``sites`` counted by their lifetime
    counters, the others since they joined."""

    wh: float
    lifetime_sites: int
    sites: int

    @property
    def source(self) -> str:
        """ "lifetime_counter" (every site), "since_joined" (none) or "mixed"."""
        if self.sites and self.lifetime_sites == self.sites:
            return "lifetime_counter"
        return "mixed" if self.lifetime_sites else "since_joined"


def inverters() -> Subquery:
    """Per site: its inverters counted in the statistics (in_statistics, not deleted), how many
    of them report a lifetime counter, and the counters' sum."""
    return (
        select(
            Device.site_id.label("site_id"),
            func.count(Device.id).label("n"),
            func.count(LifetimeYield.yield_wh).label("reporting"),
            func.sum(LifetimeYield.yield_wh).label("lifetime_wh"),
        )
        .outerjoin(LifetimeYield, LifetimeYield.device_id == Device.id)
        .where(
            Device.kind == DeviceKind.INVERTER.value,
            Device.deleted_at.is_(None),
            Device.in_statistics.is_(True),
        )
        .group_by(Device.site_id)
        .subquery("inverters")
    )


def uses_lifetime(inv: Subquery) -> Any:
    """Whether a site's total comes from its inverters' lifetime counters (summaries.counted:
    its inverters count only when the site counts inverters in its statistics)."""
    return and_(Site.stats_inverters.is_(True), inv.c.n > 0, inv.c.reporting == inv.c.n)


def per_site(inv: Subquery) -> Any:
    """A site's total yield (Wh) as a column expression."""
    return case(
        (uses_lifetime(inv), inv.c.lifetime_wh), else_=func.coalesce(SiteSummary.pv_total, 0.0)
    )


def fleet_total(session: Session, caller: Caller) -> FleetTotalYield:
    """The caller's own sites' total yield (sites shared to it are not in its statistics)."""
    inv = inverters()
    stmt = (
        owned_sites(caller)
        .with_only_columns(
            func.sum(per_site(inv)),
            func.count(case((uses_lifetime(inv), 1))),
            func.count(Site.id),
        )
        .outerjoin(SiteSummary, SiteSummary.site_id == Site.id)
        .outerjoin(inv, inv.c.site_id == Site.id)
    )
    wh, lifetime, sites = session.execute(stmt).one()
    return FleetTotalYield(float(wh or 0.0), int(lifetime or 0), int(sites or 0))
