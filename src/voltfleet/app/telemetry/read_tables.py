"""The read side's tables, served as CSV downloads by the API and the portal: a device's readings
and roll-ups (one row per instant, one column per point), a site's and a device's energy bars
(one row per bar and a total row). Energies in kWh, instants in ISO 8601 UTC."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from operator import attrgetter, itemgetter
from typing import Any, TypeVar

from voltfleet.app.tables import Column, Table
from voltfleet.app.telemetry.read_service import (
    DeviceEnergy,
    DeviceReadings,
    DeviceSeries,
    SiteEnergy,
    aggregate_of,
    energy_column,
)
from voltfleet.domain.telemetry import energy as en

T = TypeVar("T")
# A row of a device's table: an instant and the points' values at it.
Row = tuple[datetime, dict[str, float]]


def _num(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _by_time(items: Iterable[tuple[str, datetime, float]]) -> list[Row]:
    rows: dict[datetime, dict[str, float]] = {}
    for name, ts, value in items:
        rows.setdefault(ts, {})[name] = value
    return sorted(rows.items())


def _point(title: str, name: str, digits: int = 3) -> Column[Row]:
    return Column(title, lambda row: _num(row[1].get(name), digits))


def readings_table(r: DeviceReadings) -> Table[Row]:
    """One row per timestamp, one column per point (blank where the point has no sample)."""
    return Table(
        [Column("ts", lambda row: _iso(row[0]))]
        + [_point(f"{p.name} ({p.unit})", p.name, 6) for p in r.points],
        _by_time((n, s.ts, s.value) for n, v in r.samples.items() for s in v),
    )


def series_table(s: DeviceSeries) -> Table[Row]:
    """One row per period: for energy points the energy in the period, for gauges the mean."""
    return Table(
        [
            Column("start_time", lambda row: _iso(row[0])),
            Column("resolution", lambda row: s.resolution.value),
        ]
        + [_point(f"{p.name} ({p.unit}, {aggregate_of(p)})", p.name) for p in s.points],
        _by_time((n, x.start, x.value) for n, v in s.rows.items() for x in v),
    )


ENERGY_COLUMNS = [
    ("pv_kwh", "pv_wh"),
    ("consumption_kwh", "consumption_wh"),
    ("grid_import_kwh", "import_wh"),
    ("grid_export_kwh", "export_wh"),
    ("battery_charge_kwh", "charge_wh"),
    ("battery_discharge_kwh", "discharge_wh"),
    ("self_consumed_kwh", "self_consumed_wh"),
]

# A bar of an energy table: its label, start and end, and what it holds.
Bar = tuple[str, datetime, datetime, T]


def _bar_columns() -> list[Column[Bar[Any]]]:
    return [
        Column("bar", lambda b: b[0]),
        Column("start_time", lambda b: _iso(b[1])),
        Column("end_time", lambda b: _iso(b[2])),
    ]


def _kwh(title: str, wh: Callable[[T], float]) -> Column[Bar[T]]:
    return Column(title, lambda b: _num(wh(b[3]) / 1000.0))


def _pct(title: str, rate: Callable[[en.Balance], float | None]) -> Column[Bar[en.Balance]]:
    def cell(b: Bar[en.Balance]) -> str:
        value = rate(b[3])
        return _num(None if value is None else 100 * value, 1)

    return Column(title, cell)


def energy_table(e: SiteEnergy) -> Table[Bar[en.Balance]]:
    """One row per bar and a total row; energies in kWh, rates in percent."""
    bars: list[Bar[en.Balance]] = [(b.label, b.start, b.end, b.balance) for b in e.bars]
    bars.append(("total", e.start, e.end, e.total))
    return Table(
        _bar_columns()
        + [_kwh(title, attrgetter(attr)) for title, attr in ENERGY_COLUMNS]
        + [
            _pct("self_consumption_pct", lambda bal: bal.self_consumption),
            _pct("self_sufficiency_pct", lambda bal: bal.self_sufficiency),
        ],
        bars,
    )


def device_energy_table(e: DeviceEnergy) -> Table[Bar[dict[str, float]]]:
    """One row per bar and a total row; one column per counter of the device, in kWh."""
    bars: list[Bar[dict[str, float]]] = [(b.label, b.start, b.end, b.wh) for b in e.bars]
    bars.append(("total", e.start, e.end, e.total))
    return Table(
        _bar_columns() + [_kwh(energy_column(p), itemgetter(p.name)) for p in e.points], bars
    )
