"""Portal routes: sign-in, registration, forgotten password, the outbox; and the feature pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from voltfleet.app.auth import service as auth
from voltfleet.app.auth.legal import legal_text
from voltfleet.app.auth.schemas import PasswordResetIn, Registration
from voltfleet.app.deps import DbSession, RuntimeDep, client_address
from voltfleet.app.i18n import _, current_language
from voltfleet.app.portal.render import attempt, error_page, first_error, render
from voltfleet.app.portal.session import (
    landing,
    portal_caller,
    require_caller,
    sign_in,
    sign_out,
)
from voltfleet.app.regions import regions
from voltfleet.store.models import OutboxMail
from voltfleet.usecases.errors import TooMany, Unauthenticated

router = APIRouter(include_in_schema=False)
OUTBOX_MODES = frozenset({"demo", "test"})


@router.get("/")
def root(request: Request, session: DbSession) -> Response:
    return RedirectResponse("/home" if portal_caller(request, session) else "/login", 303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    return render(request, "portal/login.html", error=None, email="")


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
) -> Response:
    try:
        user = await auth.sign_in(session, runtime, email, password, client_address(request))
    except (Unauthenticated, TooMany) as exc:
        return render(request, "portal/login.html", error=exc.message, email=email, status_code=401)
    return sign_in(request, user, landing(user))


@router.post("/logout")
def logout() -> Response:
    return sign_out()


@router.get("/register", response_class=HTMLResponse)
def register_page(request: Request) -> HTMLResponse:
    return render(
        request, "portal/register.html", error=None, notice=None, form={}, regions=regions()
    )


@router.get("/terms", response_class=HTMLResponse)
def terms(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """The terms of use (the operator's, from VOLTFLEET_LEGAL_DIR, or the shipped ones)."""
    text = legal_text(runtime.settings, "terms", current_language())
    return render(request, "portal/legal.html", text=text)


@router.get("/privacy", response_class=HTMLResponse)
def privacy(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    text = legal_text(runtime.settings, "privacy", current_language())
    return render(request, "portal/legal.html", text=text)


@router.post("/register/code", response_class=HTMLResponse)
def register_code(
    request: Request, session: DbSession, runtime: RuntimeDep, email: Annotated[str, Form()]
) -> HTMLResponse:
    """htmx: mail the verification code, answer with a one-line notice."""
    _done, error = attempt(
        session,
        lambda: auth.send_registration_code(session, runtime, email, client_address(request)),
    )
    # The same text whether or not the address has an account (that one gets a notice instead).
    text = error or f"A verification code was sent to {email}."
    return HTMLResponse(
        f'<p class="{"error" if error else "notice"}" id="code-notice">{_esc(text)}</p>'
    )


@router.post("/register", response_class=HTMLResponse)
def register(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    account_type: Annotated[str, Form()],
    email: Annotated[str, Form()],
    code: Annotated[str, Form()],
    password: Annotated[str, Form()],
    username: Annotated[str, Form()],
    access_code: Annotated[str, Form()],
    org_name: Annotated[str, Form()] = "",
    country: Annotated[str, Form()] = "",
    password_confirm: Annotated[str, Form()] = "",
    accept_terms: Annotated[str, Form()] = "",
) -> Response:
    form = dict(
        account_type=account_type,
        email=email,
        username=username,
        access_code=access_code,
        org_name=org_name,
        country=country.upper(),
    )
    try:
        data = Registration(
            code=code,
            password=password,
            org_name=org_name or None,
            # The portal always asks for both: the password twice, and the acceptance.
            password_confirm=password_confirm,
            accept_terms=accept_terms == "on",
            **{k: v for k, v in form.items() if k != "org_name"},
        )
    except ValueError as exc:
        return render(
            request,
            "portal/register.html",
            error=first_error(exc),
            notice=None,
            form=form,
            regions=regions(),
            status_code=422,
        )
    result, error = attempt(
        session, lambda: auth.register(session, runtime, data, client_address(request))
    )
    if result is None:
        return render(
            request,
            "portal/register.html",
            error=error,
            notice=None,
            form=form,
            regions=regions(),
            status_code=400,
        )
    return sign_in(request, result[0])


@router.get("/forgot", response_class=HTMLResponse)
def forgot_page(request: Request) -> HTMLResponse:
    return render(request, "portal/forgot.html", error=None, notice=None, email="")


@router.post("/forgot", response_class=HTMLResponse)
def forgot(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    email: Annotated[str, Form()],
    code: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
) -> Response:
    if not code:
        _done, error = attempt(session, lambda: auth.forgot_password(session, runtime, email))
        notice = None if error else f"If {email} has an account, a code was sent to it."
        return render(
            request,
            "portal/forgot.html",
            error=error,
            notice=notice,
            email=email,
            step="reset" if not error else "",
        )
    try:
        data = PasswordResetIn(email=email, code=code, new_password=new_password)
    except ValueError as exc:
        return render(
            request,
            "portal/forgot.html",
            error=first_error(exc),
            notice=None,
            email=email,
            step="reset",
            status_code=422,
        )
    _done, error = attempt(
        session, lambda: auth.reset_password(session, runtime, data, client_address(request))
    )
    if error:
        return render(
            request,
            "portal/forgot.html",
            error=error,
            notice=None,
            email=email,
            step="reset",
            status_code=400,
        )
    return render(
        request,
        "portal/login.html",
        error=None,
        email=email,
        notice=_("Password changed: sign in with the new password."),
    )


@router.get("/outbox", response_class=HTMLResponse)
def outbox(request: Request, session: DbSession, runtime: RuntimeDep) -> Response:
    """Mail the platform sent, for a signed-in superuser of a demo or test platform (there is no
    mail server there); elsewhere it does not exist (404): real mail goes out by SMTP."""
    if runtime.settings.mode not in OUTBOX_MODES:
        return error_page(request, 404, _("There is no mail outbox on this platform."))
    caller = require_caller(request, session)  # signed out: to the sign-in page and back
    if not caller.superuser:
        return error_page(request, 403, _("Only the platform's superuser reads the mail outbox."))
    mails = session.scalars(select(OutboxMail).order_by(OutboxMail.created_at.desc()).limit(100))
    return render(request, "portal/outbox.html", caller, mails=list(mails))


def _esc(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))
