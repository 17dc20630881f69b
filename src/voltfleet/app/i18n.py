"""The language of the page being rendered, and gettext for templates and Python code.

Catalogues are the ``.po`` files under ``app/locale/<lang>/LC_MESSAGES/`` (``messages.po`` and
one file per feature, so features translate their own texts without editing one shared file);
they are read with Babel on first use (no compile step, so a translator edits a text file).
The language of a request lives in a context variable set by the portal's ``render`` before a
template runs, so concurrent requests in other languages do not see each other's.
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LANGUAGE = "en"
LANGUAGES = {"en": "English", "de": "Deutsch"}

_current: ContextVar[str] = ContextVar("voltfleet_language", default=DEFAULT_LANGUAGE)


@cache
def translations(language: str) -> _gettext.NullTranslations:
    """The catalogue of ``language`` (English, the source language, has none)."""
    files = sorted((LOCALE_DIR / language / "LC_MESSAGES").glob("*.po"))
    if language == DEFAULT_LANGUAGE or not files:
        return _gettext.NullTranslations()
    result = Translations()
    for po in files:
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=language)
        for message in catalog:
            if not message.id or not message.string or message.fuzzy:
                continue
            if isinstance(message.id, tuple):
                for index, plural in enumerate(message.string):
                    result._catalog.setdefault((message.id[0], index), plural)  # type: ignore[attr-defined]
            else:
                result._catalog.setdefault(message.id, message.string)  # type: ignore[attr-defined]
        result.plural = _gettext.c2py(catalog.plural_expr)  # type: ignore[attr-defined]
    return result


def use_language(language: str | None) -> None:
    """Render what follows in ``language`` (unknown or empty means the default)."""
    _current.set(language if language in LANGUAGES else DEFAULT_LANGUAGE)


def current_language() -> str:
    return _current.get()


@contextmanager
def speaking(language: str | None) -> Iterator[None]:
    """Write what the block composes in ``language`` (a mail to someone who chose one), then
    return to the request's language. Empty or unknown: stay in the current one."""
    token = _current.set(language if language in LANGUAGES else _current.get())
    try:
        yield
    finally:
        _current.reset(token)


def gettext(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


def gettext_noop(message: str) -> str:
    """Marks a text for the catalogue where it is defined; translate it where it is shown."""
    return message


def word(words: dict[str, str], code: object, unknown: str | None = None) -> str:
    """The word for ``code`` (a string or an enum member) in ``words`` (msgids marked with
    ``gettext_noop``), translated; a code the table does not know is shown as it is, its
    underscores as spaces (or as ``unknown`` when given). The *_words modules' one lookup."""
    text = str(getattr(code, "value", code) or "")
    msgid = words.get(text)
    if msgid:
        return gettext(msgid)
    return text.replace("_", " ") if unknown is None or text else unknown


_ = gettext
