"""Ingest as wired by bootstrap: the use case (usecases.ingest.ingest), the deployment's limits
(settings late_window_days, future_skew_s) and the clock. Every path into ingest (HTTP, the MQTT
bridge, OCPP, releasing the quarantine) calls it through ``Runtime.ingest``, so all of them run
the same function with the same limits; a test may wrap ``use_case`` to watch them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from time import perf_counter

from sqlalchemy.orm import Session

from voltfleet.domain.telemetry.quarantine import QuarantineEntry
from voltfleet.domain.telemetry.validate import Limits
from voltfleet.ports import Clock, TimeSeriesStore
from voltfleet.settings import Settings
from voltfleet.store.fleet_models import Device
from voltfleet.store.ingest_repository import SqlIngestRepository
from voltfleet.usecases import ingest as usecase
from voltfleet.usecases.ingest import IngestResult, ReadingLike

IngestUseCase = Callable[..., IngestResult]
# (source, accepted, duplicates, the reasons of the quarantined readings, seconds): metrics
IngestObserver = Callable[[str, int, int, list[str], float], None]


def limits_of(settings: Settings) -> Limits:
    return Limits(
        future=timedelta(seconds=settings.future_skew_s),
        late_window=timedelta(days=settings.late_window_days),
    )


@dataclass
class IngestWiring:
    limits: Limits
    clock: Clock
    use_case: IngestUseCase = usecase.ingest
    observe: IngestObserver | None = None
    observe_quarantine: Callable[[list[str]], None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock) -> IngestWiring:
        return cls(limits_of(settings), clock)

    def __call__(
        self,
        session: Session,
        root: Device,
        readings: Sequence[ReadingLike],
        *,
        now: datetime | None = None,
        replay: bool = False,
        store: TimeSeriesStore | None = None,
        source: str = "other",
    ) -> IngestResult:
        """One batch of the credential ``root`` in ``session``'s transaction (``now``: by
        default the clock's). ``source`` (http, mqtt, ocpp, release) labels the metrics."""
        started = perf_counter()
        result = self.use_case(
            SqlIngestRepository(session, store),
            root,
            readings,
            now=now or self.clock.now(),
            limits=self.limits,
            replay=replay,
        )
        if self.observe is not None:
            reasons = [r.reason.value for r in result.rejections]
            self.observe(
                source, result.accepted, result.duplicates, reasons, perf_counter() - started
            )
        return result

    def quarantine(
        self,
        session: Session,
        root: Device,
        entries: Sequence[QuarantineEntry],
        now: datetime | None = None,
    ) -> None:
        """Quarantine what a path received from ``root`` and could not read as readings."""
        usecase.quarantine(SqlIngestRepository(session), root, entries, now or self.clock.now())
        if self.observe_quarantine is not None:
            self.observe_quarantine([e.reason for e in entries])
