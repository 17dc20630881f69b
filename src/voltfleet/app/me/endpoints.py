from __future__ import annotations

from fastapi import APIRouter, Response, UploadFile, status
from sqlalchemy import select

from voltfleet.app.auth.schemas import Accepted
from voltfleet.app.deps import AnyCallerDep, CallerDep, DbSession, RuntimeDep
from voltfleet.app.me import service
from voltfleet.app.me.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    CodeIn,
    Deregister,
    EmailChangeNew,
    Me,
    PasswordChange,
    ProfileUpdate,
)
from voltfleet.app.orgs.schemas import org_out
from voltfleet.app.security import new_api_key
from voltfleet.app.users.repository import UserRepository
from voltfleet.app.users.schemas import UserOut
from voltfleet.domain.access import POLICY, Action, Kind
from voltfleet.store.models import ApiKey, User
from voltfleet.usecases.errors import NotFound, TooLarge, UnsupportedMedia

router = APIRouter(prefix="/api/v1/me", tags=["my account"])
avatars = APIRouter(prefix="/api/v1/users", tags=["users"])


def _me(session: DbSession, caller: CallerDep) -> Me:
    perms = {
        kind.value: sorted(a.value for a in POLICY.get((caller.role, kind), frozenset()))
        for kind in Kind
    }
    if caller.superuser:
        perms = {kind.value: ["*"] for kind in Kind}
    has_avatar = session.scalar(select(User.avatar_type).where(User.id == caller.user.id))
    return Me(
        user=UserOut.model_validate(caller.user),
        org=org_out(caller.org, may_manage=caller.can(Kind.ORG, Action.UPDATE)),
        permissions=perms,
        has_avatar=bool(has_avatar),
    )


@router.get("", response_model=Me, summary="Who you are and what you may do")
def read_me(session: DbSession, caller: CallerDep) -> Me:
    return _me(session, caller)


@router.patch("", response_model=Me, summary="Change your profile (username, currency unit)")
def update_me(session: DbSession, caller: CallerDep, body: ProfileUpdate) -> Me:
    for key, value in body.model_dump(exclude_unset=True, exclude_none=True).items():
        setattr(caller.user, key, value)
    return _me(session, caller)


@router.delete("", status_code=status.HTTP_204_NO_CONTENT, summary="Deregister your account")
def deregister(
    session: DbSession, runtime: RuntimeDep, caller: CallerDep, body: Deregister
) -> None:
    """Refused (409) while sites or an organisation still depend on the account."""
    service.deregister(session, runtime, caller, body.password)


@router.post("/password", response_model=Accepted)
def change_password(
    session: DbSession, runtime: RuntimeDep, caller: AnyCallerDep, body: PasswordChange
) -> Accepted:
    """Needs the current password. The one request accepted after someone reset your password
    (the temporary password mailed to you is the current one); until then every other request is
    refused with 403 `password_change_required`."""
    service.change_password(session, runtime, caller, body.current_password, body.new_password)
    return Accepted(detail="password changed: other sessions are signed out")


@router.post(
    "/email/start",
    response_model=Accepted,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Change email, step 1: a code goes to your current address",
)
def email_start(session: DbSession, runtime: RuntimeDep, caller: CallerDep) -> Accepted:
    service.start_email_change(session, runtime, caller)
    return Accepted(detail=f"a code was sent to {caller.user.email}")


@router.post(
    "/email/new",
    response_model=Accepted,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Change email, step 2: prove the old address, a code goes to the new one",
)
def email_new(
    session: DbSession, runtime: RuntimeDep, caller: CallerDep, body: EmailChangeNew
) -> Accepted:
    service.email_change_new(session, runtime, caller, body.old_code, body.new_email)
    return Accepted(detail=f"a code was sent to {body.new_email}")


@router.post(
    "/email/confirm",
    response_model=Accepted,
    summary="Change email, step 3: the code from the new address",
)
def email_confirm(
    session: DbSession, runtime: RuntimeDep, caller: CallerDep, body: CodeIn
) -> Accepted:
    email = service.confirm_email_change(session, runtime, caller, body.code)
    return Accepted(detail=f"your email is now {email}")


@router.put("/avatar", status_code=status.HTTP_204_NO_CONTENT)
def upload_avatar(session: DbSession, caller: CallerDep, file: UploadFile) -> None:
    """A PNG, JPEG, WebP or GIF image of at most 1 MB."""
    if file.content_type not in service.AVATAR_TYPES:
        raise UnsupportedMedia("the avatar must be a PNG, JPEG, WebP or GIF image")
    data = file.file.read(service.AVATAR_MAX_BYTES + 1)
    if len(data) > service.AVATAR_MAX_BYTES:
        raise TooLarge("the avatar must be at most 1 MB")
    caller.user.avatar = data
    caller.user.avatar_type = file.content_type


@avatars.get("/{user_id}/avatar", response_class=Response)
def read_avatar(session: DbSession, caller: CallerDep, user_id: str) -> Response:
    user = UserRepository(session, caller).get(user_id)
    if not user.avatar_type:
        raise NotFound("avatar")
    return Response(user.avatar or b"", media_type=user.avatar_type)


@router.get("/api-keys", response_model=list[ApiKeyOut])
def list_keys(session: DbSession, caller: CallerDep) -> list[ApiKeyOut]:
    rows = session.scalars(select(ApiKey).where(ApiKey.user_id == caller.user.id)).all()
    return [ApiKeyOut.model_validate(r) for r in rows]


@router.post("/api-keys", response_model=ApiKeyCreated, status_code=status.HTTP_201_CREATED)
def create_key(session: DbSession, caller: CallerDep, body: ApiKeyCreate) -> ApiKeyCreated:
    key, prefix, digest = new_api_key()
    row = ApiKey(user_id=caller.user.id, name=body.name, prefix=prefix, key_hash=digest)
    session.add(row)
    session.flush()
    return ApiKeyCreated(**ApiKeyOut.model_validate(row).model_dump(), key=key)


@router.delete("/api-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_key(session: DbSession, caller: CallerDep, key_id: str) -> None:
    row = session.scalar(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.user_id == caller.user.id)
    )
    if row is None:
        raise NotFound("API key")
    session.delete(row)
