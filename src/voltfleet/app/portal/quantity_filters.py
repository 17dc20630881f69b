"""Jinja filters that show power, energy, capacity and rates for people, in the reader's format.

``{{ w|power }}`` (watts), ``{{ wh|energy }}`` (watt-hours), ``{{ kwp|capacity }}`` (kWp) and
``{{ fraction|percent }}`` scale with domain.quantities (unit and decimals) and write the number
with Babel in the reader's number format (``formatting.number_locale``: the formats they chose,
which follow the language unless chosen), as ``|number`` and the dates do: "1.50 kWh" in
English, "1,50 kWh" in German. A missing figure (None) is a dash. ``render.py`` installs them
on the portal's templates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from babel.numbers import format_percent
from jinja2 import Environment

from voltfleet.app.formatting import number, number_locale
from voltfleet.domain import quantities as q

MISSING = "—"


def _shown(scaled: q.Scaled) -> str:
    return f"{number(scaled.value, scaled.decimals)}\N{NO-BREAK SPACE}{scaled.unit}"


def _filter(scale: Callable[[float], q.Scaled]) -> Callable[[Any], str]:
    def show(value: Any) -> str:
        return MISSING if value is None else _shown(scale(float(value)))

    return show


power = _filter(q.power)
energy = _filter(q.energy)
capacity = _filter(q.capacity)


def percent(fraction: Any) -> str:
    """A fraction 0..1 as a whole percentage, as the locale writes it ("87 %" in German)."""
    if fraction is None:
        return MISSING
    return format_percent(float(fraction), locale=number_locale())


def install(env: Environment) -> None:
    env.filters.update(power=power, energy=energy, capacity=capacity, percent=percent)
