"""Users as the caller may see them: in their organisation's subtree; an owner sees only itself."""

from __future__ import annotations

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from voltfleet.app.deps import Caller
from voltfleet.domain.access import Role
from voltfleet.store.models import Org, Site, User
from voltfleet.usecases.errors import NotFound


def visible_users(caller: Caller) -> Select[tuple[User]]:
    stmt = select(User)
    if caller.superuser:
        return stmt
    if caller.role is Role.OWNER:
        return stmt.where(User.id == caller.user.id)
    return stmt.join(Org, Org.id == User.org_id).where(
        Org.path.startswith(caller.scope_path, autoescape=True)
    )


class UserRepository:
    def __init__(self, session: Session, caller: Caller) -> None:
        self.session = session
        self.caller = caller

    def query(
        self, *, org_id: str | None = None, role: str | None = None, q: str | None = None
    ) -> Select[tuple[User]]:
        stmt = visible_users(self.caller)
        if org_id:
            stmt = stmt.where(User.org_id == org_id)
        if role:
            stmt = stmt.where(User.role == role)
        if q:
            like = f"%{q}%"
            stmt = stmt.where(User.email.ilike(like) | User.username.ilike(like))
        return stmt.order_by(User.email)

    def get(self, user_id: str) -> User:
        user = self.session.scalar(visible_users(self.caller).where(User.id == user_id))
        if user is None:
            raise NotFound("user")
        return user


def user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def owns_sites(session: Session, user: User) -> bool:
    """Live sites only: deleted sites kept for the retention period do not hold an owner."""
    return bool(
        session.scalar(select(exists().where(Site.owner_id == user.id, Site.deleted_at.is_(None))))
    )
