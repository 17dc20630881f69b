"""The formatting filters: a site's clock with its offset, the reader's order of date parts, 12- or
24-hour clock, decimal marks; the language from the user or the browser."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest

from voltfleet.app import formatting as f
from voltfleet.app import i18n

SUMMER = datetime(2026, 7, 1, 12, 5, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("formats", "expected"),
    [
        ("en-GB", "01/07/2026 14:05 +02:00"),
        ("en-US", "7/1/2026 2:05\u202fPM +02:00"),
        ("de-DE", "01.07.2026 14:05 +02:00"),
    ],
)
def test_site_time_is_on_the_site_clock_in_the_readers_formats(formats: str, expected: str) -> None:
    f.use_preferences("en", zone="Asia/Tokyo", formats=formats)
    site = SimpleNamespace(timezone="Europe/Berlin")
    assert f.site_time(SUMMER, site) == expected
    assert f.site_time(SUMMER, "Europe/Berlin") == expected


def test_user_time_dates_numbers_and_styles() -> None:
    f.use_preferences("de", zone="America/New_York")
    assert f.user_time(SUMMER) == "01.07.2026 08:05 -04:00"
    assert f.user_time(SUMMER, "seconds") == "01.07.2026 08:05:09 -04:00"
    assert f.user_time(SUMMER, "time") == "08:05"
    assert f.user_time(None) == "—"
    assert f.local_date(date(2026, 12, 6)) == "06.12.2026"
    assert f.number(12345.678, 2) == "12.345,68" and f.number(Decimal("0.5"), 1) == "0,5"
    assert f.time_column() == "Zeit (America/New_York)"
    f.use_preferences("en", zone="UTC")  # English without a choice: ISO 8601 order
    assert f.number(12345.678, 2) == "12,345.68"
    assert f.user_time(SUMMER) == "2026-07-01 12:05 +00:00"
    assert f.local_date(date(2026, 12, 6)) == "2026-12-06"
    assert f.time_column("Europe/Berlin") == "time (Europe/Berlin)"


def test_unknown_zones_and_formats_fall_back() -> None:
    prefs = f.use_preferences("xx", zone="Not/AZone", formats="zz-ZZ")
    assert (prefs.zone, prefs.formats, i18n.current_language()) == ("UTC", "iso", "en")
    assert not f.valid_zone("../../etc/passwd") and f.valid_zone("Europe/Berlin")
    assert f.site_time(SUMMER, "") == "2026-07-01 12:05 +00:00"


@pytest.mark.parametrize(
    ("chosen", "header", "expected"),
    [
        ("de", "en-US,en;q=0.9", "de"),
        ("", "de-AT,de;q=0.9,en;q=0.8", "de"),
        (None, "fr-FR,fr;q=0.9,en;q=0.5,de;q=0.4", "en"),
        (None, "fr, de;q=0.3", "de"),
        (None, "de;q=0, en", "en"),
        (None, "", "en"),
        (None, "garbage;q=x, *", "en"),
    ],
)
def test_language_from_the_user_else_the_browser(
    chosen: str | None, header: str, expected: str
) -> None:
    assert f.choose_language(chosen, header) == expected
