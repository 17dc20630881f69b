"""The region list of registration and of the company and user forms: the countries and
territories of ISO 3166-1 alpha-2, named in the page's language (Babel's CLDR data)."""

from __future__ import annotations

from functools import cache

from babel import Locale

from voltfleet.app.i18n import current_language

# CLDR's two-letter codes that are no country (unknown, groupings, pseudo-locales).
NOT_COUNTRIES = frozenset({"ZZ", "EU", "EZ", "UN", "QO", "XA", "XB"})


@cache
def _regions(language: str) -> tuple[tuple[str, str], ...]:
    names = Locale.parse(language).territories
    pairs = [
        (code, name)
        for code, name in names.items()
        if len(code) == 2 and code.isalpha() and code not in NOT_COUNTRIES
    ]
    return tuple(sorted(pairs, key=lambda p: p[1].casefold()))


def regions() -> tuple[tuple[str, str], ...]:
    """(code, name) pairs sorted by name, in the current language."""
    return _regions(current_language())


def is_region(code: str) -> bool:
    return code in dict(_regions("en"))
