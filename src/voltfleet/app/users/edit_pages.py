"""A user's basic information (name, country, supervisor, description), edited by administrators
and O&M engineers on a page of its own; the role stays on the list (administrators only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from voltfleet.app.deps import Caller, DbSession
from voltfleet.app.i18n import _
from voltfleet.app.portal.render import attempt, first_error, render
from voltfleet.app.portal.session import check_csrf, require_caller
from voltfleet.app.users import service
from voltfleet.app.users.repository import UserRepository
from voltfleet.app.users.schemas import UserUpdate
from voltfleet.domain.access import Action, Kind
from voltfleet.store.models import User

router = APIRouter()


def _page(
    request: Request,
    session: DbSession,
    caller: Caller,
    user: User,
    error: str | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    repo = UserRepository(session, caller)
    staff = repo.query().where(User.role.in_(("admin", "om")), User.id != user.id).limit(200)
    return render(
        request,
        "portal/user_edit.html",
        caller,
        user=user,
        supervisors=list(session.scalars(staff)),
        error=error,
        notice=notice,
    )


@router.get("/account/users/{user_id}/edit", response_class=HTMLResponse)
def edit_user(request: Request, session: DbSession, user_id: str) -> Response:
    caller = require_caller(request, session)
    if not caller.can(Kind.USER, Action.UPDATE):
        return render(request, "portal/denied.html", caller, status_code=403)
    return _page(request, session, caller, UserRepository(session, caller).get(user_id))


@router.post("/account/users/{user_id}/edit", response_class=HTMLResponse)
def save_user(
    request: Request,
    session: DbSession,
    user_id: str,
    csrf: Annotated[str, Form()],
    username: Annotated[str, Form()],
    country: Annotated[str, Form()] = "",
    supervisor_id: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    try:
        data = UserUpdate(
            username=username.strip(),
            country=country.strip().upper(),
            supervisor_id=supervisor_id or None,
            description=description.strip(),
        )
    except ValueError as exc:
        user = UserRepository(session, caller).get(user_id)
        return _page(request, session, caller, user, error=first_error(exc))
    saved, error = attempt(session, lambda: service.update_user(session, caller, user_id, data))
    user = saved or UserRepository(session, caller).get(user_id)
    return _page(request, session, caller, user, error=error, notice=None if error else _("Saved."))
