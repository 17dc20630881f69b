"""The portal's doors to what a person does to their own account besides the profile form:
change the email address (a code to the current address, then one to the new address), and
deregister (with the password, after a confirmation page)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from voltfleet.app.deps import DbSession, RuntimeDep
from voltfleet.app.i18n import _
from voltfleet.app.me import service
from voltfleet.app.portal.render import attempt, render
from voltfleet.app.portal.session import check_csrf, require_caller, sign_out
from voltfleet.app.users.pages import profile

router = APIRouter()
Csrf = Annotated[str, Form()]


@router.post("/account/profile/email/start", response_class=HTMLResponse)
def email_start(request: Request, session: DbSession, runtime: RuntimeDep, csrf: Csrf) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    _done, error = attempt(session, lambda: service.start_email_change(session, runtime, caller))
    if error:
        return profile(request, session, error=error)
    notice = _("A code was sent to %(email)s.") % {"email": caller.user.email}
    return profile(request, session, notice=notice, email_step="old")


@router.post("/account/profile/email/new", response_class=HTMLResponse)
def email_new(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    csrf: Csrf,
    old_code: Annotated[str, Form()],
    new_email: Annotated[str, Form()],
) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    new_email = new_email.strip().lower()
    if "@" not in new_email or len(new_email) > 320:
        return profile(request, session, error=_("Give a valid email address."), email_step="old")
    _done, error = attempt(
        session,
        lambda: service.email_change_new(session, runtime, caller, old_code.strip(), new_email),
    )
    if error:
        return profile(request, session, error=error, email_step="old")
    notice = _("A code was sent to %(email)s: enter it to confirm the change.") % {
        "email": new_email
    }
    return profile(request, session, notice=notice, email_step="new")


@router.post("/account/profile/email/confirm", response_class=HTMLResponse)
def email_confirm(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    csrf: Csrf,
    code: Annotated[str, Form()],
) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    email, error = attempt(
        session, lambda: service.confirm_email_change(session, runtime, caller, code.strip())
    )
    if error:
        return profile(request, session, error=error, email_step="new")
    return profile(request, session, notice=_("Your email is now %(email)s.") % {"email": email})


@router.get("/account/deregister", response_class=HTMLResponse)
def deregister_page(request: Request, session: DbSession) -> HTMLResponse:
    caller = require_caller(request, session)
    return render(
        request,
        "portal/deregister.html",
        caller,
        assets=service.linked_assets(session, caller),
        error=None,
    )


@router.post("/account/deregister", response_class=HTMLResponse)
def deregister(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    csrf: Csrf,
    password: Annotated[str, Form()],
) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    _done, error = attempt(session, lambda: service.deregister(session, runtime, caller, password))
    if error:
        return render(
            request,
            "portal/deregister.html",
            caller,
            assets=service.linked_assets(session, caller),
            error=error,
            status_code=409 if "still has" in error else 403,
        )
    return sign_out()
