"""The one CSV writer neutralises formula cells (OWASP CSV injection) and keeps numbers numbers;
a table gives the same rows as HTML and as CSV."""

from __future__ import annotations

import csv
import io
import math
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from voltfleet.app.tables import NUMBER, Column, Table, csv_cell, csv_download, csv_text

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

cell_values = st.one_of(
    st.none(),
    st.text(),
    st.text(alphabet="=+-@\t\r\n'\",;0123456789.eE "),
    st.sampled_from(["=1+2", "+1", "-12.5", "@SUM(1)", "\t=1", "\r=1", "-inf", "'=x", "\uff11"]),
    st.integers(),
    st.floats(),
)


def parsed(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


@given(st.lists(st.lists(cell_values, min_size=1, max_size=5), max_size=5))
def test_no_cell_begins_with_a_formula_character_unless_it_is_a_number(
    rows: list[list[object]],
) -> None:
    header = ["a"] * max((len(r) for r in rows), default=1)
    out = parsed(csv_text(header, rows))
    assert len(out) == 1 + len(rows)
    for written, given_row in zip(out[1:], rows, strict=True):
        assert len(written) == len(given_row)
        for cell, value in zip(written, given_row, strict=True):
            assert not cell.startswith(FORMULA_START) or NUMBER.fullmatch(cell), cell
            # Nothing is lost: the cell is the value, or the value after one single quote.
            text = "" if value is None else str(value)
            assert cell in (text, "'" + text)


@given(st.floats(allow_nan=False, allow_infinity=False) | st.integers())
def test_numbers_stay_numbers(value: float) -> None:
    assert csv_cell(value) == str(value)
    assert csv_cell(f"{value:.3f}" if isinstance(value, float) else str(value)) == (
        f"{value:.3f}" if isinstance(value, float) else str(value)
    )


def test_the_owasp_examples() -> None:
    assert csv_cell('=HYPERLINK("http://x","y")') == '\'=HYPERLINK("http://x","y")'
    assert csv_cell("@SUM(1)") == "'@SUM(1)"
    assert csv_cell("+1+cmd|' /C calc'!A0") == "'+1+cmd|' /C calc'!A0"
    assert csv_cell("-2+3") == "'-2+3"
    assert csv_cell("\t=1") == "'\t=1" and csv_cell("\r=1") == "'\r=1"
    assert csv_cell("\uff1d1+2") == "'\uff1d1+2"
    assert csv_cell(-math.inf) == "'-inf"
    assert csv_cell("-12.5") == "-12.5" and csv_cell(-12.5) == "-12.5" and csv_cell("+3") == "+3"
    # A carriage return inside a cell cannot start a row of its own.
    assert parsed(csv_text(["a"], [["x\r=1+2"], ["y\n@1"]])) == [["a"], ["x\r=1+2"], ["y\n@1"]]
    assert csv_cell("plain") == "plain" and csv_cell(None) == "" and csv_cell(7) == "7"
    assert csv_cell(datetime(2026, 1, 2, 3, 4, tzinfo=UTC)) == "2026-01-02T03:04:00+00:00"


def test_a_table_as_html_and_as_csv() -> None:
    Row = tuple[str, float]
    columns: list[Column[Row]] = [
        Column("device", lambda r: r[0], heading="Device"),
        Column(
            "power_w", lambda r: r[1], lambda v: f"{v:.1f}", show=lambda v: f"{v:.0f} W", num=True
        ),
        Column("note", lambda r: "csv only", page=False),
    ]
    table = Table(
        columns,
        [("GW-1", -200.0), ("=cmd", 3.5)],
        footer=[("total", -196.5)],
        row_attrs=lambda r: {"class": "total"} if r[0] == "total" else {"data-device": r[0]},
    )
    assert table.csv() == (
        "device,power_w,note\r\nGW-1,-200.0,csv only\r\n'=cmd,3.5,csv only\r\n"
        "total,-196.5,csv only\r\n"
    )
    html = str(table.html(id="t"))
    assert html.startswith('<table id="t">\n<thead><tr><th>Device</th><th class="num">power_w</th>')
    assert '<tr data-device="GW-1"><td>GW-1</td><td class="num">-200 W</td></tr>' in html
    assert "<td>=cmd</td>" in html and "csv only" not in html and "note" not in html
    assert '<tfoot>\n<tr class="total"><td>total</td><td class="num">-196 W</td></tr>' in html
    evil = Table([Column[str]("x", lambda r: r)], ["<script>"], row_attrs=lambda r: {"data-x": r})
    assert "<script>" not in str(evil.html()) and "&lt;script&gt;" in str(evil.html())
    assert str(Table([Column[str]("x", lambda r: r)], []).html(empty="None.")) == (
        '<p class="empty">None.</p>'
    )
    r = csv_download(table.csv(), 'a"b\r\n.csv')
    assert r.media_type.startswith("text/csv")
    assert r.headers["content-disposition"] == 'attachment; filename="a-b-.csv"'
