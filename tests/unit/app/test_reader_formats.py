"""Every figure and time on the portal's panels as the reader writes them (issue 19, "one clock",
"two languages"): a German reader gets "1.234,56", a German-language reader who chose US formats
"1,234.56" (one set of marks, as test_quantity_filters says), a US reader a 12-hour clock for a
tariff's slots, and a site's coordinates cannot be misread with a decimal comma.

The panels are rendered from the portal's templates with plain objects: fast, and each one is a
place that printed with Python's "%.2f" or strftime before (app/formatting.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal
from types import SimpleNamespace as NS
from typing import Any

import pytest

from voltfleet.app import formatting, i18n
from voltfleet.app.exchange.revenue import money_text
from voltfleet.app.portal.render import templates
from voltfleet.app.tariffs.page_text import price_text

NBSP = "\u00a0"


@pytest.fixture(autouse=True)
def reader() -> Iterator[None]:
    token = formatting._current.set(None)
    yield
    formatting._current.reset(token)
    i18n.use_language("en")


def german(formats: str | None = None) -> None:
    formatting.use_preferences("de", formats=formats)


def render(name: str, **context: Any) -> str:
    html = templates.env.get_template(f"portal/{name}").render(**context)
    return html.replace(NBSP, " ").replace("\u202f", " ")


# -- formatting.py -------------------------------------------------------------------------------


def test_signed_numbers_months_and_wall_clock_times() -> None:
    german()
    assert formatting.number(1234.5, 1, signed=True) == "+1.234,5"
    assert formatting.number(-1234.5, 0, signed=True) == "-1.234"
    assert (
        formatting.in_zone(datetime(2026, 3, 31, 23, 30, tzinfo=UTC), "Europe/Berlin", "month")
        == "04.2026"
    )
    assert formatting.clock(time(13, 0)) == "13:00"
    formatting.use_preferences("en", formats="en-US")
    assert formatting.clock(time(13, 0)).replace("\u202f", " ") == "1:00 PM"
    assert formatting.clock(time(0, 0)).replace("\u202f", " ") == "12:00 AM"
    formatting.use_preferences("en")  # ISO: 24 hours, year first
    assert formatting.clock(time(13, 0)) == "13:00"
    assert formatting.clock(time(13, 0, 30)) == "13:00:30"
    assert formatting.in_zone(datetime(2026, 3, 5, tzinfo=UTC), "UTC", "month") == "2026-03"
    assert formatting.clock(None) == "—"


def test_a_number_that_rounds_to_zero_has_no_minus_sign() -> None:
    """A day's highest temperature of -0.04 °C read "-0.0" in the weather card."""
    german()
    assert formatting.number(-0.04, 1) == "0,0"
    assert formatting.number(-0.4, 0) == "0"
    assert formatting.number(-0.06, 1) == "-0,1"  # a real minus
    assert formatting.number(-0.04, 1, signed=True) == "+0,0"


def test_coordinates_use_hemispheres_and_a_separator_no_decimal_mark_clashes_with() -> None:
    german()
    text = formatting.coordinates(52.52, 13.405)
    assert text == "52,5200° N · 13,4050° O"
    assert text.count(",") == 2 and ", " not in text  # never "52,5200, 13,4050"
    assert formatting.coordinates(-33.8688, -151.2093) == "33,8688° S · 151,2093° W"
    formatting.use_preferences("en")
    assert formatting.coordinates(52.52, 13.405) == "52.5200° N · 13.4050° E"
    assert formatting.coordinates(None, 13.4) == "—"


# -- panels --------------------------------------------------------------------------------------


def tou_tariff() -> NS:
    slots = [
        NS(start=time(0, 0), end=time(13, 0), price_per_kwh=0.1),
        NS(start=time(13, 0), end=time(0, 0), price_per_kwh=0.3),
    ]
    period = NS(
        name="all year", start="01-01", end="12-31", slots=slots, weekday_slots=[], weekend_slots=[]
    )
    return NS(kind="tou", currency="EUR", periods=[period])


def slot_times(html: str) -> list[str]:
    import re

    rows = re.findall(r"<tr><td>[^<]*</td><td>([^<]*)</td><td>([^<]*)</td>", html)
    return [cell for row in rows for cell in row]


def test_a_tariffs_slots_follow_the_readers_clock() -> None:
    formatting.use_preferences("en", formats="en-US")
    html = render("_tariff_readonly.html", t=tou_tariff(), price_text=price_text)
    assert slot_times(html) == ["12:00 AM", "1:00 PM", "1:00 PM", "12:00 AM"]
    assert "<td>0.10</td>" in html and "<td>0.30</td>" in html
    german()
    html = render("_tariff_readonly.html", t=tou_tariff(), price_text=price_text)
    assert slot_times(html) == ["00:00", "13:00", "13:00", "00:00"]
    assert "<td>0,10</td>" in html and "<td>0,30</td>" in html  # prices with a decimal comma


def test_the_weather_cards_coordinates_in_german() -> None:
    german()
    weather = NS(latitude=52.52, longitude=13.405, problem="no forecast", days=[], unit="C")
    html = render("_site_weather.html", weather=weather, site=NS(timezone="Europe/Berlin"))
    assert "Koordinaten: <span" in html and ">52,5200° N · 13,4050° O</span>" in html
    assert 'data-latitude="52.52" data-longitude="13.405"' in html


