"""Alarm subscriptions and their delivery log, as the caller may see and change them.

In scope: the subscriptions of the caller's organisation and those below it; an owner sees only
their own; a superuser all. Outside the scope a subscription does not exist (404). Its reach (which
alarms it is told of) is the view of whoever made it: an organisation's sites for staff, the
owner's own sites for an owner (store/alarm_notify_repository.py), narrowed to ``site_ids``, which
must be sites the caller sees. Services never commit.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from voltfleet.app.deps import Caller
from voltfleet.app.i18n import LANGUAGES
from voltfleet.app.orgs.repository import visible_orgs
from voltfleet.app.sites.repository import visible_sites
from voltfleet.domain.access import Action, Kind, Role
from voltfleet.domain.alarm_notifications import (
    SECRET_BYTES,
    Channel,
    DeliveryStatus,
    checked_levels,
    new_secret,
)
from voltfleet.store.alarm_notify_models import AlarmDelivery, AlarmSubscription
from voltfleet.store.models import Org, Site
from voltfleet.usecases.errors import Invalid, NotFound

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MAX_SITES = 500


@dataclass
class SubscriptionInput:
    name: str
    channel: str
    target: str
    levels: list[str]
    site_ids: list[str]
    enabled: bool = True
    language: str = "en"
    org_id: str | None = None


def visible_subscriptions(caller: Caller) -> Select[tuple[AlarmSubscription]]:
    stmt = select(AlarmSubscription)
    if caller.superuser:
        return stmt
    if caller.role is Role.OWNER:
        return stmt.where(AlarmSubscription.owner_user_id == caller.user.id)
    return stmt.where(AlarmSubscription.org_id.in_(visible_orgs(caller).with_only_columns(Org.id)))


def visible_deliveries(caller: Caller) -> Select[tuple[AlarmDelivery]]:
    subs = visible_subscriptions(caller).with_only_columns(AlarmSubscription.id)
    return select(AlarmDelivery).where(AlarmDelivery.subscription_id.in_(subs))


def _field(field: str, message: str) -> Invalid:
    return Invalid(f"{field}: {message}", errors=[{"field": field, "message": message}])


def _target(channel: str, target: str) -> str:
    text = target.strip()
    if channel == Channel.EMAIL:
        if not EMAIL.fullmatch(text) or len(text) > 320:
            raise _field("target", "an email address, e.g. oncall@example.com")
        return text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(text) > 2000:
        raise _field("target", "an http(s) URL, e.g. https://example.com/hooks/alarms")
    if parts.username or parts.password:
        raise _field("target", "put no credentials in the URL: the signature authenticates")
    return text


class SubscriptionService:
    def __init__(self, session: Session, caller: Caller) -> None:
        self.session = session
        self.caller = caller

    def get(self, subscription_id: str) -> AlarmSubscription:
        sub = self.session.scalar(
            visible_subscriptions(self.caller).where(AlarmSubscription.id == subscription_id)
        )
        if sub is None:
            raise NotFound("alarm subscription")
        return sub

    def get_for(self, subscription_id: str, action: Action) -> AlarmSubscription:
        sub = self.get(subscription_id)
        self.caller.require(Kind.ALARM_SUBSCRIPTION, action)
        return sub

    def _site_ids(self, site_ids: list[str]) -> list[str]:
        wanted = list(dict.fromkeys(s.strip() for s in site_ids if s.strip()))
        if len(wanted) > MAX_SITES:
            raise _field("site_ids", f"at most {MAX_SITES} sites")
        if not wanted:
            return []
        seen = set(
            self.session.scalars(
                visible_sites(self.caller).with_only_columns(Site.id).where(Site.id.in_(wanted))
            )
        )
        missing = [s for s in wanted if s not in seen]
        if missing:
            raise _field("site_ids", f"no site '{missing[0][:40]}' in your scope")
        return wanted

    def _org_id(self, org_id: str | None) -> str:
        if not org_id or org_id == self.caller.org.id:
            return self.caller.org.id
        found = self.session.scalar(
            visible_orgs(self.caller).with_only_columns(Org.id).where(Org.id == org_id)
        )
        if found is None or self.caller.role is Role.OWNER:
            raise _field("org_id", "no such organisation in your scope")
        return found

    def _apply(self, sub: AlarmSubscription, data: SubscriptionInput) -> None:
        try:
            sub.levels = checked_levels(data.levels)
        except ValueError as exc:
            raise _field("levels", str(exc)) from None
        name = data.name.strip()
        if not name or len(name) > 100:
            raise _field("name", "1 to 100 characters")
        if data.channel not in {c.value for c in Channel}:
            raise _field("channel", "email or webhook")
        sub.name = name
        sub.channel = data.channel
        sub.target = _target(data.channel, data.target)
        sub.site_ids = self._site_ids(data.site_ids)
        sub.enabled = data.enabled
        sub.language = data.language if data.language in LANGUAGES else "en"

    def create(self, data: SubscriptionInput) -> AlarmSubscription:
        self.caller.require(Kind.ALARM_SUBSCRIPTION, Action.CREATE)
        sub = AlarmSubscription(
            org_id=self._org_id(data.org_id),
            owner_user_id=self.caller.user.id if self.caller.role is Role.OWNER else None,
            created_by=self.caller.user.id,
            secret=new_secret(secrets.token_bytes(SECRET_BYTES)),
        )
        self._apply(sub, data)
        self.session.add(sub)
        self.session.flush()
        return sub

    def update(self, subscription_id: str, changes: dict[str, object]) -> AlarmSubscription:
        sub = self.get_for(subscription_id, Action.UPDATE)
        data = SubscriptionInput(
            name=str(changes.get("name", sub.name)),
            channel=str(changes.get("channel", sub.channel)),
            target=str(changes.get("target", sub.target)),
            levels=list(changes.get("levels", sub.levels)),  # type: ignore[call-overload]
            site_ids=list(changes.get("site_ids", sub.site_ids)),  # type: ignore[call-overload]
            enabled=bool(changes.get("enabled", sub.enabled)),
            language=str(changes.get("language", sub.language)),
        )
        self._apply(sub, data)
        if changes.get("secret"):
            sub.secret = new_secret(secrets.token_bytes(SECRET_BYTES))
        self.session.flush()
        return sub

    def delete(self, subscription_id: str) -> None:
        sub = self.get_for(subscription_id, Action.DELETE)
        self.session.delete(sub)
        self.session.flush()

    def list(self) -> Select[tuple[AlarmSubscription]]:
        self.caller.require(Kind.ALARM_SUBSCRIPTION, Action.LIST)
        return visible_subscriptions(self.caller).order_by(
            AlarmSubscription.name, AlarmSubscription.id
        )

    def deliveries(
        self, subscription_id: str | None = None, status: str | None = None
    ) -> Select[tuple[AlarmDelivery]]:
        """The delivery log, newest first (of one subscription when asked)."""
        self.caller.require(Kind.ALARM_SUBSCRIPTION, Action.LIST)
        stmt = visible_deliveries(self.caller)
        if subscription_id:
            stmt = stmt.where(AlarmDelivery.subscription_id == self.get(subscription_id).id)
        if status:
            if status not in {s.value for s in DeliveryStatus}:
                raise _field("status", "pending, delivered or failed")
            stmt = stmt.where(AlarmDelivery.status == status)
        return stmt.order_by(AlarmDelivery.created_at.desc(), AlarmDelivery.id)
