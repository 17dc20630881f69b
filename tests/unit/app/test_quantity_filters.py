"""The portal's figure filters (app/portal/quantity_filters.py): scaled, fixed decimals, and
written with the reader's number format (the language's unless they chose one), the same marks
as ``|number``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from voltfleet.app import formatting, i18n
from voltfleet.app.portal import quantity_filters as f
from voltfleet.app.portal.render import templates


@pytest.fixture(autouse=True)
def no_reader() -> Iterator[None]:
    """No reader's preferences left by another test: the language decides, as in a mail."""
    token = formatting._current.set(None)
    yield
    formatting._current.reset(token)


@pytest.fixture
def german() -> Iterator[None]:
    i18n.use_language("de")
    yield
    i18n.use_language("en")


def test_english_figures() -> None:
    assert f.energy(1_500) == "1.50\u00a0kWh"
    assert f.energy(2_345_678) == "2.35\u00a0MWh"
    assert f.power(3_420) == "3.42\u00a0kW"
    assert f.power(999_996) == "1.00\u00a0MW"
    assert f.capacity(9.8) == "9.8\u00a0kWp"
    assert f.energy(12_346_000_000) == "12.35\u00a0GWh"
    assert f.energy(1_234_000) == "1.23\u00a0MWh"
    assert f.percent(0.5) == "50%"
    assert f.power(None) == f.energy(None) == f.percent(None) == "—"


def test_german_figures(german: None) -> None:
    assert f.energy(1_500) == "1,50\u00a0kWh"
    assert f.power(-4_000) == "-4,00\u00a0kW"
    assert f.capacity(1_250) == "1,25\u00a0MWp"
    assert f.percent(0.873).replace("\u00a0", " ") == "87 %"


def test_the_filters_are_installed_on_the_portals_templates(german: None) -> None:
    page = templates.env.from_string("{{ w|power }} · {{ wh|energy }} · {{ kwp|capacity }}")
    assert page.render(w=1_500, wh=250, kwp=5) == "1,50\u00a0kW · 0,25\u00a0kWh · 5,0\u00a0kWp"


def test_a_german_reader_with_us_formats_gets_one_set_of_marks(german: None) -> None:
    """German words, US number marks: the figures and the plain numbers agree (before, the
    figures followed the language and the numbers the chosen format)."""
    formatting.use_preferences("de", formats="en-US")
    assert f.energy(409_819_679.956) == "409.82\u00a0MWh"
    assert f.power(1_250) == "1.25\u00a0kW"
    assert formatting.number(1_234.5, 1) == "1,234.5"
    formatting.use_preferences("de")  # German without a choice: German marks for both
    assert f.energy(409_819_679.956) == "409,82\u00a0MWh"
    assert formatting.number(1_234.5, 1) == "1.234,5"
