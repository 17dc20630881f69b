"""Re-planning: a periodic job (``battery_plan_cycle``, every VOLTFLEET_BATTERY_PLAN_CYCLE_S
seconds, 900 unless told otherwise; 0 turns it off) makes each active
site's plan again when it is 15 minutes old or what it was made from has drifted
(``domain.optimisation.replan``), with the same request, from the battery's reported state of
charge; the running command is kept unless changing it pays (``plan_service.plan_site``). A site
is active while its last plan asked for by a person (or a client) is younger than ACTIVE_FOR.
Each site in its own transaction: one that fails is logged, the others are planned.

Over several workers (``VOLTFLEET_JOBS=worker``) the cycle fans out: the periodic job only lists
the active sites and defers one ``battery_plan_site`` job per site (its queueing lock keeps one
waiting per site, its lock keeps two runs of a site apart), so the workers plan the fleet in
parallel. Without a jobs adapter bound (tests, the CLI) the cycle plans the sites itself."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from voltfleet.app.commands import plan_service
from voltfleet.app.commands.planning import STEP, Planner, planner_of
from voltfleet.domain import commands as dc
from voltfleet.domain.optimisation.replan import replan_reason
from voltfleet.ports import JobArg, Jobs
from voltfleet.store.command_models import Command
from voltfleet.store.db import Database
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site
from voltfleet.store.plan_models import BatteryPlanRow

log = logging.getLogger(__name__)

PLAN_CYCLE = "battery_plan_cycle"
PLAN_SITE = "battery_plan_site"
CYCLE_S = 300.0
ACTIVE_FOR = timedelta(days=2)


def active_plans(session: Session, now: datetime) -> list[BatteryPlanRow]:
    """The latest plan of each site with a requested plan younger than ACTIVE_FOR."""
    requested = (
        select(BatteryPlanRow.site_id)
        .where(BatteryPlanRow.trigger == "request", BatteryPlanRow.created_at >= now - ACTIVE_FOR)
        .distinct()
    )
    latest = (
        select(BatteryPlanRow.site_id, func.max(BatteryPlanRow.created_at).label("at"))
        .where(BatteryPlanRow.site_id.in_(requested))
        .group_by(BatteryPlanRow.site_id)
        .subquery()
    )
    return list(
        session.scalars(
            select(BatteryPlanRow).join(
                latest,
                (BatteryPlanRow.site_id == latest.c.site_id)
                & (BatteryPlanRow.created_at == latest.c.at),
            )
        )
    )


def running_power_w(session: Session, device_id: str, now: datetime) -> float | None:
    """The power of the plan command the battery follows now (0 idle; None: none, or
    self-consumption, where the home decides)."""
    cmd = session.scalars(
        select(Command)
        .where(
            Command.device_id == device_id,
            Command.source == plan_service.PLAN,
            Command.not_before <= now,
            Command.expires_at > now,
            Command.state.in_(
                [
                    dc.CommandState.QUEUED.value,
                    dc.CommandState.SENT.value,
                    dc.CommandState.ACKNOWLEDGED.value,
                ]
            ),
        )
        .order_by(Command.created_at.desc())
    ).first()
    if cmd is None:
        return None
    mode = cmd.params.get("mode")
    if mode == dc.BatteryMode.IDLE.value:
        return 0.0
    if mode in (dc.BatteryMode.CHARGE.value, dc.BatteryMode.DISCHARGE.value):
        return float(cmd.params.get("battery_power_w", 0.0))
    return None


def _reason(
    session: Session, row: BatteryPlanRow, site: Site, device: Device, now: datetime
) -> str | None:
    steps = row.steps
    n = len(steps["soc"])
    pos = (now - row.start) / STEP
    k = int(pos)
    planned_soc = None
    if 0 <= k < n:  # the planned state of charge now, between the step's start and end
        begin = steps["soc"][k - 1] if k > 0 else steps.get("soc_init", steps["soc"][0])
        planned_soc = begin + (steps["soc"][k] - begin) * (pos - k)
    measured = plan_service.latest_soc(session, device, now)
    current: list[float] = []
    if 0 <= k < n:
        try:
            current = plan_service._prices(
                session, site, "IMPORT", row.start + k * STEP, row.start + n * STEP
            )
        except Exception:  # prices gone or changed shape: a cycle will re-plan anyway
            current = []
    return replan_reason(
        row.created_at,
        now,
        planned_soc=planned_soc,
        measured_soc=measured,
        planned_prices=steps["import_price"][max(k, 0) :],
        current_prices=current,
    )


def plan_one(db: Database, now: datetime, row_id: str, site_id: str, planner: Planner) -> bool:
    """Re-plan one site from its latest plan (``row_id``) when due; True when planned."""
    try:
        with db.session() as session:
            row = session.get(BatteryPlanRow, row_id)
            site = session.get(Site, site_id)
            device = session.get(Device, row.device_id) if row else None
            if row is None or site is None or device is None or site.deleted_at is not None:
                return False
            reason = _reason(session, row, site, device, now)
            if reason is None:
                return False
            plan_service.plan_site(
                session,
                site,
                device,
                plan_service.request_of(row.request),
                now=now,
                planner=planner,
                trigger=reason.split(":")[0],
                running_w=running_power_w(session, device.id, now),
            )
            return True
    except Exception as exc:  # one site's failure must not stop the fleet's cycle
        log.warning("battery plan cycle: site %s not re-planned: %s", site_id, exc)
        return False


def due_sites(db: Database, now: datetime) -> list[tuple[str, str]]:
    """(plan row id, site id) of every active site."""
    with db.session() as session:
        return [(r.id, r.site_id) for r in active_plans(session, now)]


def plan_cycle(db: Database, now: datetime, planner: Planner | None = None) -> int:
    """Re-plan every active site that is due, here; returns how many were planned."""
    planner = planner or planner_of(None)
    return sum(
        plan_one(db, now, row_id, site_id, planner) for row_id, site_id in due_sites(db, now)
    )


class PlanCycle:
    """The periodic job: defers one ``PLAN_SITE`` job per active site once ``jobs`` is bound
    (``bind``), else plans them itself. Returns how many sites it deferred or planned."""

    def __init__(self, db: Database, planner: Planner | None = None) -> None:
        self.db = db
        self.planner = planner
        self.jobs: Jobs | None = None

    def __call__(self, now: datetime) -> int:
        if self.jobs is None:
            return plan_cycle(self.db, now, self.planner)
        sites = due_sites(self.db, now)
        for row_id, site_id in sites:
            self.jobs.defer(
                PLAN_SITE,
                {"row_id": row_id, "site_id": site_id},
                lock=f"{PLAN_SITE}:{site_id}",
                queueing_lock=f"{PLAN_SITE}:{site_id}",
            )
        return len(sites)


class PlanSite:
    """The per-site job."""

    def __init__(self, db: Database, planner: Planner | None = None) -> None:
        self.db = db
        self.planner = planner

    def __call__(self, now: datetime, row_id: JobArg = None, site_id: JobArg = None) -> bool:
        return plan_one(self.db, now, str(row_id), str(site_id), self.planner or planner_of(None))
