"""The platform's jobs: each opens one unit of work and calls a use case as of ``now``.

Job functions stay thin, so the use cases they call can move (into ``voltfleet.usecases``)
with only an import changed here.
"""

from __future__ import annotations

import logging
from datetime import datetime

from voltfleet.app.alarms import delivery as alarm_delivery
from voltfleet.app.commands.plan_cycle import PLAN_CYCLE, PLAN_SITE, PlanCycle, PlanSite
from voltfleet.app.devices.live_switch import LIVE_DATA_RENEW, RENEW_EVERY
from voltfleet.app.devices.live_switch import renew as renew_live_data
from voltfleet.app.exchange import jobs as money_jobs
from voltfleet.app.firmware import jobs as firmware_jobs
from voltfleet.app.power.wiring import PowerWiring
from voltfleet.app.telemetry.presence import sweep_offline
from voltfleet.domain.telemetry.presence import sweep_interval_s
from voltfleet.jobs import virtual_battery
from voltfleet.ports import Every, Jobs, JobSpec
from voltfleet.settings import Settings
from voltfleet.store.command_repository import SqlCommandRepository
from voltfleet.store.db import Database
from voltfleet.usecases import commands
from voltfleet.usecases.jobs import COMMAND_SWEEP, MARKET_PRICES, OFFLINE_SWEEP, JobRegistry

log = logging.getLogger("voltfleet.jobs")

COMMAND_SWEEP_S = 30.0  # how often queued commands are checked against their expiry
SWEEP_BATCH = commands.SWEEP_BATCH  # commands.sweep changes at most this many rows per call
RENEW_S = RENEW_EVERY.total_seconds()  # live-data requests asked again while enabled


def offline_sweep(db: Database, settings: Settings, now: datetime) -> int:
    """Devices silent for ``offline_after_s`` as of ``now`` go offline (with a status-history
    row; their site follows). Returns how many."""
    with db.session() as session:
        return len(sweep_offline(session, now, settings))


def command_sweep(db: Database, now: datetime) -> int:
    """Queued commands past their expiry -> expired, sent ones past their reply deadline ->
    failed, as of ``now``; in batches, a transaction each. Returns how many changed."""
    total = 0
    for _ in range(100):  # bounded: a backlog of 100 batches is finished by the next runs
        with db.session() as session:
            changed = commands.sweep(SqlCommandRepository(session), now)
        total += changed
        if changed < SWEEP_BATCH:
            break
    if total:
        log.info("expired or failed %d pending command(s)", total)
    return total


def market_prices(settings: Settings, db: Database, now: datetime) -> int:
    """Fetch and store the day-ahead prices of every configured ``source:area``; one that fails
    is logged and the others are still fetched; raises when any failed. Returns prices stored."""
    from voltfleet.app.tariffs import market_prices as prices
    from voltfleet.app.tariffs import market_status

    stored, failed = 0, []
    for source, area in settings.market_source_pairs:
        try:
            fetched = prices.fetch(
                source,
                area,
                settings.market_fetch_days,
                settings.entsoe_token or None,
                now=now,
                base_url=settings.market_base_url or None,
            )
            with db.session() as session:
                stored += prices.store(session, source, area, fetched)
            with db.session() as session:
                market_status.record(session, source, area, now)
        except Exception as exc:
            log.warning("fetching prices of %s:%s failed: %s", source, area, exc)
            failed.append(f"{source}:{area}")
            with db.session() as session:
                market_status.record(session, source, area, now, error=str(exc) or repr(exc))
    if failed:
        raise RuntimeError(f"price fetch failed for {', '.join(failed)}")
    return stored


def platform_jobs(
    db: Database, settings: Settings, power: PowerWiring | None = None
) -> JobRegistry:
    """Every job of the platform, with its schedule; the price fetch only when market sources
    are configured (VOLTFLEET_MARKET_SOURCES); EV power management's cycles with its wiring."""
    registry = JobRegistry()
    if power is not None:
        power.register(registry)
    registry.add(
        JobSpec(
            OFFLINE_SWEEP,
            lambda now: offline_sweep(db, settings, now),
            Every(sweep_interval_s(settings.offline_after_s)),
        )
    )
    registry.add(JobSpec(COMMAND_SWEEP, lambda now: command_sweep(db, now), Every(COMMAND_SWEEP_S)))
    if settings.battery_plan_cycle_s:
        every = Every(float(settings.battery_plan_cycle_s))
        registry.add(JobSpec(PLAN_CYCLE, PlanCycle(db), every))
        registry.add(JobSpec(PLAN_SITE, PlanSite(db)))
    firmware_jobs.register(registry, db, settings, lambda: power.link if power else None)
    registry.add(JobSpec(LIVE_DATA_RENEW, lambda now: renew_live_data(db, now), Every(RENEW_S)))
    for spec in money_jobs.specs(db, settings):  # exchange rates; tomorrow's prices checked
        registry.add(spec)
    if settings.market_source_pairs:
        registry.add(
            JobSpec(
                MARKET_PRICES,
                lambda now: market_prices(settings, db, now),
                Every(float(settings.market_fetch_interval_s)),
            )
        )
    return registry


def bind(registry: JobRegistry, jobs: Jobs) -> Jobs:
    """Hand the jobs adapter to the jobs that defer others (firmware steps, the plan cycle's
    fan-out) once both exist."""
    if PLAN_CYCLE in registry:
        run = registry.get(PLAN_CYCLE).run
        if isinstance(run, PlanCycle):
            run.jobs = jobs
    return firmware_jobs.bind(registry, jobs)


def all_jobs(db: Database, settings: Settings, power: PowerWiring | None = None) -> JobRegistry:
    """The core jobs above and those of the features (virtual batteries: settle, export; EV
    power management's cycles with its wiring)."""
    registry = platform_jobs(db, settings, power)
    for spec in virtual_battery.specs(db, settings.data_dir):
        registry.add(spec)
    registry.add(alarm_delivery.spec(db, settings))  # alarm notifications: mail and webhooks
    return registry
