"""Seams between the core and the outside world, as ``typing.Protocol``s.

An adapter satisfies a port by shape; each port has one contract test suite (tests/contract/)
that every adapter, and the in-memory fake used by unit tests, must pass.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from voltfleet.domain.optimisation.forecast import ForecastSite, SiteForecast
from voltfleet.domain.optimisation.plan import BatteryPlan, SolverFailed
from voltfleet.domain.optimisation.problem import PlanProblem
from voltfleet.domain.telemetry.readings import Reading, Sample
from voltfleet.domain.telemetry.rollup import Resolution, Rollup
from voltfleet.domain.weather import DayWeather, HourlyWeather

# (device_id, point, resolution, the change to that period)
RollupDelta = tuple[str, str, Resolution, Rollup]
# (device_id, point): one series, a data point of a device
SeriesKey = tuple[str, str]
# (device_id, point, lo, hi): a window of one series, instants in epoch microseconds, inclusive
Span = tuple[str, str, int, int]
# (device_id, point, instants in epoch microseconds, values): readings of one series, columns
SeriesRows = tuple[str, str, Sequence[int], Sequence[float]]


class Clock(Protocol):
    """Where the time comes from: ``voltfleet.clock.SystemClock`` in a running platform,
    ``ManualClock`` in tests that move time instead of sleeping. Chosen by bootstrap."""

    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...


# ---- device links: how a command or a charging limit reaches a device -------------------------


class GatewayLink(Protocol):
    """How a queued command reaches a gateway: pushed (MQTT, protocols/mqtt/bridge.Bridge) while
    the gateway is connected, otherwise handed out when the gateway polls over HTTP
    (GET /api/v1/gateway/commands), which needs no link. The command's state (sent, answered,
    expired) is the commands use case's business, not the link's."""

    def reachable(self, serial: str) -> bool:
        """Whether a command for the gateway ``serial`` can be pushed now."""
        ...

    async def deliver(self, serial: str, command_id: str, body: Mapping[str, Any]) -> None:
        """Hand the command to the gateway (at least once); raises when it could not be sent,
        so the caller puts it back in the queue."""
        ...


class ChargerLink(Protocol):
    """How a charging limit or a remote command reaches a charger (OCPP 1.6J: SetChargingProfile,
    RemoteStartTransaction, ...) over its open connection."""

    def connected(self, serial: str) -> bool:
        """Whether the charger ``serial`` has a connection to this process now."""
        ...

    async def set_current_limit(
        self, serial: str, connector_id: int, limit_a: float, phases: int | None = None
    ) -> bool:
        """Limit a connector's charging current (connector 0: the whole charger); True when the
        charger accepted it."""
        ...

    async def set_fallback_limit(
        self, serial: str, connector_id: int, limit_a: float, phases: int | None = None
    ) -> bool:
        """The limit the connector keeps when the charger loses its connection to the platform
        (OCPP: a default profile below the live limits); True when the charger accepted it."""
        ...

    async def remote(
        self, serial: str, action: str, params: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        """A remote command in platform words (``start``, ``stop``, ``reset``, ``unlock``) and its
        answer; raises when the charger is not connected or does not answer."""
        ...


# ---- the battery plan -------------------------------------------------------------------------


class PlanSolver(Protocol):
    """Solves a battery plan exactly (``voltfleet.solver.highs.HighsPlanSolver``). Raises
    ``SolverFailed`` with the reason (time limit, infeasible, numerical trouble) instead of
    returning a doubtful plan; the caller then falls back to self-consumption
    (``usecases.battery_plan``)."""

    def solve(self, problem: PlanProblem, *, time_limit_s: float) -> BatteryPlan:
        """The cheapest plan, found within ``time_limit_s`` seconds of wall-clock time."""
        ...

    def solve_many(
        self, problems: Sequence[PlanProblem], *, time_limit_s: float
    ) -> list[BatteryPlan | SolverFailed]:
        """Many sites in one call (``time_limit_s`` for each); a failure stands in its place."""
        ...


class Forecaster(Protocol):
    """PV and household load of a site ahead (``voltfleet.forecast.site.SiteForecaster``: pvlib
    from the array and the weather, corrected by what the site measured; load from the site's
    history, else the standard load profile)."""

    def forecast(self, site: ForecastSite, times: Sequence[datetime]) -> SiteForecast:
        """Mean power over the quarter hour starting at each of ``times`` (UTC)."""
        ...


class WeatherHistory(Protocol):
    """The weather of past days at a place (``forecast.open_meteo.OpenMeteoWeather`` over
    HTTP, ``forecast.simulated_weather.SimulatedWeather`` from the simulator's weather)."""

    name: str  # shown with the figures: where they come from

    def daily(
        self, latitude: float, longitude: float, timezone: str, first: date, last: date
    ) -> list[DayWeather]:
        """One entry per local day in [first, last] the source knows; raises ``Unavailable``
        (usecases.errors) when the source cannot be reached or answers nonsense."""
        ...


class WeatherForecast(Protocol):
    """Hourly weather at a place, the last days and the hours ahead, that the PV forecast reads
    (``forecast.open_meteo_forecast.OpenMeteoForecast`` over HTTP,
    ``forecast.simulated_forecast.SimulatedForecast`` from the simulator's weather)."""

    name: str  # shown with the forecast: where it comes from

    def hourly(
        self, latitude: float, longitude: float, first: datetime, last: datetime
    ) -> HourlyWeather:
        """The hours from the one holding ``first`` to the one holding ``last`` (UTC) as far as
        the source knows them; raises ``Unavailable`` (usecases.errors) when it cannot be
        reached or answers nonsense."""
        ...


# ---- background work -----------------------------------------------------------------------------
# A job is a use case that no request waits for: run every so often (a periodic job: the offline
# sweep, the price fetch), once at an instant (a delayed job: a reserved firmware upgrade) or as
# soon as a worker is free (a queued job: a report). Jobs are registered by name, with their
# function and, for periodic ones, their schedule (``voltfleet.usecases.jobs.JobRegistry``); a
# ``Jobs`` adapter runs them: in-process in the embedded default, on a PostgreSQL queue served by
# ``voltfleet worker`` processes in production. Either way a job's ``now`` comes from the
# injected ``Clock``.

# A job's arguments: JSON scalars only, so every adapter can store them.
JobArg = str | int | float | bool | None


@dataclass(frozen=True)
class Every:
    """A periodic job's schedule: every ``seconds``, the first run one period after start."""

    seconds: float

    def __post_init__(self) -> None:
        if not self.seconds > 0:
            raise ValueError("a period must be positive")


@dataclass(frozen=True)
class Cron:
    """A periodic job's schedule as a cron expression in UTC: five fields (minute hour day
    month weekday), or six with seconds last, as croniter reads them."""

    expression: str


@dataclass(frozen=True)
class JobSpec:
    """A job the platform knows by ``name``. ``run(now, **args)`` does the work as of ``now``
    (the injected clock's instant when the run starts) and opens its own unit of work; a run
    that raises is logged by the adapter. ``schedule``: periodic when set. Runs of a job with a
    ``lock`` never overlap (a periodic job's lock is its name)."""

    name: str
    run: Callable[..., object]
    schedule: Every | Cron | None = None
    lock: str | None = None


class Jobs(Protocol):
    """Runs the registered jobs: periodic ones on their schedule, deferred ones when due.

    Runs are at least once per deferral and, for periodic jobs, once per period however many
    processes serve the queue; jobs re-read what they act on, so a repeated run is harmless.
    """

    def defer(
        self,
        name: str,
        args: Mapping[str, JobArg] | None = None,
        *,
        at: datetime | None = None,
        lock: str | None = None,
        queueing_lock: str | None = None,
    ) -> bool:
        """Queue a run of the registered job ``name`` with ``args``: as soon as possible, or not
        before ``at`` (timezone-aware; a delayed job). ``lock``: runs with the same lock never
        overlap (the later waits). ``queueing_lock``: while a job deferred with the same
        queueing lock waits to start, nothing more is queued and False is returned (deferring
        the same job twice is deduplicated). True when queued. Unknown ``name``: KeyError."""
        ...


class TimeSeriesStore(Protocol):
    """Readings of devices' data points, and their roll-ups.

    A reading's key is (device_id, point, ts): writing a key that is already stored changes
    nothing (the first value wins), so replays and retries are harmless. Instants are
    timezone-aware UTC with microsecond precision. Writes join the caller's transaction: they are
    durable once the caller commits, and gone if it rolls back.
    """

    def write(self, readings: Sequence[Reading]) -> int:
        """Store the readings whose key is new (duplicates inside the batch count once);
        returns how many were stored."""
        ...

    def write_series(self, batch: Sequence[SeriesRows]) -> int:
        """``write`` for the ingest fast path: the readings as columns, a series at a time;
        the same duplicate rule (inside the batch, the first of an instant wins); returns how
        many were stored."""
        ...

    def instants(self, spans: Sequence[Span]) -> dict[SeriesKey, set[int]]:
        """For each span (one per series), the stored instants (epoch microseconds) of its series
        with lo <= ts <= hi; every series asked for is in the answer. One round trip for all."""
        ...

    def read(self, device_id: str, point: str, start: datetime, end: datetime) -> list[Sample]:
        """Samples with start <= ts < end, in time order."""
        ...

    def around(self, device_id: str, point: str, lo: datetime, hi: datetime) -> list[Sample]:
        """Samples with lo <= ts <= hi, plus the last one before lo and the first one after hi
        (when they exist), in time order: what a check or a roll-up needs at its edges."""
        ...

    def around_us(self, spans: Sequence[Span]) -> dict[SeriesKey, list[tuple[int, float]]]:
        """``around`` for many series at once (one span per series), instants as epoch
        microseconds: (instant, value) pairs in time order; every series asked for is in the
        answer. One round trip for all."""
        ...

    def latest(self, device_id: str, point: str) -> Sample | None:
        """The newest sample of the series."""
        ...

    def replace_rollups(
        self,
        device_id: str,
        point: str,
        resolution: Resolution,
        start: datetime,
        end: datetime,
        rows: Sequence[Rollup],
    ) -> None:
        """Make the roll-ups of periods starting in [start, end) exactly ``rows``."""
        ...

    def merge_rollups(self, deltas: Sequence[RollupDelta]) -> None:
        """Merge changes into stored roll-ups as ``domain.telemetry.rollup.merge`` does: energy
        (a delta with ``low`` None) and counts add; means are weighted by counts; extremes
        widen. A period not stored yet is stored as the delta."""
        ...

    def read_rollups(
        self, device_id: str, point: str, resolution: Resolution, start: datetime, end: datetime
    ) -> list[Rollup]:
        """Roll-ups of periods starting in [start, end), in time order."""
        ...
