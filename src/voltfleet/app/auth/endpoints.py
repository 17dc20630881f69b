from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from voltfleet.app.auth import service
from voltfleet.app.auth.schemas import (
    Accepted,
    EmailIn,
    PasswordResetIn,
    Registered,
    Registration,
    Token,
)
from voltfleet.app.deps import DbSession, RuntimeDep, client_address
from voltfleet.app.orgs.schemas import OrgOut
from voltfleet.app.users.schemas import UserOut

router = APIRouter(prefix="/api/v1/auth", tags=["authentication"])


@router.post(
    "/token",
    response_model=Token,
    summary="Sign in (OAuth2 password form)",
    responses={401: {"description": "wrong email or password"}},
)
async def token(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> Token:
    """`username` is the account's email. Answers 429 after too many attempts from your address
    (per address, and per account and address); an account with many recent failures answers
    more slowly (a growing delay, not a lock-out)."""
    user = await service.sign_in(
        session, runtime, form.username, form.password, client_address(request)
    )
    return Token(
        access_token=runtime.security.issue_token(
            user.id, user.password_changed_at, now=runtime.clock.now()
        ),
        expires_in=runtime.settings.access_token_minutes * 60,
        password_change_required=user.must_change_password,
    )


@router.post("/register/code", response_model=Accepted, status_code=status.HTTP_202_ACCEPTED)
def registration_code(
    request: Request, session: DbSession, runtime: RuntimeDep, body: EmailIn
) -> Accepted:
    """The same answer whether or not the email has an account: a registered address is mailed a
    notice instead of a code. Limited per email and per client address (429)."""
    service.send_registration_code(session, runtime, body.email, client_address(request))
    return Accepted(detail=f"a verification code was sent to {body.email}")


@router.post("/register", response_model=Registered, status_code=status.HTTP_201_CREATED)
def register(
    request: Request, session: DbSession, runtime: RuntimeDep, body: Registration
) -> Registered:
    user, org = service.register(session, runtime, body, client_address(request))
    return Registered(
        user=UserOut.model_validate(user), org=OrgOut.model_validate(org) if org else None
    )


@router.post("/password/forgot", response_model=Accepted, status_code=status.HTTP_202_ACCEPTED)
def forgot_password(session: DbSession, runtime: RuntimeDep, body: EmailIn) -> Accepted:
    service.forgot_password(session, runtime, body.email)
    return Accepted(detail=f"if {body.email} has an account, a code was sent to it")


@router.post("/password/reset", response_model=Accepted)
def reset_password(
    request: Request, session: DbSession, runtime: RuntimeDep, body: PasswordResetIn
) -> Accepted:
    service.reset_password(session, runtime, body, client_address(request))
    return Accepted(detail="password changed: sign in with the new password")
