"""The second pass over the reader's formats (issue 19, "two languages: numbers and dates by
locale"): the profile's formats menu shows, for each choice, what the formatter itself writes
for a sample instant and figure, so it cannot promise "12/31/2026" where pages write "1/15/2026".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import SimpleNamespace as NS

import pytest

from voltfleet.app import formatting, i18n
from voltfleet.app.portal.render import templates


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
