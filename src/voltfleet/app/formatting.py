"""Times, dates and numbers as the person reading the page writes them (issue 19, "one clock").

One clock: an instant bound to a site (an alarm, a session, a command, "last seen", a plan, a
tariff version) is shown in the site's zone with its UTC offset (``site_time``); an instant on a
fleet-wide page in the reader's own zone from their profile (``user_time``). The order of day and
month and the 24- or 12-hour clock follow the reader's format locale (en-GB, en-US, de-DE), and so
do the decimal and grouping marks of numbers. Babel does the locale work (CLDR data); this module
only chooses the zone and locale and joins date, time and offset.

The preferences of the request being rendered live in a context variable set by the portal's
``render`` (like the language in app/i18n.py), so a template filter needs no argument for them.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import cache
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel.core import Locale
from babel.dates import format_date, format_datetime, get_time_format, match_skeleton
from babel.numbers import format_decimal
from sqlalchemy import select

from voltfleet.app import i18n
from voltfleet.store.models import Site

# The formats a person can choose, by the way they write (BCP 47 tag: name). "iso": ISO 8601
# order on a 24-hour clock, unambiguous across a fleet's countries (English's default). The menu
# shows each with an example the formatter itself writes (``format_example``), so it cannot
# promise "12/31/2026" where the pages write "3/5/2026".
FORMATS = {
    "iso": i18n.gettext_noop("ISO 8601"),
    "en-GB": i18n.gettext_noop("English, UK"),
    "en-US": i18n.gettext_noop("English, US"),
    "de-DE": i18n.gettext_noop("German"),
}
# The example's instant and figure: a day and month below ten, so a format that drops the
# leading zero ("3/5/2026") shows that it does; an afternoon, so a 12-hour clock shows itself.
SAMPLE_TIME = datetime(2026, 3, 5, 14, 5)
SAMPLE_NUMBER = 1234.5
# Without a choice, the formats follow the language.
DEFAULT_FORMATS = {"en": "iso", "de": "de-DE"}
DEFAULT_ZONE = "UTC"

Style = Literal["datetime", "seconds", "time", "time_seconds", "date", "month"]


@dataclass(frozen=True)
class Preferences:
    zone: str = DEFAULT_ZONE
    formats: str = "iso"

    @property
    def babel_locale(self) -> str:
        return "en_GB" if self.formats == "iso" else self.formats.replace("-", "_")

    def date_text(self, day: date) -> str:
        if self.formats == "iso":
            return day.isoformat()
        return format_date(day, _patterns(self.babel_locale)[0], locale=self.babel_locale)

    def month_text(self, day: date) -> str:
        """A month of a year ("2026-03", "03/2026", "03.2026")."""
        if self.formats == "iso":
            return f"{day.year:04d}-{day.month:02d}"
        return format_date(day, _month_pattern(self.babel_locale), locale=self.babel_locale)

    def clock_text(self, local: datetime, seconds: bool) -> str:
        if self.formats == "iso":
            return local.strftime("%H:%M:%S" if seconds else "%H:%M")
        pattern = _patterns(self.babel_locale)[2 if seconds else 1]
        return format_datetime(local, pattern, locale=self.babel_locale)


@cache
def _patterns(babel_locale: str) -> tuple[str, str, str]:
    """The locale's CLDR patterns of a numeric date with a 4-digit year, and of the short and
    medium time, looked up once (Babel's skeleton matching is slow when done per instant)."""
    locale = Locale.parse(babel_locale)
    skeletons = locale.datetime_skeletons
    day = skeletons[match_skeleton("yMMdd", skeletons) or "yMd"].pattern
    short = get_time_format("short", locale).pattern
    medium = get_time_format("medium", locale).pattern
    return day, short, medium


@cache
def _month_pattern(babel_locale: str) -> str:
    """The locale's CLDR pattern of a numeric month with a 4-digit year ("MM/y", "MM.y")."""
    skeletons = Locale.parse(babel_locale).datetime_skeletons
    return str(skeletons[match_skeleton("yMM", skeletons) or "yM"].pattern)


_DEFAULT = Preferences()
_current: ContextVar[Preferences | None] = ContextVar("voltfleet_formats", default=None)


def valid_zone(name: str) -> bool:
    """An IANA zone name this machine knows ("Europe/Berlin"); not "local", not a path."""
    return name in _zones()


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


def zone_names() -> list[str]:
    return sorted(_zones())


@cache
def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name) if name in _zones() else UTC
    except (ZoneInfoNotFoundError, ValueError):  # pragma: no cover - listed but unreadable
        return UTC


