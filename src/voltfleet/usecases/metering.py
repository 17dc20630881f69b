"""Metered intervals in, costs and savings out.

A batch of metered intervals (from a battery system, a wallbox, a billing meter) is checked record
by record (domain.accounting: one bad record is refused alone, with its reason), a reference
already stored is a duplicate and stored once, and the rest is stored. Costs and savings price the
stored intervals of a window with the site's tariffs (usecases.tariffs.rates: a missing tariff
is an error only when a record needs it). The maths is the domain's; persistence comes through
``MeterRepository`` (store/meter_repository.py). Never commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar

import numpy as np

from voltfleet.domain.access import Action, Kind
from voltfleet.domain.accounting import (
    Aggregation,
    CostRates,
    CostReport,
    MeterColumns,
    MeterInterval,
    MeterRecord,
    SavingsReport,
    StoredEnergySample,
    TariffRate,
    accept_batch,
    energy_costs,
    savings_report,
)
from voltfleet.domain.tariffs import Direction, MissingPriceError, RateSeries
from voltfleet.usecases.errors import Conflict, TooLarge
from voltfleet.usecases.tariffs import SiteLike, TariffRepository, VersionLike, check_window
from voltfleet.usecases.tariffs import rates as tariff_rates

MAX_BATCH = 10_000
# How the stored columns code a direction and a tariff rate (store/meter_repository.py).
DIRECTION_CODE = {"IMPORT": 0, "EXPORT": 1}
RATE_CODE = {"IMPORT": 0, "EXPORT": 1, "LOCAL": 2}

V = TypeVar("V", bound=VersionLike)


class Actor(Protocol):
    """Who submits (``app.deps.Caller`` satisfies it)."""

    def require(self, kind: Kind, action: Action) -> None:
        """Raise ``Forbidden`` unless the actor's role may take the action."""
        ...


class MeterRepository(Protocol):
    """Metered intervals, inside the caller's transaction; ``visible`` is the scope of the person
    the repository acts for."""

    def visible(self, site_ids: set[str]) -> set[str]:
        """Which of these sites the person sees."""
        ...

    def known_references(self, site_ids: set[str], references: set[str]) -> set[str]:
        """Which of these record references are stored already for these sites."""
        ...

    def store(self, intervals: Sequence[MeterInterval], now: datetime) -> int:
        """Store the intervals (received ``now``), skipping one whose (site, reference) another
        transaction stored meanwhile; how many were stored."""
        ...

    def columns(
        self, site_id: str, start: datetime, end: datetime, device_id: str | None
    ) -> MeterColumns:
        """The site's intervals overlapping [start, end) as columns (directions and rates coded
        as ``DIRECTION_CODE`` and ``RATE_CODE``)."""
        ...


@dataclass(frozen=True)
class Refusal:
    index: int  # position in the batch as sent
    record_reference_id: str | None
    code: str
    reason: str


@dataclass
class SubmitResult:
    accepted: int = 0
    duplicates: int = 0  # references already stored or repeated in the batch (stored once)
    refused: list[Refusal] = field(default_factory=list)


def submit(
    repo: MeterRepository, actor: Actor, records: Sequence[MeterRecord], now: datetime
) -> SubmitResult:
    """Store a batch received ``now``: each bad record is refused with its reason, known
    references are counted as duplicates and not stored twice."""
    actor.require(Kind.SITE, Action.UPDATE)
    if len(records) > MAX_BATCH:
        raise TooLarge(f"send at most {MAX_BATCH} records per request")
    visible = repo.visible({r.site_id for r in records})
    refused: list[Refusal] = []
    candidates: list[tuple[int, MeterRecord]] = []
    for index, r in enumerate(records):
        if r.site_id not in visible:
            refused.append(
                Refusal(index, r.record_reference_id, "unknown_site", f"site {r.site_id} not found")
            )
            continue
        candidates.append((index, r))
    refs = {m.record_reference_id for _, m in candidates if m.record_reference_id}
    known = repo.known_references(visible, refs) if refs else set()
    result = accept_batch([m for _, m in candidates], known)
    positions = [index for index, _ in candidates]
    refused += [
        Refusal(positions[x.index], x.record_reference_id, x.code.value, x.reason)
        for x in result.refused
    ]
    stored = repo.store(result.accepted, now) if result.accepted else 0
    refused.sort(key=lambda x: x.index)
    # A reference another request stored meanwhile (between our read and our insert) is a
    # duplicate too: the answer is the one a later re-send gets.
    raced = len(result.accepted) - stored
    return SubmitResult(stored, len(result.duplicates) + raced, refused)


def cost_rates(
    tariffs: TariffRepository[V],
    site: SiteLike,
    columns: MeterColumns,
    start: datetime,
    end: datetime,
) -> CostRates:
    """The price series the records need: a missing tariff is an error only when used."""
    series: dict[str, RateSeries | None] = {}
    for name, code in RATE_CODE.items():
        used = bool(np.any(columns.tariff_rate == code))
        if not used and name != "LOCAL":
            series[name] = None
            continue
        series[name] = tariff_rates(tariffs, site, name, start, end, None)
    currency = next((s.currency for s in series.values() if s is not None), site.currency)
    return CostRates(currency, series["IMPORT"], series["EXPORT"], series["LOCAL"])


def costs(
    repo: MeterRepository,
    tariffs: TariffRepository[V],
    site: SiteLike,
    start: datetime,
    end: datetime,
    aggregation: str,
    direction: str | None,
    tariff_rate: str | None,
    device_id: str | None,
) -> CostReport:
    """What the site's metered energy cost (or earned) over [start, end), per bucket."""
    check_window(start, end)
    columns = repo.columns(site.id, start, end, device_id)
    if tariff_rate:
        keep = columns.tariff_rate == RATE_CODE[tariff_rate]
        if direction:
            keep &= columns.direction == DIRECTION_CODE[direction]
        columns = MeterColumns(
            columns.start_us[keep],
            columns.end_us[keep],
            columns.energy_wh[keep],
            columns.direction[keep],
            columns.tariff_rate[keep],
        )
    rates = cost_rates(tariffs, site, columns, start, end)
    try:
        return energy_costs(
            columns,
            rates,
            site.timezone,
            start,
            end,
            Aggregation(aggregation),
            direction=Direction(direction) if direction else None,
            tariff_rate=TariffRate(tariff_rate) if tariff_rate else None,
        )
    except MissingPriceError as exc:
        raise Conflict(str(exc), code="missing_prices") from exc


def savings(
    repo: MeterRepository,
    tariffs: TariffRepository[V],
    site: SiteLike,
    start: datetime,
    end: datetime,
    aggregation: str,
    device_id: str | None,
    stored_start_kwh: float | None,
    stored_end_kwh: float | None,
    stored_price: float | None,
) -> SavingsReport:
    """What the site saved over [start, end) against buying all it used (domain.accounting)."""
    check_window(start, end)
    columns = repo.columns(site.id, start, end, device_id)
    rates = cost_rates(tariffs, site, columns, start, end)
    samples: list[StoredEnergySample] = []
    if stored_start_kwh is not None and stored_end_kwh is not None:
        samples = [
            StoredEnergySample(start, stored_start_kwh),
            StoredEnergySample(end, stored_end_kwh),
        ]
    try:
        return savings_report(
            columns,
            rates,
            site.timezone,
            start,
            end,
            Aggregation(aggregation),
            stored_energy=samples,
            stored_energy_price_per_kwh=stored_price,
        )
    except MissingPriceError as exc:
        raise Conflict(str(exc), code="missing_prices") from exc
