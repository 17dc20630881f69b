"""The ``series`` table, shared by both adapters: an integer id per (device_id, point), which
``readings`` is keyed by (migration 0010). Ids are internal: nothing outside the store sees them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from voltfleet.domain.telemetry.batch import to_us
from voltfleet.domain.telemetry.readings import Reading
from voltfleet.ports import SeriesKey, SeriesRows

_CHUNK = 500  # device ids per IN (...) list


def series_ids(
    raw: Any, mark: str, keys: Iterable[SeriesKey], *, create: bool
) -> dict[SeriesKey, int]:
    """The ids of these series, on the DB-API connection ``raw`` whose parameter mark is
    ``mark`` (``?`` or ``%s``). With ``create``, missing series are made first, inside the
    caller's transaction, so a rolled-back write leaves none behind (a concurrent writer making
    the same series waits for the unique key, then finds it); without, unknown series are absent
    from the answer."""
    wanted = set(keys)
    found: dict[SeriesKey, int] = {}
    if not wanted:
        return found
    devices = sorted({d for d, _ in wanted})

    def look() -> None:
        cur = raw.cursor()
        for k in range(0, len(devices), _CHUNK):
            chunk = devices[k : k + _CHUNK]
            marks = ", ".join([mark] * len(chunk))
            cur.execute(
                f"SELECT device_id, point, id FROM series WHERE device_id IN ({marks})", chunk
            )
            for d, p, i in cur.fetchall():
                if (d, p) in wanted:
                    found[(d, p)] = int(i)

    look()
    missing = sorted(wanted - found.keys())
    if missing and create:
        raw.cursor().executemany(
            f"INSERT INTO series (device_id, point) VALUES ({mark}, {mark}) ON CONFLICT DO NOTHING",
            missing,
        )
        look()
    return found


class SeriesCache:
    """The series ids one adapter (one transaction) has seen, so a batch asks the database only
    for the series it has not met yet. Ids made by this transaction are cached too: the adapter
    is dropped with its transaction."""

    def __init__(self, mark: str) -> None:
        self.mark = mark
        self._ids: dict[SeriesKey, int] = {}

    def ids(self, raw: Any, keys: Iterable[SeriesKey], *, create: bool) -> dict[SeriesKey, int]:
        """``series_ids`` through the cache: the known ones of ``keys``, made first when
        ``create``."""
        keys = set(keys)
        todo = keys - self._ids.keys()
        if todo:
            self._ids.update(series_ids(raw, self.mark, todo, create=create))
        return {k: self._ids[k] for k in keys if k in self._ids}


def as_columns(readings: Sequence[Reading]) -> list[SeriesRows]:
    """Readings as ``write_series`` takes them: a series at a time, in their order."""
    out: dict[SeriesKey, tuple[list[int], list[float]]] = {}
    for r in readings:
        if r.ts.tzinfo is None:
            raise ValueError("naive datetime given to the time-series store")
        stamps, values = out.setdefault((r.device_id, r.point), ([], []))
        stamps.append(to_us(r.ts))
        values.append(float(r.value))
    return [(d, p, stamps, values) for (d, p), (stamps, values) in out.items()]
