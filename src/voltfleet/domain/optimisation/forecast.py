"""Forecasts for the plan, the pure parts: the household load from the site's own history, the
correction of a modelled PV forecast by what the site measured, and the forecast error.

* ``load_from_history``: the mean load of the same day type and quarter hour of the local day in
  the site's history (day types: Monday..Sunday, public holidays counted as Sundays), or None
  when the history is too short (the caller then takes the standard load profile, scaled to the
  annual consumption; ``voltfleet.forecast``).
* ``pv_correction``: measured PV energy over modelled PV energy for the same recent instants
  (a dirty, shaded or differently oriented array, or a clear-sky model on cloudy days), bounded.
* ``daily_errors``: MAE and RMSE of a forecast against what was measured, per local day.

Times are timezone-aware; the local day and quarter hour come from the site's zone. Powers in W.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

import numpy as np

SUNDAY = 6
MIN_HISTORY_DAYS = 7  # fewer distinct days of history: no own profile
PV_CORRECTION_BOUNDS = (0.2, 1.3)
PV_MIN_MODELLED_WH = 500.0  # less modelled energy than this in the window: no correction


def day_type(day: date, holidays: Container[date]) -> int:
    """0 Monday .. 6 Sunday; a public holiday is a Sunday."""
    return SUNDAY if day in holidays else day.weekday()


def _key(ts: datetime, tz: tzinfo, holidays: Container[date], slot_min: int) -> tuple[int, int]:
    local = ts.astimezone(tz)
    return day_type(local.date(), holidays), (local.hour * 60 + local.minute) // slot_min


def load_from_history(
    history: Sequence[tuple[datetime, float]],
    targets: Sequence[datetime],
    tz: tzinfo,
    holidays: Container[date] = frozenset(),
    *,
    slot_min: int = 15,
    min_days: int = MIN_HISTORY_DAYS,
) -> list[float] | None:
    """The load at each of ``targets`` from the mean of the same (day type, slot) in
    ``history`` ((instant, mean power W) per slot); a (day type, slot) never seen takes the mean
    of that slot over all days. None when the history covers fewer than ``min_days`` days."""
    days = {ts.astimezone(tz).date() for ts, _ in history}
    if len(days) < min_days:
        return None
    sums: dict[tuple[int, int], list[float]] = {}
    by_slot: dict[int, list[float]] = {}
    for ts, w in history:
        k = _key(ts, tz, holidays, slot_min)
        acc = sums.setdefault(k, [0.0, 0.0])
        acc[0] += w
        acc[1] += 1
        s = by_slot.setdefault(k[1], [0.0, 0.0])
        s[0] += w
        s[1] += 1
    overall = sum(w for _, w in history) / len(history)
    out = []
    for ts in targets:
        k = _key(ts, tz, holidays, slot_min)
        got = sums.get(k) or by_slot.get(k[1])
        out.append(got[0] / got[1] if got else overall)
    return out


def pv_correction(
    measured_w: Sequence[float] | np.ndarray, modelled_w: Sequence[float] | np.ndarray
) -> float:
    """Measured over modelled PV energy for the same instants (1.0 when the model expected
    too little to judge), bounded to PV_CORRECTION_BOUNDS."""
    m = np.asarray(measured_w, dtype=np.float64)
    f = np.asarray(modelled_w, dtype=np.float64)
    if len(m) != len(f):
        raise ValueError("measured and modelled PV need the same instants")
    if f.sum() * 0.25 < PV_MIN_MODELLED_WH:  # quarter-hour means: W x 0.25 h
        return 1.0
    lo, hi = PV_CORRECTION_BOUNDS
    return float(min(max(m.sum() / f.sum(), lo), hi))


@dataclass(frozen=True)
class DayError:
    day: date  # local
    mae_w: float
    rmse_w: float
    bias_w: float  # mean of forecast - measured: > 0 forecast too high
    samples: int


def daily_errors(
    times: Sequence[datetime],
    forecast_w: Sequence[float],
    measured_w: Sequence[float],
    tz: tzinfo,
) -> list[DayError]:
    """MAE, RMSE and bias per local day of a forecast against the measured values."""
    groups: dict[date, list[float]] = {}
    for ts, f, m in zip(times, forecast_w, measured_w, strict=True):
        groups.setdefault(ts.astimezone(tz).date(), []).append(f - m)
    out = []
    for day in sorted(groups):
        e = np.asarray(groups[day], dtype=np.float64)
        out.append(
            DayError(
                day=day,
                mae_w=float(np.mean(np.abs(e))),
                rmse_w=float(np.sqrt(np.mean(e**2))),
                bias_w=float(np.mean(e)),
                samples=len(e),
            )
        )
    return out


@dataclass(frozen=True)
class ForecastSite:
    """What a forecaster knows of a site. ``load_history``/``pv_history``: measured quarter-hour
    means (instant, W) of the recent days, oldest first (may be empty)."""

    timezone: str
    country: str = "DE"
    capacity_kwp: float = 0.0
    latitude: float | None = None
    longitude: float | None = None
    tilt_deg: float = 35.0
    azimuth_deg: float = 180.0  # 180 = south
    annual_kwh: float = 4000.0
    load_history: tuple[tuple[datetime, float], ...] = ()
    pv_history: tuple[tuple[datetime, float], ...] = ()


@dataclass(frozen=True)
class SiteForecast:
    """PV and load at the requested instants (W), and where each came from."""

    pv_w: tuple[float, ...]
    load_w: tuple[float, ...]
    pv_source: str  # "none", "clearsky", "try" (+ " x 0.85" when corrected)
    load_source: str  # "history (21 days)", "standard profile H25, 4000 kWh/a"
    pv_correction: float = 1.0
    pv_note: str = ""  # why the weather forecast was not used (its fallback), else empty
