"""The gateway and the inverter list as ``Table``s (app/tables.py): one definition gives the
page's table and the CSV download, so they cannot drift apart. Each column has a key the column
chooser (static/js/columns.js) hides and shows by."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from markupsafe import Markup

from voltfleet.app.devices.schemas import DeviceOut
from voltfleet.app.formatting import user_time
from voltfleet.app.i18n import gettext
from voltfleet.app.i18n import gettext_noop as N_
from voltfleet.app.portal.quantity_filters import power
from voltfleet.app.tables import Column, Table

# A PV sample older than this is not "power now" (the gateway's slowest upload interval is 5 min).
FRESH = timedelta(minutes=15)

STATUS_WORDS = {
    "online": N_("online"),
    "offline": N_("offline"),
    "fault": N_("fault"),
    "standby": N_("standby"),
    "running": N_("running"),
    "unknown": N_("unknown"),
}
GATEWAY_TYPES = {
    "4g": N_("4G"),
    "wifi": N_("Wi-Fi"),
    "ethernet": N_("Ethernet"),
    "datahub": N_("Data hub"),
}


@dataclass(frozen=True)
class Row:
    device: DeviceOut
    power_w: float | None = None  # inverters: the newest PV power, when fresh
    below: int = 0  # gateways: devices bound below it


@dataclass(frozen=True)
class Actions:
    """What the caller may do from a row (the page only; never in the CSV)."""

    csrf: str
    rename: bool
    distribute: bool
    delete: bool


def _serial(d: DeviceOut) -> Markup:
    return Markup('<a href="/device/{}">{}</a>').format(d.id, d.serial)


def _site(d: DeviceOut) -> Markup:
    return Markup('<a href="/site/{}">{}</a>').format(d.site_id, d.site_name)


def _firmware(d: DeviceOut) -> str:
    parts = [
        f"{label} {v}"
        for label, v in (("DSP", d.fw_dsp), ("LCD", d.fw_lcd), ("ARM", d.fw_arm))
        if v
    ]
    return " · ".join(parts)


def _actions(a: Actions) -> Callable[[Row], Markup]:
    def show(row: Row) -> Markup:
        d = row.device
        links: list[Markup] = []
        if a.rename:
            links.append(
                Markup('<a href="/device/{}#rename-device" class="act-rename">{}</a>').format(
                    d.id, gettext("Rename")
                )
            )
        if a.distribute and d.parent_id is None:
            links.append(
                Markup('<a href="/device/{}#move-device" class="act-distribute">{}</a>').format(
                    d.id, gettext("Distribute to a site")
                )
            )
        if a.delete:
            question = gettext("Delete %(serial)s?") % {"serial": d.serial}
            links.append(
                Markup(
                    '<form method="post" action="/device/{}/delete" class="inline"'
                    ' onsubmit="return confirm(this.dataset.q)" data-q="{}">'
                    '<input type="hidden" name="csrf" value="{}">'
                    '<button class="link danger act-delete">{}</button></form>'
                ).format(d.id, question, a.csrf, gettext("Delete"))
            )
        return Markup(" · ").join(links)

    return show


def _stamp(at: datetime | None) -> str:
    return at.isoformat() if at else ""


def gateway_table(rows: list[Row], actions: Actions | None) -> Table[Row]:
    cols: list[Column[Row]] = [
        Column(
            N_("Status"), lambda r: r.device.status, key="status", show=lambda s: _status_word(s)
        ),
        Column(N_("SN"), lambda r: r.device, text=lambda d: d.serial, show=_serial, key="serial"),
        Column(N_("Name"), lambda r: r.device.name, key="name"),
        Column(
            N_("Type"),
            lambda r: r.device.subtype,
            key="type",
            show=lambda t: gettext(GATEWAY_TYPES[t]) if t in GATEWAY_TYPES else t,
        ),
        Column(N_("Model"), lambda r: r.device.model, key="model"),
        Column(N_("Firmware version"), lambda r: r.device.fw_arm, key="firmware"),
        Column(N_("Registration no."), lambda r: r.device.registration_no, page=False),  # CSV
        Column(N_("Devices"), lambda r: r.below, num=True, key="devices"),
        Column(N_("Site"), lambda r: r.device, text=lambda d: d.site_name, show=_site, key="site"),
        Column(
            N_("Last seen"),
            lambda r: r.device.last_seen,
            text=_stamp,
            show=lambda at: user_time(at) if at else "—",
            key="last-seen",
        ),
        Column(
            N_("Created"),
            lambda r: r.device.created_at,
            text=_stamp,
            show=lambda at: user_time(at),
            key="created",
        ),
    ]
    if actions and (actions.rename or actions.distribute or actions.delete):
        cols.append(Column(N_("Actions"), lambda r: r, show=_actions(actions), key="actions"))
    return Table(cols, rows, row_attrs=lambda r: {"data-serial": r.device.serial})


def inverter_table(rows: list[Row], actions: Actions | None) -> Table[Row]:
    cols: list[Column[Row]] = [
        Column(
            N_("Status"), lambda r: r.device.status, key="status", show=lambda s: _status_word(s)
        ),
        Column(N_("Name"), lambda r: r.device.name, key="name"),
        Column(N_("SN"), lambda r: r.device, text=lambda d: d.serial, show=_serial, key="serial"),
        Column(N_("Site"), lambda r: r.device, text=lambda d: d.site_name, show=_site, key="site"),
        Column(N_("Gateway SN"), lambda r: r.device.parent_serial or "", key="gateway"),
        Column(N_("Model"), lambda r: r.device.model, key="model"),
        Column(N_("Firmware"), lambda r: r.device, text=_firmware, key="firmware"),
        Column(
            N_("Power now, W"),
            lambda r: r.power_w,
            heading=N_("Power now"),
            text=lambda w: "" if w is None else round(w),
            show=power,
            num=True,
            key="power",
        ),
    ]
    if actions and (actions.rename or actions.delete):
        cols.append(Column(N_("Actions"), lambda r: r, show=_actions(actions), key="actions"))
    return Table(cols, rows, row_attrs=lambda r: {"data-serial": r.device.serial})


def _status_word(status: str) -> Markup:
    word = gettext(STATUS_WORDS.get(status, status))
    return Markup('<span class="badge status-{}">{}</span>').format(status, word)


def fresh_power(power_w: float | None, at: datetime | None, now: datetime) -> float | None:
    """The newest PV power when it is recent enough to be "now", else None."""
    if power_w is None or at is None or now - at > FRESH:
        return None
    return power_w
