"""User changes by administrators and O&M engineers. Never commits."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from voltfleet.app import audit
from voltfleet.app.deps import Caller
from voltfleet.app.i18n import _, speaking
from voltfleet.app.mail import link
from voltfleet.app.orgs.repository import OrgRepository
from voltfleet.app.refusals import OwnAccountDelete, OwnPasswordReset
from voltfleet.app.runtime import Runtime
from voltfleet.app.security import new_temporary_password
from voltfleet.app.users.repository import UserRepository, owns_sites, user_by_email
from voltfleet.app.users.schemas import UserCreate, UserUpdate
from voltfleet.domain.access import Action, Kind, Role, may_act_on, rank
from voltfleet.domain.passwords import password_problems
from voltfleet.store.models import Site, User
from voltfleet.usecases.errors import Conflict, Forbidden, Invalid, NotFound, Rejected


def check_password(password: str, field: str = "password") -> None:
    problems = password_problems(password)
    if problems:
        raise Rejected(
            f"{field}: " + "; ".join(problems),
            [{"field": field, "message": p} for p in problems],
            code="weak_password",
        )


def new_user(
    session: Session,
    runtime: Runtime,
    *,
    email: str,
    username: str,
    password: str,
    org_id: str,
    role: str,
    country: str = "",
) -> User:
    email = email.strip().lower()
    check_password(password)
    if user_by_email(session, email) is not None:
        raise Conflict(f"an account with the email {email} already exists")
    user = User(
        email=email,
        username=username,
        org_id=org_id,
        role=role,
        country=country,
        password_hash=runtime.security.hash_password(password),
    )
    session.add(user)
    session.flush()
    return user


def _guard_rank(caller: Caller, user: User) -> None:
    """Refuse acting on a user who ranks above the caller (see ``domain.access.may_act_on``)."""
    if user.is_superuser and not caller.superuser:
        raise Forbidden("only a superuser may change a superuser account")
    if not may_act_on(
        caller.role,
        Role(user.role),
        superuser=caller.superuser,
        target_superuser=user.is_superuser,
    ):
        raise Forbidden(
            f"your role ({caller.role.value}) may not act on a user of a higher role ({user.role})"
        )


def _guard_role_given(caller: Caller, role: str) -> None:
    """Nobody hands out a role above their own."""
    if rank(Role(role)) > rank(caller.role, superuser=caller.superuser):
        raise Forbidden(f"your role ({caller.role.value}) may not give the role {role}")


def _supervisor(session: Session, caller: Caller, supervisor_id: str | None) -> str | None:
    """A supervisor is a user the caller sees (so no other tenant's user is named)."""
    if not supervisor_id:
        return None
    try:
        return UserRepository(session, caller).get(supervisor_id).id
    except NotFound:
        raise Invalid(
            "supervisor_id: no such user",
            [{"field": "supervisor_id", "message": "no such user"}],
        ) from None


def create_user(session: Session, runtime: Runtime, caller: Caller, data: UserCreate) -> User:
    """Administrators and O&M engineers add users (never of a role above their own). Without a
    password the system generates a temporary one and mails it; the user must change it first."""
    org = OrgRepository(session, caller).get(data.org_id) if data.org_id else caller.org
    caller.require(Kind.USER, Action.CREATE)
    _guard_role_given(caller, data.role)
    generated = data.password is None
    password = new_temporary_password() if generated else str(data.password)
    user = new_user(
        session,
        runtime,
        email=data.email,
        username=data.username,
        password=password,
        org_id=org.id,
        role=data.role,
        country=data.country,
    )
    user.supervisor_id = _supervisor(session, caller, data.supervisor_id)
    user.description = data.description
    if generated:
        user.must_change_password = True
        runtime.mailer.send(
            session,
            user.email,
            _("Your voltfleet account"),
            _(
                "Hello %(name)s,\n\n%(by)s (%(org)s) created a voltfleet account for you.\n"
                "Your temporary password is: %(password)s\n\nSign in at %(url)s with this "
                "email address: you will be asked to choose a password of your own first."
            )
            % {
                "name": user.username,
                "by": caller.user.username,
                "org": org.name,
                "password": password,
                "url": link(runtime.settings, "/login"),
            },
        )
    audit.record(
        session,
        actor=caller.user,
        action="user.create",
        object_type="user",
        object_id=user.id,
        org_id=org.id,
        address=caller.address,
        detail={"email": user.email, "role": user.role},
    )
    return user


def update_user(session: Session, caller: Caller, user_id: str, data: UserUpdate) -> User:
    user = UserRepository(session, caller).get(user_id)
    caller.require(Kind.USER, Action.UPDATE)
    _guard_rank(caller, user)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "role" in changes:
        # Only administrators change roles: naming one at all takes the right (an O&M
        # engineer's edit of basic information never carries a role).
        caller.require(Kind.USER, Action.CHANGE_ROLE)
    if "role" in changes and changes["role"] != user.role:
        if user.id == caller.user.id:
            raise Forbidden("you cannot change your own role; ask another administrator")
        _guard_role_given(caller, changes["role"])
    if "supervisor_id" in data.model_fields_set:  # null clears it
        changes["supervisor_id"] = _supervisor(session, caller, data.supervisor_id)
        if changes["supervisor_id"] == user.id:
            raise Invalid("supervisor_id: a user cannot supervise themselves")
    for key, value in changes.items():
        setattr(user, key, value)
    audit.record(
        session,
        actor=caller.user,
        action="user.update",
        object_type="user",
        object_id=user.id,
        org_id=user.org_id,
        address=caller.address,
        detail=changes,
    )
    return user


def delete_user(session: Session, caller: Caller, user_id: str) -> None:
    user = UserRepository(session, caller).get(user_id)
    caller.require(Kind.USER, Action.DELETE)
    _guard_rank(caller, user)
    if user.id == caller.user.id:
        raise OwnAccountDelete(
            "use 'deregister account' (DELETE /api/v1/me) to delete your own account"
        )
    if owns_sites(session, user):
        raise Conflict(f"{user.email} still owns sites: distribute them to someone else first")
    audit.record(
        session,
        actor=caller.user,
        action="user.delete",
        object_type="user",
        object_id=user.id,
        org_id=user.org_id,
        address=caller.address,
        detail={"email": user.email},
    )
    session.execute(update(Site).where(Site.owner_id == user.id).values(owner_id=None))
    session.delete(user)


def reset_password(session: Session, runtime: Runtime, caller: Caller, user_id: str) -> None:
    """Reset another user's password: a temporary one is generated and mailed to the user, who
    must change it at the next sign-in. The caller never learns or chooses it, so a reset cannot
    take an account over; it is refused on oneself (use /me/password) and on a higher role."""
    user = UserRepository(session, caller).get(user_id)
    caller.require(Kind.USER, Action.RESET_PASSWORD)
    if user.id == caller.user.id:
        raise OwnPasswordReset(
            "you cannot reset your own password here: change it with your current password "
            "(POST /api/v1/me/password), or use 'forgot password' when signed out"
        )
    _guard_rank(caller, user)
    password = new_temporary_password()
    user.password_hash = runtime.security.hash_password(password)
    user.password_changed_at = runtime.clock.now()  # signs the user out everywhere
    user.must_change_password = True
    with speaking(user.language):  # the mail in the recipient's language
        runtime.mailer.send(
            session,
            user.email,
            _("Your voltfleet password was reset"),
            _(
                "Hello %(name)s,\n\n%(by)s (%(by_email)s) reset your password.\nYour temporary "
                "password is: %(password)s\n\nSign in with it at %(url)s: you will be asked to "
                "choose a new password before anything else. If you did not expect this, tell "
                "your administrator."
            )
            % {
                "name": user.username,
                "by": caller.user.username,
                "by_email": caller.user.email,
                "password": password,
                "url": link(runtime.settings, "/login"),
            },
        )
    audit.record(
        session,
        actor=caller.user,
        action="user.reset_password",
        object_type="user",
        object_id=user.id,
        org_id=user.org_id,
        address=caller.address,
        detail={"mailed": True, "email": user.email},
    )
