"""Price series: contiguous UTC intervals with a price per kWh, kept as numpy columns.

Instants are handled inside as integer microseconds since the Unix epoch (UTC), so splitting
and adding up is exact. ``PriceInterval`` objects are made on demand for output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

Int64Array = npt.NDArray[np.int64]
Float64Array = npt.NDArray[np.float64]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
_fromtimestamp = datetime.fromtimestamp


def to_us(moment: datetime) -> int:
    """Microseconds since the epoch of an aware datetime (naive datetimes are refused)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"datetime {moment.isoformat()} has no time zone; use UTC-aware datetimes")
    if moment.microsecond:
        return (moment - EPOCH) // _ONE_US
    return int(moment.timestamp()) * 1_000_000  # exact for whole seconds, and faster


def from_us(value: int) -> datetime:
    """UTC-aware datetime of microseconds since the epoch."""
    seconds, micros = divmod(value, 1_000_000)
    moment = _fromtimestamp(seconds, UTC)
    return moment.replace(microsecond=micros) if micros else moment


def many_to_us(moments: Sequence[datetime]) -> Int64Array:
    """``to_us`` for many aware datetimes at once (exact: float seconds are used only where
    they still resolve a microsecond, i.e. within about 136 years of 1970)."""
    if any(m.tzinfo is None for m in moments):
        raise ValueError("datetimes must have a time zone; use UTC-aware datetimes")
    seconds = np.fromiter((m.timestamp() for m in moments), dtype=np.float64, count=len(moments))
    if len(seconds) and float(np.abs(seconds).max()) >= 2.0**32:
        return np.array([to_us(m) for m in moments], dtype=np.int64)
    return np.rint(seconds * 1e6).astype(np.int64)


def datetimes_from_us(values: Sequence[int]) -> dict[int, datetime]:
    """UTC-aware datetimes for many instants (each distinct value converted once)."""
    return {value: from_us(value) for value in set(values)}


def format_utc(value_us: int) -> str:
    """ISO 8601 UTC text with a ``Z`` suffix (seconds dropped when zero)."""
    moment = from_us(value_us)
    text = moment.strftime(
        "%Y-%m-%dT%H:%M:%S" if moment.second or moment.microsecond else "%Y-%m-%dT%H:%M"
    )
    return text + "Z"


@dataclass(frozen=True, slots=True)
class PriceInterval:
    """A price over ``[start, end)`` (UTC-aware datetimes), major currency units per kWh.

    Also the shape of one market price point given to the pricing functions.
    """

    start: datetime
    end: datetime
    price_per_kwh: float


class MissingPriceError(ValueError):
    """No price is known for part of a window; ``missing`` lists the UTC ranges."""

    def __init__(self, what: str, missing: Sequence[tuple[datetime, datetime]]) -> None:
        self.missing: tuple[tuple[datetime, datetime], ...] = tuple(missing)
        ranges = ", ".join(
            f"{format_utc(to_us(a))}..{format_utc(to_us(b))} ({_hours(a, b)})"
            for a, b in self.missing
        )
        super().__init__(f"{what}: no price for {ranges}")


def _hours(start: datetime, end: datetime) -> str:
    hours = (end - start) / timedelta(hours=1)
    return f"{hours:g} h"


