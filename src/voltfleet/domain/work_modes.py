"""An energy-storage inverter's working mode, its time-of-use (TOU) table and its intelligent-load
switch (the inverter-cloud manual, Inverter > Mode and Intelligent Load): the parameters checked
and normalised, and the pure rules a device (and the simulator) follows with them.

Pure: data in, data out; the caller passes local times (the site's zone) and holidays.

Working modes (``WorkMode``):

- ``pv``: PV feeds the loads and the grid; the battery is not used.
- ``self_consumption``: PV serves the loads, then charges the battery, then feeds the grid; the
  battery discharges to the loads (never to the grid).
- ``full_feed_in``: PV serves the loads, then the grid; the battery discharges to maximise
  feed-in when PV is short.
- ``emergency_charging``: charge the battery fully and quickly (from the grid too), then hold it.
- ``forced_off_grid``: run as if the grid were away: the battery covers the loads alone.
- ``tou``: the base mode of the TOU table's slot for the local time, season and day category,
  with a grid-charging window on top.

A TOU table (``TouSettings``): grid charging power 0-10 kW in 0.1 kW steps with its window,
anti-feedback (feed-in limited to 0-12 kW in 0.1 kW steps), and 1-4 seasons (day ranges of the
year, wrapping over the new year allowed, never overlapping), each with slots for weekdays and
for weekends; holidays count as weekends or as weekdays. A time no slot covers runs
self-consumption.

Intelligent load (``LoadSettings``): a relay for a load (a heat pump, a boiler) switched ``off``,
``manual`` (on or off), by ``battery`` state of charge with hysteresis (on above one level, off
below a lower one), by ``time`` window, or by ``surplus`` PV (on above one export power, off below
a lower one, with a minimum on-time).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum
from itertools import pairwise
from typing import Any


class WorkModeError(ValueError):
    """A parameter that cannot be accepted; ``field`` names it (dotted path)."""

    def __init__(self, message: str, field: str = "params") -> None:
        super().__init__(message)
        self.field = field


class WorkMode(StrEnum):
    PV = "pv"
    SELF_CONSUMPTION = "self_consumption"
    FULL_FEED_IN = "full_feed_in"
    EMERGENCY_CHARGING = "emergency_charging"
    FORCED_OFF_GRID = "forced_off_grid"
    TOU = "tou"


class BaseMode(StrEnum):
    """What a TOU slot runs."""

    SELF_CONSUMPTION = "self_consumption"
    FULL_FEED_IN = "full_feed_in"
    PV = "pv"
    GRID_CHARGE = "grid_charge"  # charge the battery from the grid at the TOU's power


class Holidays(StrEnum):
    AS_WEEKEND = "weekend"
    AS_WEEKDAY = "weekday"


class LoadMode(StrEnum):
    OFF = "off"
    MANUAL = "manual"
    BATTERY = "battery"
    TIME = "time"
    SURPLUS = "surplus"


WORK_MODE_LABELS = {
    WorkMode.PV: "PV mode",
    WorkMode.SELF_CONSUMPTION: "Self-consumption",
    WorkMode.FULL_FEED_IN: "Full feed-in",
    WorkMode.EMERGENCY_CHARGING: "Emergency charging",
    WorkMode.FORCED_OFF_GRID: "Forced off-grid",
    WorkMode.TOU: "TOU mode",
}
LOAD_MODE_LABELS = {
    LoadMode.OFF: "Intelligent load off",
    LoadMode.MANUAL: "Manual control",
    LoadMode.BATTERY: "Battery energy control",
    LoadMode.TIME: "Time control",
    LoadMode.SURPLUS: "Surplus PV control",
}

MAX_GRID_CHARGE_W = 10_000
MAX_FEED_IN_W = 12_000
POWER_STEP_W = 100  # the manual's 0.1 kW offset
MAX_SEASONS = 4
MAX_SLOTS = 8  # per day category of a season
MAX_MIN_ON_MINUTES = 240
MAX_SURPLUS_W = 50_000


@dataclass(frozen=True)
class Slot:
    start: time
    end: time | None  # None: until midnight
    mode: BaseMode

    def covers(self, at: time) -> bool:
        return self.start <= at and (self.end is None or at < self.end)


@dataclass(frozen=True)
class Season:
    name: str
    first: tuple[int, int]  # (month, day), inclusive
    last: tuple[int, int]  # inclusive; before ``first`` when the season wraps the new year
    weekday: tuple[Slot, ...]
    weekend: tuple[Slot, ...]

    def covers(self, month: int, day: int) -> bool:
        md = (month, day)
        if self.first <= self.last:
            return self.first <= md <= self.last
        return md >= self.first or md <= self.last


@dataclass(frozen=True)
class TouSettings:
    grid_charge: bool
    grid_charge_power_w: int
    grid_charge_start: time
    grid_charge_end: time
    anti_feedback: bool
    feed_in_limit_w: int
    holidays: Holidays
    seasons: tuple[Season, ...]


# ---- checking ---------------------------------------------------------------------------------


def _no_extra(params: dict[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(params) - allowed)
    if extra:
        raise WorkModeError(
            f"unknown parameter(s) {', '.join(extra)}: {where or 'this'} takes "
            f"{', '.join(sorted(allowed))}",
            f"{where}.{extra[0]}" if where else extra[0],
        )


def _bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise WorkModeError(f"{field} must be true or false, got {value!r}", field)
    return value


def _power(value: Any, field: str, top: int) -> int:
    """Watts in 0..top on the 100 W step."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise WorkModeError(f"{field} must be a number of watts, got {value!r}", field)
    if not 0 <= value <= top:
        raise WorkModeError(f"{field} must be 0..{top} W, got {value:g} W", field)
    if value % POWER_STEP_W:
        raise WorkModeError(f"{field} must be in steps of {POWER_STEP_W} W, got {value:g}", field)
    return int(value)


