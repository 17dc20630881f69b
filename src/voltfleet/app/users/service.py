"""User changes by administrators and O&M engineers. Never commits."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from voltfleet.app import audit
from voltfleet.app.deps import Caller
from voltfleet.app.orgs.repository import OrgRepository
from voltfleet.app.runtime import Runtime
from voltfleet.app.security import new_temporary_password
from voltfleet.app.users.repository import UserRepository, owns_sites, user_by_email
from voltfleet.app.users.schemas import PasswordReset, UserCreate, UserUpdate
from voltfleet.domain.access import Action, Kind
from voltfleet.domain.passwords import password_problems
from voltfleet.store.db import utcnow
from voltfleet.store.models import Site, User
from voltfleet.usecases.errors import Conflict, Forbidden, Rejected


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


def _guard_superuser(caller: Caller, user: User) -> None:
    if user.is_superuser and not caller.superuser:
        raise Forbidden("only a superuser may change a superuser account")


def create_user(session: Session, runtime: Runtime, caller: Caller, data: UserCreate) -> User:
    org = OrgRepository(session, caller).get(data.org_id) if data.org_id else caller.org
    caller.require(Kind.USER, Action.CREATE)
    user = new_user(
        session,
        runtime,
        email=data.email,
        username=data.username,
        password=data.password,
        org_id=org.id,
        role=data.role,
        country=data.country,
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
    _guard_superuser(caller, user)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "role" in changes and changes["role"] != user.role:
        caller.require(Kind.USER, Action.CHANGE_ROLE)
        if user.id == caller.user.id:
            raise Forbidden("you cannot change your own role; ask another administrator")
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
    _guard_superuser(caller, user)
    if user.id == caller.user.id:
        raise Forbidden("use 'deregister account' (DELETE /api/v1/me) to delete your own account")
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


def reset_password(
    session: Session, runtime: Runtime, caller: Caller, user_id: str, data: PasswordReset
) -> bool:
    """Set a user's password; returns True when a temporary password was generated and mailed."""
    user = UserRepository(session, caller).get(user_id)
    caller.require(Kind.USER, Action.RESET_PASSWORD)
    _guard_superuser(caller, user)
    mailed = data.new_password is None
    password = data.new_password or new_temporary_password()
    check_password(password, "new_password")
    user.password_hash = runtime.security.hash_password(password)
    user.password_changed_at = utcnow()
    if mailed:
        runtime.mailer.send(
            session,
            user.email,
            "Your voltfleet password was reset",
            f"Hello {user.username},\n\n{caller.user.username} reset your password.\n"
            f"Your temporary password is: {password}\n\nPlease change it after signing in.",
        )
    audit.record(
        session,
        actor=caller.user,
        action="user.reset_password",
        object_type="user",
        object_id=user.id,
        org_id=user.org_id,
        address=caller.address,
        detail={"mailed": mailed},
    )
    return mailed
