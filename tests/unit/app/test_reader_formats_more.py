"""The second pass over the reader's formats (issue 19, "two languages: numbers and dates by
locale"): the profile's formats menu shows, for each choice, what the formatter itself writes
for a sample instant and figure, so it cannot promise "12/31/2026" where pages write "1/15/2026".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace as NS
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest

from voltfleet.app import formatting, i18n
from voltfleet.app.commands.device_page import local_time
from voltfleet.app.firmware import self_tests
from voltfleet.app.firmware.tasks import reservation_shown, reservation_text
from voltfleet.app.portal.render import templates
from voltfleet.app.tariffs.page_text import price_text


@pytest.fixture(autouse=True)
def reader() -> Iterator[None]:
    token = formatting._current.set(None)
    yield
    formatting._current.reset(token)
    i18n.use_language("en")


def options(language: str, formats: str | None = None) -> dict[str, str]:
    formatting.use_preferences(language, formats=formats)
    me = NS(user=NS(language=language, timezone="", formats=formats or ""))
    html = templates.env.get_template("portal/_preferences.html").render(me=me, csrf="x")
    found = re.findall(r'<option value="([^"]+)"[^>]*>([^<]*)</option>', html)
    return {tag: text.replace("\u202f", " ").replace("\u00a0", " ") for tag, text in found}


def test_the_formats_menu_shows_what_each_choice_actually_writes() -> None:
    shown = options("en")
    assert shown["iso"] == "2026-03-05 14:05 · 1,234.5 (ISO 8601)"
    assert shown["en-GB"] == "05/03/2026 14:05 · 1,234.5 (English, UK)"
    assert shown["en-US"] == "3/5/2026 2:05 PM · 1,234.5 (English, US)"  # no leading zeros
    assert shown["de-DE"] == "05.03.2026 14:05 · 1.234,5 (German)"
    # the same words in German, the examples unchanged whatever the reader chose for themselves
    shown = options("de", "en-US")
    assert shown["en-US"] == "3/5/2026 2:05 PM · 1,234.5 (Englisch, USA)"
    assert shown["de-DE"] == "05.03.2026 14:05 · 1.234,5 (Deutsch)"
    assert formatting.current().formats == "en-US"  # the menu left the reader's own formats


def test_each_example_is_the_formatters_own_output() -> None:
    for tag in formatting.FORMATS:
        formatting.use_preferences("en", formats=tag)
        written = (
            f"{formatting.local_date(formatting.SAMPLE_TIME.date())} "
            f"{formatting.clock(formatting.SAMPLE_TIME)} · "
            f"{formatting.number(formatting.SAMPLE_NUMBER, 1)}"
        )
        formatting.use_preferences("en")
        assert formatting.format_example(tag) == written, tag


# -- site-bound instants written in Python (one clock) ------------------------------------------

# 23:30 UTC on 15 January is already 16 January in Berlin.
LATE = datetime(2026, 1, 15, 23, 30, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def plain(text: str) -> str:
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def test_command_times_on_device_pages_are_on_the_sites_clock_in_the_readers_formats() -> None:
    formatting.use_preferences("de")
    assert local_time(LATE, BERLIN) == "16.01.2026 00:30 +01:00"
    formatting.use_preferences("de", formats="en-US")
    assert plain(local_time(LATE, BERLIN)) == "1/16/2026 12:30 AM +01:00"
    formatting.use_preferences("en")
    assert local_time(LATE, BERLIN) == "2026-01-16 00:30 +01:00"  # ISO readers: as before
    assert local_time(None, BERLIN) == "—"


def test_a_firmware_reservation_on_a_page_follows_the_reader_and_the_api_stays_iso() -> None:
    task = cast(Any, NS(reserved=True, start_at=LATE, zone="Europe/Berlin"))
    formatting.use_preferences("de")
    assert reservation_shown(task) == "16.01.2026 00:30:00 +01:00"
    assert reservation_text(task) == "2026-01-16 00:30:00 +01:00"  # the API's field
    formatting.use_preferences("en", formats="en-US")
    assert plain(reservation_shown(task)) == "1/16/2026 12:30:00 AM +01:00"
    assert reservation_shown(cast(Any, NS(reserved=False, start_at=LATE, zone="UTC"))) == "-"


def test_the_commissioning_reports_self_test_time_has_the_sites_offset() -> None:
    """The PDF is an English document a job writes (no reader): ISO order, with the offset the
    one-clock rule asks for (it had none), on a line of its own in the narrow column."""
    formatting.use_preferences("de")  # whatever context the job runs in
    command = NS(kind="self_test", replied_at=LATE, result=None)
    session = NS(scalars=lambda _stmt: NS(first=lambda: command))
    device = NS(kind="inverter", serial="INV1", id="d1")
    (row,) = self_tests.rows(cast(Any, session), [cast(Any, device)], BERLIN)
    assert row.when == "2026-01-16 00:30\n+01:00"
    assert row.result.startswith("unreadable")


# -- numbers with as many decimals as they have ---------------------------------------------------


def market_tariff(vat_rate: float) -> NS:
    formula = NS(multiplier=1.05, markup_per_kwh=0.02, grid_fee_per_kwh=0.08, vat_rate=vat_rate)
    return NS(kind="market", source="entsoe", area="DE-LU", currency="EUR", formula=formula)


def test_a_market_tariffs_vat_and_multiplier_in_the_readers_marks() -> None:
    formatting.use_preferences("de")
    html = render_tariff(market_tariff(0.077))
    assert "<dd>7,7 %</dd>" in html and "<dd>1,05</dd>" in html  # '%g' wrote "7.7" for all
    assert "<dd>19 %</dd>" in render_tariff(market_tariff(0.19))  # no ",00" on a whole rate
    formatting.use_preferences("de", formats="en-US")
    html = render_tariff(market_tariff(0.077))
    assert "<dd>7.7 %</dd>" in html and "<dd>1.05</dd>" in html


def test_decimal_drops_trailing_zeros_and_groups_unless_told_not_to() -> None:
    formatting.use_preferences("de")
    assert formatting.decimal(1234.5) == "1.234,5"
    assert formatting.decimal(1234.5, grouping=False) == "1234,5"  # a form field read back
    assert formatting.decimal(0.1 + 0.2) == "0,3" and formatting.decimal(-0.0) == "0"
    assert formatting.decimal(7.123456789, 2) == "7,12" and formatting.decimal(None) == "—"
    formatting.use_preferences("en")
    assert formatting.decimal(1234.5) == "1,234.5" and formatting.decimal(5.0) == "5"


def render_tariff(tariff: NS) -> str:
    html = templates.env.get_template("portal/_tariff_readonly.html").render(
        t=tariff, price_text=price_text
    )
    return html.replace("\u00a0", " ")


def test_a_connectors_default_departure_on_the_readers_clock() -> None:
    """Stored as "07:30" text and shown as it was to every reader."""
    formatting.use_preferences("de", formats="en-US")
    html = templates.env.get_template("portal/_charger_departure.html").render(
        connectors=[NS(connector_no=1, id="c1")],
        running={},
        defaults={"c1": NS(departure_time="19:30", energy_need_kwh=20.0)},
        can_set=False,
        site=NS(id="s1", timezone="Europe/Berlin"),
    )
    cell = re.search(r'<td class="departure-default">([^<]*)</td>', html)
    assert cell and plain(cell.group(1)) == "7:30 PM, 20.0 kWh", cell
    assert plain(formatting.clock("19:30:15")) == "7:30:15 PM"
    assert formatting.clock("not a time") == "not a time" and formatting.clock("") == "—"
