"""Company and user management, and the signed-in user's own configuration."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from voltfleet.app.deps import Caller, DbSession, RuntimeDep
from voltfleet.app.i18n import _
from voltfleet.app.me import service as me_service
from voltfleet.app.orgs import service as org_service
from voltfleet.app.orgs.pages import company_tree
from voltfleet.app.orgs.repository import OrgRepository
from voltfleet.app.orgs.schemas import OrgCreate
from voltfleet.app.pagination import PageParams, paginate
from voltfleet.app.portal.notices import ErrorArg, NoticeArg
from voltfleet.app.portal.render import attempt, first_error, render
from voltfleet.app.portal.session import check_csrf, require_caller
from voltfleet.app.regions import regions
from voltfleet.app.security import new_api_key
from voltfleet.app.users import service as user_service
from voltfleet.app.users.repository import UserRepository
from voltfleet.app.users.schemas import UserCreate, UserUpdate
from voltfleet.domain.access import Action, Kind, Role, may_act_on
from voltfleet.store.models import ApiKey, Org, User

router = APIRouter()
Csrf = Annotated[str, Form()]
# The roles as the manual names them (translated where shown).
ROLE_LABELS = {"admin": "Administrator", "om": "O&M engineer", "owner": "Owner"}


def _orgs_for_select(session: DbSession, caller: Caller) -> list[Org]:
    return list(session.scalars(OrgRepository(session, caller).query()).all())


@router.get("/account/companies", response_class=HTMLResponse)
def companies(
    request: Request,
    session: DbSession,
    q: str = "",
    page: int = 1,
    error: ErrorArg = None,
    notice: NoticeArg = None,
) -> HTMLResponse:
    caller = require_caller(request, session)
    if not caller.can(Kind.ORG, Action.LIST):
        return render(request, "portal/denied.html", caller, status_code=403)
    stmt = OrgRepository(session, caller).query(q=q or None)
    rows, total = paginate(session, stmt, PageParams(page=max(page, 1), page_size=25))
    parents = _orgs_for_select(session, caller)
    return render(
        request,
        "portal/companies.html",
        caller,
        orgs=rows,
        total=total,
        q=q,
        page=page,
        parents=parents,
        tree=company_tree(parents),
        regions=regions(),
        error=error,
        notice=notice,
        can_create=caller.can(Kind.ORG, Action.CREATE),
        can_delete=caller.can(Kind.ORG, Action.DELETE),
    )


@router.post("/account/companies", response_class=HTMLResponse)
def create_company(
    request: Request,
    session: DbSession,
    csrf: Csrf,
    name: Annotated[str, Form()],
    type: Annotated[str, Form()],
    parent_id: Annotated[str, Form()] = "",
    country: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    try:
        data = OrgCreate(
            name=name,
            type=type,
            parent_id=parent_id or None,  # type: ignore[arg-type]
            country=country.upper(),
            description=description,
        )
    except ValueError as exc:
        return companies(request, session, error=first_error(exc))
    org, error = attempt(session, lambda: org_service.create_org(session, caller, data))
    return companies(
        request,
        session,
        error=error,
        notice=_("Company '%(name)s' created.") % {"name": org.name} if org else None,
    )


@router.post("/account/companies/{org_id}/delete", response_class=HTMLResponse)
def delete_company(request: Request, session: DbSession, org_id: str, csrf: Csrf) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    _done, error = attempt(session, lambda: org_service.delete_org(session, caller, org_id))
    return companies(request, session, error=error, notice=None if error else _("Company deleted."))


@router.get("/account/users", response_class=HTMLResponse)
def users(
    request: Request,
    session: DbSession,
    q: str = "",
    role: str = "",
    page: int = 1,
    error: ErrorArg = None,
    notice: NoticeArg = None,
    org_id: str = "",
) -> HTMLResponse:
    caller = require_caller(request, session)
    if not caller.can(Kind.USER, Action.LIST):
        return RedirectResponse("/account/profile", 303)  # type: ignore[return-value]
    repo = UserRepository(session, caller)
    stmt = repo.query(q=q or None, role=role or None, org_id=org_id or None)
    rows, total = paginate(session, stmt, PageParams(page=max(page, 1), page_size=25))
    orgs = _orgs_for_select(session, caller)
    staff = repo.query().where(User.role.in_(("admin", "om"))).limit(200)
    return render(
        request,
        "portal/users.html",
        caller,
        users=rows,
        total=total,
        q=q,
        role=role,
        org_id=org_id,
        page=page,
        orgs=orgs,
        org_names={o.id: o.name for o in orgs},
        role_labels=ROLE_LABELS,
        supervisors=list(session.scalars(staff)),
        error=error,
        notice=notice,
        can_create=caller.can(Kind.USER, Action.CREATE),
        can_role=caller.can(Kind.USER, Action.CHANGE_ROLE),
        can_reset=caller.can(Kind.USER, Action.RESET_PASSWORD),
        can_update=caller.can(Kind.USER, Action.UPDATE),
        can_delete=caller.can(Kind.USER, Action.DELETE),
        actable={
            u.id
            for u in rows
            if u.id != caller.user.id
            and may_act_on(
                caller.role,
                Role(u.role),
                superuser=caller.superuser,
                target_superuser=u.is_superuser,
            )
        },
    )


@router.post("/account/users", response_class=HTMLResponse)
def create_user(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    csrf: Csrf,
    email: Annotated[str, Form()],
    username: Annotated[str, Form()],
    role: Annotated[str, Form()],
    password: Annotated[str, Form()] = "",
    password_mode: Annotated[str, Form()] = "",
    org_id: Annotated[str, Form()] = "",
    country: Annotated[str, Form()] = "",
    supervisor_id: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
) -> Response:
    """A typed password is the user's; without one the system generates and mails one."""
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    if password_mode == "custom" and not password:
        return users(
            request, session, error=_("Type the password, or let the system generate one.")
        )
    try:
        data = UserCreate(
            email=email,
            username=username,
            password=password or None,
            role=role,  # type: ignore[arg-type]
            org_id=org_id or None,
            country=country.upper(),
            supervisor_id=supervisor_id or None,
            description=description.strip(),
        )
    except ValueError as exc:
        return users(request, session, error=first_error(exc))
    user, error = attempt(session, lambda: user_service.create_user(session, runtime, caller, data))
    notice = None
    if user is not None:
        notice = (
            _("User %(email)s created.") % {"email": user.email}
            if password
            else _("User %(email)s created: a temporary password was mailed to them.")
            % {"email": user.email}
        )
    return users(request, session, error=error, notice=notice)


