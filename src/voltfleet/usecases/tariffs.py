"""Tariffs: a site's tariff versions (set, replace, delete, each audited), the price series they
give over a window, and the market prices that dynamic tariffs read.

The rules are the domain's (domain.tariffs: validation, limits, price series); this module orders
them, reads and writes through ``TariffRepository`` (store/tariff_repository.py) and turns the
domain's failures into the project's errors (a tariff that breaks a rule: ``Rejected`` naming
the period and slot at fault). The site comes in already scope-checked by the caller. Never
commits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol, TypeVar

from voltfleet.domain.tariffs import (
    FixedTariff,
    MarketTariff,
    MissingPriceError,
    PriceInterval,
    RateSeries,
    Tariff,
    TariffHistory,
    TariffIssue,
    TariffValidationError,
    check_tariff,
    price_series,
)
from voltfleet.domain.tariffs.limits import TariffLimitError, check_limits
from voltfleet.usecases.errors import Conflict, Invalid, NotFound, Rejected

MAX_WINDOW = timedelta(days=400)
MARKET_PRICE_WINDOW = timedelta(days=1)  # one stored market price covers at most a day

SLOT_LISTS = {None: "slots", "ALL": "slots", "WEEKDAY": "weekday_slots", "WEEKEND": "weekend_slots"}


class SiteLike(Protocol):
    """What tariffs read of a site (a store row satisfies it)."""

    @property
    def id(self) -> str: ...
    @property
    def org_id(self) -> str: ...
    @property
    def country(self) -> str: ...
    @property
    def currency(self) -> str: ...
    @property
    def timezone(self) -> str: ...


class VersionLike(Protocol):
    """A stored tariff version (a store row satisfies it)."""

    @property
    def id(self) -> str: ...
    @property
    def direction(self) -> str: ...
    @property
    def valid_from(self) -> date: ...
    @property
    def currency(self) -> str: ...


class MarketPriceLike(Protocol):
    """One market price of an area (``voltfleet.market.MarketPrice`` satisfies it)."""

    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...
    @property
    def price_per_kwh(self) -> float: ...
    @property
    def currency(self) -> str: ...


@dataclass(frozen=True)
class Draft:
    """A tariff version as asked for: its domain form (already read from the request, which may
    itself fail with ``Invalid``) and the definition to keep."""

    valid_from: date
    kind: str
    currency: str
    tariff: Tariff
    definition: Mapping[str, Any]


V = TypeVar("V", bound=VersionLike)


class TariffRepository(Protocol[V]):
    """Tariff versions and market prices, inside the caller's transaction; ``audit`` records
    what the repository's person did."""

    def versions(self, site_id: str, direction: str | None = None) -> list[V]:
        """The site's versions (of one direction), by direction and date."""
        ...

    def history(self, site: SiteLike, direction: str) -> TariffHistory | None:
        """The site's parsed versions of a direction, or None when it has none."""
        ...

    def market_prices(
        self, source: str, area: str, start: datetime, end: datetime
    ) -> list[PriceInterval]:
        """The stored prices of (source, area) overlapping [start, end), by start."""
        ...

    def add(self, site: SiteLike, direction: str, draft: Draft, now: datetime) -> V:
        """Store a new version (created ``now``)."""
        ...

    def remove(self, version: V) -> None: ...

    def store_market_prices(self, source: str, area: str, prices: Sequence[MarketPriceLike]) -> int:
        """Upsert the prices of (source, area); how many were given."""
        ...

    def audit(
        self,
        action: str,
        object_type: str,
        object_id: str,
        org_id: str | None,
        detail: Mapping[str, Any],
        now: datetime,
    ) -> None: ...


# ---- rules -------------------------------------------------------------------------------------


def _issue_field(i: TariffIssue) -> str:
    """Where in the request the issue lies, e.g. ``periods.winter.weekday_slots.2``."""
    if i.period is None:
        return "tariff"
    field = f"periods.{i.period}"
    if i.slot_index is not None:
        slots = SLOT_LISTS.get(i.day_kind.value if i.day_kind else None, "slots")
        field += f".{slots}.{i.slot_index}"
    return field


def invalid_tariff(exc: TariffValidationError) -> Rejected:
    """A tariff that breaks a rule, with each issue's field, kind and slots."""
    return Rejected(
        str(exc),
        [
            {
                k: v
                for k, v in {
                    "field": _issue_field(i),
                    "kind": i.kind.value,
                    "message": i.message,
                    "period": i.period,
                    "day_kind": i.day_kind.value if i.day_kind else None,
                    "slot_index": i.slot_index,
                    "other_slot_index": i.other_slot_index,
                }.items()
                if v is not None
            }
            for i in exc.issues
        ],
        code="invalid_tariff",
    )


