"""Maintenance > Notifications: alarm subscriptions (email or signed webhook, chosen levels and
sites) and the delivery log (status, attempts, last error)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from voltfleet.app.alarms.subscriptions import SubscriptionInput, SubscriptionService
from voltfleet.app.alarms.zones import shown, user_zone
from voltfleet.app.deps import DbSession
from voltfleet.app.i18n import _, current_language
from voltfleet.app.portal.notices import ErrorArg, NoticeArg
from voltfleet.app.portal.render import attempt, render
from voltfleet.app.portal.session import check_csrf, require_caller
from voltfleet.app.sites.repository import visible_sites
from voltfleet.domain.access import Action, Kind
from voltfleet.domain.alarms import LEVEL_MEANING, Level
from voltfleet.store.models import Site

router = APIRouter()
BASE = "/maintenance/alarm-subscriptions"
LOG_ROWS = 50
SITE_OPTIONS = 200


@router.get(BASE, response_class=HTMLResponse)
def subscriptions_page(
    request: Request,
    session: DbSession,
    status: str = "",
    error: ErrorArg = None,
    notice: NoticeArg = None,
    secret: str | None = None,
) -> HTMLResponse:
    caller = require_caller(request, session)
    service = SubscriptionService(session, caller)
    subs = list(session.scalars(service.list()))
    status = status if status in ("pending", "delivered", "failed") else ""
    log = list(session.scalars(service.deliveries(None, status or None).limit(LOG_ROWS)))
    names = {s.id: s.name for s in subs}
    sites = list(session.scalars(visible_sites(caller).order_by(Site.name).limit(SITE_OPTIONS)))
    site_names = dict(
        session.execute(
            select(Site.id, Site.name).where(Site.id.in_({d.site_id for d in log}))
        ).all()
    )
    tz = user_zone(caller.user)
    return render(
        request,
        "portal/alarm_subscriptions.html",
        caller,
        subscriptions=subs,
        deliveries=log,
        names=names,
        site_names={**site_names, **{s.id: s.name for s in sites}},
        sites=sites,
        levels=[(lvl.value, LEVEL_MEANING[lvl]) for lvl in Level],
        status=status,
        zone=tz,
        when=lambda instant: shown(instant, tz),
        can_create=caller.can(Kind.ALARM_SUBSCRIPTION, Action.CREATE),
        mail_language=current_language(),  # not "language": the template global of that name
        error=error,
        notice=notice,
        secret=secret,
    )


@router.post(BASE, response_class=HTMLResponse)
def create_subscription(
    request: Request,
    session: DbSession,
    csrf: Annotated[str, Form()],
    name: Annotated[str, Form(max_length=100)] = "",
    channel: Annotated[str, Form(max_length=10)] = "email",
    target: Annotated[str, Form(max_length=2000)] = "",
    levels: Annotated[list[str] | None, Form()] = None,
    site_ids: Annotated[list[str] | None, Form()] = None,
    language: Annotated[str, Form(max_length=5)] = "en",
) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    data = SubscriptionInput(
        name=name,
        channel=channel,
        target=target,
        levels=levels or [],
        site_ids=site_ids or [],
        language=language,
    )
    sub, error = attempt(session, lambda: SubscriptionService(session, caller).create(data))
    if sub is None:
        return subscriptions_page(request, session, error=error)
    secret = sub.secret if sub.channel == "webhook" else None
    notice = _("Subscription “%(name)s” created.") % {"name": sub.name}
    return subscriptions_page(request, session, notice=notice, secret=secret)


@router.post(BASE + "/{subscription_id}/enabled")
def switch_subscription(
    request: Request,
    session: DbSession,
    subscription_id: str,
    csrf: Annotated[str, Form()],
    enabled: Annotated[str, Form()] = "",
) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    service = SubscriptionService(session, caller)
    done, error = attempt(
        session, lambda: service.update(subscription_id, {"enabled": enabled == "on"})
    )
    if done is None:
        return subscriptions_page(request, session, error=error)
    return RedirectResponse(BASE, 303)


@router.post(BASE + "/{subscription_id}/delete")
def delete_subscription(
    request: Request, session: DbSession, subscription_id: str, csrf: Annotated[str, Form()]
) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, csrf)
    service = SubscriptionService(session, caller)

    def delete() -> bool:
        service.delete(subscription_id)
        return True

    _done, error = attempt(session, delete)
    if error:
        return subscriptions_page(request, session, error=error)
    return RedirectResponse(BASE, 303)
