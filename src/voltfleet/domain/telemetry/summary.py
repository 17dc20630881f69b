"""A site's current energy figures, kept up to date as readings arrive, for the fleet home page.

The home page shows, for every site a user can see, today's, this month's, this year's and all
time PV yield and export (for revenue) and the PV yield of the last twelve months (the trend).
Summing device roll-ups for 10,000 sites reads some 300,000 rows, far too slow for a page, so
each site keeps one summary: the figures of the *latest* day, month and year it has data for,
the totals, and the last twelve months of PV. Ingest folds each batch's roll-up changes into it
(``add``); reading it (``figures``) compares its periods with the reader's calendar, so a site
that stayed silent since yesterday shows 0 for today without anyone updating it.

A summary covers the devices in the site's statistical range; when that range, the devices or
the site's time zone change, the summary is dropped and rebuilt from the roll-ups (``rebuild``
below does it by folding the stored day and month roll-ups through ``add``, so both paths share
one definition). Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo

from voltfleet.domain.telemetry.energy import EXPORT, PV
from voltfleet.domain.telemetry.rollup import Resolution

TREND_MONTHS = 12
POINTS = (PV, EXPORT)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Block:
    """One point's figures: the latest day's, month's, year's and all time energy (Wh)."""

    day: float = 0.0
    month: float = 0.0
    year: float = 0.0
    total: float = 0.0


@dataclass(frozen=True)
class Summary:
    """Periods are the starts (UTC) of the latest local day, month and year with data."""

    day: datetime = _EPOCH
    month: datetime = _EPOCH
    year: datetime = _EPOCH
    blocks: dict[str, Block] = field(default_factory=lambda: {p: Block() for p in POINTS})
    # PV of the months ending with ``month``: index 0 is ``month`` itself, 1 the month before...
    trend: tuple[float, ...] = (0.0,) * TREND_MONTHS


def _month_index(ts: datetime, tz: tzinfo) -> int:
    local = ts.astimezone(tz)
    return local.year * 12 + local.month - 1


def _year_start(ts: datetime, tz: tzinfo) -> datetime:
    return datetime(ts.astimezone(tz).year, 1, 1, tzinfo=tz).astimezone(UTC)


def add(
    s: Summary, point: str, resolution: Resolution, start: datetime, wh: float, tz: tzinfo
) -> Summary:
    """Fold one roll-up change (the energy added to the period of ``resolution`` starting at
    ``start``) into the summary. Day changes move today's figure; month changes move the
    month, year, total and trend figures (so nothing is counted twice)."""
    if point not in s.blocks:
        return s
    b = s.blocks[point]
    if resolution is Resolution.DAY:
        if start > s.day:  # a new day: the latest one starts from this change
            others = {p: replace(x, day=0.0) for p, x in s.blocks.items()}
            return replace(s, day=start, blocks={**others, point: replace(b, day=wh)})
        if start == s.day:
            return replace(s, blocks={**s.blocks, point: replace(b, day=b.day + wh)})
        return s
    if resolution is not Resolution.MONTH:
        return s
    blocks = dict(s.blocks)
    trend = list(s.trend)
    month, year = s.month, s.year
    if start > s.month:  # a new month: shift the trend, start the month (and maybe the year)
        shift = min(_month_index(start, tz) - _month_index(s.month, tz), TREND_MONTHS)
        trend = [0.0] * shift + trend[: TREND_MONTHS - shift]
        new_year = _year_start(start, tz)
        blocks = {
            p: replace(x, month=0.0, year=x.year if new_year == s.year else 0.0)
            for p, x in blocks.items()
        }
        month, year = start, new_year
    b = blocks[point]
    back = _month_index(month, tz) - _month_index(start, tz)
    b = replace(
        b,
        month=b.month + wh if back == 0 else b.month,
        year=b.year + wh if _year_start(start, tz) == year else b.year,
        total=b.total + wh,
    )
    if point == PV and 0 <= back < TREND_MONTHS:
        trend[back] += wh
    return Summary(s.day, month, year, {**blocks, point: b}, tuple(trend))


def rebuild(rows: Iterable[tuple[str, Resolution, datetime, float]], tz: tzinfo) -> Summary:
    """The summary of stored roll-ups (point, DAY or MONTH, start, Wh) of the counted devices."""
    s = Summary()
    for point, resolution, start, wh in sorted(rows, key=lambda r: r[2]):
        s = add(s, point, resolution, start, wh, tz)
    return s


@dataclass(frozen=True)
class Figures:
    """What a reader at a given moment sees: 0 for a period the summary has no data for."""

    blocks: dict[str, Block]
    trend: dict[str, float]  # "YYYY-MM" (local) -> PV Wh, the months the summary knows


def figures(s: Summary, day: datetime, month: datetime, year: datetime, tz: tzinfo) -> Figures:
    """The figures for the reader's current local day, month and year (their UTC starts)."""
    blocks = {
        p: Block(
            b.day if s.day == day else 0.0,
            b.month if s.month == month else 0.0,
            b.year if s.year == year else 0.0,
            b.total,
        )
        for p, b in s.blocks.items()
    }
    labels = trend_labels(s.month, tz) if s.month != _EPOCH else []
    return Figures(blocks, dict(zip(labels, s.trend, strict=False)))


def trend_labels(month: datetime, tz: tzinfo) -> list[str]:
    """The local "YYYY-MM" of the trend's months: ``month`` (index 0) and the ones before it."""
    first = _month_index(month, tz)
    return [f"{(first - k) // 12:04d}-{(first - k) % 12 + 1:02d}" for k in range(TREND_MONTHS)]


POWER_WINDOW = timedelta(minutes=15)


def site_power(
    latest: Iterable[tuple[datetime, float]], window: timedelta = POWER_WINDOW
) -> tuple[float, datetime] | None:
    """A site's PV power now from its counted devices' newest samples (instant, W): the sum of
    those within ``window`` of the newest (a device silent for longer is not producing now),
    and that newest instant; None without samples."""
    samples = list(latest)
    if not samples:
        return None
    newest = max(at for at, _ in samples)
    return sum(w for at, w in samples if newest - at <= window), newest
