"""Prometheus metrics of one process (``prometheus-client``), served at ``/metrics``.

Counted as things happen: request latency by route template (never by raw path, so the number of
series stays bounded), ingest batches and readings by source and outcome, quarantined readings
by reason. Read from the database when scraped (``StateCollector``): commands by state, the
job queue's depth and its oldest waiting job (with jobs on workers), and the OCPP chargers
connected to this process.

Each process has its own registry (held by its ``Runtime``, never a module global); with several
processes, scrape each of them (docs/deployment: one target per process).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from time import perf_counter
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text

from voltfleet.app.tariffs.market_status import market_fetch_metrics
from voltfleet.store.command_models import Command
from voltfleet.store.db import Database

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Seconds: an API answer is milliseconds; an ingest batch of 10,000 readings some 50 ms.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED = "<unmatched>"  # a request no route took (404 for an unknown path)


class Metrics:
    """The process's registry and what the application counts in it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Histogram(
            "voltfleet_http_request_duration_seconds",
            "HTTP requests by method, route template and status, and how long they took",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.ingest_batches = Histogram(
            "voltfleet_ingest_batch_duration_seconds",
            "Ingest batches (checked, stored, rolled up) by source, and how long they took",
            ["source"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.ingest_readings = Counter(
            "voltfleet_ingest_readings",
            "Readings received, by source and outcome (accepted, duplicate, quarantined)",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.quarantined = Counter(
            "voltfleet_quarantined_readings",
            "Readings and messages quarantined, by reason",
            ["reason"],
            registry=self.registry,
        )

    def observe_ingest(
        self, source: str, accepted: int, duplicates: int, reasons: list[str], seconds: float
    ) -> None:
        self.ingest_batches.labels(source).observe(seconds)
        readings = self.ingest_readings
        readings.labels(source, "accepted").inc(accepted)
        readings.labels(source, "duplicate").inc(duplicates)
        readings.labels(source, "quarantined").inc(len(reasons))
        self.quarantine(reasons)

    def quarantine(self, reasons: list[str]) -> None:
        for reason in reasons:
            self.quarantined.labels(reason).inc()

    def watch(self, collector: Collector) -> None:
        self.registry.register(collector)


class StateCollector(Collector):
    """Figures read from the database at each scrape (a few indexed counts)."""

    def __init__(
        self, db: Database, *, job_queue: bool, ocpp_connections: Callable[[], int] | None = None
    ) -> None:
        self.db = db
        self.job_queue = job_queue
        self.ocpp_connections = ocpp_connections

    def describe(self) -> list[Metric]:
        return []  # the families are only known by collecting (no query at registration)

    def collect(self) -> Iterator[Metric]:
        commands = GaugeMetricFamily(
            "voltfleet_commands", "Device commands by state", labels=["state"]
        )
        with self.db.engine.connect() as conn:
            rows = conn.execute(select(Command.state, func.count()).group_by(Command.state))
            for state, count in rows:
                commands.add_metric([state], count)
            yield commands
            yield from market_fetch_metrics(conn)
            if self.job_queue:
                yield from self._jobs(conn)
        if self.ocpp_connections is not None:
            yield GaugeMetricFamily(
                "voltfleet_ocpp_connections",
                "OCPP chargers connected to this process",
                value=self.ocpp_connections(),
            )

    def _jobs(self, conn: Any) -> Iterator[Metric]:
        row = conn.execute(
            text(
                "SELECT count(*), coalesce(extract(epoch FROM now() - min(scheduled_at)), 0) "
                "FROM procrastinate.procrastinate_jobs WHERE status = 'todo' "
                "AND (scheduled_at IS NULL OR scheduled_at <= now())"
            )
        ).one()
        yield GaugeMetricFamily(
            "voltfleet_job_queue_depth", "Jobs waiting for a worker", value=row[0]
        )
        yield GaugeMetricFamily(
            "voltfleet_job_queue_oldest_seconds",
            "How long the oldest waiting job has waited",
            value=float(row[1] or 0),
        )


class RequestMetrics:
    """ASGI middleware: each HTTP request's latency, labelled with the route that served it."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = perf_counter()

        async def tracked(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            self.metrics.requests.labels(scope["method"], route, str(status)).observe(
                perf_counter() - started
            )
