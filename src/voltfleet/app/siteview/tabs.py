"""The site's function bar (the manual's Overview, Chart, Energy, Alarm, Settings,
Commissioning, and Power, Savings, Tariff, Battery plan where the site has what they are about).

Every tab is its own URL; each tab page includes ``portal/_site_tabs.html``, which calls
``site_tabs`` (a template global) with the site's id. A tab appears only when the caller's role may
open it (Settings needs the right to change devices) and the site has what it is about (Power
needs a charger, Battery plan a battery, Savings a battery or uploaded meter records). The active
tab is the one whose URL the page's path is on (the Chart tab leads to a device's chart, so a
device chart marks it active).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import pass_context
from sqlalchemy import select

from voltfleet.app.deps import get_runtime
from voltfleet.app.i18n import gettext as _
from voltfleet.domain.access import Action, Kind
from voltfleet.store.fleet_models import Device
from voltfleet.store.money_models import MeterIntervalRow


@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    href: str
    active: bool


def _kinds(request: Any, site_id: str) -> set[str]:
    """The kinds of device bound to the site, and ``metered`` when meter records were uploaded
    for it (the page has already loaded the site through the caller's scope)."""
    with get_runtime(request).db.session() as session:
        kinds = set(
            session.scalars(select(Device.kind).where(Device.site_id == site_id).distinct())
        )
        metered = select(MeterIntervalRow.id).where(MeterIntervalRow.site_id == site_id).limit(1)
        if session.scalar(metered) is not None:
            kinds.add("metered")
        return kinds


def tabs_for(site_id: str, path: str, me: Any, kinds: set[str]) -> list[Tab]:
    """The tabs of a site for a caller (``me``: has ``can(kind, action)``) on the page ``path``."""
    s = f"/site/{site_id}"
    o = f"/sites/{site_id}"
    on_chart = path.startswith("/device/") and (path.endswith("/chart") or path.endswith("/data"))
    wanted: list[tuple[str, str, str, bool, bool]] = [
        ("overview", _("Overview"), s, True, path == s),
        ("chart", _("Chart"), f"{s}/chart", bool(kinds), path == f"{s}/chart" or on_chart),
        ("energy", _("Energy"), f"{s}/energy", True, path == f"{s}/energy"),
        ("alarms", _("Alarm"), f"{s}/alarms", True, path.startswith(f"{s}/alarms")),
        (
            "settings",
            _("Settings"),
            f"{s}/settings",
            me is not None and me.can(Kind.DEVICE, Action.UPDATE),
            path == f"{s}/settings",
        ),
        (
            "commissioning",
            _("Commissioning"),
            f"{s}/commissioning",
            True,
            path.startswith(f"{s}/commissioning"),
        ),
        ("power", _("Power"), f"{o}/power", "charger" in kinds, path == f"{o}/power"),
        (
            "savings",
            _("Savings"),
            f"{o}/savings",
            bool(kinds & {"battery", "metered"}),
            path == f"{o}/savings",
        ),
        ("tariff", _("Tariff"), f"{o}/tariff", True, path == f"{o}/tariff"),
        (
            "battery-plan",
            _("Battery plan"),
            f"{s}/battery-plan",
            "battery" in kinds,
            path == f"{s}/battery-plan",
        ),
    ]
    return [Tab(k, label, href, active) for k, label, href, shown, active in wanted if shown]


@pass_context
def site_tabs(context: Any, site_id: str) -> list[Tab]:
    """Template global: the tabs of ``site_id`` for the page being rendered."""
    request = context.get("request")
    if request is None or not site_id:
        return []
    return tabs_for(site_id, context.get("path", ""), context.get("me"), _kinds(request, site_id))
