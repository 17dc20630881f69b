"""Ingest as wired by bootstrap: the use case (usecases.ingest.ingest), the deployment's limits
(settings late_window_days, future_skew_s) and the clock. Every path into ingest (HTTP, the MQTT
bridge, OCPP, releasing the quarantine) calls it through ``Runtime.ingest``, so all of them run
the same function with the same limits; a test may wrap ``use_case`` to watch them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

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
    ) -> IngestResult:
        """One batch of the credential ``root`` in ``session``'s transaction (``now``: by
        default the clock's)."""
        return self.use_case(
            SqlIngestRepository(session, store),
            root,
            readings,
            now=now or self.clock.now(),
            limits=self.limits,
            replay=replay,
        )

    def quarantine(
        self,
        session: Session,
        root: Device,
        entries: Sequence[QuarantineEntry],
        now: datetime | None = None,
    ) -> None:
        """Quarantine what a path received from ``root`` and could not read as readings."""
        usecase.quarantine(SqlIngestRepository(session), root, entries, now or self.clock.now())