@router.post("/account/users/{user_id}/role", response_class=HTMLResponse)
def change_role(
    request: Request, session: DbSession, user_id: str, csrf: Csrf, role: Annotated[str, Form()]
) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    try:
        data = UserUpdate(role=role)  # type: ignore[arg-type]
    except ValueError as exc:
        return users(request, session, error=first_error(exc))
    user, error = attempt(session, lambda: user_service.update_user(session, caller, user_id, data))
    notice = None
    if user is not None:
        label = _(ROLE_LABELS[user.role])
        notice = _("%(email)s is now %(role)s.") % {"email": user.email, "role": label}
    return users(request, session, error=error, notice=notice)


@router.get("/account/users/{user_id}/reset-password", response_class=HTMLResponse)
def confirm_reset(request: Request, session: DbSession, user_id: str) -> Response:
    """Resetting a password asks first: the user's current password stops working."""
    caller = require_caller(request, session)
    user, error = attempt(session, lambda: UserRepository(session, caller).get(user_id))
    if user is None:
        return users(request, session, error=error)
    return render(request, "portal/reset_confirm.html", caller, user=user)


@router.post("/account/users/{user_id}/reset-password", response_class=HTMLResponse)
def reset_password(
    request: Request, session: DbSession, runtime: RuntimeDep, user_id: str, csrf: Csrf
) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    _done, error = attempt(
        session,
        lambda: user_service.reset_password(session, runtime, caller, user_id),
    )
    return users(
        request,
        session,
        error=error,
        notice=None if error else _("A temporary password was mailed to the user."),
    )


@router.post("/account/users/{user_id}/delete", response_class=HTMLResponse)
def delete_user(request: Request, session: DbSession, user_id: str, csrf: Csrf) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    _done, error = attempt(session, lambda: user_service.delete_user(session, caller, user_id))
    return users(request, session, error=error, notice=None if error else _("User deleted."))


