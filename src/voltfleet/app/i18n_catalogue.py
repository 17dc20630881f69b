"""What the catalogues must hold: the texts of the templates and the code, and what is missing.

Used by the catalogue test (tests/unit/test_catalogue.py) and by ``scripts/i18n.py`` (a
translator's report). Two checks:

* ``bare_texts(template)``: words a template shows that are not written ``{{ _("...") }}`` or in a
  ``{% trans %}`` block. The template is read with Jinja's own lexer; its data (the HTML between
  tags) is put back together with every expression replaced by a placeholder and then read with
  the standard library's HTML parser, so words are found in element text and in the attributes a
  person sees or hears (title, placeholder, aria-label, alt, the value of a button).
* ``untranslated(language)``: the msgids found in templates (Jinja's Babel extractor) and Python
  code (Babel's Python extractor: ``_``, ``gettext``, ``ngettext``, ``N_``, ``gettext_noop``) that
  no ``.po`` file of that language translates.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.extract import extract_python
from babel.messages.pofile import read_po
from jinja2 import Environment
from jinja2.ext import babel_extract

from voltfleet.app.i18n import LOCALE_DIR

APP = Path(__file__).parent
TEMPLATES = APP / "templates"
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "N_": None,
    "gettext_noop": None,
}
# In app/ (not the ORM's sa.Column): a table's column title is its CSV header and page heading,
# translated when shown (app/tables.py), so a literal title is a text to translate.
APP_KEYWORDS = {**KEYWORDS, "Column": (1,)}
_HOLE = "\x00"
# Words shown as they are in every language: the product, protocols, units, symbols.
_AS_THEY_ARE = (
    "voltfleet API CSV JSON OCPP MQTT Modbus SunSpec OAuth HTTP HTTPS URL ID UTC IANA "
    "kW kWh kWp MW MWh Wh Hz VA var kvar EUR SoC PV EV ESS RFID TLS SSE DSP LCD ARM "
    "SHA Ed25519 DE htmx English Deutsch"
)
UNTRANSLATED_WORDS = frozenset(_AS_THEY_ARE.split())
_WORD = re.compile(r"[^\W\d_]{2,}")
_VISIBLE_ATTRS = {"title", "placeholder", "aria-label", "alt", "label"}


@dataclass(frozen=True)
class BareText:
    template: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.template}:{self.line}: {self.text!r}"


def _environment() -> Environment:
    return Environment(extensions=["jinja2.ext.i18n"])


def _stream(source: str) -> list[tuple[int, str]]:
    """The template's data with each expression, tag and trans block replaced by a hole."""
    env = _environment()
    parts: list[tuple[int, str]] = []
    in_trans = False
    block: list[str] = []
    in_block = False
    for line, kind, value in env.lex(source):
        if kind == "block_begin":
            in_block, block = True, []
            continue
        if kind == "block_end":
            in_block = False
            name = block[0] if block else ""
            if name in ("trans", "pluralize"):
                in_trans = True
            elif name == "endtrans":
                in_trans = False
            parts.append((line, _HOLE))
            continue
        if in_block:
            if kind == "name":
                block.append(value)
            continue
        if kind == "data" and not in_trans:
            parts.append((line, value))
        elif kind in ("variable_end", "comment_end") or (kind == "data" and in_trans):
            parts.append((line, _HOLE))
    return parts


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._skip = 0
        self.base_line = 0

    def _keep(self, text: str) -> None:
        words = [w for w in _WORD.findall(text.replace(_HOLE, " ")) if w not in UNTRANSLATED_WORDS]
        if words:
            self.found.append((self.getpos()[0], " ".join(text.replace(_HOLE, "…").split())))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        values = dict(attrs)
        for name, value in attrs:
            if not value:
                continue
            # an input button shows its value; a <button>'s value is only sent, never shown
            shown_value = tag == "input" and values.get("type") in ("submit", "button", "reset")
            if name in _VISIBLE_ATTRS or (name == "value" and shown_value):
                self._keep(value)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._keep(data)


def bare_texts(path: Path) -> list[BareText]:
    """The texts of a template shown to people but not marked for translation."""
    source = path.read_text(encoding="utf-8")
    parts = _stream(source)
    # The HTML parser counts lines of what it is fed; feed the pieces joined with their own
    # newlines so its line numbers are the template's.
    joined = "".join(value for _, value in parts)
    collector = _Collector()
    collector.feed(joined)
    collector.close()
    name = str(path.relative_to(TEMPLATES)) if path.is_relative_to(TEMPLATES) else path.name
    return [BareText(name, line, text) for line, text in collector.found]


def templates() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


@dataclass(frozen=True)
class Message:
    msgid: str
    where: str


def _template_messages(path: Path) -> Iterator[Message]:
    with path.open("rb") as fh:
        for line, _func, message, _comments in babel_extract(
            fh, list(KEYWORDS), [], {"extensions": "jinja2.ext.i18n"}
        ):
            for msgid in message if isinstance(message, tuple) else (message,):
                if msgid:
                    yield Message(msgid, f"{path.relative_to(APP)}:{line}")


def _python_messages(path: Path) -> Iterator[Message]:
    keywords = APP_KEYWORDS if path.is_relative_to(APP) else KEYWORDS
    with path.open("rb") as fh:
        for line, func, message, _comments in extract_python(fh, keywords, [], {}):
            if isinstance(message, tuple) and func != "ngettext":
                message = message[0]  # a column's title; the other arguments are code
            for msgid in message if isinstance(message, tuple) else (message,):
                if isinstance(msgid, str) and msgid:
                    yield Message(msgid, f"{path.relative_to(APP.parent)}:{line}")


def messages() -> list[Message]:
    """Every marked text of the templates and of the Python code of the package."""
    found: list[Message] = []
    for path in templates():
        found.extend(_template_messages(path))
    for path in sorted(APP.parent.rglob("*.py")):
        if path.name == "i18n_catalogue.py":
            continue
        found.extend(_python_messages(path))
    return found


def translated(language: str) -> set[str]:
    """The msgids some ``.po`` file of ``language`` gives a (non-fuzzy) translation."""
    done: set[str] = set()
    for po in sorted((LOCALE_DIR / language / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=language)
        for message in catalog:
            if not message.id or message.fuzzy:
                continue
            ids = [str(i) for i in (message.id if isinstance(message.id, tuple) else (message.id,))]
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if all(strings):
                done.update(ids)
    return done


def untranslated(language: str) -> list[Message]:
    done = translated(language)
    return [m for m in messages() if m.msgid not in done]
