"""Ingest: the one entry for readings, whichever way they came (HTTP, the MQTT bridge, a
charger's OCPP meter values, a release from the quarantine), and the one quarantine writer.

The pipeline for one batch from one credential (a gateway, or a charger as its own root):
resolve each reading's device *below that credential* (domain.fleet.family: the identity comes
from the credential, never from the payload), check it (domain.telemetry.batch), check energy
counters against what is stored, store the batch (duplicates once), quarantine the rest with
their reasons, merge the roll-ups of the touched periods, and apply the presence rule
(domain.device_status.after_spoke) to the devices that spoke.

The batch is handled one *series* (device, data point) at a time: readings are grouped as they
are read, each group checked in one pass, stored instants of the series read once to tell new
readings from duplicates, all new rows written in one statement, and the roll-ups changed by
what is new merged into the stored ones.

Persistence comes through ``IngestRepository`` (implemented in store/ingest_repository.py); the
clock's ``now`` and the deployment's ``Limits`` come in as arguments. Never commits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Protocol

from voltfleet.domain.device_status import after_spoke
from voltfleet.domain.fleet import DeviceStatus, normalise_serial
from voltfleet.domain.telemetry import restarts as counter_restarts
from voltfleet.domain.telemetry import total_yield
from voltfleet.domain.telemetry.batch import Series, check_group, from_us, join
from voltfleet.domain.telemetry.quarantine import QuarantineEntry, of_reading
from voltfleet.domain.telemetry.restarts import Restart
from voltfleet.domain.telemetry.rollup import energy_delta, gauge_delta_us, ladder_deltas
from voltfleet.domain.telemetry.validate import RISING_MIN, Limits, Reason, Rejection, rising_us
from voltfleet.ports import RollupDelta, SeriesKey, SeriesRows, TimeSeriesStore
from voltfleet.usecases.rollups import refresh, rolled_up

POWER_POINT = "pv_power_w"  # kept per device for the fleet home page (store/summaries.py)
LIFETIME_POINT = total_yield.LIFETIME_POINT  # kept per device: its total yield


class ReadingLike(Protocol):
    """A reading as received: ``domain.telemetry.quarantine.IncomingReading``, or the HTTP fast
    decoder's ``WireReading``; ``ts`` is the text as sent, or an instant a wire engine parsed."""

    @property
    def device(self) -> str: ...
    @property
    def point(self) -> str: ...
    @property
    def ts(self) -> str | datetime: ...
    @property
    def value(self) -> float | str | None: ...
    @property
    def unit(self) -> str: ...


class DeviceLike(Protocol):
    """What ingest reads of a device (a store row satisfies it)."""

    @property
    def id(self) -> str: ...
    @property
    def serial(self) -> str: ...
    @property
    def site_id(self) -> str: ...
    @property
    def status(self) -> str: ...


class IngestRepository(Protocol):
    """Ingest's persistence, inside the caller's transaction."""

    def serialise(self, root: DeviceLike) -> None:
        """One batch of this credential at a time (the roll-ups of a counter depend on its
        stored neighbours, so two concurrent batches must not both read them first)."""
        ...

    def family(self, root: DeviceLike) -> tuple[Mapping[str, DeviceLike], Mapping[str, DeviceLike]]:
        """domain.fleet.family of the credential's device: (below it, itself included; the
        site's other live devices), each keyed by id and by serial."""
        ...

    def site_zone(self, root: DeviceLike) -> tzinfo:
        """The time zone of the credential's site (its roll-ups' days and months)."""
        ...

    def series(self) -> TimeSeriesStore:
        """The readings and roll-ups, in the caller's transaction."""
        ...

    def restarts(self, keys: Sequence[SeriesKey]) -> dict[SeriesKey, list[Restart]]:
        """The recorded restarts of these counter series."""
        ...

    def quarantine(
        self, root: DeviceLike, entries: Sequence[QuarantineEntry], now: datetime
    ) -> None:
        """Keep what was refused, received ``now`` from the credential ``root``."""
        ...

    def newest_power(self, device: DeviceLike, at: datetime, value: float) -> None:
        """Remember a device's newest PV power (the fleet home page) if newer than the kept one."""
        ...

    def newest_lifetime_yield(self, device: DeviceLike, at: datetime, value: float) -> None:
        """Remember a device's newest lifetime yield counter reading (its total yield) if newer
        than the kept one."""
        ...

    def fold_summaries(
        self, root: DeviceLike, deltas: Sequence[RollupDelta], devices: Sequence[DeviceLike]
    ) -> None:
        """Fold the batch's roll-up changes into the site's summary."""
        ...

    def drop_summaries(self, root: DeviceLike) -> None:
        """Forget the site's summary (rebuilt from the roll-ups when next needed)."""
        ...

    def counters_changed(self, first_us: Mapping[SeriesKey, int]) -> None:
        """Counter readings were stored (each series' earliest new instant): whatever is
        derived from those meters (virtual batteries) is recomputed from there."""
        ...

    def seen(self, device: DeviceLike, now: datetime) -> None:
        """The device spoke ``now`` (its last_seen)."""
        ...

    def set_status(self, device: DeviceLike, status: DeviceStatus, now: datetime) -> None:
        """Record the device's new status (a status-history row; its site's status follows)."""
        ...