def _clock(value: Any, field: str, *, allow_midnight_end: bool = False) -> time | None:
    """``"HH:MM"``; ``"24:00"`` (midnight at the end of the day) gives None when allowed."""
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        raise WorkModeError(f"{field} must be a time HH:MM, got {value!r}", field)
    if allow_midnight_end and value == "24:00":
        return None
    try:
        return time(int(value[:2]), int(value[3:]))
    except ValueError:
        raise WorkModeError(f"{field} must be a time HH:MM, got {value!r}", field) from None


def _day(value: Any, field: str) -> tuple[int, int]:
    """``"MM-DD"`` (29 February is allowed: it exists in leap years)."""
    if not isinstance(value, str) or len(value) != 5 or value[2] != "-":
        raise WorkModeError(f"{field} must be a day MM-DD, got {value!r}", field)
    try:
        datetime(2024, int(value[:2]), int(value[3:]))
    except ValueError:
        raise WorkModeError(f"{field} must be a day MM-DD, got {value!r}", field) from None
    return int(value[:2]), int(value[3:])


def _slots(items: Any, field: str) -> tuple[Slot, ...]:
    if not isinstance(items, list) or len(items) > MAX_SLOTS:
        raise WorkModeError(f"{field} must be a list of at most {MAX_SLOTS} slots", field)
    slots: list[Slot] = []
    for i, item in enumerate(items):
        where = f"{field}[{i}]"
        if not isinstance(item, dict):
            raise WorkModeError(f"{where} must be an object", where)
        _no_extra(item, {"start", "end", "mode"}, where)
        start = _clock(item.get("start"), f"{where}.start")
        end = _clock(item.get("end"), f"{where}.end", allow_midnight_end=True)
        assert start is not None
        if end is not None and end <= start:
            raise WorkModeError(f"{where}: the slot must end after it starts", f"{where}.end")
        try:
            mode = BaseMode(str(item.get("mode")))
        except ValueError:
            modes = ", ".join(m.value for m in BaseMode)
            raise WorkModeError(
                f"{where}.mode must be one of {modes}, got {item.get('mode')!r}", f"{where}.mode"
            ) from None
        slots.append(Slot(start, end, mode))
    slots.sort(key=lambda s: s.start)
    for a, b in pairwise(slots):
        if a.end is None or a.end > b.start:
            raise WorkModeError(
                f"{field}: the slots from {_hhmm(a.start)} and {_hhmm(b.start)} overlap", field
            )
    return tuple(slots)