def parse_accept_language(header: str | None) -> list[str]:
    """The languages of an ``Accept-Language`` header, most wanted first ("de-DE" -> "de")."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        tag = tag.strip().lower()
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, index, tag.split("-")[0]))
    return [tag for _, _, tag in sorted(ranked)]


def choose_language(chosen: str | None, accept_language: str | None) -> str:
    """The user's choice, else the browser's first language we have, else English."""
    if chosen in i18n.LANGUAGES:
        return str(chosen)
    for tag in parse_accept_language(accept_language):
        if tag in i18n.LANGUAGES:
            return tag
    return i18n.DEFAULT_LANGUAGE


def use_preferences(
    language: str | None,
    accept_language: str | None = None,
    zone: str | None = None,
    formats: str | None = None,
) -> Preferences:
    """Set the language, zone and formats for what is rendered next in this context."""
    lang = choose_language(language, accept_language)
    i18n.use_language(lang)
    prefs = Preferences(
        zone=zone if zone and valid_zone(zone) else DEFAULT_ZONE,
        formats=formats if formats in FORMATS else DEFAULT_FORMATS.get(lang, "iso"),
    )
    _current.set(prefs)
    return prefs


def use_user(user: Any, accept_language: str | None = None) -> Preferences:
    """The preferences of a signed-in user (a ``store.models.User``), or the browser's."""
    return use_preferences(
        getattr(user, "language", None),
        accept_language,
        getattr(user, "timezone", None),
        getattr(user, "formats", None),
    )


def current() -> Preferences:
    return _current.get() or _DEFAULT


_lookup: ContextVar[Callable[[str], str] | None] = ContextVar("voltfleet_site_zones", default=None)


def use_site_zones(lookup: Callable[[str], str] | None) -> None:
    """How ``site_time`` finds the zone of a site it is given only the id of (set by ``render``)."""
    _lookup.set(lookup)


def _zone_of(site: Any) -> str:
    """The zone of a site given as a zone name, a site (``.timezone``), a dict, a row bound to a
    site (``.site_id``: an alarm, a command, a session) or a site's id."""
    if isinstance(site, dict):
        site = site.get("timezone") or site.get("site_id") or site.get("id") or ""
    if not isinstance(site, str):
        zone = getattr(site, "timezone", None)
        if isinstance(zone, str) and zone:
            return zone
        site = getattr(site, "site_id", None) or ""
    if not site or valid_zone(site):
        return site or DEFAULT_ZONE
    lookup = _lookup.get()
    return (lookup(site) if lookup else None) or DEFAULT_ZONE


def in_zone(instant: datetime, zone: str, style: Style = "datetime") -> str:
    """``instant`` on the clock of ``zone``, written as the current formats say."""
    if instant.tzinfo is None:  # stored instants are UTC (store.db.UTCDateTime)
        instant = instant.replace(tzinfo=UTC)
    local = instant.astimezone(_zone(zone))
    prefs = current()
    if style == "date":
        return prefs.date_text(local.date())
    if style == "month":
        return prefs.month_text(local.date())
    clock = prefs.clock_text(local, style in ("seconds", "time_seconds"))
    if style in ("time", "time_seconds"):
        return clock
    return f"{prefs.date_text(local.date())} {clock} {_offset(local)}"


def document_time(instant: datetime, zone: str, style: Style = "datetime") -> str:
    """An instant in ``zone`` with its offset for a document that has no reader (a PDF a job
    writes in English): ISO order on a 24-hour clock, whatever context the job runs in."""
    token = _current.set(Preferences(formats="iso"))
    try:
        return in_zone(instant, zone, style)
    finally:
        _current.reset(token)


def _offset(local: datetime) -> str:
    """The UTC offset as ISO 8601 writes it, "+01:00" (the same in every locale)."""
    minutes = int((local.utcoffset() or timedelta(0)).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def site_time(instant: datetime | str | None, site: Any, style: Style = "datetime") -> str:
    """An instant bound to a site, on the site's clock with its offset ("—" when there is none).
    An ISO 8601 text is read first (a register's read_at)."""
    if instant is None or instant == "":
        return "—"
    if isinstance(instant, str):
        try:
            return in_zone(datetime.fromisoformat(instant), _zone_of(site), style)
        except ValueError:
            return instant
    return in_zone(instant, _zone_of(site), style)


def user_time(instant: datetime | None, style: Style = "datetime") -> str:
    """An instant on a fleet-wide page, on the reader's clock with its offset."""
    if instant is None:
        return "—"
    return in_zone(instant, current().zone, style)


def local_date(day: date | None) -> str:
    """A calendar date (already local to whatever it belongs to) in the reader's order."""
    if day is None:
        return "—"
    return current().date_text(day)


def number_locale() -> str:
    """The locale whose decimal and grouping marks every number on a page uses: the reader's
    chosen formats (which follow the language unless chosen), or the language where nothing was
    set for this context (mail, a background render)."""
    prefs = _current.get()
    return prefs.babel_locale if prefs is not None else i18n.current_language()


def _rounds_to_zero(value: float | int | Decimal, decimals: int) -> bool:
    """Whether ``value`` shows as zero with ``decimals`` (rounded half to even, as Babel does)."""
    try:
        return Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_EVEN) == 0
    except InvalidOperation:  # NaN, infinity: shown as Babel writes them
        return False


