"""The optimiser's wiring for the app: the solver and the forecaster a running platform uses
(one each per process; the solver keeps its HiGHS models between plans, so it is used under a
lock), and what a site's forecast is made from (its place, array and measured history)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from voltfleet.domain.optimisation.control import step_mode
from voltfleet.domain.optimisation.forecast import ForecastSite, SiteForecast
from voltfleet.domain.optimisation.plan import BatteryPlan
from voltfleet.domain.optimisation.problem import PlanProblem
from voltfleet.domain.telemetry.rollup import Resolution
from voltfleet.forecast.site import SiteForecaster
from voltfleet.ports import Forecaster, PlanSolver
from voltfleet.solver.highs import HighsPlanSolver
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site
from voltfleet.store.timeseries import store_for
from voltfleet.usecases.battery_plan import plan_battery, plan_stable

STEP = timedelta(minutes=15)
HISTORY_DAYS = 14
TIME_LIMIT_S = 2.0
MIN_GAIN = 0.02  # currency units: a re-plan changes the running command only for more


@dataclass
class Planner:
    solver: PlanSolver = field(default_factory=HighsPlanSolver)
    forecaster: Forecaster = field(default_factory=SiteForecaster)
    time_limit_s: float = TIME_LIMIT_S
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    min_gain: float = MIN_GAIN

    def plan(self, problem: PlanProblem, site: str) -> BatteryPlan:
        with self._lock:
            return plan_battery(self.solver, problem, time_limit_s=self.time_limit_s, site=site)

    def plan_stable(
        self, problem: PlanProblem, site: str, running_w: float | None, limit_w: float
    ) -> tuple[BatteryPlan, bool]:
        """The plan, keeping the running command unless changing it gains ``min_gain``."""

        def same(a: float, b: float) -> bool:
            return step_mode(a, limit_w) == step_mode(b, limit_w)

        with self._lock:
            return plan_stable(
                self.solver,
                problem,
                running_w,
                min_gain=self.min_gain,
                same=same,
                time_limit_s=self.time_limit_s,
                site=site,
            )

    def forecast(self, site: ForecastSite, times: Sequence[datetime]) -> SiteForecast:
        return self.forecaster.forecast(site, times)


_DEFAULT: Planner | None = None


def use_planner(planner: Planner) -> None:
    """Make ``planner`` the one of this process (bootstrap: the jobs that have no runtime at
    hand plan with the configured forecaster)."""
    global _DEFAULT
    _DEFAULT = planner


def planner_of(runtime: object | None) -> Planner:
    """The runtime's planner (``Runtime.planner``), or one per process when none was wired."""
    got = getattr(runtime, "planner", None)
    if isinstance(got, Planner):
        return got
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Planner()
    return _DEFAULT


def measured(
    session: Session, devices: Sequence[Device], point: str, start: datetime, end: datetime
) -> tuple[tuple[datetime, float], ...]:
    """Quarter-hour means of ``point`` summed over the site's devices that report it, from
    their 5-minute roll-ups."""
    store = store_for(session.connection())
    total: dict[datetime, float] = {}
    for d in devices:
        quarters: dict[datetime, list[float]] = {}
        for r in store.read_rollups(d.id, point, Resolution.FIVE_MIN, start, end):
            q = datetime.fromtimestamp(r.start.timestamp() // 900 * 900, r.start.tzinfo)
            quarters.setdefault(q, []).append(r.value)
        for q, vs in quarters.items():
            total[q] = total.get(q, 0.0) + sum(vs) / len(vs)
    return tuple(sorted(total.items()))


def forecast_site(
    session: Session, site: Site, devices: Sequence[Device], now: datetime, annual_kwh: float
) -> ForecastSite:
    since = now - timedelta(days=HISTORY_DAYS)
    return ForecastSite(
        timezone=site.timezone or "UTC",
        country=site.country or "DE",
        capacity_kwp=site.capacity_kwp or 0.0,
        latitude=site.latitude,
        longitude=site.longitude,
        annual_kwh=annual_kwh,
        load_history=measured(session, devices, "load_power_w", since, now),
        pv_history=measured(session, devices, "pv_power_w", now - timedelta(days=3), now),
    )