@router.get("/account/profile", response_class=HTMLResponse)
def profile(
    request: Request,
    session: DbSession,
    error: ErrorArg = None,
    notice: NoticeArg = None,
    new_key: str | None = None,
    email_step: str = "",
) -> HTMLResponse:
    caller = require_caller(request, session)
    keys = session.scalars(select(ApiKey).where(ApiKey.user_id == caller.user.id)).all()
    return render(
        request,
        "portal/profile.html",
        caller,
        error=error,
        notice=notice,
        keys=keys,
        new_key=new_key,
        email_step=email_step,  # the change of email: "", "old" (code sent), "new"
    )


@router.post("/account/profile", response_class=HTMLResponse)
def update_profile(
    request: Request,
    session: DbSession,
    csrf: Csrf,
    username: Annotated[str, Form()],
    currency: Annotated[str, Form()],
) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    currency = currency.strip().upper()
    if not username.strip() or len(currency) != 3 or not currency.isalpha():
        return profile(
            request,
            session,
            error=_("Give a username and a three-letter currency code such as EUR."),
        )
    caller.user.username = username.strip()
    caller.user.currency = currency
    return profile(request, session, notice=_("Profile saved."))


@router.post("/account/profile/password", response_class=HTMLResponse)
def change_password(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    csrf: Csrf,
    current_password: Annotated[str, Form()],
    new_password: Annotated[str, Form()],
) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    _done, error = attempt(
        session,
        lambda: me_service.change_password(
            session, runtime, caller, current_password, new_password
        ),
    )
    if error:
        return profile(request, session, error=error)
    from voltfleet.app.portal.session import sign_in

    return sign_in(request, caller.user, "/account/profile")


@router.get("/account/password", response_class=HTMLResponse)
def password_page(request: Request, session: DbSession, error: ErrorArg = None) -> HTMLResponse:
    """Choose a new password; where a user whose password was reset is sent before anything."""
    caller = require_caller(request, session, reset_pending=True)
    return render(request, "portal/change_password.html", caller, error=error)


@router.post("/account/password", response_class=HTMLResponse)
def password_change(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    csrf: Csrf,
    current_password: Annotated[str, Form()],
    new_password: Annotated[str, Form()],
) -> Response:
    caller = require_caller(request, session, reset_pending=True)
    check_csrf(request, csrf)
    _done, error = attempt(
        session,
        lambda: me_service.change_password(
            session, runtime, caller, current_password, new_password
        ),
    )
    if error:
        return password_page(request, session, error=error)
    from voltfleet.app.portal.session import sign_in

    return sign_in(request, caller.user, "/home")


@router.post("/account/profile/avatar", response_class=HTMLResponse)
def upload_avatar(request: Request, session: DbSession, csrf: Csrf, file: UploadFile) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    data = file.file.read(me_service.AVATAR_MAX_BYTES + 1)
    if file.content_type not in me_service.AVATAR_TYPES or len(data) > me_service.AVATAR_MAX_BYTES:
        return profile(
            request,
            session,
            error=_("The avatar must be a PNG, JPEG, WebP or GIF image of at most 1 MB."),
        )
    caller.user.avatar = data
    caller.user.avatar_type = file.content_type or ""
    return profile(request, session, notice=_("Avatar saved."))


@router.get("/account/avatar/{user_id}")
def avatar(request: Request, session: DbSession, user_id: str) -> Response:
    caller = require_caller(request, session)
    user, _error = attempt(session, lambda: UserRepository(session, caller).get(user_id))
    if user is None or not user.avatar_type:
        return Response(status_code=404)
    return Response(user.avatar or b"", media_type=user.avatar_type)


@router.post("/account/profile/api-keys", response_class=HTMLResponse)
def create_api_key(
    request: Request, session: DbSession, csrf: Csrf, name: Annotated[str, Form()]
) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    key, prefix, digest = new_api_key()
    session.add(
        ApiKey(user_id=caller.user.id, name=name.strip() or "key", prefix=prefix, key_hash=digest)
    )
    session.flush()
    return profile(request, session, new_key=key, notice=_("API key created: copy it now."))
