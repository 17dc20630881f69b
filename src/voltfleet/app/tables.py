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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Generic, Literal, TypeVar

from fastapi import Query
from fastapi.responses import Response
from markupsafe import Markup, escape

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


def csv_download(text: str, filename: str) -> Response:
    """CSV text (from ``csv_text`` or a ``Table``) as a download named ``filename``."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", filename) or "download.csv"
    return Response(
        text,
        media_type=CSV_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{safe}"'},
    )


@dataclass(frozen=True)
class Column(Generic[R]):
    """One column: its title (the CSV header and the page's heading), the cell's value for a row,
    and how a page shows that value (by default as the CSV writes it)."""

    title: str
    value: Callable[[R], object]
    show: Callable[[object], str] = text_of


@dataclass(frozen=True)
class Table(Generic[R]):
    columns: Sequence[Column[R]]
    rows: Sequence[R]

    def header(self) -> list[str]:
        return [c.title for c in self.columns]

    def values(self) -> Iterable[list[object]]:
        for row in self.rows:
            yield [c.value(row) for c in self.columns]

    def csv(self) -> str:
        return csv_text(self.header(), self.values())

    def download(self, filename: str) -> Response:
        return csv_download(self.csv(), filename)

    def html(self, id: str = "", empty: str = "Nothing to show.") -> Markup:
        """An HTML ``<table>`` fragment (every cell escaped), or a line saying it is empty."""
        if not self.rows:
            return Markup('<p class="empty">{}</p>').format(empty)
        head = "".join(f"<th>{escape(t)}</th>" for t in self.header())
        body = "".join(
            "<tr>"
            + "".join(
                f"<td>{escape(c.show(v))}</td>" for c, v in zip(self.columns, values, strict=True)
            )
            + "</tr>"
            for values in self.values()
        )
        attr = f' id="{escape(id)}"' if id else ""
        return Markup(f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
