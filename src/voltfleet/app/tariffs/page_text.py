"""What the money pages share: a site's local dates, and numbers, prices and money as the pages
show them and read them back (a decimal comma accepted)."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal

from voltfleet.app import formatting
from voltfleet.domain.tariffs.local_time import local_midnight_us
from voltfleet.domain.tariffs.series import from_us
from voltfleet.store.models import Site


def site_today(site: Site, now: datetime) -> date:
    """The site's local date at the instant ``now``."""
    return now.astimezone(ZoneInfo(site.timezone)).date()


def site_midnight(site: Site, day: date) -> datetime:
    """The first instant of a local date of the site (DST-safe), in UTC."""
    return from_us(local_midnight_us(ZoneInfo(site.timezone), day))


def num_text(value: float | None) -> str:
    """A number as a form field shows it (no float noise, no exponent for prices)."""
    if value is None:
        return ""
    text = f"{value:.10f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def clock_text(value: time) -> str:
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")


def decimal_text(text: str) -> str:
    """Accept a decimal comma (0,32) as people in most of Europe write it."""
    return text.strip().replace(",", ".")


def script_json(data: Any) -> str:
    """JSON to put inside a <script> element (no "</script>" can end it early)."""
    return json.dumps(data).replace("<", "\\u003c")


def money(value: float | None, digits: int = 2) -> str:
    """An amount on a page, with the reader's decimal and grouping marks (a CSV keeps its own)."""
    return "" if value is None else formatting.number(value, digits)


def price_text(value: float) -> str:
    """A price per kWh as a page shows it: at least two decimals, at most five, with the reader's
    decimal and grouping marks ("0,36875" in German)."""
    return format_decimal(value, format="#,##0.00###", locale=formatting.number_locale())
