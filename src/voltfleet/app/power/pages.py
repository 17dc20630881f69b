"""The portal's power-management screen of a site: the setup flow (meter or none, grid
connection, main fuse), the tree (groups with their meters; each connector's group, phase
rotation, maximum current and priority), the mode and its settings, and the live current per
phase against each group's limit (an htmx fragment refreshed every few seconds)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.app.deps import Caller, DbSession, request_now
from voltfleet.app.i18n import gettext, gettext_noop
from voltfleet.app.portal.render import attempt, first_error, render
from voltfleet.app.portal.session import check_csrf, require_caller
from voltfleet.app.power import ev_modes, service
from voltfleet.app.power.power_words import grid_word, mode_word
from voltfleet.app.power.schemas import ConnectorIn, GroupIn, SettingsIn, SetupIn
from voltfleet.app.sites.repository import SiteRepository
from voltfleet.domain.access import Action, Kind
from voltfleet.domain.fleet import DeviceKind
from voltfleet.domain.power.modes import Mode
from voltfleet.domain.power.tree import ROTATIONS, GridType
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site

router = APIRouter(include_in_schema=False)
N_ = gettext_noop

# the menus' labels, in the reader's language when the page is drawn (power_words.py)
FUSES_A = (16, 20, 25, 32, 35, 40, 50, 63, 80, 100, 125, 160, 200, 250)
ROTATION_TEXT = ["".join(str(p + 1) for p in r) for r in ROTATIONS]
DONE = {
    "setup": N_("Power management is set up: the main fuse is the first group."),
    "settings": N_("Mode and settings saved."),
    "group": N_("Group saved."),
    "deleted": N_("Group deleted; what was in it moved up to its parent."),
    "connector": N_("Connector saved."),
    "removed": N_("Connector taken out of the tree."),
}


async def _form(request: Request) -> dict[str, str]:
    data = await request.form()
    return {k: v for k, v in data.items() if isinstance(v, str)}


Fields = Annotated[dict[str, str], Depends(_form)]


def _meters(session: Session, site: Site) -> list[Device]:
    return list(
        session.scalars(
            select(Device)
            .where(
                Device.site_id == site.id,
                Device.deleted_at.is_(None),
                Device.kind != DeviceKind.CHARGER,
            )
            .order_by(Device.kind, Device.serial)
        )
    )


def _page(
    request: Request,
    session: Session,
    caller: Caller,
    site: Site,
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    power = service.view(session, site, request_now(request))
    children: dict[str | None, list[Any]] = {}
    for g in power.groups:
        children.setdefault(g.parent_id, []).append(g)
    return render(
        request,
        "portal/power.html",
        caller,
        status_code=status_code,
        site=site,
        power=power,
        children=children,
        meters=_meters(session, site),
        can_edit=caller.can(Kind.SITE, Action.UPDATE),
        grid_labels={g: grid_word(g) for g in GridType},
        mode_labels={m: mode_word(m) for m in Mode},
        fuses=FUSES_A,
        rotations=ROTATION_TEXT,
        error=error,
        notice=notice,
        **ev_modes.page_context(session, caller, site, request_now(request)),
    )


@router.get("/sites/{site_id}/power", response_class=HTMLResponse)
def power_page(request: Request, session: DbSession, site_id: str, done: str = "") -> HTMLResponse:
    caller = require_caller(request, session)
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    return _page(
        request, session, caller, site, notice=gettext(DONE[done]) if done in DONE else None
    )


@router.get("/sites/{site_id}/power/live", response_class=HTMLResponse)
def power_live(request: Request, session: DbSession, site_id: str) -> HTMLResponse:
    """The live figures: current per phase against each group's limit, each connector's
    limit (refreshed by the page)."""
    caller = require_caller(request, session)
    site = SiteRepository(session, caller).get_for(site_id, Action.READ)
    power = service.view(session, site, request_now(request))
    return render(
        request,
        "portal/_power_live.html",
        caller,
        site=site,
        power=power,
    )


def _blank(v: str | None) -> str | None:
    return v.strip() if v is not None and v.strip() else None


def _group_body(f: dict[str, str], *, partial: bool) -> GroupIn:
    raw: dict[str, Any] = {}
    for name in ("name", "parent_id", "fuse_a", "meter_device_id", "fallback_a"):
        if name in f:
            raw[name] = _blank(f[name])
    for name in ("peak_current_a", "peak_power_kw", "peak_start", "peak_end"):
        if name in f:
            raw[name] = _blank(f[name])
    if partial and raw.get("parent_id") is None:
        raw.pop("parent_id", None)  # the main fuse's form has no parent
    return GroupIn.model_validate(raw)


def _act(
    request: Request,
    session: Session,
    site_id: str,
    fields: dict[str, str],
    done: str,
    build: Callable[[dict[str, str]], BaseModel | None],
    run: Callable[[Caller, Site, Any], object],
) -> Response:
    caller = require_caller(request, session)
    check_csrf(request, fields.get("csrf", ""))
    site = SiteRepository(session, caller).get_for(site_id, Action.UPDATE)
    try:
        body = build(fields)
    except (ValidationError, ValueError) as exc:
        return _page(
            request,
            session,
            caller,
            site,
            error=gettext("Not saved: %(error)s") % {"error": first_error(exc)},
            status_code=422,
        )
    _done, error = attempt(session, lambda: run(caller, site, body))
    if error:
        return _page(
            request,
            session,
            caller,
            site,
            error=gettext("Not saved: %(error)s") % {"error": error},
            status_code=422,
        )
    return RedirectResponse(f"/sites/{site.id}/power?done={done}", status_code=303)


@router.post("/sites/{site_id}/power/setup")
def post_setup(request: Request, session: DbSession, site_id: str, f: Fields) -> Response:
    now = request_now(request)
    return _act(
        request,
        session,
        site_id,
        f,
        "setup",
        lambda f: SetupIn(
            grid_type=GridType(f.get("grid_type", "")),
            main_fuse_a=float(f.get("main_fuse_a", "") or "nan"),
            meter_device_id=_blank(f.get("meter_device_id")),
        ),
        lambda caller, site, body: service.setup(session, caller, site, body, now),
    )


@router.post("/sites/{site_id}/power/settings")
def post_settings(request: Request, session: DbSession, site_id: str, f: Fields) -> Response:
    now = request_now(request)

    def build(f: dict[str, str]) -> SettingsIn:
        raw: dict[str, Any] = {"mode": f.get("mode")}
        for name in ("solar_backup_s", "meter_stale_s", "raise_hold_s"):
            if _blank(f.get(name)):
                raw[name] = f[name]
        if _blank(f.get("min_solar_share_pct")):
            raw["min_solar_share"] = float(f["min_solar_share_pct"]) / 100
        return SettingsIn.model_validate(raw)

    return _act(
        request,
        session,
        site_id,
        f,
        "settings",
        build,
        lambda caller, site, body: service.update_settings(session, caller, site, body, now),
    )


@router.post("/sites/{site_id}/power/groups")
def post_group(request: Request, session: DbSession, site_id: str, f: Fields) -> Response:
    now = request_now(request)
    return _act(
        request,
        session,
        site_id,
        f,
        "group",
        lambda f: _group_body(f, partial=False),
        lambda caller, site, body: service.add_group(session, caller, site, body, now),
    )


@router.post("/sites/{site_id}/power/groups/{group_id}")
def post_group_edit(
    request: Request, session: DbSession, site_id: str, group_id: str, f: Fields
) -> Response:
    now = request_now(request)
    if f.get("delete"):
        return _act(
            request,
            session,
            site_id,
            f,
            "deleted",
            lambda f: None,
            lambda caller, site, body: service.delete_group(session, caller, site, group_id),
        )
    return _act(
        request,
        session,
        site_id,
        f,
        "group",
        lambda f: _group_body(f, partial=True),
        lambda caller, site, body: service.update_group(session, caller, site, group_id, body, now),
    )


@router.post("/sites/{site_id}/power/connectors/{connector_id}")
def post_connector(
    request: Request, session: DbSession, site_id: str, connector_id: str, f: Fields
) -> Response:
    if not _blank(f.get("group_id")):
        return _act(
            request,
            session,
            site_id,
            f,
            "removed",
            lambda f: None,
            lambda caller, site, body: service.remove_connector(
                session, caller, site, connector_id
            ),
        )
    return _act(
        request,
        session,
        site_id,
        f,
        "connector",
        lambda f: ConnectorIn(
            group_id=f["group_id"],
            rotation=f.get("rotation", "123"),
            max_current_a=float(f["max_current_a"]) if _blank(f.get("max_current_a")) else None,
            priority=int(f.get("priority", "0") or 0),
        ),
        lambda caller, site, body: service.place_connector(
            session, caller, site, connector_id, body
        ),
    )