@dataclass
class IngestResult:
    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejections: list[Rejection] = field(default_factory=list)


# (the rejection, the reading's index, the device id when resolved, the instant when readable)
_Refused = tuple[Rejection, int, str | None, datetime | None]


def ingest(
    repo: IngestRepository,
    root: DeviceLike,
    readings: Sequence[ReadingLike],
    *,
    now: datetime,
    limits: Limits,
    replay: bool = False,
) -> IngestResult:
    """Check, store and roll up one batch of the credential ``root``; see the module's docstring.

    ``replay``: readings taken out of the quarantine rather than sent now: the refused ones are
    only reported (the caller keeps their entries), and the devices are not marked seen."""
    repo.serialise(root)
    mine, others = repo.family(root)
    result = IngestResult(received=len(readings))
    refused: list[_Refused] = []

    groups: dict[tuple[str, str, str], list[tuple[int, str | datetime, object]]] = defaultdict(list)
    for i, r in enumerate(readings):
        groups[(r.device, r.point, r.unit)].append((i, r.ts, r.value))

    by_series: dict[SeriesKey, Series] = {}
    parsed: dict[str | datetime, int] = {}  # timestamp -> instant, shared by the batch's groups
    for (ref, point, unit), items in groups.items():
        device = _resolve(ref, root, mine)
        if device is None:
            reason, detail, other_id = _unresolved(ref, root, others)
            refused.extend((Rejection(i, reason, detail), i, other_id, None) for i, _, _ in items)
            continue
        series, bad = check_group(device.id, point, unit, items, now, limits, parsed=parsed)
        refused.extend((b.rejection, b.rejection.index, device.id, b.ts) for b in bad)
        if series is None or not series.ts_us:
            continue
        key = (device.id, series.point.name)
        by_series[key] = join(by_series[key], series) if key in by_series else series

    store = repo.series()
    tz = repo.site_zone(root)
    new: list[SeriesRows] = []
    fresh_count = 0
    plans: list[tuple[Series, list[int], list[tuple[int, float]], list[Restart]]] = []
    offered = 0
    counters = [key for key, s in by_series.items() if s.point.counter]
    restarts = repo.restarts(counters) if counters else {}
    # What is stored already, for all series in two round trips: a counter's neighbours (its
    # check and its energy need them), the other series' instants (to tell new from repeated).
    spans = {key: (*key, s.ts_us[0], s.ts_us[-1]) for key, s in by_series.items()}
    around = store.around_us([spans[key] for key in counters])
    instants = store.instants([x for key, x in spans.items() if key not in around])
    for (device_id, name), series in by_series.items():
        old: list[tuple[int, float]] = []
        known = restarts.get((device_id, name), [])
        if series.point.counter:
            old = around[(device_id, name)]
            series, bad_counts = _check_counter(series, old, known)
            refused.extend((rej, rej.index, device_id, ts) for rej, ts in bad_counts)
            stored = {us for us, _ in old}
        else:
            stored = instants[(device_id, name)]
        if stored:
            fresh = [k for k, us in enumerate(series.ts_us) if us not in stored]
        else:
            fresh = list(range(len(series.ts_us)))
        offered += len(series.ts_us) + series.repeats
        values, stamps = series.values, series.ts_us
        if len(fresh) < len(stamps):
            values, stamps = [values[k] for k in fresh], [stamps[k] for k in fresh]
        new.append((device_id, name, stamps, values))
        fresh_count += len(fresh)
        plans.append((series, fresh, old, known))

    stored_now = store.write_series(new)
    result.accepted = stored_now
    result.duplicates = offered - stored_now
    result.rejections = sorted((rej for rej, *_ in refused), key=lambda x: x.index)
    if not replay and refused:
        quarantine(repo, root, [_entry(readings, x) for x in refused], now)

    for (device_id, name), series in by_series.items():
        if name == POWER_POINT and series.ts_us:
            repo.newest_power(mine[device_id], from_us(series.ts_us[-1]), series.values[-1])
    for series, *_ in plans:  # a counter's readings that passed its check
        if series.point.name == LIFETIME_POINT and series.ts_us:
            device = mine[series.device_id]
            repo.newest_lifetime_yield(device, from_us(series.ts_us[-1]), series.values[-1])

    if stored_now == fresh_count:
        deltas = [d for plan in plans for d in _deltas(*plan, tz)]
        store.merge_rollups(deltas)
        site_devices = list({d.id: d for d in (*mine.values(), *others.values())}.values())
        repo.fold_summaries(root, deltas, site_devices)
    else:  # another writer stored some of them meanwhile: recompute the touched periods
        for series, _, _, known in plans:
            if series.ts_us:
                lo, hi = from_us(series.ts_us[0]), from_us(series.ts_us[-1])
                refresh(store, series.device_id, series.point, lo, hi, tz, known)
        repo.drop_summaries(root)
    changed = {
        key: series.ts_us[fresh[0]]
        for key, (series, fresh, _, _) in zip(by_series, plans, strict=True)
        if series.point.counter and fresh
    }
    if changed:
        repo.counters_changed(changed)

    if not replay:
        spoke = {root.id} | {device_id for device_id, _ in by_series}
        for device_id in spoke:
            presence(repo, mine[device_id], now)
    return result