def check_window(start: datetime, end: datetime, max_window: timedelta = MAX_WINDOW) -> None:
    """A window of time a person asked for: aware, not empty, at most ``max_window`` long."""
    for name, value in (("start_time", start), ("end_time", end)):
        if value.tzinfo is None:
            raise Invalid(f"{name} needs a UTC offset, e.g. 2026-01-01T00:00:00Z")
    if end <= start:
        raise Invalid("end_time must be after start_time")
    if end - start > max_window:
        raise Invalid(f"the window may be at most {max_window.days} days long")


# ---- operations --------------------------------------------------------------------------------


def set_tariff(
    repo: TariffRepository[V], site: SiteLike, direction: str, draft: Draft, now: datetime
) -> V:
    """Add a version (or replace the one with the same ``valid_from``), at ``now``. Its size,
    prices and date are bounded (domain.tariffs.limits) before it is validated."""
    try:
        check_limits(draft.tariff, draft.valid_from)
        check_tariff(draft.tariff)
    except TariffLimitError as exc:
        raise Invalid(str(exc)) from exc
    except TariffValidationError as exc:
        raise invalid_tariff(exc) from exc
    existing = repo.versions(site.id, direction)
    other = {r.currency for r in existing if r.valid_from != draft.valid_from}
    if other and other != {draft.currency}:
        raise Invalid(
            f"currency {draft.currency} differs from the site's earlier {direction} tariff "
            f"versions ({', '.join(sorted(other))})"
        )
    for row in existing:
        if row.valid_from == draft.valid_from:
            repo.remove(row)
    row = repo.add(site, direction, draft, now)
    repo.audit(
        "tariff.set",
        "site",
        site.id,
        site.org_id,
        {"direction": direction, "valid_from": draft.valid_from.isoformat(), "kind": draft.kind},
        now,
    )
    return row


def delete_tariff(
    repo: TariffRepository[V], site: SiteLike, version_id: str, now: datetime
) -> None:
    """Delete one of the site's versions (audited ``now``)."""
    row = next((r for r in repo.versions(site.id) if r.id == version_id), None)
    if row is None:
        raise NotFound("tariff version")
    repo.audit(
        "tariff.delete",
        "site",
        site.id,
        site.org_id,
        {"direction": row.direction, "valid_from": row.valid_from.isoformat()},
        now,
    )
    repo.remove(row)


def _dedupe(prices: list[PriceInterval]) -> list[PriceInterval]:
    out: list[PriceInterval] = []
    for p in prices:
        if out and p.start < out[-1].end:
            continue
        out.append(p)
    return out


def rates(
    repo: TariffRepository[V],
    site: SiteLike,
    direction: str,
    start: datetime,
    end: datetime,
    resolution: timedelta | None = timedelta(minutes=15),
) -> RateSeries:
    """The site's price series for a direction over [start, end)."""
    check_window(start, end)
    hist = repo.history(site, direction)
    if hist is None and direction == "LOCAL":
        hist = TariffHistory.always(FixedTariff(site.currency, 0.0))  # free unless one is set
    if hist is None:
        raise Conflict(f"the site has no {direction} tariff: set one first", code="no_tariff")
    market: list[PriceInterval] = []
    for version in hist.versions:
        if isinstance(version.tariff, MarketTariff):
            t = version.tariff
            market += repo.market_prices(t.provider, t.area, start, end)
    market.sort(key=lambda p: p.start)
    try:
        return price_series(
            hist, site.timezone, start, end, resolution=resolution, market=_dedupe(market)
        )
    except MissingPriceError as exc:
        raise Conflict(str(exc), code="missing_prices") from exc
    except TariffValidationError as exc:
        raise invalid_tariff(exc) from exc


def store_market_prices(
    repo: TariffRepository[V],
    source: str,
    area: str,
    prices: Sequence[MarketPriceLike],
    now: datetime,
) -> int:
    """Upsert market prices of an area (a superuser loads them for sources out of reach);
    audited ``now``. Each price's window was checked (``check_window`` with
    ``MARKET_PRICE_WINDOW``) when it was read."""
    n = repo.store_market_prices(source, area, prices)
    repo.audit("market_prices.store", "market", f"{source}:{area}", None, {"count": n}, now)
    return n
