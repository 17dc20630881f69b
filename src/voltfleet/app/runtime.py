"""What a running application holds: settings, database, security, mail, limits."""

from __future__ import annotations

from dataclasses import dataclass, field

from voltfleet.app.mail import Mailer
from voltfleet.app.ratelimit import AttemptLimiter
from voltfleet.app.security import Security
from voltfleet.clock import SystemClock
from voltfleet.ports import Clock, Jobs
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