def number(value: float | int | Decimal | None, decimals: int = 0, signed: bool = False) -> str:
    """A number with the reader's decimal and grouping marks, rounded to ``decimals``; with
    ``signed``, a plus sign before a positive one ("+1.234,5")."""
    if value is None:
        return "—"
    if _rounds_to_zero(value, decimals):
        value = 0  # -0.04 to one decimal is "0.0", not "-0.0"
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    if signed:
        pattern = f"+{pattern};-{pattern}"
    return format_decimal(value, format=pattern, locale=number_locale())


def decimal(value: float | int | Decimal | None, up_to: int = 6, grouping: bool = True) -> str:
    """A number with as many decimals as it has, at most ``up_to``, in the reader's marks: a
    VAT of 7.7 % is "7,7" for a German reader, 19 % "19" (Python's "%g" wrote "7.7" for all).
    ``grouping=False`` for a form field the reader sends back ("1234,5": the portal's forms
    read either decimal mark, tariffs.page_text.decimal_text, but no grouping mark)."""
    if value is None:
        return "—"
    pattern = ("#,##0" if grouping else "0") + ("." + "#" * up_to if up_to > 0 else "")
    return format_decimal(value or 0, format=pattern, locale=number_locale())  # no "-0"


def clock(value: time | datetime | str | None) -> str:
    """A time of day as it stands (a tariff slot's "13:00"; no zone to convert), on the reader's
    12- or 24-hour clock: "1:00 PM" for a US reader. Seconds only when there are some. A text
    "HH:MM" (a stored departure or peak-shaving time) is read first; other text stays as is."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = time.fromisoformat(value)
        except ValueError:
            return value
    wall = value if isinstance(value, datetime) else datetime.combine(date(2000, 1, 1), value)
    return current().clock_text(wall, seconds=bool(wall.second))


def format_example(formats: str) -> str:
    """What ``formats`` makes of the sample instant and figure, written by the same functions
    the pages use: "3/5/2026 2:05 PM · 1,234.5" for "en-US"."""
    token = _current.set(Preferences(zone=current().zone, formats=formats))
    try:
        shown = f"{local_date(SAMPLE_TIME.date())} {clock(SAMPLE_TIME)}"
        return f"{shown} · {number(SAMPLE_NUMBER, 1)}"
    finally:
        _current.reset(token)


def coordinates(latitude: float | None, longitude: float | None) -> str:
    """A place as "52.5200° N · 13.4050° E" ("52,5200° N · 13,4050° O" in German): the
    hemisphere letters instead of signs and a separator no decimal mark can be taken for."""
    if latitude is None or longitude is None:
        return "—"
    north = (
        i18n.gettext("%(degrees)s° N") if latitude >= 0 else i18n.gettext("%(degrees)s° S")
    ) % {"degrees": number(abs(latitude), 4)}
    east = (
        i18n.gettext("%(degrees)s° E") if longitude >= 0 else i18n.gettext("%(degrees)s° W")
    ) % {"degrees": number(abs(longitude), 4)}
    return f"{north} · {east}"


def zone_label(site_or_zone: Any = None) -> str:
    """The zone a column or axis is in: the site's, or the reader's when none is given."""
    return current().zone if site_or_zone is None else _zone_of(site_or_zone)


def time_column(site_or_zone: Any = None) -> str:
    """The header of a CSV or table column of times, saying the zone: "time (Europe/Berlin)"."""
    return i18n.gettext("time (%(zone)s)") % {"zone": zone_label(site_or_zone)}


def site_zone(session: Any, site_id: str) -> str:
    """The zone of a site by its id, for pages that hold a device or a plan rather than the site."""
    return session.scalar(select(Site.timezone).where(Site.id == site_id)) or DEFAULT_ZONE


class BrowserLanguage:
    """ASGI middleware: each request starts in the browser's language (Accept-Language), so text
    a handler writes before it knows the user (a registration code's mail, a form's error) is in
    it; the portal switches to a signed-in user's own choice (portal/session.py)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            accept = dict(scope.get("headers") or []).get(b"accept-language", b"")
            use_preferences(None, accept.decode("latin-1"))
        await self.app(scope, receive, send)


def zone_lookup(session: Any) -> Callable[[str], str] | None:
    """Site zones by id from the request's session, each asked once per page."""
    if session is None:
        return None
    return cache(lambda site_id: site_zone(session, site_id))


def install(env: Any) -> None:
    """Register the filters and globals on a Jinja environment (app/portal/render.py)."""
    env.filters.update(
        site_time=site_time,
        user_time=user_time,
        local_date=local_date,
        number=number,
        decimal=decimal,
        clock=clock,
    )
    env.globals.update(
        zone_label=zone_label,
        coordinates=coordinates,
        time_column=time_column,
        formats=current,
        format_choices=FORMATS,
        format_example=format_example,
        zone_names=zone_names,
        language=i18n.current_language,
    )
