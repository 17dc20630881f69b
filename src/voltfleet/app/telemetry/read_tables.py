"""The read side's tables, served as CSV downloads by the API and the portal: a device's readings
and roll-ups (one row per instant, one column per point), a site's and a device's energy bars
(one row per bar and a total row). Energies in kWh, instants in ISO 8601 UTC."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, time
from operator import attrgetter, itemgetter
from typing import Any, TypeVar

from voltfleet.app import formatting
from voltfleet.app.i18n import gettext, gettext_noop
from voltfleet.app.tables import Column, Table, zoned
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
        [Column(zoned("ts", "UTC"), lambda row: _iso(row[0]))]
        + [_point(f"{p.name} ({p.unit})", p.name, 6) for p in r.points],
        _by_time((n, s.ts, s.value) for n, v in r.samples.items() for s in v),
    )


def series_table(s: DeviceSeries) -> Table[Row]:
    """One row per period: for energy points the energy in the period, for gauges the mean."""
    return Table(
        [
            Column(zoned("start_time", "UTC"), lambda row: _iso(row[0])),
            Column("resolution", lambda row: s.resolution.value),
        ]
        + [_point(f"{p.name} ({p.unit}, {aggregate_of(p)})", p.name) for p in s.points],
        _by_time((n, x.start, x.value) for n, v in s.rows.items() for x in v),
    )


# The site's energy columns: the CSV's title, the balance's field, the page's heading (None: not
# on the page).
ENERGY_COLUMNS = [
    ("pv_kwh", "pv_wh", "PV kWh"),
    ("consumption_kwh", "consumption_wh", "Consumption kWh"),
    ("grid_import_kwh", "import_wh", "Import kWh"),
    ("grid_export_kwh", "export_wh", "Export kWh"),
    ("battery_charge_kwh", "charge_wh", "Charge kWh"),
    ("battery_discharge_kwh", "discharge_wh", "Discharge kWh"),
    ("self_consumed_kwh", "self_consumed_wh", None),
]

# A bar of an energy table: its label ("total" for the total row), start and end, what it holds.
Bar = tuple[str, datetime, datetime, T]


def _kwh_csv(wh: float) -> str:
    return _num(wh / 1000.0)


def _kwh_page(wh: float) -> str:
    """Two decimals with the reader's marks ("1.234,50" for a German reader)."""
    return formatting.number(round(wh / 1000.0, 3), 2)


def _pct_csv(rate: float | None) -> str:
    return _num(None if rate is None else 100 * rate, 1)


def pct_page(rate: float | None) -> str:
    """A rate in percent with one decimal in the reader's marks ("45,8 %")."""
    return "-" if rate is None else f"{formatting.number(100 * rate, 1)} %"


TOTAL = gettext_noop("Total")


def bar_label(label: str) -> str:
    """A bar's label as the reader writes it: the domain labels bars on the site's calendar as
    "10:00", "2026-12-06", "2026-12" or "2026" (domain.telemetry.energy), which the CSV keeps;
    a page shows "10:00 AM", "06.12.2026", "12.2026" (a year is a year everywhere)."""
    if label == "total":
        return gettext(TOTAL)
    try:
        if len(label) == 5 and label[2] == ":":
            return formatting.clock(time.fromisoformat(label))
        if len(label) == 10:
            return formatting.local_date(date.fromisoformat(label))
        if len(label) == 7:
            return formatting.current().month_text(date.fromisoformat(label + "-01"))
    except ValueError:
        pass
    return label


def _bar_columns(bar_title: str) -> list[Column[Bar[Any]]]:
    return [
        Column("bar", itemgetter(0), heading=bar_title, show=bar_label),
        Column(zoned("start_time", "UTC"), lambda b: _iso(b[1]), page=False),
        Column(zoned("end_time", "UTC"), lambda b: _iso(b[2]), page=False),
    ]


def _kwh(title: str, wh: Callable[[T], float], heading: str | None) -> Column[Bar[T]]:
    return Column(
        title,
        lambda b: wh(b[3]),
        _kwh_csv,
        heading=heading,
        show=_kwh_page,
        num=True,
        page=heading is not None,
    )


def _pct(
    title: str, heading: str, rate: Callable[[en.Balance], float | None]
) -> Column[Bar[en.Balance]]:
    return Column(title, lambda b: rate(b[3]), _pct_csv, heading=heading, show=pct_page, num=True)


def _bar_attrs(b: Bar[Any]) -> dict[str, str]:
    if b[0] == "total":
        return {"class": "total", "id": "energy-total-row"}
    return {"data-bar": b[0]}


def energy_table(e: SiteEnergy, bar_title: str = "Bar") -> Table[Bar[en.Balance]]:
    """One row per bar and a total row; energies in kWh, rates in percent (the page shows two
    decimals, the CSV three)."""
    return Table(
        _bar_columns(bar_title)
        + [_kwh(title, attrgetter(attr), heading) for title, attr, heading in ENERGY_COLUMNS]
        + [
            _pct("self_consumption_pct", "Self-consumption", lambda x: x.self_consumption),
            _pct("self_sufficiency_pct", "Self-sufficiency", lambda x: x.self_sufficiency),
        ],
        [(b.label, b.start, b.end, b.balance) for b in e.bars],
        footer=[("total", e.start, e.end, e.total)],
        row_attrs=_bar_attrs,
    )


def device_energy_table(
    e: DeviceEnergy, bar_title: str = "Bar", titles: Mapping[str, str] | None = None
) -> Table[Bar[dict[str, float]]]:
    """One row per bar and a total row; one column per counter of the device, in kWh."""
    titles = titles or {}
    return Table(
        _bar_columns(bar_title)
        + [
            _kwh(energy_column(p), itemgetter(p.name), f"{titles.get(p.name, p.name)} kWh")
            for p in e.points
        ],
        [(b.label, b.start, b.end, b.wh) for b in e.bars],
        footer=[("total", e.start, e.end, e.total)],
        row_attrs=_bar_attrs,
    )