class RateSeries:
    """Contiguous price intervals ``[starts_us[i], ends_us[i])`` with ``prices_per_kwh[i]``.

    ``currency`` is the ISO 4217 code of the prices; ``resolution`` the nominal interval
    length (``None`` when intervals follow price changes). Arrays are read-only.
    """

    __slots__ = (
        "_ends",
        "_grid_origin",
        "_grid_step",
        "_intervals",
        "_prices",
        "_starts",
        "currency",
        "resolution",
    )

    def __init__(
        self,
        starts_us: npt.ArrayLike,
        ends_us: npt.ArrayLike,
        prices_per_kwh: npt.ArrayLike,
        currency: str,
        resolution: timedelta | None = None,
    ) -> None:
        starts = np.array(starts_us, dtype=np.int64)
        ends = np.array(ends_us, dtype=np.int64)
        prices = np.array(prices_per_kwh, dtype=np.float64)
        if not (starts.ndim == ends.ndim == prices.ndim == 1):
            raise ValueError("rate series columns must be one-dimensional")
        if not (len(starts) == len(ends) == len(prices)) or len(starts) == 0:
            raise ValueError("rate series needs equally long, non-empty columns")
        if np.any(ends <= starts):
            raise ValueError("rate series interval ends must be after starts")
        if np.any(starts[1:] != ends[:-1]):
            raise ValueError("rate series intervals must be contiguous and sorted")
        if not np.all(np.isfinite(prices)):
            raise ValueError("rate series prices must be finite")
        for array in (starts, ends, prices):
            array.flags.writeable = False
        self._starts: Int64Array = starts
        self._ends: Int64Array = ends
        self._prices: Float64Array = prices
        self._intervals: tuple[PriceInterval, ...] | None = None
        widths = ends - starts
        step = int(widths.max())
        regular = len(starts) <= 2 or bool(np.all(widths[1:-1] == step))
        # On a regular grid (every interval but the clipped first and last one step long)
        # the interval of an instant is found by arithmetic instead of a binary search.
        self._grid_step = step if regular else 0
        self._grid_origin = int(ends[0]) - step
        self.currency = currency
        self.resolution = resolution

    @classmethod
    def from_intervals(
        cls,
        intervals: Sequence[PriceInterval],
        currency: str,
        resolution: timedelta | None = None,
    ) -> RateSeries:
        """Build from ``PriceInterval``s (must be sorted and contiguous)."""
        return cls(
            [to_us(i.start) for i in intervals],
            [to_us(i.end) for i in intervals],
            [i.price_per_kwh for i in intervals],
            currency,
            resolution,
        )

    @property
    def starts_us(self) -> Int64Array:
        return self._starts

    @property
    def ends_us(self) -> Int64Array:
        return self._ends

    @property
    def prices_per_kwh(self) -> Float64Array:
        return self._prices

    @property
    def start(self) -> datetime:
        return from_us(int(self._starts[0]))

    @property
    def end(self) -> datetime:
        return from_us(int(self._ends[-1]))

    def __len__(self) -> int:
        return len(self._starts)

    def __repr__(self) -> str:
        return (
            f"RateSeries({len(self)} intervals, {self.start.isoformat()}..{self.end.isoformat()}, "
            f"{self.currency})"
        )

    @property
    def intervals(self) -> tuple[PriceInterval, ...]:
        """The intervals as ``PriceInterval`` objects (made once, then cached)."""
        if self._intervals is None:
            self._intervals = tuple(
                PriceInterval(from_us(s), from_us(e), p)
                for s, e, p in zip(
                    self._starts.tolist(), self._ends.tolist(), self._prices.tolist(), strict=True
                )
            )
        return self._intervals

    def edges_us(self) -> Int64Array:
        """Interval edges: ``starts_us`` followed by the last end (length ``len + 1``)."""
        return np.append(self._starts, self._ends[-1])

    def window(self, start: datetime | None = None, end: datetime | None = None) -> RateSeries:
        """The part of the series inside ``[start, end)`` (intervals clipped at the edges).

        Raises ``MissingPriceError`` when the window reaches outside the series.
        """
        lo = int(self._starts[0]) if start is None else to_us(start)
        hi = int(self._ends[-1]) if end is None else to_us(end)
        if hi <= lo:
            raise ValueError("window end must be after its start")
        missing = []
        if lo < self._starts[0]:
            missing.append((from_us(lo), from_us(min(hi, int(self._starts[0])))))
        if hi > self._ends[-1]:
            missing.append((from_us(max(lo, int(self._ends[-1]))), from_us(hi)))
        if missing:
            raise MissingPriceError("the rate series does not cover the window", missing)
        if lo == self._starts[0] and hi == self._ends[-1]:
            return self
        first = int(np.searchsorted(self._ends, lo, side="right"))
        last = int(np.searchsorted(self._starts, hi, side="left"))
        starts = self._starts[first:last].copy()
        ends = self._ends[first:last].copy()
        starts[0] = lo
        ends[-1] = hi
        return RateSeries(starts, ends, self._prices[first:last], self.currency, self.resolution)

    def locate(self, instants_us: Int64Array) -> Int64Array:
        """Index of the interval containing each instant (clamped to the first/last one)."""
        if self._grid_step:
            index = (instants_us - self._grid_origin) // self._grid_step
        else:
            index = np.searchsorted(self._starts, instants_us, side="right") - 1
        return np.clip(index, 0, len(self._starts) - 1).astype(np.int64, copy=False)

    def integral(self, a_us: Int64Array, b_us: Int64Array) -> Float64Array:
        """Integral of the price over each ``[a, b)`` (``a < b``) in price x microseconds.

        All ranges must lie inside the series. Ranges inside one interval are computed
        directly (exact up to one multiplication); longer ones through a running sum.
        """
        prices = self._prices
        i_a = self.locate(a_us)
        i_b = self.locate(b_us - 1)
        result = prices[i_a] * (b_us - a_us).astype(np.float64)
        spanning = np.nonzero(i_a != i_b)[0]
        if len(spanning):
            edges = self.edges_us()
            widths = np.diff(edges).astype(np.float64)
            running = np.concatenate(([0.0], np.cumsum(prices * widths)))
            ia, ib = i_a[spanning], i_b[spanning]
            a, b = a_us[spanning], b_us[spanning]
            result[spanning] = (
                prices[ia] * (edges[ia + 1] - a).astype(np.float64)
                + (running[ib] - running[ia + 1])
                + prices[ib] * (b - edges[ib]).astype(np.float64)
            )
        return result
