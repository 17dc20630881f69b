"""A device's function bar (the manual's Details, Chart, Energy, Alarm, Data, Settings,
AutoTest, Mode, Intelligent load, Upgrade for an inverter), shown on every page of a device by
``portal/_device_tabs.html`` through the template global ``device_tabs``. It is the device
page's only row of links (the older link line under the heading duplicated it).

A tab appears only when the caller's role may open it (Settings needs the right to change
devices, Upgrade the right to read firmware) and it applies to the device: AutoTest (the Italian
grid code's self-test: Italian sites only), Mode and Intelligent load are an inverter's; register
Settings are an inverter's, a battery's or a meter's; Gateway settings a gateway's. The page has
already loaded the device through the caller's scope.
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
    anchor: str = ""  # the link's element id, kept from the old link line for scripts and tests


ANCHORS = {
    "alarms": "device-alarms-link",
    "settings": "device-settings-link",
    "autotest": "device-autotest-link",
    "mode": "device-mode-link",
    "gateway_settings": "gateway-settings-link",
}
REGISTER_KINDS = ("inverter", "battery", "meter")  # devices with a register map (Settings)


def tabs_for(device_id: str, path: str, me: Any, country: str, kind: str = "inverter") -> list[Tab]:
    """The tabs of a device of ``kind`` for a caller (``me``: has ``can(kind, action)``) on
    ``path``."""
    d = f"/device/{device_id}"
    inverter = kind == "inverter"

    def can(kind: Kind, action: Action) -> bool:
        return me is not None and bool(me.can(kind, action))

    wanted: list[tuple[str, str, str, bool]] = [
        ("details", _("Details"), d, True),
        ("chart", _("Chart"), f"{d}/chart", True),
        ("energy", _("Energy"), f"{d}/energy", True),
        ("alarms", _("Alarm"), f"{d}/alarms", True),
        ("data", _("Data"), f"{d}/data", True),
        (
            "settings",
            _("Settings"),
            f"{d}/settings",
            kind in REGISTER_KINDS and can(Kind.DEVICE, Action.UPDATE),
        ),
        (
            "gateway_settings",
            _("Gateway settings"),
            f"{d}/gateway-settings",
            kind == "gateway",  # readable by every role; sending needs the right to change
        ),
        ("autotest", _("AutoTest"), f"{d}/autotest", inverter and autotest.available_in(country)),
        ("mode", _("Mode"), f"{d}/mode", inverter),
        ("load", _("Intelligent load"), f"{d}/mode#load-form", inverter),
        ("upgrade", _("Upgrade"), f"{d}/upgrade", can(Kind.FIRMWARE, Action.READ)),
    ]
    return [
        Tab(key, label, href, key != "load" and path == href, ANCHORS.get(key, ""))
        for key, label, href, shown in wanted
        if shown
    ]


@pass_context
def device_tabs(context: Any, device: Any) -> list[Tab]:
    """Template global: the function bar of ``device`` for the page rendered."""
    request = context.get("request")
    kind = getattr(device, "kind", "") if device is not None else ""
    if request is None or not kind:
        return []
    country = ""
    if kind == "inverter":  # only an inverter's AutoTest depends on the site's country
        with get_runtime(request).db.session() as session:
            country = session.scalar(select(Site.country).where(Site.id == device.site_id)) or ""
    return tabs_for(device.id, context.get("path", ""), context.get("me"), country, kind)
