"""The inverter's function bar (the manual's Details, Chart, Energy, Alarm, Data, Settings,
AutoTest, Mode, Intelligent load, Upgrade), shown on every inverter page by
``portal/_device_tabs.html`` through the template global ``device_tabs``.

A tab appears only when the caller's role may open it (Settings needs the right to change
devices, Upgrade the right to read firmware) and it applies (AutoTest is the Italian grid code's
self-test: Italian sites only). The page has already loaded the device through the caller's scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import pass_context
from sqlalchemy import select

from voltfleet.app.deps import get_runtime
from voltfleet.app.i18n import gettext as _
from voltfleet.domain import autotest
from voltfleet.domain.access import Action, Kind
from voltfleet.store.models import Site


@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    href: str
    active: bool


def tabs_for(device_id: str, path: str, me: Any, country: str) -> list[Tab]:
    """The tabs of an inverter for a caller (``me``: has ``can(kind, action)``) on ``path``."""
    d = f"/device/{device_id}"

    def can(kind: Kind, action: Action) -> bool:
        return me is not None and bool(me.can(kind, action))

    wanted: list[tuple[str, str, str, bool]] = [
        ("details", _("Details"), d, True),
        ("chart", _("Chart"), f"{d}/chart", True),
        ("energy", _("Energy"), f"{d}/energy", True),
        ("alarms", _("Alarm"), f"{d}/alarms", True),
        ("data", _("Data"), f"{d}/data", True),
        ("settings", _("Settings"), f"{d}/settings", can(Kind.DEVICE, Action.UPDATE)),
        ("autotest", _("AutoTest"), f"{d}/autotest", autotest.available_in(country)),
        ("mode", _("Mode"), f"{d}/mode", True),
        ("load", _("Intelligent load"), f"{d}/mode#load-form", True),
        ("upgrade", _("Upgrade"), f"{d}/upgrade", can(Kind.FIRMWARE, Action.READ)),
    ]
    return [
        Tab(key, label, href, key != "load" and path == href)
        for key, label, href, shown in wanted
        if shown
    ]


@pass_context
def device_tabs(context: Any, device: Any) -> list[Tab]:
    """Template global: the function bar of ``device`` (an inverter) for the page rendered."""
    request = context.get("request")
    if request is None or device is None or getattr(device, "kind", "") != "inverter":
        return []
    with get_runtime(request).db.session() as session:
        country = session.scalar(select(Site.country).where(Site.id == device.site_id)) or ""
    return tabs_for(device.id, context.get("path", ""), context.get("me"), country)
