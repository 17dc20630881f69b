"""What a running application holds: settings, database, security, mail, limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from voltfleet.app.commands.planning import Planner
from voltfleet.app.mail import Mailer
from voltfleet.app.ops.metrics import Metrics
from voltfleet.app.power.wiring import PowerWiring
from voltfleet.app.ratelimit import AttemptLimiter
from voltfleet.app.security import Security
from voltfleet.app.telemetry.wiring import IngestWiring
from voltfleet.clock import SystemClock
from voltfleet.ports import Clock, Jobs, WeatherHistory
from voltfleet.protocols.mqtt.broker import BrokerFiles
from voltfleet.settings import Settings
from voltfleet.store.db import Database


@dataclass
class Runtime:
    settings: Settings
    db: Database
    security: Security
    mailer: Mailer
    limiter: AttemptLimiter = field(default_factory=AttemptLimiter)
    clock: Clock = field(default_factory=SystemClock)
    jobs: Jobs | None = None  # chosen by bootstrap.build_jobs
    planner: Planner = field(default_factory=Planner)  # the battery plan's solver, forecasts
    broker_files: BrokerFiles | None = None  # the MQTT broker's files, kept as tokens are issued
    metrics: Metrics = field(default_factory=Metrics)  # this process's Prometheus registry
    weather: WeatherHistory | None = None  # past days' weather at a site, chosen by bootstrap
    ocpp_connections: Any = None  # app.charging.connections.registry: the chargers connected here
    ocpp_link: Any = None  # app.charging.charger_link: here, and through other processes (relay)
    ocpp_presence: Any = None  # app.charging.presence_batch: chargers' heartbeats, batched
    ingest: IngestWiring = field(init=False)  # the use case, the settings' limits, the clock
    power: PowerWiring = field(init=False)  # EV power management: its jobs, hooks and link

    def __post_init__(self) -> None:
        self.ingest = IngestWiring.from_settings(self.settings, self.clock)
        self.ingest.observe = self.metrics.observe_ingest
        self.ingest.observe_quarantine = self.metrics.quarantine
        self.power = PowerWiring(self.db, self.clock, lambda: self.jobs)
