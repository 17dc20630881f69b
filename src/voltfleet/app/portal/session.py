"""Portal sign-in: a signed session cookie, and a CSRF token bound to it for every form."""

from __future__ import annotations

import hmac

from fastapi import Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from voltfleet.app import formatting
from voltfleet.app.deps import Caller, client_address, get_runtime, request_now, user_from_token
from voltfleet.store.models import Org, User
from voltfleet.usecases.errors import Forbidden

COOKIE = "vf_session"


def portal_caller(request: Request, session: Session) -> Caller | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    user = user_from_token(session, get_runtime(request), token, request_now(request))
    if user is None:
        return None
    # The page's messages are written in the user's language from here on (app/formatting.py).
    formatting.use_user(user, request.headers.get("accept-language"))
    org = session.get(Org, user.org_id)
    assert org is not None
    return Caller(user=user, org=org, address=client_address(request))


def csrf_for(request: Request) -> str:
    token = request.cookies.get(COOKIE, "")
    return get_runtime(request).security.csrf_token(token) if token else ""


def check_csrf(request: Request, submitted: str | None) -> None:
    expected = csrf_for(request)
    given = submitted or request.headers.get("x-csrf-token", "")
    if not expected or not hmac.compare_digest(expected, given):
        raise Forbidden("the form expired: reload the page and try again", code="csrf")


def sign_in(request: Request, user: User, to: str = "/home") -> RedirectResponse:
    runtime = get_runtime(request)
    token = runtime.security.issue_token(
        user.id, user.password_changed_at, now=request_now(request), kind="session"
    )
    response = RedirectResponse(to, status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=runtime.settings.session_cookie_secure,
        max_age=runtime.settings.access_token_minutes * 60,
    )
    return response


def sign_out() -> RedirectResponse:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


class LoginRequired(Exception):
    """Raised by a portal page when nobody is signed in; answered with a redirect to /login."""


class PasswordChangeRequired(Exception):
    """Raised by a portal page when the signed-in user's password was reset by someone else;
    answered with a redirect to the change-password page."""


CHANGE_PASSWORD_PAGE = "/account/password"


def require_caller(request: Request, session: Session, *, reset_pending: bool = False) -> Caller:
    """The signed-in user; ``reset_pending``: also one who must change a reset password (only the
    change-password page accepts them)."""
    caller = portal_caller(request, session)
    if caller is None:
        raise LoginRequired()
    if caller.user.must_change_password and not reset_pending:
        raise PasswordChangeRequired()
    return caller


def landing(user: User, to: str = "/home") -> str:
    """Where a user goes after signing in."""
    return CHANGE_PASSWORD_PAGE if user.must_change_password else to
