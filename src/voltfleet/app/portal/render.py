"""Rendering portal pages, and running a form's action with its error shown on the page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from voltfleet import __version__
from voltfleet.app import formatting, i18n
from voltfleet.app.charging.ocpp_words import action_word
from voltfleet.app.deps import Caller, get_runtime
from voltfleet.app.device_lists.tabs import device_tabs
from voltfleet.app.devices.subtype_words import subtype_word
from voltfleet.app.portal import notices, quantity_filters
from voltfleet.app.portal.chart_words import chart_words
from voltfleet.app.portal.session import csrf_for
from voltfleet.app.portal.state_words import battery_mode_word, site_type_word, state_word
from voltfleet.app.power.power_words import connector_word, mode_word
from voltfleet.app.refusals import for_person
from voltfleet.app.siteview.tabs import site_tabs
from voltfleet.domain.access import Action, Kind
from voltfleet.usecases.errors import AppError

templates = Jinja2Templates(directory=str(Path(__file__).parent.parent / "templates"))
templates.env.add_extension("jinja2.ext.i18n")
# ``_("...")`` and ``{% trans %}`` in templates look the language up per request (app/i18n.py).
templates.env.install_gettext_callables(  # type: ignore[attr-defined]
    i18n.gettext, i18n.ngettext, newstyle=True
)
templates.env.globals["site_tabs"] = site_tabs  # the site's function bar (_site_tabs.html)
templates.env.globals["device_tabs"] = device_tabs  # an inverter's bar (_device_tabs.html)
quantity_filters.install(templates.env)  # {{ w|power }}, {{ wh|energy }} ... (issue 19)
formatting.install(templates.env)  # site_time, user_time, local_date, number (app/formatting.py)
templates.env.globals["chart_words"] = chart_words  # the charts' legend words (base.html)
templates.env.filters["state_word"] = state_word  # a command's or campaign's state, translated
templates.env.globals["battery_mode_word"] = battery_mode_word  # charge, idle ... translated
templates.env.globals["site_type_word"] = site_type_word  # "Residential storage"
templates.env.globals["mode_word"] = mode_word  # a site's power-management mode, translated
templates.env.globals["connector_word"] = connector_word  # a connector's status, translated
templates.env.globals["subtype_word"] = subtype_word  # a device's variant ("hybrid"), translated
templates.env.globals["action_word"] = action_word  # an OCPP command's name, translated
N_ = i18n.gettext_noop
T = TypeVar("T")
# A role as people read it (the header, lists), translated where it is shown.
ROLE_NAMES = {"admin": N_("Administrator"), "om": N_("O&M engineer"), "owner": N_("Owner")}
templates.env.globals["role_name"] = lambda code: i18n.gettext(ROLE_NAMES.get(code, code))
_ALWAYS = (Kind.ORG, Action.READ)  # every signed-in user reads their own organisation

NAV = [
    (N_("Home"), "/home"),
    (N_("Site"), "/site"),
    (N_("Account"), "/account/users"),
    (N_("Upgrade"), "/upgrade"),
    (N_("Maintenance"), "/maintenance"),
]
# Shown to the staff and customers of a utility (a partner that offers virtual batteries).
UTILITY_NAV = [*NAV, (N_("Virtual batteries"), "/virtual-batteries")]
# A menu shown only to those who may use it (owners never see Upgrade).
NAV_NEEDS = {"/upgrade": (Kind.FIRMWARE, Action.LIST)}


def nav_for(caller: Caller | None) -> list[tuple[str, str]]:
    items = UTILITY_NAV if caller is not None and caller.org.type == "utility" else NAV
    if caller is None:
        return items
    if not caller.can(Kind.USER, Action.LIST):  # an owner's account is their configuration
        items = [(label, "/account/profile" if h == "/account/users" else h) for label, h in items]
    return [(label, href) for label, href in items if caller.can(*NAV_NEEDS.get(href, _ALWAYS))]


def render(
    request: Request,
    template: str,
    caller: Caller | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    runtime = get_runtime(request)
    # The language, zone and formats: the user's choice, else the browser's (Accept-Language).
    formatting.use_user(caller.user if caller else None, request.headers.get("accept-language"))
    formatting.use_site_zones(formatting.zone_lookup(getattr(request.state, "db_session", None)))
    context.update(
        request=request,
        me=caller,
        nav=[(i18n.gettext(label), href) for label, href in nav_for(caller)],
        csrf=csrf_for(request),
        version=__version__,
        demo=runtime.settings.mode == "demo",
        path=request.url.path,
    )
    response = templates.TemplateResponse(request, template, context, status_code=status_code)
    notices.forget(request, response)  # a flashed error is shown once
    return response


TITLES = {
    401: N_("Please sign in"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    409: N_("Not possible"),
    429: N_("Too many attempts"),
    503: N_("Temporarily unavailable"),
}


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """The page a person sees when a portal request fails (``app.errors.install`` gets it)."""
    formatting.use_user(None, request.headers.get("accept-language"))  # no caller known here
    title = i18n.gettext(TITLES.get(status, N_("Something went wrong")))
    return render(
        request, "portal/error.html", None, status_code=status, title=title, message=message
    )


def attempt(session: Session, action: Callable[[], T]) -> tuple[T | None, str | None]:
    """Run a service call; on a refusal roll back and return its message for the page, in the
    portal's words where the refusal has them (``refusals.for_person``: a button on the page,
    not an API path)."""
    try:
        return action(), None
    except AppError as exc:
        session.rollback()
        return None, for_person(exc)


def first_error(exc: ValueError) -> str:
    """The first problem of a pydantic validation error, as "field: message"."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        field = ".".join(str(x) for x in first.get("loc", ()))
        return f"{field}: {first.get('msg', '')}"
    return str(exc)
