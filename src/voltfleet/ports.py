"""Seams between the core and the outside world, as ``typing.Protocol``s.

An adapter satisfies a port by shape; each port has one contract test suite (tests/contract/)
that every adapter, and the in-memory fake used by unit tests, must pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from voltfleet.domain.telemetry.readings import Reading, Sample
from voltfleet.domain.telemetry.rollup import Resolution, Rollup

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

    async def remote(
        self, serial: str, action: str, params: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        """A remote command in platform words (``start``, ``stop``, ``reset``, ``unlock``) and its
        answer; raises when the charger is not connected or does not answer."""
        ...


# ---- background work -----------------------------------------------------------------------------
# (the Jobs port: periodic, delayed and queued jobs; see below)


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
