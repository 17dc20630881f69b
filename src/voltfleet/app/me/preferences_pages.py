"""The portal form of a user's preferences: language, time zone, formats (issue 19).

The card sits on the profile page (``portal/_preferences.html``); the API equivalent is
``PATCH /api/v1/me`` with ``language``, ``timezone`` and ``formats``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from voltfleet.app.deps import DbSession
from voltfleet.app.formatting import FORMATS, use_user, valid_zone
from voltfleet.app.i18n import LANGUAGES, gettext
from voltfleet.app.portal.session import check_csrf, require_caller
from voltfleet.app.users.pages import profile

router = APIRouter()


@router.post("/account/profile/preferences", response_class=HTMLResponse)
def save_preferences(
    request: Request,
    session: DbSession,
    csrf: Annotated[str, Form()],
    language: Annotated[str, Form()] = "",
    timezone: Annotated[str, Form()] = "",
    formats: Annotated[str, Form()] = "",
) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    timezone = timezone.strip()
    if language and language not in LANGUAGES:
        return profile(request, session, error=gettext("Choose English or Deutsch."))
    if timezone and not valid_zone(timezone):
        return profile(
            request,
            session,
            error=gettext("Unknown time zone %(zone)s: choose one such as Europe/Berlin.")
            % {"zone": timezone},
        )
    if formats and formats not in FORMATS:
        return profile(request, session, error=gettext("Choose one of the formats offered."))
    caller.user.language = language
    caller.user.timezone = timezone
    caller.user.formats = formats
    session.flush()
    use_user(caller.user, request.headers.get("accept-language"))  # answer in the new language
    return profile(request, session, notice=gettext("Preferences saved."))
