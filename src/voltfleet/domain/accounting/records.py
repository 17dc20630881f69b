"""Metered interval records: validation, unit normalisation to Wh, de-duplication, columns.

A record says which way energy moved (``direction``: IMPORT into / EXPORT out of the thing
metered) and at which price it is valued (``tariff_rate``: IMPORT, EXPORT or LOCAL).
``units``: WH and KWH are energy over the interval; W and KW are the average power over the
interval and are converted with its duration. Energy inside is in Wh (``energy_wh``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence, Set
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import numpy as np

from voltfleet.domain.tariffs.model import Direction
from voltfleet.domain.tariffs.series import Float64Array, Int64Array, many_to_us

DEFAULT_MAX_DURATION = timedelta(days=31)
"""Longest interval a single record may cover."""


class EnergyUnit(StrEnum):
    WH = "WH"
    KWH = "KWH"
    W = "W"
    KW = "KW"


class TariffRate(StrEnum):
    """At which price energy is valued: the site's import or export tariff, or the local
    price (own generation; zero unless set)."""

    IMPORT = "IMPORT"
    EXPORT = "EXPORT"
    LOCAL = "LOCAL"


class RefusalCode(StrEnum):
    MISSING_SITE = "missing_site"
    NAIVE_TIME = "naive_time"
    END_NOT_AFTER_START = "end_not_after_start"
    TOO_LONG = "too_long"
    NOT_A_NUMBER = "not_a_number"
    NOT_FINITE = "not_finite"
    NEGATIVE_VALUE = "negative_value"
    UNKNOWN_UNITS = "unknown_units"
    UNKNOWN_DIRECTION = "unknown_direction"
    UNKNOWN_TARIFF_RATE = "unknown_tariff_rate"


@dataclass(frozen=True, slots=True)
class MeterRecord:
    """A record as received (enum fields still text, value in ``units``)."""

    site_id: str
    start: datetime
    end: datetime
    value: float
    units: str
    direction: str
    tariff_rate: str
    device_id: str | None = None
    record_reference_id: str | None = None
    session_reference_id: str | None = None


@dataclass(frozen=True, slots=True)
class MeterInterval:
    """A validated record: energy in Wh over ``[start, end)`` (UTC-aware)."""

    site_id: str
    start: datetime
    end: datetime
    energy_wh: float
    direction: Direction
    tariff_rate: TariffRate
    device_id: str | None = None
    record_reference_id: str | None = None
    session_reference_id: str | None = None


@dataclass(frozen=True, slots=True)
class RecordRefusal:
    """Why the record at ``index`` of a batch was refused."""

    index: int
    code: RefusalCode
    reason: str
    record_reference_id: str | None = None


@dataclass(frozen=True, slots=True)
class DuplicateRecord:
    """A record whose reference was already stored (``already_known``) or seen earlier in the
    same batch; it is not counted again."""

    index: int
    record_reference_id: str
    already_known: bool


@dataclass(frozen=True, slots=True)
class BatchResult:
    """Outcome of a batch: new intervals to store, refusals with reasons, duplicates."""

    accepted: tuple[MeterInterval, ...]
    refused: tuple[RecordRefusal, ...]
    duplicates: tuple[DuplicateRecord, ...]


def energy_wh(value: float, units: EnergyUnit, duration: timedelta) -> float:
    """Energy in Wh of a value in ``units`` over ``duration`` (W/KW are average power)."""
    hours = duration / timedelta(hours=1)
    if units is EnergyUnit.WH:
        return float(value)
    if units is EnergyUnit.KWH:
        return float(value) * 1000.0
    if units is EnergyUnit.W:
        return float(value) * hours
    return float(value) * 1000.0 * hours


def _parse(enum: type[EnergyUnit] | type[Direction] | type[TariffRate], text: object) -> bool:
    return isinstance(text, str) and text.strip().upper() in enum.__members__


def check_record(
    record: MeterRecord, index: int = 0, *, max_duration: timedelta = DEFAULT_MAX_DURATION
) -> RecordRefusal | None:
    """The reason to refuse a record, or ``None`` if it is acceptable."""

    def refuse(code: RefusalCode, reason: str) -> RecordRefusal:
        return RecordRefusal(index, code, reason, record.record_reference_id)

    if not isinstance(record.site_id, str) or not record.site_id.strip():
        return refuse(RefusalCode.MISSING_SITE, "site_id is missing")
    for name, moment in (("start_time", record.start), ("end_time", record.end)):
        if moment.tzinfo is None or moment.utcoffset() is None:
            return refuse(RefusalCode.NAIVE_TIME, f"{name} has no time zone")
    if record.end <= record.start:
        return refuse(
            RefusalCode.END_NOT_AFTER_START,
            f"end_time {record.end.isoformat()} is not after start_time {record.start.isoformat()}",
        )
    if record.end - record.start > max_duration:
        return refuse(
            RefusalCode.TOO_LONG,
            f"interval of {(record.end - record.start) / timedelta(days=1):g} days is longer "
            f"than {max_duration / timedelta(days=1):g} days",
        )
    value = record.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        return refuse(RefusalCode.NOT_A_NUMBER, f"value {value!r} is not a number")
    if not math.isfinite(value):
        return refuse(RefusalCode.NOT_FINITE, f"value {value!r} is not a finite number")
    if value < 0:
        return refuse(
            RefusalCode.NEGATIVE_VALUE,
            f"value {value!r} is negative; send the amount and say the way in direction",
        )
    if not _parse(EnergyUnit, record.units):
        return refuse(
            RefusalCode.UNKNOWN_UNITS, f"units {record.units!r} is not one of WH, KWH, W, KW"
        )
    if not _parse(Direction, record.direction):
        return refuse(
            RefusalCode.UNKNOWN_DIRECTION,
            f"direction {record.direction!r} is not one of IMPORT, EXPORT",
        )
    if not _parse(TariffRate, record.tariff_rate):
        return refuse(
            RefusalCode.UNKNOWN_TARIFF_RATE,
            f"tariff_rate {record.tariff_rate!r} is not one of IMPORT, EXPORT, LOCAL",
        )
    return None


def normalise_record(
    record: MeterRecord, *, max_duration: timedelta = DEFAULT_MAX_DURATION
) -> MeterInterval:
    """The record in Wh with typed fields; raises ``ValueError`` with the refusal reason."""
    refusal = check_record(record, max_duration=max_duration)
    if refusal is not None:
        raise ValueError(refusal.reason)
    units = EnergyUnit(record.units.strip().upper())
    return MeterInterval(
        site_id=record.site_id,
        start=record.start,
        end=record.end,
        energy_wh=energy_wh(record.value, units, record.end - record.start),
        direction=Direction(record.direction.strip().upper()),
        tariff_rate=TariffRate(record.tariff_rate.strip().upper()),
        device_id=record.device_id,
        record_reference_id=record.record_reference_id,
        session_reference_id=record.session_reference_id,
    )


def deduplicate(
    records: Sequence[MeterInterval], known_refs: Set[str] = frozenset()
) -> tuple[tuple[MeterInterval, ...], tuple[DuplicateRecord, ...]]:
    """Split off records whose ``record_reference_id`` is known or repeats within the batch.

    The first occurrence in the batch wins. Records without a reference are always kept.
    Indexes in the duplicates refer to positions in ``records``.
    """
    fresh: list[MeterInterval] = []
    duplicates: list[DuplicateRecord] = []
    seen: set[str] = set()
    for index, record in enumerate(records):
        ref = record.record_reference_id
        if ref is not None:
            if ref in known_refs or ref in seen:
                duplicates.append(DuplicateRecord(index, ref, ref in known_refs))
                continue
            seen.add(ref)
        fresh.append(record)
    return tuple(fresh), tuple(duplicates)


def accept_batch(
    records: Sequence[MeterRecord],
    known_refs: Set[str] = frozenset(),
    *,
    max_duration: timedelta = DEFAULT_MAX_DURATION,
) -> BatchResult:
    """Validate, normalise and de-duplicate a batch; indexes refer to positions in ``records``.

    A refused record does not reserve its reference, so a corrected re-send is accepted.
    """
    refused: list[RecordRefusal] = []
    valid: list[tuple[int, MeterInterval]] = []
    for index, record in enumerate(records):
        refusal = check_record(record, index, max_duration=max_duration)
        if refusal is None:
            valid.append((index, normalise_record(record, max_duration=max_duration)))
        else:
            refused.append(refusal)
    fresh, duplicates = deduplicate([interval for _, interval in valid], known_refs)
    positions = [index for index, _ in valid]
    duplicates = tuple(
        DuplicateRecord(positions[d.index], d.record_reference_id, d.already_known)
        for d in duplicates
    )
    return BatchResult(fresh, tuple(refused), duplicates)


_DIRECTION_CODE = {Direction.IMPORT: 0, Direction.EXPORT: 1}
_RATE_CODE = {TariffRate.IMPORT: 0, TariffRate.EXPORT: 1, TariffRate.LOCAL: 2}
DIRECTIONS: tuple[Direction, ...] = (Direction.IMPORT, Direction.EXPORT)
TARIFF_RATES: tuple[TariffRate, ...] = (TariffRate.IMPORT, TariffRate.EXPORT, TariffRate.LOCAL)


@dataclass(frozen=True, slots=True, eq=False)
class MeterColumns:
    """Intervals as columns for fast costing (what a store would load in one query).

    ``start_us``/``end_us``: microseconds since the epoch (UTC); ``energy_wh``;
    ``direction``: 0 IMPORT, 1 EXPORT; ``tariff_rate``: 0 IMPORT, 1 EXPORT, 2 LOCAL.
    """

    start_us: Int64Array
    end_us: Int64Array
    energy_wh: Float64Array
    direction: Int64Array
    tariff_rate: Int64Array

    def __post_init__(self) -> None:
        n = len(self.start_us)
        columns = (self.end_us, self.energy_wh, self.direction, self.tariff_rate)
        if any(len(c) != n for c in columns):
            raise ValueError("meter columns must have equal length")
        if n and np.any(self.end_us <= self.start_us):
            raise ValueError("meter column intervals must have end > start")

    @classmethod
    def from_intervals(cls, intervals: Sequence[MeterInterval]) -> MeterColumns:
        return cls(
            many_to_us([i.start for i in intervals]),
            many_to_us([i.end for i in intervals]),
            np.array([i.energy_wh for i in intervals], dtype=np.float64),
            np.array([_DIRECTION_CODE[i.direction] for i in intervals], dtype=np.int64),
            np.array([_RATE_CODE[i.tariff_rate] for i in intervals], dtype=np.int64),
        )

    def __len__(self) -> int:
        return len(self.start_us)
