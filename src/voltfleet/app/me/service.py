"""What a person does to their own account."""

from __future__ import annotations

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from voltfleet.app import audit
from voltfleet.app.auth import codes
from voltfleet.app.deps import Caller
from voltfleet.app.i18n import _
from voltfleet.app.runtime import Runtime
from voltfleet.app.users.repository import owns_sites, user_by_email
from voltfleet.app.users.service import check_password
from voltfleet.store.models import Org, Site, User, VerificationCode
from voltfleet.usecases.errors import Conflict, Forbidden, Invalid, Rejected

AVATAR_TYPES = {"image/png", "image/jpeg", "image/webp", "image/gif"}
AVATAR_MAX_BYTES = 1_000_000


def _require_password(runtime: Runtime, user: User, password: str) -> None:
    if not runtime.security.verify_password(password, user.password_hash):
        raise Forbidden("the current password is wrong", code="wrong_password")


def change_password(
    session: Session, runtime: Runtime, caller: Caller, current: str, new: str
) -> None:
    _require_password(runtime, caller.user, current)
    check_password(new, "new_password")
    if caller.user.must_change_password and new == current:
        raise Rejected(
            "new_password: choose a password of your own, not the temporary one",
            [{"field": "new_password", "message": "must differ from the temporary password"}],
            code="weak_password",
        )
    caller.user.password_hash = runtime.security.hash_password(new)
    caller.user.password_changed_at = runtime.clock.now()
    caller.user.must_change_password = False
    audit.record(
        session,
        actor=caller.user,
        action="account.change_password",
        object_type="user",
        object_id=caller.user.id,
        address=caller.address,
    )


def start_email_change(session: Session, runtime: Runtime, caller: Caller) -> None:
    codes.issue(session, runtime, caller.user.email, "email_old")


def email_change_new(
    session: Session, runtime: Runtime, caller: Caller, old_code: str, new_email: str
) -> None:
    new_email = new_email.strip().lower()
    if user_by_email(session, new_email) is not None:
        raise Conflict(f"{new_email} is already used by another account")
    codes.consume(session, runtime, caller.user.email, "email_old", old_code)
    codes.issue(session, runtime, new_email, "email_new", {"user_id": caller.user.id})


def confirm_email_change(session: Session, runtime: Runtime, caller: Caller, code: str) -> str:
    row = session.scalar(
        select(VerificationCode)
        .where(VerificationCode.purpose == "email_new", VerificationCode.used.is_(False))
        .where(VerificationCode.payload["user_id"].as_string() == caller.user.id)
        .order_by(VerificationCode.created_at.desc())
    )
    if row is None:
        raise Invalid("no change of email is pending: start again")
    codes.consume(session, runtime, row.email, "email_new", code)
    if user_by_email(session, row.email) is not None:
        raise Conflict(f"{row.email} is already used by another account")
    old = caller.user.email
    caller.user.email = row.email
    audit.record(
        session,
        actor=caller.user,
        action="account.change_email",
        object_type="user",
        object_id=caller.user.id,
        address=caller.address,
        detail={"old": old, "new": row.email},
    )
    return row.email


def linked_assets(session: Session, caller: Caller) -> list[str]:
    """What keeps an account from being deregistered."""
    found = []
    user = caller.user
    if owns_sites(session, user):
        found.append(_("sites you own"))
    if user.role == "admin":
        other_admins = session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.org_id == user.org_id, User.role == "admin", User.id != user.id)
        )
        if not other_admins:
            s = session
            # Deleted sites kept for the retention period are no asset anyone manages.
            live_site = exists().where(Site.org_id == user.org_id, Site.deleted_at.is_(None))
            if s.scalar(select(live_site)):
                found.append(_("your organisation's sites (you are its last administrator)"))
            if s.scalar(select(exists().where(Org.parent_id == user.org_id))):
                found.append(_("subordinate organisations (you are the last administrator)"))
            if s.scalar(select(exists().where(User.org_id == user.org_id, User.id != user.id))):
                found.append(_("other users of your organisation (you are the last administrator)"))
    return found


def deregister(session: Session, runtime: Runtime, caller: Caller, password: str) -> None:
    _require_password(runtime, caller.user, password)
    assets = linked_assets(session, caller)
    if assets:
        raise Conflict("your account still has " + "; ".join(assets) + ": hand them over first")
    audit.record(
        session,
        actor=caller.user,
        action="account.deregister",
        object_type="user",
        object_id=caller.user.id,
        address=caller.address,
        detail={"email": caller.user.email},
    )
    # Deleted sites kept for the retention period forget their owner.
    session.execute(update(Site).where(Site.owner_id == caller.user.id).values(owner_id=None))
    session.delete(caller.user)
