"""A table served as an HTML fragment or as a CSV download, and the product's one CSV writer.

A ``Table`` is columns (a title, how to get the cell's value from a row, how a page shows it) and
rows. The same table answers a page (``html()``) and a download (``download(filename)``), so a
list and its CSV cannot drift apart.

Every CSV the product writes goes through ``csv_text`` (``Table.csv`` uses it), which neutralises
formula cells (CSV injection, OWASP's rule): a cell that begins with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return (also a line feed, and the full-width forms of the four signs, U+FF1D,
U+FF0B, U+FF0D, U+FF20, which some spreadsheets read as the ASCII ones) is written with a single
quote in front, so a spreadsheet shows it as text instead of running it. A plain decimal number
(``-12.5``, ``+3``, ``1e-3``) is left as it is: a spreadsheet reads it as a number and cannot
run it, so the platform's negative figures (a grid export, a loss) stay numbers. Anything else,
such as ``-inf`` or ``-1+1``, counts as text.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import Query
from fastapi.responses import Response
from markupsafe import Markup

from voltfleet.app.i18n import gettext
from voltfleet.app.i18n import gettext_noop as N_

R = TypeVar("R")

FORMULA_START = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
CSV_TYPE = "text/csv; charset=utf-8"

# The ``?format=`` of a list the API also serves as a download.
Format = Annotated[Literal["json", "csv"], Query(description="csv: a download")]


def text_of(value: object) -> str:
    """A value as a cell's text: nothing for None, ISO 8601 for instants and dates."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def csv_cell(value: object) -> str:
    """A cell's text as the CSV holds it: a formula-looking text gets a leading single quote."""
    text = text_of(value)
    if text[:1] in FORMULA_START and not NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_text(header: Sequence[object], rows: Iterable[Sequence[object]]) -> str:
    """A header and rows as CSV text (RFC 4180: comma, CRLF line ends, minimal quoting).

    CRLF line ends also make the writer quote a cell holding a lone carriage return, which with
    ``\\n`` line ends it would write bare, so a device's ``x\\r=1+2`` would start a row of its own.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_cell(c) for c in header])
    for row in rows:
        writer.writerow([csv_cell(c) for c in row])
    return out.getvalue()


def zoned(title: str, zone: str) -> str:
    """The CSV title of a column of instants, naming the zone they are written in, in the
    reader's language: "start_time (UTC)", "Beginn (Europe/Berlin)"."""
    return f"{gettext(title)} ({zone})"


def csv_download(text: str, filename: str) -> Response:
    """CSV text (from ``csv_text`` or a ``Table``) as a download named ``filename``."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", filename) or "download.csv"
    return Response(
        text,
        media_type=CSV_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{safe}"'},
    )


def _attrs(attrs: Mapping[str, str]) -> Markup:
    return Markup("").join(Markup(' {}="{}"').format(k, v) for k, v in attrs.items())


def _head_attrs(column: Column[Any]) -> dict[str, str]:
    attrs = {"class": "num"} if column.num else {}
    if column.key:
        attrs["data-col"] = column.key
    return attrs


@dataclass(frozen=True)
class Column(Generic[R]):
    """One column of a table.

    ``title`` is the CSV header; ``value`` gives the row's cell; ``text`` turns it into the CSV
    cell (say, three decimals); a page shows it under ``heading`` (default: the title) as
    ``show`` makes it (default: as the CSV has it), right-aligned when ``num``, with the classes
    ``css`` gives for the value (say ``neg`` below zero). ``page=False`` keeps a column out of
    the page (a start and end time a page shows elsewhere). ``key`` names the column in the
    page (``data-col`` on its heading and cells) for a column chooser (static/js/columns.js)."""

    title: str
    value: Callable[[R], Any]
    text: Callable[[Any], object] = text_of
    heading: str | None = None
    show: Callable[[Any], str] | None = None
    num: bool = False
    css: Callable[[Any], str] | None = None
    page: bool = True
    key: str = ""

    def csv_value(self, row: R) -> object:
        return self.text(self.value(row))

    def cell(self, row: R) -> Markup:
        value = self.value(row)
        shown = self.show(value) if self.show else text_of(self.text(value))
        classes = " ".join(
            c for c in ("num" if self.num else "", self.css and self.css(value)) if c
        )
        attrs = {"class": classes} if classes else {}
        if self.key:
            attrs["data-col"] = self.key
        return Markup("<td{}>{}</td>").format(_attrs(attrs), shown)


@dataclass(frozen=True)
class Table(Generic[R]):
    """Rows under columns, and ``footer`` rows after them (a total: last in the CSV, in the
    page's ``<tfoot>``). ``row_attrs`` gives a page row's attributes (``data-*``, class, id)."""

    columns: Sequence[Column[R]]
    rows: Sequence[R]
    footer: Sequence[R] = ()
    row_attrs: Callable[[R], Mapping[str, str]] | None = None

    def header(self) -> list[str]:
        """The CSV header in the request's language (app/i18n.py; English is the titles)."""
        return [gettext(c.title) for c in self.columns]

    def values(self) -> Iterable[list[object]]:
        for row in (*self.rows, *self.footer):
            yield [c.csv_value(row) for c in self.columns]

    def csv(self) -> str:
        return csv_text(self.header(), self.values())

    def download(self, filename: str) -> Response:
        return csv_download(self.csv(), filename)

    def html(self, id: str = "", empty: str = N_("Nothing to show."), cls: str = "") -> Markup:
        """An HTML ``<table>`` (every cell escaped; ``cls`` its class), or a line saying it is
        empty."""
        if not self.rows and not self.footer:
            return Markup('<p class="empty">{}</p>').format(gettext(empty))
        shown = [c for c in self.columns if c.page]
        head = Markup("").join(
            Markup("<th{}>{}</th>").format(
                _attrs(
                    {
                        **({"class": "num"} if c.num else {}),
                        **({"data-col": c.key} if c.key else {}),
                    }
                ),
                gettext(c.heading or c.title),
            )
            for c in shown
        )

        def tr(row: R) -> Markup:
            attrs = _attrs(self.row_attrs(row)) if self.row_attrs else ""
            return Markup("<tr{}>{}</tr>\n").format(
                attrs, Markup("").join(c.cell(row) for c in shown)
            )

        body = Markup("").join(tr(r) for r in self.rows)
        foot = Markup("").join(tr(r) for r in self.footer)
        return Markup(
            "<table{}>\n<thead><tr>{}</tr></thead>\n<tbody>\n{}</tbody>\n{}</table>"
        ).format(
            _attrs({**({"id": id} if id else {}), **({"class": cls} if cls else {})}),
            head,
            body,
            Markup("<tfoot>\n{}</tfoot>\n").format(foot) if self.footer else "",
        )
