"""What a portal page says after an action that redirected to it (issue 19, session 3).

A page used to print ``?notice=`` and ``?error=`` from its query string as they came, so anyone
could send a link to one of our pages that showed a message of their own making ("your account
is locked, call ..."). Now:

* a notice travels as a code from ``NOTICES`` (``?notice=site_created``), shown as our own
  message in the reader's language; an unknown code shows nothing (as the tariff and power
  pages' ``?done=`` codes always did);
* an error (a form's validation message, not a fixed set), or a notice that names what was
  done ("Map vx8.csv for VX-8: 2 registers"), travels in a short-lived cookie signed with the
  server's secret and bound to the reader's session, read once by the next page (``render``
  removes it); ``?error=`` or free text in ``?notice=`` shows nothing.

Page handlers take ``notice: NoticeArg = None`` and ``error: ErrorArg = None``: FastAPI fills
them from the code and the cookie, never from free text; a POST handler that renders the page
itself still passes its own message. Signed with the standard library's hmac (a few lines; the
session cookie is signed the same way, app/security), so no session store is needed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import escape

from voltfleet.app import i18n
from voltfleet.app.deps import get_runtime
from voltfleet.app.portal.session import COOKIE as SESSION_COOKIE

N_ = i18n.gettext_noop

NOTICES = {
    "site_created": N_("Site created"),
    "site_removed": N_("Site removed from your list"),
    "command_queued": N_("Command queued"),
    "sent_to_inverter": N_("Sent to the inverter; its answer appears below."),
    "sent_to_gateway": N_("Sent to the gateway; its answer appears below."),
    "autotest_sent": N_("The test was sent to the inverter; this page shows its progress."),
    "release_uploaded": N_("Release uploaded"),
    "deleted": N_("Deleted"),
    "site_deleted": N_("Site deleted"),
    "task_deleted": N_("Task deleted"),
}
FLASH_COOKIE = "vf_flash"
FLASH_SECONDS = 60
MAX_ERROR_CHARS = 600  # a cookie holds about 4 kB; a form's message is a sentence


class Message:
    """A notice translated when the page is written, in the reader's language (the user's own
    choice is known only once the page has found the caller)."""

    def __init__(self, msgid: str) -> None:
        self.msgid = msgid

    def __str__(self) -> str:
        return i18n.gettext(self.msgid)

    def __html__(self) -> str:
        return str(escape(str(self)))

    def __eq__(self, other: object) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(self.msgid)


def notice_of(code: str | None) -> Message | None:
    """The message of a notice code, or None for anything not in ``NOTICES``."""
    msgid = NOTICES.get(code or "")
    return Message(msgid) if msgid else None


def _signature(request: Request, text: str) -> str:
    key = get_runtime(request).settings.secret_key.encode()
    bound = f"{request.cookies.get(SESSION_COOKIE, '')}\n{text}".encode()
    return hmac.new(key, b"flash\n" + bound, hashlib.sha256).hexdigest()


def redirect(
    request: Request,
    url: str,
    *,
    notice: str | None = None,
    error: str | None = None,
    said: str | None = None,
) -> RedirectResponse:
    """303 to ``url``: ``notice`` (a code of ``NOTICES``) in its query; ``error`` or ``said`` (a
    notice's own text) in the signed flash cookie. An error wins over the notices."""
    if notice is not None and notice not in NOTICES:
        raise ValueError(f"unknown notice code {notice!r}")
    if notice and not error:
        url += ("&" if "?" in url else "?") + urlencode({"notice": notice})
    response = RedirectResponse(url, status_code=303)
    kind, text = ("error", error) if error else ("notice", said)
    if text:
        text = text[:MAX_ERROR_CHARS]
        payload = f"{kind}:{text}"
        value = base64.urlsafe_b64encode(payload.encode()).decode()
        response.set_cookie(
            FLASH_COOKIE,
            value + "." + _signature(request, payload),
            max_age=FLASH_SECONDS,
            httponly=True,
            samesite="lax",
            secure=get_runtime(request).settings.session_cookie_secure,
        )
    return response


def _flashed(request: Request, kind: str) -> str | None:
    """The ``kind`` ("error" or "notice") text the previous action left in the signed flash
    cookie, else None."""
    value = request.cookies.get(FLASH_COOKIE, "")
    encoded, _sep, signature = value.partition(".")
    if not encoded or not signature:
        return None
    try:
        payload = base64.urlsafe_b64decode(encoded.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    if not hmac.compare_digest(signature, _signature(request, payload)):
        return None
    found, _colon, text = payload.partition(":")
    return text if found == kind and text else None


def query_notice(request: Request) -> Message | str | None:
    """Dependency: the notice of the query's code (``?notice=``, never its text), or the one
    the previous action flashed."""
    return notice_of(request.query_params.get("notice")) or _flashed(request, "notice")


def flashed_error(request: Request) -> str | None:
    """Dependency: the error the previous action flashed, else None."""
    return _flashed(request, "error")


def forget(request: Request, response: Response) -> None:
    """Remove the flash cookie once a page has been written (``render`` calls this)."""
    if FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE)


NoticeArg = Annotated[Any, Depends(query_notice)]
ErrorArg = Annotated[Any, Depends(flashed_error)]
