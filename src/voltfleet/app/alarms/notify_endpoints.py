"""Alarm notifications over HTTP: subscriptions (email or signed webhook, chosen levels and sites)
and the delivery log (status, attempts, last error)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from voltfleet.app.alarms.notify_schemas import (
    DeliveryOut,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPatch,
)
from voltfleet.app.alarms.subscriptions import SubscriptionInput, SubscriptionService
from voltfleet.app.deps import CallerDep, DbSession
from voltfleet.app.pagination import Page, Paging, paginate
from voltfleet.domain.access import Action, Kind
from voltfleet.store.alarm_notify_models import AlarmSubscription

router = APIRouter(tags=["alarm notifications"])
BASE = "/api/v1/alarm-subscriptions"


def _out(sub: AlarmSubscription, secret: bool = False) -> SubscriptionOut:
    out = SubscriptionOut.model_validate(sub)
    out.secret = sub.secret if secret and sub.channel == "webhook" else None
    return out


@router.get(BASE, response_model=Page[SubscriptionOut], summary="Your alarm subscriptions")
def list_subscriptions(
    session: DbSession, caller: CallerDep, paging: Paging
) -> Page[SubscriptionOut]:
    rows, total = paginate(session, SubscriptionService(session, caller).list(), paging)
    return Page(
        items=[_out(s) for s in rows], total=total, page=paging.page, page_size=paging.page_size
    )


@router.post(
    BASE,
    response_model=SubscriptionOut,
    status_code=status.HTTP_201_CREATED,
    summary="Subscribe to alarms of chosen levels and sites, by email or signed webhook",
)
def create_subscription(
    session: DbSession, caller: CallerDep, body: SubscriptionIn
) -> SubscriptionOut:
    """A webhook's signing secret is in this answer only (and when rotated): keep it."""
    sub = SubscriptionService(session, caller).create(SubscriptionInput(**body.model_dump()))
    return _out(sub, secret=True)


@router.get(f"{BASE}/{{subscription_id}}", response_model=SubscriptionOut, summary="One")
def get_subscription(
    session: DbSession, caller: CallerDep, subscription_id: str
) -> SubscriptionOut:
    return _out(SubscriptionService(session, caller).get_for(subscription_id, Action.READ))


@router.patch(
    f"{BASE}/{{subscription_id}}", response_model=SubscriptionOut, summary="Change a subscription"
)
def update_subscription(
    session: DbSession, caller: CallerDep, subscription_id: str, body: SubscriptionPatch
) -> SubscriptionOut:
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    rotate = bool(changes.pop("rotate_secret", False))
    if rotate:
        changes["secret"] = True
    sub = SubscriptionService(session, caller).update(subscription_id, changes)
    return _out(sub, secret=rotate)


@router.delete(
    f"{BASE}/{{subscription_id}}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="End a subscription (its delivery log goes with it)",
)
def delete_subscription(session: DbSession, caller: CallerDep, subscription_id: str) -> Response:
    SubscriptionService(session, caller).delete(subscription_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/api/v1/alarm-deliveries",
    response_model=Page[DeliveryOut],
    summary="The delivery log of your subscriptions, newest first",
)
def list_deliveries(
    session: DbSession,
    caller: CallerDep,
    paging: Paging,
    subscription_id: str | None = None,
    status: Annotated[str | None, Query(description="pending | delivered | failed")] = None,
) -> Page[DeliveryOut]:
    caller.require(Kind.ALARM_SUBSCRIPTION, Action.LIST)
    stmt = SubscriptionService(session, caller).deliveries(subscription_id, status)
    rows, total = paginate(session, stmt, paging)
    return Page(
        items=[DeliveryOut.model_validate(d) for d in rows],
        total=total,
        page=paging.page,
        page_size=paging.page_size,
    )