def power_view() -> NS:
    group = NS(
        id="g1",
        name="House",
        meter_stale=False,
        cap_a=[1234.56],
        measured_a=[1234.56],
        others_a=[1.25],
        allocated_a=[16.0],
        fuse_a=1250.0,
    )
    connector = NS(
        group_id="g1",
        connector_id="c1",
        charger_serial="EV-1",
        connector_no=1,
        status="charging",
        phases=3,
        target_a=1234.56,
        applied_a=16.0,
        sent_a=16.0,
        fallback_a=6.0,
    )
    return NS(
        mode=NS(value="fast"), surplus_w=None, paused=[], groups=[group], connectors=[connector]
    )


@pytest.mark.parametrize(
    ("formats", "amperes", "fuse"),
    [(None, "1.234,6 A", "1.250 A"), ("en-US", "1,234.6 A", "1,250 A")],
)
def test_live_allocation_in_amperes(formats: str | None, amperes: str, fuse: str) -> None:
    german(formats)
    html = render("_power_live.html", power=power_view())
    assert f"<td>{amperes}</td>" in html  # measured
    assert f'<td class="target">{amperes}</td>' in html
    assert f"<td>{fuse}</td>" in html


@pytest.mark.parametrize(
    ("formats", "level", "percent"),
    [(None, "1.234,568 kWh", "56,7 %"), ("en-US", "1,234.568 kWh", "56.7 %")],
)
def test_a_virtual_batterys_level(formats: str | None, level: str, percent: str) -> None:
    german(formats)
    live = NS(level_kwh=1234.5678, level_percent=56.7, power_w=0, at=None)
    html = render("_virtual_battery_live.html", b=NS(id="vb1"), live=live)
    assert f'id="vb-level">🔋 {level}</span>' in html
    assert f'<span id="vb-percent">{percent}</span>' in html


def test_a_battery_plans_ledger_forecast_errors_and_steps() -> None:
    german()
    ledger = NS(
        delivered_kwh={
            (s, to): 1234.561 for s in ("solar", "grid", "initial") for to in ("home", "grid")
        },
        charged_kwh={"solar": 2.5, "grid": 0.25, "initial": 0.0},
        stored_kwh={"solar": 0.0, "grid": 0.0, "initial": 0.0},
        losses_kwh=0.5,
        savings=1.0,
        value=2.0,
        cost=1.0,
    )
    day = date(2026, 3, 2)
    errors = NS(
        load=[NS(day=day, mae_w=1500.0, rmse_w=2000.0, bias_w=-1234.4)],
        pv=[NS(day=day, mae_w=2500.4, rmse_w=3000.0, bias_w=1234.0)],
    )
    command = NS(
        not_before=datetime(2026, 3, 2, 12, tzinfo=UTC),
        expires_at=datetime(2026, 3, 2, 13, tzinfo=UTC),
        params={"mode": "charge"},
        state="sent",
    )
    html = render(
        "_battery_plan.html",
        made=None,
        errors=errors,
        ledger=ledger,
        ledger_days=7,
        currency="EUR",
        plan=NS(),
        rows=[NS(command=command, planned_w=2500.0, actual_w=-1234.0)],
        chart="{}",
        site_zone="Europe/Berlin",
    )
    ledger_html = html.split('id="battery-ledger"')[1].split("</table>")[0]
    assert ledger_html.count("<td>1.234,56</td>") == 6 and "<td>2,50</td>" in ledger_html
    errors_html = html.split('id="forecast-errors"')[1].split("</table>")[0]
    assert "<td>-1.234</td>" in errors_html and "<td>2.500</td>" in errors_html
    assert "<td>+1.234</td>" in errors_html
    steps = html.split('id="plan-table"')[1]
    assert "<td>+2.500</td>" in steps and "<td>-1.234</td>" in steps


@pytest.mark.parametrize(("formats", "figure"), [(None, "1.234,57"), ("en-US", "1,234.57")])
def test_savings_from_telemetry(formats: str | None, figure: str) -> None:
    german(formats)
    line = NS(
        imported_kwh=1234.567,
        exported_kwh=0.0,
        charged_kwh=1.0,
        discharged_kwh=1.0,
        cost_with=1234.567,
        cost_without=1.0,
        savings=1234.567,
    )
    day = NS(day=date(2026, 3, 2), **vars(line))
    result = NS(reason=None, days=[day], total=line, currency="EUR")
    html = render(
        "_telemetry_savings.html", result=result, days=7, site=NS(timezone="Europe/Berlin")
    )
    row = html.split('data-day="2026-03-02">')[1].split("</tr>")[0]
    assert f'data-value="1234.567">{figure}</td>' in row
    assert (">02.03.2026<" if formats is None else ">3/2/2026<") in row  # the reader's date order
    total = html.split('id="telemetry-savings-total">')[1].split("</tr>")[0]
    assert f'<td class="saved" data-value="1234.567">{figure}</td>' in total


def test_the_home_pages_revenue_in_the_readers_marks() -> None:
    """The revenue tiles ("28.32" on a German home page, Python's own grouping for everyone)."""
    german()
    assert money_text(Decimal("1234.565"), "EUR") == "1.234,56"  # half-even, to the cent
    assert money_text(Decimal("1234.5"), "JPY") == "1.234"  # no minor unit
    german("en-US")
    assert money_text(Decimal("1234.565"), "EUR") == "1,234.56"
