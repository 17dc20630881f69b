"""Sign-in, self-registration and forgotten passwords."""

from __future__ import annotations

from sqlalchemy.orm import Session

from voltfleet.app import audit
from voltfleet.app.auth import codes
from voltfleet.app.auth.schemas import PasswordResetIn, Registration
from voltfleet.app.errors import ApiError, bad_request, conflict
from voltfleet.app.orgs.repository import org_by_access_code
from voltfleet.app.orgs.service import build_org
from voltfleet.app.runtime import Runtime
from voltfleet.app.users.repository import user_by_email
from voltfleet.app.users.service import check_password, new_user
from voltfleet.domain.access import OrgType, Role
from voltfleet.store.db import utcnow
from voltfleet.store.models import Org, User


def authenticate(
    session: Session, runtime: Runtime, email: str, password: str, address: str
) -> User:
    email = email.strip().lower()
    limits = runtime.settings
    runtime.limiter.hit(
        limits.login_limit_per_address,
        "login-address",
        address,
        message="Too many sign-in attempts from your address.",
    )
    runtime.limiter.hit(
        limits.login_limit_per_account,
        "login-account",
        email,
        message="Too many sign-in attempts for this account.",
    )
    user = user_by_email(session, email)
    if not runtime.security.verify_password(password, user.password_hash if user else None):
        raise ApiError(401, "wrong email or password", "wrong_credentials")
    assert user is not None
    return user


def send_registration_code(session: Session, runtime: Runtime, email: str) -> None:
    if user_by_email(session, email) is not None:
        raise conflict(f"{email} is already registered: sign in or reset your password")
    codes.issue(session, runtime, email, "register")


def register(
    session: Session, runtime: Runtime, data: Registration, address: str
) -> tuple[User, Org | None]:
    superior = org_by_access_code(session, data.access_code)
    if superior is None:
        raise bad_request("no organisation has that access code: ask your superior for it")
    check_password(data.password)
    if user_by_email(session, data.email) is not None:
        raise conflict(f"{data.email} is already registered")
    codes.consume(session, runtime, data.email, "register", data.code)
    org: Org | None = None
    if data.account_type == "owner":
        home_org, role = superior, Role.OWNER
    else:
        if not data.org_name:
            raise bad_request("org_name: a distributor or installer account needs a company name")
        org = build_org(superior, data.org_name, OrgType(data.account_type), data.country)
        session.add(org)
        session.flush()
        home_org, role = org, Role.ADMIN
    user = new_user(
        session,
        runtime,
        email=data.email,
        username=data.username,
        password=data.password,
        org_id=home_org.id,
        role=role.value,
        country=data.country,
    )
    audit.record(
        session,
        actor=user,
        action="account.register",
        object_type="user",
        object_id=user.id,
        org_id=home_org.id,
        address=address,
        detail={"account_type": data.account_type, "superior_id": superior.id},
    )
    return user, org


def forgot_password(session: Session, runtime: Runtime, email: str) -> None:
    # Same answer whether or not the account exists, so nobody can probe for accounts.
    if user_by_email(session, email) is not None:
        codes.issue(session, runtime, email, "reset_password")


def reset_password(session: Session, runtime: Runtime, data: PasswordResetIn, address: str) -> None:
    check_password(data.new_password, "new_password")
    codes.consume(session, runtime, data.email, "reset_password", data.code)
    user = user_by_email(session, data.email)
    if user is None:
        raise bad_request("the code has expired or was never requested: ask for a new code")
    user.password_hash = runtime.security.hash_password(data.new_password)
    user.password_changed_at = utcnow()
    user.must_change_password = False  # chosen by the user, who proved the address
    audit.record(
        session,
        actor=user,
        action="account.reset_password",
        object_type="user",
        object_id=user.id,
        address=address,
    )
