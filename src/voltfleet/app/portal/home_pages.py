"""The home page and the places later features fill in."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from voltfleet.app.alarms.repository import active_counts as active_alarm_counts
from voltfleet.app.alarms.repository import active_level_counts
from voltfleet.app.deps import DbSession, RuntimeDep
from voltfleet.app.exchange.revenue import money_text, revenue_in
from voltfleet.app.orgs.repository import visible_orgs
from voltfleet.app.portal.render import render
from voltfleet.app.portal.session import require_caller
from voltfleet.app.sites.repository import SiteRepository
from voltfleet.app.telemetry import fleet_service
from voltfleet.app.users.repository import visible_users

router = APIRouter()

LATER: dict[str, tuple[str, str]] = {}  # all built: Upgrade is app/firmware/pages.py


@router.get("/home", response_class=HTMLResponse)
def home(request: Request, session: DbSession, runtime: RuntimeDep) -> HTMLResponse:
    caller = require_caller(request, session)
    counts = {
        "organisations": session.scalar(
            select(func.count()).select_from(visible_orgs(caller).subquery())
        ),
        "users": session.scalar(select(func.count()).select_from(visible_users(caller).subquery())),
    }
    site_status = SiteRepository(session, caller).status_counts()
    counts["sites"] = sum(site_status.values())
    figures = fleet_service.fleet_figures(session, caller, runtime.settings, runtime.clock.now())
    kpis = figures.kpis
    money = fleet_service.ordered_currencies(kpis.revenue, caller.user.currency)
    now = runtime.clock.now()
    revenue = revenue_in(session, kpis.revenue, caller.user.currency, now)
    return render(
        request,
        "portal/home.html",
        caller,
        counts=counts,
        site_status=site_status,
        kpis=kpis,
        money=money,
        trend_json=fleet_service.trend_json(figures, caller.user.currency),
        alarm_counts=active_alarm_counts(session, caller),
        alarm_levels=active_level_counts(session, caller),
        revenue=revenue,
        total_yield=figures.total_yield,
        money_text=money_text,
        ranking_tab="year" if request.query_params.get("ranking") == "year" else "total",
    )


def _later(path: str, title: str, text: str) -> None:
    @router.get(path, response_class=HTMLResponse, name=f"later_{title.lower()}")
    def page(request: Request, session: DbSession) -> HTMLResponse:
        caller = require_caller(request, session)
        return render(request, "portal/later.html", caller, title=title, text=text)


for _path, (_title, _text) in LATER.items():
    _later(_path, _title, _text)