def _days_of(season: Season) -> set[tuple[int, int]]:
    days = set()
    for month in range(1, 13):
        for day in range(1, 32):
            try:
                datetime(2024, month, day)
            except ValueError:
                continue
            if season.covers(month, day):
                days.add((month, day))
    return days


def check_tou(params: Any) -> TouSettings:
    """The TOU table, checked (``WorkModeError`` names the field at fault)."""
    if not isinstance(params, dict):
        raise WorkModeError("tou must be an object", "tou")
    allowed = {
        "grid_charge",
        "grid_charge_power_w",
        "grid_charge_start",
        "grid_charge_end",
        "anti_feedback",
        "feed_in_limit_w",
        "holidays",
        "seasons",
    }
    _no_extra(params, allowed, "tou")
    grid_charge = _bool(params.get("grid_charge", False), "tou.grid_charge")
    power = _power(
        params.get("grid_charge_power_w", 0), "tou.grid_charge_power_w", MAX_GRID_CHARGE_W
    )
    start = _clock(params.get("grid_charge_start", "00:00"), "tou.grid_charge_start")
    end = _clock(params.get("grid_charge_end", "00:00"), "tou.grid_charge_end")
    assert start is not None and end is not None
    if grid_charge and (power == 0 or start == end):
        raise WorkModeError(
            "grid charging needs a power above 0 W and a window that is not empty",
            "tou.grid_charge_power_w" if power == 0 else "tou.grid_charge_end",
        )
    anti_feedback = _bool(params.get("anti_feedback", False), "tou.anti_feedback")
    feed_in = _power(
        params.get("feed_in_limit_w", MAX_FEED_IN_W), "tou.feed_in_limit_w", MAX_FEED_IN_W
    )
    try:
        holidays = Holidays(str(params.get("holidays", Holidays.AS_WEEKEND.value)))
    except ValueError:
        raise WorkModeError(
            "tou.holidays must be 'weekend' or 'weekday' (which slots a public holiday follows)",
            "tou.holidays",
        ) from None
    raw = params.get("seasons", [])
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_SEASONS:
        raise WorkModeError(
            f"tou.seasons must be a list of 1..{MAX_SEASONS} seasons", "tou.seasons"
        )
    seasons: list[Season] = []
    seen: dict[tuple[int, int], str] = {}
    for i, item in enumerate(raw):
        where = f"tou.seasons[{i}]"
        if not isinstance(item, dict):
            raise WorkModeError(f"{where} must be an object", where)
        _no_extra(item, {"name", "from", "to", "weekday", "weekend"}, where)
        name = item.get("name", f"Season {i + 1}")
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= 40:
            raise WorkModeError(f"{where}.name must be 1..40 characters", f"{where}.name")
        season = Season(
            name.strip(),
            _day(item.get("from", "01-01"), f"{where}.from"),
            _day(item.get("to", "12-31"), f"{where}.to"),
            _slots(item.get("weekday", []), f"{where}.weekday"),
            _slots(item.get("weekend", []), f"{where}.weekend"),
        )
        for md in sorted(_days_of(season)):
            if md in seen:
                raise WorkModeError(
                    f"{where} ({season.name}) overlaps {seen[md]} on {md[0]:02d}-{md[1]:02d}",
                    f"{where}.from",
                )
            seen[md] = season.name
        seasons.append(season)
    return TouSettings(
        grid_charge, power, start, end, anti_feedback, feed_in, holidays, tuple(seasons)
    )


