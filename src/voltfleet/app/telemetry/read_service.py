"""The read side of telemetry: a device's raw readings and roll-ups, a site's energy bars (their
tables, as CSV downloads, are in read_tables.py). Every object is loaded through the caller's
scope (404 outside it). Never writes."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from voltfleet.app.deps import Caller
from voltfleet.app.devices.repository import DeviceRepository
from voltfleet.app.sites.repository import SiteRepository
from voltfleet.domain.access import Action
from voltfleet.domain.fleet import DeviceKind, zone  # noqa: F401  (zone: re-exported)
from voltfleet.domain.telemetry import energy as en
from voltfleet.domain.telemetry.points import CATALOGUE, GAUGES, Point, PointKind
from voltfleet.domain.telemetry.readings import Sample
from voltfleet.domain.telemetry.rollup import Resolution, Rollup
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site
from voltfleet.store.summaries import counted
from voltfleet.store.timeseries import store_for
from voltfleet.store.timeseries.queries import first_start, read_many
from voltfleet.usecases.errors import Invalid, Rejected

MAX_READINGS = 20_000  # raw samples in one answer; more is refused with a clear error
MAX_READINGS_WINDOW = timedelta(days=31)
MAX_SERIES_WINDOW = {
    Resolution.FIVE_MIN: timedelta(days=31),
    Resolution.HOUR: timedelta(days=400),
    Resolution.DAY: timedelta(days=3700),
    Resolution.MONTH: timedelta(days=36600),
}
DEFAULT_POINTS = ("pv_power_w", "grid_power_w", "battery_power_w", "load_power_w")


def parse_points(text: str | None, *, rolled_up: bool = False) -> list[Point]:
    """The data points named in a comma-separated list (400 for an unknown one)."""
    names = [n.strip() for n in (text or "").split(",") if n.strip()] or list(DEFAULT_POINTS)
    out: list[Point] = []
    for name in dict.fromkeys(names):
        p = CATALOGUE.get(name)
        if p is None:
            raise Invalid(f"unknown data point '{name}': use any of {', '.join(sorted(CATALOGUE))}")
        if rolled_up and not (p.kind is PointKind.ENERGY or p.kind in GAUGES):
            raise Invalid(f"'{name}' is a status code: it has no roll-ups, read its readings")
        out.append(p)
    if len(out) > 12:
        raise Invalid("ask for at most 12 data points at a time")
    return out


# The calendar a query may name: far beyond any fleet's data, and well inside what Python's
# dates and the site's zone conversions can hold (year 1 or 9999 would overflow, a 500).
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2199, 12, 31)
_EARLIEST = datetime(FIRST_DAY.year, 1, 1, tzinfo=UTC)
_LATEST = datetime(LAST_DAY.year + 1, 1, 1, tzinfo=UTC)


def window(
    start: datetime | None,
    end: datetime | None,
    default: timedelta,
    limit: timedelta,
    what: str,
    now: datetime,
) -> tuple[datetime, datetime]:
    """[start, end) in UTC: defaults to the last ``default`` up to ``now``; refused beyond ``limit``
    (``what`` names what is read, for the message: "raw readings", "hour roll-ups")."""
    for name, value in (("start_time", start), ("end_time", end)):
        if value is not None and value.tzinfo is None:
            raise Invalid(f"{name} needs a UTC offset, e.g. 2026-01-01T00:00:00Z")
        if value is not None and not _EARLIEST <= value < _LATEST:
            raise Invalid(f"{name} is out of range: use a time between {FIRST_DAY} and {LAST_DAY}")
    end = (end or now).astimezone(UTC)
    start = (start or end - default).astimezone(UTC)
    if end <= start:
        raise Invalid("end_time must be after start_time")
    if end - start > limit:
        raise Invalid(
            f"the window may be at most {limit.days} days long for {what}: ask for a shorter one"
        )
    return start, end


# ---- a device's readings and roll-ups -----------------------------------------------------------


@dataclass
class DeviceReadings:
    device: Device
    site: Site
    points: list[Point]
    start: datetime
    end: datetime
    samples: dict[str, list[Sample]]

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.samples.values())


def _device(session: Session, caller: Caller, device_id: str) -> tuple[Device, Site]:
    device = DeviceRepository(session, caller).get_for(device_id, Action.READ)
    site = session.get(Site, device.site_id)
    assert site is not None
    return device, site


def readings(
    session: Session,
    caller: Caller,
    device_id: str,
    points: str | None,
    start: datetime | None,
    end: datetime | None,
    limit: int = MAX_READINGS,
    *,
    now: datetime,
) -> DeviceReadings:
    device, site = _device(session, caller, device_id)
    chosen = parse_points(points)
    lo, hi = window(start, end, timedelta(days=1), MAX_READINGS_WINDOW, "raw readings", now)
    store = store_for(session.connection())
    samples: dict[str, list[Sample]] = {}
    count = 0
    for p in chosen:
        samples[p.name] = store.read(device.id, p.name, lo, hi)
        count += len(samples[p.name])
        if count > limit:
            raise Rejected(
                f"more than {limit} readings between {lo.isoformat()} and {hi.isoformat()}: "
                "ask for a shorter window or fewer points, or read roll-ups from /series",
                code="too_many_readings",
            )
    return DeviceReadings(device, site, chosen, lo, hi, samples)


@dataclass
class DeviceSeries:
    device: Device
    site: Site
    points: list[Point]
    resolution: Resolution
    start: datetime
    end: datetime
    rows: dict[str, list[Rollup]]


DEFAULT_SERIES_WINDOW = {
    Resolution.FIVE_MIN: timedelta(days=1),
    Resolution.HOUR: timedelta(days=7),
    Resolution.DAY: timedelta(days=31),
    Resolution.MONTH: timedelta(days=366),
}


def series(
    session: Session,
    caller: Caller,
    device_id: str,
    points: str | None,
    resolution: Resolution,
    start: datetime | None,
    end: datetime | None,
    *,
    now: datetime,
) -> DeviceSeries:
    device, site = _device(session, caller, device_id)
    chosen = parse_points(points, rolled_up=True)
    lo, hi = window(
        start,
        end,
        DEFAULT_SERIES_WINDOW[resolution],
        MAX_SERIES_WINDOW[resolution],
        f"{resolution.value} roll-ups",
        now,
    )
    store = store_for(session.connection())
    rows = {p.name: store.read_rollups(device.id, p.name, resolution, lo, hi) for p in chosen}
    return DeviceSeries(device, site, chosen, resolution, lo, hi, rows)


def reported_points(session: Session, device: Device) -> list[Point]:
    """The data points a device has sent (those with a stored sample), in catalogue order."""
    store = store_for(session.connection())
    return [p for p in CATALOGUE.values() if store.latest(device.id, p.name) is not None]


def aggregate_of(p: Point) -> str:
    return "energy" if p.kind is PointKind.ENERGY else "mean"


# ---- a site's energy ----------------------------------------------------------------------------


@dataclass
class SiteEnergy:
    site: Site
    period: en.Period
    day: date
    start: datetime
    end: datetime
    devices: list[Device]
    bars: list[en.Bar]
    total: en.Balance


def site_energy(
    session: Session,
    caller: Caller,
    site_id: str,
    period: en.Period,
    day: date | None = None,
    *,
    now: datetime,
) -> SiteEnergy:
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    return energy_of(session, site, period, day, now=now)


def energy_of(
    session: Session,
    site: Site,
    period: en.Period,
    day: date | None = None,
    *,
    now: datetime,
) -> SiteEnergy:
    """The energy bars of a site already loaded through the caller's scope (``day`` defaults
    to the local day at ``now``)."""
    tz = zone(site.timezone)
    day = day or now.astimezone(tz).date()
    live = select(Device).where(Device.site_id == site.id, Device.deleted_at.is_(None))
    devices = [
        d for d in session.scalars(live.order_by(Device.kind, Device.serial)) if counted(site, d)
    ]
    ids = [d.id for d in devices]
    conn = session.connection()
    resolution = en.BAR_RESOLUTION[period]
    start, end = _bars_window(conn, ids, en.ENERGY_POINTS, period, day, tz, now)
    grouped: dict[str, list[Rollup]] = {}
    for _, point, at, value in read_many(conn, ids, en.ENERGY_POINTS, resolution, start, end):
        grouped.setdefault(point, []).append(Rollup(at, value, 0))
    bars = en.bars(period, start, end, tz, grouped)
    return SiteEnergy(site, period, day, start, end, devices, bars, en.total(bars))


def _bars_window(
    conn: Connection,
    ids: Sequence[str],
    points: Sequence[str],
    period: en.Period,
    day: date,
    tz: ZoneInfo,
    now: datetime,
) -> tuple[datetime, datetime]:
    """[start, end) of the bars: the local day, month or year of ``day``; for the total, the
    years from the first roll-up of these series up to this year (or ``day``'s, if later)."""
    if period is not en.Period.TOTAL:
        return en.window(period, day, tz)
    first = first_start(conn, ids, points, en.BAR_RESOLUTION[period])
    start = en.window(en.Period.YEAR, (first or now).astimezone(tz).date(), tz)[0]
    end = en.window(en.Period.YEAR, max(day, now.astimezone(tz).date()), tz)[1]
    return start, end


# ---- a device's energy --------------------------------------------------------------------------

ENERGY_COUNTERS = [p for p in CATALOGUE.values() if p.kind is PointKind.ENERGY]


def energy_counters(session: Session, device: Device) -> list[Point]:
    """The energy counters a device has sent (those with roll-ups), in catalogue order."""
    conn = session.connection()
    month = en.BAR_RESOLUTION[en.Period.YEAR]
    return [
        p for p in ENERGY_COUNTERS if first_start(conn, [device.id], [p.name], month) is not None
    ]


def with_energy(session: Session, devices: Sequence[Device]) -> list[Device]:
    """The devices that have sent any energy counter: those worth an energy page."""
    conn = session.connection()
    names = [p.name for p in ENERGY_COUNTERS]
    month = en.BAR_RESOLUTION[en.Period.YEAR]
    return [d for d in devices if first_start(conn, [d.id], names, month) is not None]


@dataclass(frozen=True)
class DeviceBar:
    """One bar of a device: [start, end) in UTC, its local label, and Wh per counter."""

    start: datetime
    end: datetime
    label: str
    wh: dict[str, float]


@dataclass
class DeviceEnergy:
    """A device's own counters as bars. Unlike a site's, no balance is derived: one device
    rarely sees all of PV, grid and battery, so consumption and the rates would be wrong."""

    device: Device
    site: Site
    period: en.Period
    day: date
    start: datetime
    end: datetime
    points: list[Point]
    bars: list[DeviceBar]
    total: dict[str, float]


def device_energy(
    session: Session,
    caller: Caller,
    device_id: str,
    period: en.Period,
    day: date | None = None,
    *,
    now: datetime,
) -> DeviceEnergy:
    """A device's energy per hour of a day, day of a month, month of a year, or year, whether
    or not it counts in its site's statistics."""
    device, site = _device(session, caller, device_id)
    tz = zone(site.timezone)
    day = day or now.astimezone(tz).date()
    points = energy_counters(session, device)
    names = [p.name for p in points]
    conn = session.connection()
    start, end = _bars_window(conn, [device.id], names, period, day, tz, now)
    frames = en.bars(period, start, end, tz, {})  # every bar of the window, for its edges
    sums: list[dict[str, float]] = [dict.fromkeys(names, 0.0) for _ in frames]
    edges = [b.start for b in frames]
    rows = read_many(conn, [device.id], names, en.BAR_RESOLUTION[period], start, end)
    for _, point, at, value in rows:
        i = bisect.bisect_right(edges, at) - 1
        if 0 <= i < len(frames):
            sums[i][point] += value
    bars = [DeviceBar(b.start, b.end, b.label, sums[i]) for i, b in enumerate(frames)]
    total = {n: sum(b.wh[n] for b in bars) for n in names}
    return DeviceEnergy(device, site, period, day, start, end, points, bars, total)


def energy_column(p: Point) -> str:
    """A counter's column in kWh: ``pv_energy_wh`` -> ``pv_energy_kwh``."""
    return p.name.removesuffix("_wh") + "_kwh"


def balance_dict(b: en.Balance) -> dict[str, float | bool | None]:
    return {
        "pv_wh": b.pv_wh,
        "consumption_wh": b.consumption_wh,
        "consumption_measured": b.consumption_measured,
        "grid_import_wh": b.import_wh,
        "grid_export_wh": b.export_wh,
        "battery_charge_wh": b.charge_wh,
        "battery_discharge_wh": b.discharge_wh,
        "self_consumed_wh": b.self_consumed_wh,
        "self_consumption": b.self_consumption,
        "self_sufficiency": b.self_sufficiency,
    }


def parse_day(text: str | None) -> date | None:
    """A day as YYYY-MM-DD (None when empty); 400 for anything else, or a day out of range."""
    if not text or not text.strip():
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError as exc:
        raise Invalid(f"'{text}' is not a date: use YYYY-MM-DD") from exc
    if not FIRST_DAY <= day <= LAST_DAY:
        raise Invalid(f"{day} is out of range: use a day between {FIRST_DAY} and {LAST_DAY}")
    return day


def device_ids(devices: Sequence[Device]) -> list[str]:
    return [d.id for d in devices]
