"""An in-memory ``TimeSeriesStore`` for unit tests; the contract suite proves it behaves like the
real adapters."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import datetime

from voltfleet.domain.telemetry.batch import from_us, to_us
from voltfleet.domain.telemetry.readings import Reading, Sample
from voltfleet.domain.telemetry.rollup import Resolution, Rollup, merge
from voltfleet.ports import RollupDelta


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

    def write_rows(self, rows: Sequence[tuple[str, str, int, float]]) -> int:
        return self.write([Reading(d, p, from_us(us), v) for d, p, us, v in rows])

    def instants(self, device_id: str, point: str, lo_us: int, hi_us: int) -> set[int]:
        times, _ = self._series.get((device_id, point), ([], []))
        lo, hi = from_us(lo_us), from_us(hi_us)
        i, j = bisect.bisect_left(times, lo), bisect.bisect_right(times, hi)
        return {to_us(times[k]) for k in range(i, j)}

    def read(self, device_id: str, point: str, start: datetime, end: datetime) -> list[Sample]:
        times, values = self._series.get((device_id, point), ([], []))
        i, j = bisect.bisect_left(times, start), bisect.bisect_left(times, end)
        return [Sample(times[k], values[k]) for k in range(i, j)]

    def around(self, device_id: str, point: str, lo: datetime, hi: datetime) -> list[Sample]:
        times, values = self._series.get((device_id, point), ([], []))
        i, j = bisect.bisect_left(times, lo), bisect.bisect_right(times, hi)
        i, j = max(i - 1, 0), min(j + 1, len(times))
        return [Sample(times[k], values[k]) for k in range(i, j)]

    def around_us(
        self, device_id: str, point: str, lo_us: int, hi_us: int
    ) -> list[tuple[int, float]]:
        samples = self.around(device_id, point, from_us(lo_us), from_us(hi_us))
        return [(to_us(s.ts), s.value) for s in samples]

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