def presence(repo: IngestRepository, device: DeviceLike, now: datetime) -> None:
    """A device spoke ``now``: seen, and its status by the presence rule (an up or faulted
    device keeps its status, and its site's status does not change)."""
    repo.seen(device, now)
    new = after_spoke(DeviceStatus(device.status))
    if new is not None:
        repo.set_status(device, new, now)


def quarantine(
    repo: IngestRepository, root: DeviceLike, entries: Sequence[QuarantineEntry], now: datetime
) -> None:
    """The one quarantine writer: what a path received from the credential ``root`` and did not
    store (readings refused by the checks, unreadable messages, refused alarm events)."""
    if entries:
        repo.quarantine(root, entries, now)


def _entry(readings: Sequence[ReadingLike], refused: _Refused) -> QuarantineEntry:
    rej, i, device_id, ts = refused
    r = readings[i]
    return of_reading(
        r.device, r.point, r.ts, r.value, r.unit, rej.reason.value, rej.detail, device_id, ts
    )


def _resolve(ref: str, root: DeviceLike, mine: Mapping[str, DeviceLike]) -> DeviceLike | None:
    key = ref.strip()
    if not key:
        return root
    return mine.get(key) or mine.get(normalise_serial(key))


def _unresolved(
    ref: str, root: DeviceLike, others: Mapping[str, DeviceLike]
) -> tuple[Reason, str, str | None]:
    ref = ref.strip()
    other = others.get(ref) or others.get(normalise_serial(ref))
    if other is not None:
        detail = f"{other.serial} is not below gateway {root.serial}"
        return Reason.FOREIGN_DEVICE, detail, other.id
    detail = f"no device '{ref}' below gateway {root.serial}: bind it first"
    return Reason.UNKNOWN_DEVICE, detail, None


def _check_counter(
    series: Series, old: list[tuple[int, float]], restarts: Sequence[Restart] = ()
) -> tuple[Series, list[tuple[Rejection, datetime]]]:
    """An energy counter's new readings against its stored neighbours ``old`` (instant, value)
    and its recorded restarts (domain.telemetry.restarts.check_counter_us): the series without
    the refused ones, and the refusals with their instants."""
    if (  # the common case, all accepted: seen on arrays, no tuple per reading
        not restarts
        and len(series.ts_us) >= RISING_MIN
        and rising_us(series.ts_us, series.values, old)
    ):
        return series, []
    new = list(zip(series.indexes, series.ts_us, series.values, strict=True))
    keep, bad = counter_restarts.check_counter_us(series.point.name, new, old, restarts)
    if len(keep) == len(new):
        return series, []
    at = dict(zip(series.indexes, series.ts_us, strict=True))
    kept = Series(series.device_id, series.point, repeats=series.repeats)
    kept.indexes = [series.indexes[k] for k in keep]
    kept.ts_us = [series.ts_us[k] for k in keep]
    kept.values = [series.values[k] for k in keep]
    return kept, [(rej, from_us(at[rej.index])) for rej in bad]


def _deltas(
    series: Series,
    fresh: list[int],
    old: list[tuple[int, float]],
    restarts: list[Restart],
    tz: tzinfo,
) -> list[RollupDelta]:
    """The roll-up changes made by the new readings of one series, at every resolution (a
    counter's recorded restarts count as in domain.telemetry.restarts)."""
    if not fresh or not rolled_up(series.point):
        return []
    stamps, values = series.ts_us, series.values
    if series.point.counter:
        merged = sorted(old + [(stamps[k], values[k]) for k in fresh])
        if restarts:
            old_c = counter_restarts.continuous(old, restarts)
            five = energy_delta(old_c, counter_restarts.continuous(merged, restarts), tz)
        else:
            five = energy_delta(old, merged, tz)
    else:
        five = gauge_delta_us([stamps[k] for k in fresh], [values[k] for k in fresh], tz)
    ladder = ladder_deltas(five, tz, is_energy=series.point.counter)
    key = (series.device_id, series.point.name)
    return [(*key, resolution, row) for resolution, rows in ladder.items() for row in rows]