def check_work_mode(params: Any) -> dict[str, Any]:
    """The parameters of a ``work_mode`` command, checked and normalised: ``{"mode"}`` and, for
    TOU, ``{"mode": "tou", "tou": {...}}`` as ``tou_params`` writes it."""
    if not isinstance(params, dict):
        raise WorkModeError("params must be a JSON object")
    _no_extra(params, {"mode", "tou"}, "")
    raw = params.get("mode")
    try:
        mode = WorkMode(str(raw))
    except ValueError:
        modes = ", ".join(m.value for m in WorkMode)
        raise WorkModeError(f"mode must be one of {modes}, got {raw!r}", "mode") from None
    if mode is not WorkMode.TOU:
        if "tou" in params:
            raise WorkModeError(f"mode {mode.value} takes no tou table", "tou")
        return {"mode": mode.value}
    return {"mode": mode.value, "tou": tou_params(check_tou(params.get("tou")))}


def _hhmm(t: time | None) -> str:
    return "24:00" if t is None else f"{t.hour:02d}:{t.minute:02d}"


def _slot_params(slots: tuple[Slot, ...]) -> list[dict[str, str]]:
    return [{"start": _hhmm(s.start), "end": _hhmm(s.end), "mode": s.mode.value} for s in slots]


def tou_params(tou: TouSettings) -> dict[str, Any]:
    """The wire/JSON form of a TOU table (what ``check_tou`` reads back to the same table)."""
    return {
        "grid_charge": tou.grid_charge,
        "grid_charge_power_w": tou.grid_charge_power_w,
        "grid_charge_start": _hhmm(tou.grid_charge_start),
        "grid_charge_end": _hhmm(tou.grid_charge_end),
        "anti_feedback": tou.anti_feedback,
        "feed_in_limit_w": tou.feed_in_limit_w,
        "holidays": tou.holidays.value,
        "seasons": [
            {
                "name": s.name,
                "from": f"{s.first[0]:02d}-{s.first[1]:02d}",
                "to": f"{s.last[0]:02d}-{s.last[1]:02d}",
                "weekday": _slot_params(s.weekday),
                "weekend": _slot_params(s.weekend),
            }
            for s in tou.seasons
        ],
    }


# ---- what the device does ---------------------------------------------------------------------


def _in_window(at: time, start: time, end: time) -> bool:
    """``start <= at < end``, the window wrapping midnight when ``end <= start``."""
    if start < end:
        return start <= at < end
    return at >= start or at < end


def tou_mode_at(tou: TouSettings, local: datetime, *, holiday: bool = False) -> BaseMode:
    """The base mode a TOU table runs at ``local`` (the site's wall-clock time): the grid-charging
    window first, then the slot of the season and day category, else self-consumption."""
    at = local.time().replace(second=0, microsecond=0)
    if tou.grid_charge and _in_window(at, tou.grid_charge_start, tou.grid_charge_end):
        return BaseMode.GRID_CHARGE
    weekend = local.weekday() >= 5 or (holiday and tou.holidays is Holidays.AS_WEEKEND)
    for season in tou.seasons:
        if season.covers(local.month, local.day):
            for slot in season.weekend if weekend else season.weekday:
                if slot.covers(local.time()):
                    return slot.mode
            break
    return BaseMode.SELF_CONSUMPTION


@dataclass(frozen=True)
class LoadSettings:
    mode: LoadMode
    manual_on: bool = False
    on_above_soc_pct: float = 90.0
    off_below_soc_pct: float = 60.0
    start: time = time(0)
    end: time = time(0)
    on_above_w: int = 2000
    off_below_w: int = 500
    min_on_minutes: int = 0


