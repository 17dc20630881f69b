"""Sign-in, self-registration and forgotten passwords."""

from __future__ import annotations

import asyncio

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from voltfleet.app import audit
from voltfleet.app.auth import codes
from voltfleet.app.auth.legal import accepted_versions
from voltfleet.app.auth.schemas import PasswordResetIn, Registration
from voltfleet.app.i18n import _, current_language, speaking
from voltfleet.app.orgs.repository import org_by_access_code
from voltfleet.app.orgs.service import build_org
from voltfleet.app.ratelimit import DelayRule
from voltfleet.app.regions import is_region
from voltfleet.app.runtime import Runtime
from voltfleet.app.users.repository import user_by_email
from voltfleet.app.users.service import check_password, new_user
from voltfleet.domain.access import OrgType, Role
from voltfleet.store.models import Org, User
from voltfleet.usecases.errors import Conflict, Invalid, Unauthenticated


def _delay_rule(runtime: Runtime) -> DelayRule:
    s = runtime.settings
    return DelayRule(
        free=s.login_delay_free_failures,
        base_s=s.login_delay_base_s,
        max_s=s.login_delay_max_s,
        window_s=s.login_delay_window_s,
    )


def admit_login(runtime: Runtime, email: str, address: str) -> float:
    """The limits in front of a password check: per client address, per account and address
    (429), then the account's turn; returns the seconds to wait before checking the password."""
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
        address,
        message="Too many sign-in attempts for this account from your address.",
    )
    return runtime.limiter.logins.reserve(email, _delay_rule(runtime))


def check_credentials(session: Session, runtime: Runtime, email: str, password: str) -> User:
    """The password check itself, once admitted (see admit_login); counts a failure."""
    email = email.strip().lower()
    user = user_by_email(session, email)
    if not runtime.security.verify_password(password, user.password_hash if user else None):
        runtime.limiter.logins.failed(email, _delay_rule(runtime))
        raise Unauthenticated("wrong email or password", code="wrong_credentials")
    assert user is not None
    runtime.limiter.logins.succeeded(email, _delay_rule(runtime))
    return user


async def sign_in(
    session: Session, runtime: Runtime, email: str, password: str, address: str
) -> User:
    """Admit, wait the account's delay without holding a server thread, then check."""
    wait_s = admit_login(runtime, email, address)
    if wait_s > 0:
        await asyncio.sleep(wait_s)
    return await run_in_threadpool(check_credentials, session, runtime, email, password)


def send_registration_code(session: Session, runtime: Runtime, email: str, address: str) -> None:
    """Mail a registration code; the same answer whether or not the address has an account (it
    gets a notice instead of a code), and the same limits: per client address and per email."""
    email = email.strip().lower()
    runtime.limiter.hit(
        runtime.settings.code_limit_per_address,
        "code-address",
        address,
        message="Too many codes were requested from your address.",
    )
    user = user_by_email(session, email)
    if user is None:
        codes.issue(session, runtime, email, "register")
        return
    codes.count_request(runtime, email, "register")
    with speaking(user.language):  # the mail in the recipient's language
        runtime.mailer.send(
            session,
            email,
            codes.subject("register"),
            _(
                "Hello %(name)s,\n\nsomeone asked to register a new voltfleet account with this "
                "address, which already has one, so no code was sent. If it was you, sign in, or "
                "use 'forgot password' on the sign-in page. If it was not you, ignore this mail."
            )
            % {"name": user.username},
        )


def register(
    session: Session, runtime: Runtime, data: Registration, address: str
) -> tuple[User, Org | None]:
    if data.accept_terms is False:
        raise Invalid(
            _("accept the terms of use and the privacy policy to register"),
            [{"field": "accept_terms", "message": _("required")}],
        )
    if data.password_confirm is not None and data.password_confirm != data.password:
        raise Invalid(
            _("the two passwords differ"),
            [{"field": "password_confirm", "message": _("must equal the password")}],
        )
    if data.country and not is_region(data.country):
        raise Invalid(_("choose a region from the list"), [{"field": "country", "message": ""}])
    superior = org_by_access_code(session, data.access_code)
    if superior is None:
        raise Invalid("no organisation has that access code: ask your superior for it")
    check_password(data.password)
    # The code first: only the address's owner has one, so nobody else learns from the answer
    # whether the address is registered (a registered address is never sent a code).
    codes.consume(session, runtime, data.email, "register", data.code)
    if user_by_email(session, data.email) is not None:
        raise Conflict(f"{data.email} is already registered")
    org: Org | None = None
    if data.account_type == "owner":
        home_org, role = superior, Role.OWNER
    else:
        if not data.org_name:
            raise Invalid("org_name: a distributor or installer account needs a company name")
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
        detail={
            "account_type": data.account_type,
            "superior_id": superior.id,
            # Which texts were accepted (their versions), when the registration says so.
            "accepted": accepted_versions(runtime.settings, current_language())
            if data.accept_terms
            else None,
        },
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
        raise Invalid("the code has expired or was never requested: ask for a new code")
    user.password_hash = runtime.security.hash_password(data.new_password)
    user.password_changed_at = runtime.clock.now()
    user.must_change_password = False  # chosen by the user, who proved the address
    audit.record(
        session,
        actor=user,
        action="account.reset_password",
        object_type="user",
        object_id=user.id,
        address=address,
    )
