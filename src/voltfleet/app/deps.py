"""Request dependencies: the unit of work, and who is calling (bearer token or API key)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.app.runtime import Runtime
from voltfleet.app.security import API_KEY_PREFIX, sha256
from voltfleet.domain.access import Action, Kind, Role, allowed
from voltfleet.store.models import ApiKey, Org, User
from voltfleet.usecases.errors import Forbidden, Unauthenticated

bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _session(request: Request) -> Iterator[Session]:
    """One transaction per request, committed before the response leaves (services never commit)."""
    with get_runtime(request).db.session() as session:
        request.state.db_session = session  # the portal's site_time finds site zones with it
        yield session


DbSession = Annotated[Session, Depends(_session, scope="function")]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def request_now(request: Request) -> datetime:
    """The instant a request is handled, read once from the runtime's injected clock."""
    return get_runtime(request).clock.now()


# "Now" for one request: endpoints and pages pass it to services, which never read the clock.
NowDep = Annotated[datetime, Depends(request_now)]


@dataclass(frozen=True)
class Caller:
    """The authenticated person behind a request, with what decides their scope."""

    user: User
    org: Org
    address: str

    @property
    def role(self) -> Role:
        return Role(self.user.role)

    @property
    def superuser(self) -> bool:
        return self.user.is_superuser

    @property
    def scope_path(self) -> str:
        """Organisations whose path starts with this are in the caller's scope."""
        return "/" if self.superuser else self.org.path

    def can(self, kind: Kind, action: Action) -> bool:
        return allowed(self.role, kind, action, superuser=self.superuser)

    def require(self, kind: Kind, action: Action) -> None:
        if not self.can(kind, action):
            raise Forbidden(
                f"your role ({self.role.value}) may not {action.value.replace('_', ' ')} "
                f"{kind.value}s"
            )


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def unauthenticated() -> Unauthenticated:
    """A new refusal each time: an exception object raised again keeps every earlier traceback
    (a module-level one grew with each unauthenticated request)."""
    return Unauthenticated(
        "not signed in: send 'Authorization: Bearer <token>' from POST /api/v1/auth/token, "
        "or 'X-API-Key: <key>'"
    )


def user_from_token(session: Session, runtime: Runtime, token: str, now: datetime) -> User | None:
    claims = runtime.security.read_token(token, now)
    if not claims or not isinstance(claims.get("sub"), str):
        return None
    user = session.get(User, claims["sub"])
    if user is None:
        return None
    pwd = claims.get("pwd")
    if not isinstance(pwd, int) or pwd < int(user.password_changed_at.timestamp()):
        return None  # issued before the last password change
    return user


def user_from_api_key(session: Session, key: str, now: datetime) -> User | None:
    if not key.startswith(API_KEY_PREFIX):
        return None
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == sha256(key)))
    if row is None:
        return None
    row.last_used_at = now
    return session.get(User, row.user_id)


PASSWORD_CHANGE_REQUIRED = (
    "your password was reset: choose a new one first with POST /api/v1/me/password "
    "(current_password is the temporary password mailed to you)"
)


def authenticated_caller(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    now: NowDep,
    token: Annotated[str | None, Depends(bearer)],
    api_key: Annotated[str | None, Depends(api_key_header)],
) -> Caller:
    """Whoever the credential names, even a user who must change their password first."""
    user: User | None = None
    if token:
        user = user_from_token(session, runtime, token, now)
    elif api_key:
        user = user_from_api_key(session, api_key, now)
    if user is None:
        raise unauthenticated()
    org = session.get(Org, user.org_id)
    if org is None:  # pragma: no cover - foreign key keeps this from happening
        raise unauthenticated()
    return Caller(user=user, org=org, address=client_address(request))


def get_caller(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    now: NowDep,
    token: Annotated[str | None, Depends(bearer)],
    api_key: Annotated[str | None, Depends(api_key_header)],
) -> Caller:
    """The caller of every API request: refused (403) while their password must be changed."""
    caller = authenticated_caller(request, session, runtime, now, token, api_key)
    if caller.user.must_change_password:
        raise Forbidden(PASSWORD_CHANGE_REQUIRED, code="password_change_required")
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]
# Only for changing one's password: accepted while a reset password must still be changed.
AnyCallerDep = Annotated[Caller, Depends(authenticated_caller)]