def _number(value: Any, field: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise WorkModeError(f"{field} must be a number, got {value!r}", field)
    if not lo <= value <= hi:
        raise WorkModeError(f"{field} must be {lo:g}..{hi:g}, got {value:g}", field)
    return float(value)


def check_load(params: Any) -> LoadSettings:
    """The parameters of an ``intelligent_load`` command, checked."""
    if not isinstance(params, dict):
        raise WorkModeError("params must be a JSON object")
    raw = params.get("mode")
    try:
        mode = LoadMode(str(raw))
    except ValueError:
        modes = ", ".join(m.value for m in LoadMode)
        raise WorkModeError(f"mode must be one of {modes}, got {raw!r}", "mode") from None
    takes = {
        LoadMode.OFF: set(),
        LoadMode.MANUAL: {"on"},
        LoadMode.BATTERY: {"on_above_soc_pct", "off_below_soc_pct"},
        LoadMode.TIME: {"start", "end"},
        LoadMode.SURPLUS: {"on_above_w", "off_below_w", "min_on_minutes"},
    }[mode]
    _no_extra(params, {"mode", *takes}, "")
    missing = sorted(p for p in takes if p not in params and p != "min_on_minutes")
    if missing:
        raise WorkModeError(f"mode {mode.value} needs {', '.join(missing)}", missing[0])
    if mode is LoadMode.MANUAL:
        return LoadSettings(mode, manual_on=_bool(params["on"], "on"))
    if mode is LoadMode.BATTERY:
        on = _number(params["on_above_soc_pct"], "on_above_soc_pct", 0, 100)
        off = _number(params["off_below_soc_pct"], "off_below_soc_pct", 0, 100)
        if off >= on:
            raise WorkModeError(
                "off_below_soc_pct must be below on_above_soc_pct (the hysteresis band)",
                "off_below_soc_pct",
            )
        return LoadSettings(mode, on_above_soc_pct=on, off_below_soc_pct=off)
    if mode is LoadMode.TIME:
        start = _clock(params["start"], "start")
        end = _clock(params["end"], "end")
        assert start is not None and end is not None
        if start == end:
            raise WorkModeError("the window must not be empty (start equals end)", "end")
        return LoadSettings(mode, start=start, end=end)
    if mode is LoadMode.SURPLUS:
        on_w = int(_number(params["on_above_w"], "on_above_w", 1, MAX_SURPLUS_W))
        off_w = int(_number(params["off_below_w"], "off_below_w", 0, MAX_SURPLUS_W))
        if off_w >= on_w:
            raise WorkModeError(
                "off_below_w must be below on_above_w (the hysteresis band)", "off_below_w"
            )
        minutes = int(
            _number(params.get("min_on_minutes", 0), "min_on_minutes", 0, MAX_MIN_ON_MINUTES)
        )
        return LoadSettings(mode, on_above_w=on_w, off_below_w=off_w, min_on_minutes=minutes)
    return LoadSettings(mode)


def load_params(load: LoadSettings) -> dict[str, Any]:
    """The wire/JSON form of intelligent-load settings."""
    if load.mode is LoadMode.MANUAL:
        return {"mode": load.mode.value, "on": load.manual_on}
    if load.mode is LoadMode.BATTERY:
        return {
            "mode": load.mode.value,
            "on_above_soc_pct": load.on_above_soc_pct,
            "off_below_soc_pct": load.off_below_soc_pct,
        }
    if load.mode is LoadMode.TIME:
        return {"mode": load.mode.value, "start": _hhmm(load.start), "end": _hhmm(load.end)}
    if load.mode is LoadMode.SURPLUS:
        return {
            "mode": load.mode.value,
            "on_above_w": load.on_above_w,
            "off_below_w": load.off_below_w,
            "min_on_minutes": load.min_on_minutes,
        }
    return {"mode": load.mode.value}


def load_on(
    load: LoadSettings,
    *,
    was_on: bool,
    local: datetime,
    soc_pct: float | None = None,
    export_w: float = 0.0,
    on_for_minutes: float = 0.0,
) -> bool:
    """Whether the load's relay is on now: ``was_on`` is its state before, ``export_w`` the
    power fed into the grid (> 0) with the load's own consumption included when it is on.
    Between the two levels of a hysteresis band the relay keeps its state."""
    if load.mode is LoadMode.OFF:
        return False
    if load.mode is LoadMode.MANUAL:
        return load.manual_on
    if load.mode is LoadMode.TIME:
        return _in_window(local.time(), load.start, load.end)
    if load.mode is LoadMode.BATTERY:
        if soc_pct is None:
            return False  # no state of charge known: safe off
        if soc_pct >= load.on_above_soc_pct:
            return True
        if soc_pct < load.off_below_soc_pct:
            return False
        return was_on
    if export_w >= load.on_above_w:
        return True
    if was_on and on_for_minutes < load.min_on_minutes:
        return True
    if export_w < load.off_below_w:
        return False
    return was_on
