"""Total yield of sites and inverters for the pages and the API (domain.telemetry.total_yield):
each inverter's newest lifetime counter reading, kept by ingest (store/yield_models.py), else
the yield since joining: a site's from its summary (``pv_total``, the PV energy of its counted
devices since their first reading here), an inverter's from its own PV counter's month roll-ups.
A page of sites costs three queries whatever its length."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.domain.fleet import DeviceKind, zone
from voltfleet.domain.telemetry.energy import PV
from voltfleet.domain.telemetry.rollup import Resolution
from voltfleet.domain.telemetry.total_yield import TotalYield, device_total, site_total
from voltfleet.store import summaries
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site
from voltfleet.store.telemetry_models import SiteSummary
from voltfleet.store.timeseries.queries import read_many
from voltfleet.store.yield_models import LifetimeYield

_FIRST, _LAST = datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC)


def joined_on(created_at: datetime, timezone: str) -> date:
    """The local date (in ``timezone``) a site or device joined the platform."""
    return created_at.astimezone(zone(timezone)).date()


def site_totals(session: Session, sites: Sequence[Site]) -> dict[str, TotalYield]:
    """Each site's total yield, by site id."""
    if not sites:
        return {}
    by_id = {s.id: s for s in sites}
    lifetime: dict[str, dict[str, float | None]] = defaultdict(dict)
    # The columns ``summaries.counted`` reads, not whole devices: a page of 50 sites loaded a
    # few hundred wide ORM rows for this (py-spy, benchmarks/bench_site_list.py).
    rows = session.execute(
        select(
            Device.id,
            Device.site_id,
            Device.kind,
            Device.in_statistics,
            Device.deleted_at,
            LifetimeYield.yield_wh,
        )
        .outerjoin(LifetimeYield, LifetimeYield.device_id == Device.id)
        .where(
            Device.site_id.in_(list(by_id)),
            Device.kind == DeviceKind.INVERTER.value,
            Device.deleted_at.is_(None),
        )
    )
    for device in rows:
        if summaries.counted(by_id[device.site_id], device):  # type: ignore[arg-type]
            lifetime[device.site_id][device.id] = device.yield_wh
    missing = [s for s in sites if not all(v is not None for v in lifetime[s.id].values())]
    since: dict[str, float] = {}
    if missing:
        summaries.ensure(session, [s for s in missing if s.deleted_at is None])
        since = dict(
            session.execute(
                select(SiteSummary.site_id, SiteSummary.pv_total).where(
                    SiteSummary.site_id.in_([s.id for s in missing])
                )
            ).all()
        )
    return {
        s.id: site_total(
            lifetime[s.id], float(since.get(s.id) or 0.0), joined_on(s.created_at, s.timezone)
        )
        for s in sites
    }


def inverter_total(session: Session, device: Device, site: Site) -> TotalYield:
    """An inverter's total yield: its lifetime counter, else its PV yield since it joined."""
    kept = session.get(LifetimeYield, device.id)
    joined = joined_on(device.created_at, site.timezone)
    if kept is not None:
        return device_total(kept.yield_wh, 0.0, joined)
    months = read_many(session.connection(), [device.id], [PV], Resolution.MONTH, _FIRST, _LAST)
    return device_total(None, sum(v for *_, v in months), joined)
