from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel

from voltfleet.app.deps import CallerDep, DbSession, RuntimeDep
from voltfleet.app.pagination import Page, Paging, paginate
from voltfleet.app.users import service
from voltfleet.app.users.repository import UserRepository
from voltfleet.app.users.schemas import PasswordReset, UserCreate, UserOut, UserUpdate
from voltfleet.domain.access import Action, Kind

router = APIRouter(prefix="/api/v1/users", tags=["users"])


class ResetResult(BaseModel):
    detail: str


@router.get("", response_model=Page[UserOut], summary="Users you can see")
def list_users(
    session: DbSession,
    caller: CallerDep,
    paging: Paging,
    org_id: str | None = None,
    role: Literal["admin", "om", "owner"] | None = None,
    q: Annotated[str | None, Query(description="part of the email or username")] = None,
) -> Page[UserOut]:
    caller.require(Kind.USER, Action.LIST)
    stmt = UserRepository(session, caller).query(org_id=org_id, role=role, q=q)
    rows, total = paginate(session, stmt, paging)
    return Page(
        items=[UserOut.model_validate(r) for r in rows],
        total=total,
        page=paging.page,
        page_size=paging.page_size,
    )


@router.post("", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def create_user(
    session: DbSession, runtime: RuntimeDep, caller: CallerDep, body: UserCreate
) -> UserOut:
    return UserOut.model_validate(service.create_user(session, runtime, caller, body))


@router.get("/{user_id}", response_model=UserOut)
def read_user(session: DbSession, caller: CallerDep, user_id: str) -> UserOut:
    user = UserRepository(session, caller).get(user_id)
    caller.require(Kind.USER, Action.READ)
    return UserOut.model_validate(user)


@router.patch("/{user_id}", response_model=UserOut)
def update_user(session: DbSession, caller: CallerDep, user_id: str, body: UserUpdate) -> UserOut:
    return UserOut.model_validate(service.update_user(session, caller, user_id, body))


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_user(session: DbSession, caller: CallerDep, user_id: str) -> None:
    service.delete_user(session, caller, user_id)


@router.post(
    "/{user_id}/reset-password",
    response_model=ResetResult,
    summary="Reset another user's password (a temporary one is mailed to them)",
)
def reset_password(
    session: DbSession,
    runtime: RuntimeDep,
    caller: CallerDep,
    user_id: str,
    body: PasswordReset | None = None,
) -> ResetResult:
    """The user gets a temporary password by mail and must change it at the next sign-in; the
    caller never sees it. Refused on yourself (use `POST /api/v1/me/password`) and on a user of
    a higher role (administrator > O&M engineer > owner; superusers above all)."""
    service.reset_password(session, runtime, caller, user_id)
    return ResetResult(
        detail="a temporary password was mailed to the user, who must change it at the next sign-in"
    )
