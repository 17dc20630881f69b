"""An in-memory ``TimeSeriesStore`` for unit tests; the contract suite proves it behaves like the
real adapters."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import datetime

from voltfleet.domain.telemetry.batch import from_us, to_us
from voltfleet.domain.telemetry.readings import Reading, Sample
from voltfleet.domain.telemetry.rollup import Resolution, Rollup, merge
from voltfleet.ports import RollupDelta, SeriesKey, SeriesRows, Span


def _check(ts: datetime) -> None:
    if ts.tzinfo is None:
        raise ValueError("naive datetime given to the time-series store")


class MemoryTimeSeriesStore:
    def __init__(self) -> None:
        self._series: dict[tuple[str, str], tuple[list[datetime], list[float]]] = {}
        self._rollups: dict[tuple[str, str, str], dict[datetime, Rollup]] = {}

    def write(self, readings: Sequence[Reading]) -> int:
        stored = 0
        for r in readings:
            _check(r.ts)
            times, values = self._series.setdefault((r.device_id, r.point), ([], []))
            i = bisect.bisect_left(times, r.ts)
            if i < len(times) and times[i] == r.ts:
                continue
            times.insert(i, r.ts)
            values.insert(i, float(r.value))
            stored += 1
        return stored

    def write_series(self, batch: Sequence[SeriesRows]) -> int:
        return self.write(
            [
                Reading(d, p, from_us(us), v)
                for d, p, stamps, values in batch
                for us, v in zip(stamps, values, strict=True)
            ]
        )

    def instants(self, spans: Sequence[Span]) -> dict[SeriesKey, set[int]]:
        out: dict[SeriesKey, set[int]] = {}
        for device_id, point, lo_us, hi_us in spans:
            times, _ = self._series.get((device_id, point), ([], []))
            i = bisect.bisect_left(times, from_us(lo_us))
            j = bisect.bisect_right(times, from_us(hi_us))
            out[(device_id, point)] = {to_us(times[k]) for k in range(i, j)}
        return out

    def read(self, device_id: str, point: str, start: datetime, end: datetime) -> list[Sample]:
        times, values = self._series.get((device_id, point), ([], []))
        i, j = bisect.bisect_left(times, start), bisect.bisect_left(times, end)
        return [Sample(times[k], values[k]) for k in range(i, j)]

    def around(self, device_id: str, point: str, lo: datetime, hi: datetime) -> list[Sample]:
        times, values = self._series.get((device_id, point), ([], []))
        i, j = bisect.bisect_left(times, lo), bisect.bisect_right(times, hi)
        i, j = max(i - 1, 0), min(j + 1, len(times))
        return [Sample(times[k], values[k]) for k in range(i, j)]

    def around_us(self, spans: Sequence[Span]) -> dict[SeriesKey, list[tuple[int, float]]]:
        return {
            (d, p): [(to_us(x.ts), x.value) for x in self.around(d, p, from_us(lo), from_us(hi))]
            for d, p, lo, hi in spans
        }

    def latest(self, device_id: str, point: str) -> Sample | None:
        times, values = self._series.get((device_id, point), ([], []))
        return Sample(times[-1], values[-1]) if times else None

    def replace_rollups(
        self,
        device_id: str,
        point: str,
        resolution: Resolution,
        start: datetime,
        end: datetime,
        rows: Sequence[Rollup],
    ) -> None:
        table = self._rollups.setdefault((device_id, point, resolution.value), {})
        for at in [at for at in table if start <= at < end]:
            del table[at]
        for row in rows:
            table[row.start] = row

    def merge_rollups(self, deltas: Sequence[RollupDelta]) -> None:
        for device_id, point, resolution, delta in deltas:
            table = self._rollups.setdefault((device_id, point, resolution.value), {})
            table[delta.start] = merge(table.get(delta.start), delta, is_energy=delta.low is None)

    def read_rollups(
        self, device_id: str, point: str, resolution: Resolution, start: datetime, end: datetime
    ) -> list[Rollup]:
        table = self._rollups.get((device_id, point, resolution.value), {})
        return [table[at] for at in sorted(table) if start <= at < end]
