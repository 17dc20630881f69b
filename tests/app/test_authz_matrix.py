"""The authorisation matrix, generated from the policy table.

For every endpoint under /api/v1, every caller (each role in each organisation, plus a superuser)
and every target (objects in each organisation), the expected answer comes from an oracle written
here independently of the application's repositories:

* the target is outside the caller's scope  -> 404
* visible, but POLICY refuses the action     -> 403
* an action on a user of a higher rank       -> 403 (role ranking: administrator > O&M
  engineer > owner, a superuser above all; equal ranks allowed), and on oneself -> 403
* otherwise                                  -> 2xx (and lists hold exactly the visible objects)

A route that exists but is not described here fails the test, so new endpoints must join it.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.support.world import Account, World, build_world
from voltfleet.app.orgs.service import build_org
from voltfleet.app.runtime import Runtime
from voltfleet.app.users.service import new_user
from voltfleet.domain.access import Action, Kind, OrgType, Role, allowed
from voltfleet.store.alarm_models import Alarm
from voltfleet.store.alarm_notify_models import AlarmDelivery, AlarmSubscription
from voltfleet.store.charging_models import ChargingSession
from voltfleet.store.command_models import Command
from voltfleet.store.firmware_models import (
    CommissioningReport,
    FirmwareFile,
    FirmwareRelease,
    FirmwareRun,
    FirmwareTask,
)
from voltfleet.store.fleet_models import Connector, Device
from voltfleet.store.models import ApiKey, AuditEntry, Org, Site, SiteShare, User
from voltfleet.store.money_models import TariffVersion as TariffRow
from voltfleet.store.ocpp_models import IdTag
from voltfleet.store.power_models import PowerConnector, PowerGroup, PowerLocation
from voltfleet.store.telemetry_models import CounterRestart, QuarantinedReading

PUBLIC = {
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/auth/register/code"),
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/password/forgot"),
    ("POST", "/api/v1/auth/password/reset"),
}
# Endpoints about the caller's own account: no other tenant's object is named in them.
SELF = {
    ("GET", "/api/v1/me"),
    ("PATCH", "/api/v1/me"),
    ("DELETE", "/api/v1/me"),
    ("POST", "/api/v1/me/password"),
    ("POST", "/api/v1/me/email/start"),
    ("POST", "/api/v1/me/email/new"),
    ("POST", "/api/v1/me/email/confirm"),
    ("PUT", "/api/v1/me/avatar"),
    ("GET", "/api/v1/me/api-keys"),
    ("POST", "/api/v1/me/api-keys"),
    ("DELETE", "/api/v1/me/api-keys/{key_id}"),
}


def power_target(runtime: Runtime, site: Site) -> tuple[str, str]:
    """The site's power tree (set up when missing) with a new throwaway group, and its
    charger's connector in the tree: (group id, connector id)."""
    with runtime.db.session() as s:
        loc = s.scalar(select(PowerLocation).where(PowerLocation.site_id == site.id))
        if loc is None:
            loc = PowerLocation(site_id=site.id, grid_type="3x400")
            s.add(loc)
            s.flush()
            s.add(PowerGroup(location_id=loc.id, parent_id=None, name="Main", fuse_a=35))
            s.flush()
        root = s.scalar(
            select(PowerGroup.id).where(
                PowerGroup.location_id == loc.id, PowerGroup.parent_id.is_(None)
            )
        )
        group = PowerGroup(location_id=loc.id, parent_id=root, name="t", fuse_a=16)
        s.add(group)
        charger = s.scalar(
            select(Device.id).where(Device.site_id == site.id, Device.kind == "charger")
        )
        assert charger is not None
        conn = s.scalar(select(Connector).where(Connector.charger_id == charger))
        if conn is None:
            conn = Connector(charger_id=charger, connector_no=1)
            s.add(conn)
            s.flush()
        if (
            s.scalar(select(PowerConnector.id).where(PowerConnector.connector_id == conn.id))
            is None
        ):
            s.add(PowerConnector(location_id=loc.id, group_id=str(root), connector_id=conn.id))
        s.flush()
        return group.id, conn.id


@dataclass
class Case:
    kind: Kind
    action: Action
    method: str
    path: str  # with {id} for the target
    body: Callable[[str], object] | None = None  # built from the target org id
    # Sites and devices: which object the request is about (see Targets.site_target), and
    # whether the body is a file upload.
    target: str = ""
    upload: bool = False
    query: str = ""  # appended to the URL
    ok: str = "2xx"  # the answer to a caller who may (a command to a charger not connected: 503)


OBJECT_CASES = [
    Case(Kind.ORG, Action.READ, "GET", "/api/v1/orgs/{org_id}"),
    Case(Kind.ORG, Action.UPDATE, "PATCH", "/api/v1/orgs/{org_id}", lambda _: {"description": "x"}),
    Case(Kind.ORG, Action.DELETE, "DELETE", "/api/v1/orgs/{org_id}"),
    # The company page: its logo (each world organisation has one) and its access code.
    Case(Kind.ORG, Action.READ, "GET", "/api/v1/orgs/{org_id}/logo"),
    Case(Kind.ORG, Action.UPDATE, "PUT", "/api/v1/orgs/{org_id}/logo", upload=True),
    Case(Kind.ORG, Action.UPDATE, "POST", "/api/v1/orgs/{org_id}/access-code"),
    Case(
        Kind.ORG,
        Action.CREATE,
        "POST",
        "/api/v1/orgs",
        lambda parent: {"name": "New", "type": "installer", "parent_id": parent},
    ),
    # Vendor register maps of an organisation: administrators upload, O&M engineers list.
    Case(
        Kind.REGISTER_MAP,
        Action.CREATE,
        "POST",
        "/api/v1/orgs/{org_id}/register-maps",
        lambda _: {"device_model": "X1", "content": "group,address,name\nBasic,40001,Mode\n"},
    ),
    Case(Kind.REGISTER_MAP, Action.LIST, "GET", "/api/v1/orgs/{org_id}/register-maps"),
    Case(Kind.USER, Action.READ, "GET", "/api/v1/users/{user_id}"),
    Case(Kind.USER, Action.READ, "GET", "/api/v1/users/{user_id}/avatar"),
    Case(Kind.USER, Action.UPDATE, "PATCH", "/api/v1/users/{user_id}", lambda _: {"username": "y"}),
    Case(
        Kind.USER, Action.CHANGE_ROLE, "PATCH", "/api/v1/users/{user_id}", lambda _: {"role": "om"}
    ),
    Case(Kind.USER, Action.DELETE, "DELETE", "/api/v1/users/{user_id}"),
    Case(
        Kind.USER,
        Action.RESET_PASSWORD,
        "POST",
        "/api/v1/users/{user_id}/reset-password",
    ),
    Case(
        Kind.USER,
        Action.CREATE,
        "POST",
        "/api/v1/users",
        lambda org: {
            "email": f"n{id(org)}@example.com",
            "username": "n",
            "password": "Fresh#123",
            "org_id": org,
            "role": "owner",
        },
    ),
]
S, D = Kind.SITE, Kind.DEVICE
RESTARTS_FROM = datetime(2024, 1, 1, tzinfo=UTC)
RESTART_N = itertools.count(1)
WINDOW = "start_time=2026-03-02T00:00:00Z&end_time=2026-03-03T00:00:00Z"
FIXED_TARIFF = {
    "valid_from": "2020-01-01",
    "kind": "fixed",
    "currency": "EUR",
    "price_per_kwh": 0.3,
}
FIXED_DEFINITION = {k: v for k, v in FIXED_TARIFF.items() if k != "valid_from"}
SITE_CASES = [
    Case(S, Action.CREATE, "POST", "/api/v1/sites", lambda org: {"name": "n", "org_id": org}),
    Case(S, Action.READ, "GET", "/api/v1/sites/{site_id}", target="site"),
    Case(S, Action.UPDATE, "PATCH", "/api/v1/sites/{site_id}", lambda _: {"address": "x"}, "site"),
    Case(S, Action.DELETE, "DELETE", "/api/v1/sites/{site_id}", target="temp_site"),
    Case(S, Action.DELETE, "POST", "/api/v1/sites/{site_id}/deletion-code", target="owned_site"),
    Case(S, Action.READ, "GET", "/api/v1/sites/{site_id}/picture", target="site"),
    Case(S, Action.UPDATE, "PUT", "/api/v1/sites/{site_id}/picture", target="site", upload=True),
    Case(
        S,
        Action.DISTRIBUTE,
        "POST",
        "/api/v1/sites/{site_id}/distribute",
        lambda _: {"user_id": None},
        "temp_site",
    ),
    Case(S, Action.SHARE, "GET", "/api/v1/sites/{site_id}/shares", target="site"),
    Case(S, Action.SHARE, "POST", "/api/v1/sites/{site_id}/shares", target="temp_site"),
    Case(S, Action.SHARE, "DELETE", "/api/v1/sites/{site_id}/shares/{org_id}", target="unshare"),
    Case(S, Action.READ, "GET", "/api/v1/sites/{site_id}/statistical-range", target="site"),
    Case(
        S,
        Action.UPDATE,
        "PUT",
        "/api/v1/sites/{site_id}/statistical-range",
        lambda _: {"meters": True},
        "site",
    ),
    Case(S, Action.READ, "GET", "/api/v1/sites/{site_id}/status", target="site"),
    Case(D, Action.READ, "GET", "/api/v1/sites/{site_id}/topology", target="site"),
    Case(D, Action.CREATE, "POST", "/api/v1/sites/{site_id}/devices", target="site"),
    Case(
        D,
        Action.CREATE,
        "POST",
        "/api/v1/sites/{site_id}/devices/import",
        target="site",
        upload=True,
    ),
    Case(D, Action.READ, "GET", "/api/v1/devices/{device_id}", target="device"),
    Case(
        D, Action.UPDATE, "PATCH", "/api/v1/devices/{device_id}", lambda _: {"name": "x"}, "device"
    ),
    Case(D, Action.DELETE, "DELETE", "/api/v1/devices/{device_id}", target="temp_device"),
    Case(D, Action.UPDATE, "POST", "/api/v1/devices/{device_id}/move", target="temp_device"),
    # Issuing (rotating) a gateway's ingest token changes the device (the standing one is one).
    Case(D, Action.UPDATE, "POST", "/api/v1/devices/{device_id}/token", target="device"),
    # What a gateway found on its bus (auto-detect), as anyone who sees the gateway sees it.
    Case(D, Action.READ, "GET", "/api/v1/devices/{device_id}/inventory", target="device"),
    # Tariffs, prices, slots, schedules, costs and savings of a site.
    Case(S, Action.READ, "GET", "/api/v1/sites/{site_id}/tariffs", target="site"),
    # An owner sets the tariff of their own home (Kind.TARIFF), though not the site itself.
    Case(
        Kind.TARIFF,
        Action.UPDATE,
        "PUT",
        "/api/v1/sites/{site_id}/tariffs/{direction}",
        lambda _: FIXED_TARIFF,
        "site",
    ),
    Case(
        Kind.TARIFF,
        Action.DELETE,
        "DELETE",
        "/api/v1/sites/{site_id}/tariffs/{tariff_id}",
        target="temp_tariff",
    ),
    Case(S, Action.READ, "GET", "/api/v1/sites/{site_id}/rates", target="site", query=WINDOW),
    Case(
        S,
        Action.READ,
        "GET",
        "/api/v1/sites/{site_id}/slots/threshold",
        target="site",
        query=WINDOW + "&segment=LOW&relative=0.5",
    ),
    Case(
        S,
        Action.READ,
        "GET",
        "/api/v1/sites/{site_id}/slots/time",
        target="site",
        query=WINDOW + "&segment=HIGH&duration_minutes=60",
    ),
    Case(
        S,
        Action.READ,
        "POST",
        "/api/v1/sites/{site_id}/schedules",
        lambda _: {
            "direction": "IMPORT",
            "start_time": "2026-03-02T00:00:00Z",
            "end_time": "2026-03-03T00:00:00Z",
            "energy_kwh": 2,
            "max_power_kw": 1,
        },
        "site",
    ),
    Case(
        S,
        Action.READ,
        "POST",
        "/api/v1/costs/interval/{site_id}",
        lambda _: {"start_time": "2026-03-02T00:00:00Z", "end_time": "2026-03-03T00:00:00Z"},
        "site",
    ),
    Case(S, Action.READ, "GET", "/api/v1/sites/{site_id}/savings", target="site", query=WINDOW),
    # Telemetry read side: readings, roll-ups and energy of a device, energy of a site.
    Case(D, Action.READ, "GET", "/api/v1/devices/{device_id}/readings", target="device"),
    Case(D, Action.READ, "GET", "/api/v1/devices/{device_id}/series", target="device"),
    Case(
        D,
        Action.READ,
        "GET",
        "/api/v1/devices/{device_id}/energy",
        target="device",
        query="period=year",
    ),
    Case(
        S, Action.READ, "GET", "/api/v1/sites/{site_id}/energy", target="site", query="period=year"
    ),
    # Live data: server-sent events (ended after their first event here, see live_max_s) and
    # the JSON snapshot.
    Case(S, Action.READ, "GET", "/api/v1/sites/{site_id}/live", target="site"),
    Case(S, Action.READ, "GET", "/api/v1/sites/{site_id}/live/now", target="site"),
    Case(D, Action.READ, "GET", "/api/v1/devices/{device_id}/live", target="device"),
    # An alarm of the site's gateway (one standing alarm per standing site).
    Case(D, Action.READ, "GET", "/api/v1/alarms/{alarm_id}", target="site"),
    Case(D, Action.UPDATE, "POST", "/api/v1/alarms/{alarm_id}/acknowledge", target="site"),
    # A charging session of the site's charger (one standing session per standing site).
    Case(D, Action.READ, "GET", "/api/v1/charging/sessions/{session_id}", target="site"),
    # EV power management of the site: owners look, those who manage sites change it. The
    # "power" target gives the site a tree with a throwaway group and its charger's connector.
    Case(S, Action.READ, "GET", "/api/v1/sites/{site_id}/power", target="site"),
    Case(
        S,
        Action.UPDATE,
        "PUT",
        "/api/v1/sites/{site_id}/power",
        lambda _: {"grid_type": "3x400", "main_fuse_a": 35},
        "power",
    ),
    Case(
        S,
        Action.UPDATE,
        "PATCH",
        "/api/v1/sites/{site_id}/power/settings",
        lambda _: {"mode": "sharing"},
        "power",
    ),
    Case(
        S,
        Action.UPDATE,
        "POST",
        "/api/v1/sites/{site_id}/power/groups",
        lambda _: {"name": "g", "fuse_a": 16},
        "power",
    ),
    Case(
        S,
        Action.UPDATE,
        "PATCH",
        "/api/v1/sites/{site_id}/power/groups/{group_id}",
        lambda _: {"fuse_a": 20},
        "power",
    ),
    Case(
        S,
        Action.UPDATE,
        "DELETE",
        "/api/v1/sites/{site_id}/power/groups/{group_id}",
        target="power",
    ),
    Case(
        S,
        Action.UPDATE,
        "PUT",
        "/api/v1/sites/{site_id}/power/connectors/{connector_id}",
        target="power",
    ),
    Case(
        S,
        Action.UPDATE,
        "DELETE",
        "/api/v1/sites/{site_id}/power/connectors/{connector_id}",
        target="power",
    ),
    # 1p/3p switching of a connector in the tree; a running session's departure time.
    Case(
        S,
        Action.UPDATE,
        "PUT",
        "/api/v1/sites/{site_id}/power/connectors/{connector_id}/phase-switching",
        lambda _: {"enabled": True},
        "power",
    ),
    Case(D, Action.READ, "GET", "/api/v1/charging/sessions/{session_id}/departure", target="site"),
    Case(
        D,
        Action.UPDATE,
        "PUT",
        "/api/v1/charging/sessions/{session_id}/departure",
        lambda _: {"departure_at": "2099-01-01T08:00:00+01:00", "energy_need_kwh": 20},
        target="site",
    ),
    Case(
        D,
        Action.UPDATE,
        "DELETE",
        "/api/v1/charging/sessions/{session_id}/departure",
        target="site",
    ),
    # Commands to the site's battery (one standing battery and command per standing site).
    Case(
        D,
        Action.UPDATE,
        "POST",
        "/api/v1/devices/{device_id}/commands",
        lambda _: {"kind": "battery_mode", "params": {"mode": "idle"}},
        "battery",
    ),
    Case(D, Action.READ, "GET", "/api/v1/devices/{device_id}/commands", target="battery"),
    # Device settings (registers): read and written by O&M and administrators, never owners.
    Case(D, Action.UPDATE, "GET", "/api/v1/devices/{device_id}/registers", target="battery"),
    Case(
        D,
        Action.UPDATE,
        "POST",
        "/api/v1/devices/{device_id}/registers/read",
        lambda _: {"keys": ["124.WChaMax"]},
        "battery",
    ),
    Case(
        D,
        Action.UPDATE,
        "POST",
        "/api/v1/devices/{device_id}/registers/write",
        lambda _: {"key": "124.WChaMax", "value": 3000},
        "battery",
    ),
    Case(D, Action.READ, "GET", "/api/v1/commands/{command_id}", target="site"),
    # The battery's placeholder day plan: made by those who command devices, read by all.
    Case(
        D,
        Action.UPDATE,
        "POST",
        "/api/v1/sites/{site_id}/battery-plan",
        lambda _: {"capacity_kwh": 10, "max_charge_w": 3000, "max_discharge_w": 3000, "hours": 6},
        "site",
    ),
    Case(S, Action.READ, "GET", "/api/v1/sites/{site_id}/battery-plan", target="site"),
    # Counter restarts of the standing gateway's PV counter (each POST a new instant); DELETE
    # removes a throwaway restart (no reading depends on it).
    Case(D, Action.READ, "GET", "/api/v1/devices/{device_id}/counter-restarts", target="device"),
    Case(
        D,
        Action.UPDATE,
        "POST",
        "/api/v1/devices/{device_id}/counter-restarts",
        lambda _: {
            "point": "pv_energy_wh",
            "at": (RESTARTS_FROM + timedelta(minutes=next(RESTART_N))).isoformat(),
            "reason": "meter replaced",
        },
        "device",
    ),
    Case(
        D,
        Action.UPDATE,
        "DELETE",
        "/api/v1/devices/{device_id}/counter-restarts/{restart_id}",
        target="temp_restart",
    ),
    # Commissioning reports: asked for by those who maintain devices, read by all who see the
    # site (a finished standing report per site; throwaway ones to regenerate and delete).
    Case(
        D,
        Action.UPDATE,
        "POST",
        "/api/v1/sites/{site_id}/commissioning-reports",
        lambda _: {"name": "Commission Report"},
        "site",
    ),
    Case(S, Action.READ, "GET", "/api/v1/sites/{site_id}/commissioning-reports", target="site"),
    Case(S, Action.READ, "GET", "/api/v1/commissioning-reports/{report_id}", target="site"),
    Case(S, Action.READ, "GET", "/api/v1/commissioning-reports/{report_id}/pdf", target="site"),
    Case(
        D,
        Action.UPDATE,
        "POST",
        "/api/v1/commissioning-reports/{report_id}/send",
        lambda _: {"email": "ops@example.com"},
        "site",
    ),
    Case(
        D,
        Action.UPDATE,
        "POST",
        "/api/v1/commissioning-reports/{report_id}/regenerate",
        target="temp_report",
    ),
    Case(
        D,
        Action.DELETE,
        "DELETE",
        "/api/v1/commissioning-reports/{report_id}",
        target="temp_report",
    ),
    # OCPP: a command to the site's charger (not connected here: 503 once allowed), its message
    # log, and the site's id tags.
    Case(
        D,
        Action.UPDATE,
        "POST",
        "/api/v1/devices/{device_id}/ocpp/commands",
        lambda _: {"action": "reset", "params": {}},
        "charger",
        ok="503",
    ),
    Case(D, Action.READ, "GET", "/api/v1/devices/{device_id}/ocpp/messages", target="charger"),
    Case(S, Action.READ, "GET", "/api/v1/sites/{site_id}/id-tags", target="site"),
    Case(
        S, Action.UPDATE, "PUT", "/api/v1/sites/{site_id}/id-tags", lambda _: {"tag": "T"}, "site"
    ),
    Case(S, Action.UPDATE, "DELETE", "/api/v1/sites/{site_id}/id-tags/{tag_id}", target="temp_tag"),
    # Default departures: an id tag's (as its tag), a connector's (as a session's departure).
    Case(S, Action.READ, "GET", "/api/v1/sites/{site_id}/departure-defaults", target="site"),
    Case(
        S,
        Action.UPDATE,
        "PUT",
        "/api/v1/sites/{site_id}/id-tags/{tag_id}/departure-default",
        lambda _: {"departure_time": "07:30", "energy_need_kwh": 20},
        "temp_tag",
    ),
    Case(
        S,
        Action.UPDATE,
        "DELETE",
        "/api/v1/sites/{site_id}/id-tags/{tag_id}/departure-default",
        target="temp_tag",
    ),
    Case(
        D,
        Action.UPDATE,
        "PUT",
        "/api/v1/sites/{site_id}/connectors/{connector_id}/departure-default",
        lambda _: {"departure_time": "07:30", "energy_need_kwh": 20},
        "power",
    ),
    Case(
        D,
        Action.UPDATE,
        "DELETE",
        "/api/v1/sites/{site_id}/connectors/{connector_id}/departure-default",
        target="power",
    ),
]
# Endpoints whose scope is in the body (metering) or that only superusers may use.
SPECIAL = {("PUT", "/api/v1/meters/interval"), ("PUT", "/api/v1/market-prices/{source}/{area}")}
# A site of I1 shared with I2 is one more target ("S") besides a site in each organisation.
SHARED = "S"
LIST_CASES = [
    (Kind.ORG, "/api/v1/orgs"),
    (Kind.USER, "/api/v1/users"),
    (Kind.AUDIT, "/api/v1/audit"),
    (Kind.SITE, "/api/v1/sites"),
    (Kind.DEVICE, "/api/v1/devices"),
]
# Not about one object: checked against the oracle below.
COUNT_ROUTES = {
    ("GET", "/api/v1/sites/status-counts"),
    ("GET", "/api/v1/fleet/kpis"),
    ("GET", "/api/v1/gateways/summary"),
}
# Authenticated by a gateway's credential, not a person's: every person's token is refused, and a
# gateway naming another gateway's device gets it quarantined (checked below).
DEVICE_CREDENTIAL = {
    ("POST", "/api/v1/ingest"),
    ("GET", "/api/v1/gateway/commands"),
    ("POST", "/api/v1/gateway/commands/{command_id}/reply"),
    ("POST", "/api/v1/gateway/firmware-status"),
    ("POST", "/api/v1/gateway/inventory"),
}
# Firmware (Kind.FIRMWARE for every action; owners are refused in scope): releases belong to an
# organisation and are seen from it, below it and above it; tasks from it and above it. Uploads
# and lists are in the caller's own organisation; the device's Upgrade tab is scoped by the site.
F = Kind.FIRMWARE
FIRMWARE_OWN = [
    (Action.LIST, "GET", "/api/v1/firmware/releases"),
    (Action.CREATE, "POST", "/api/v1/firmware/releases"),
    (Action.LIST, "GET", "/api/v1/firmware/tasks"),
]
FIRMWARE_RELEASE = [
    (Action.READ, "GET", "/api/v1/firmware/releases/{release_id}"),
    (Action.READ, "GET", "/api/v1/firmware/releases/{release_id}/file"),
    (Action.READ, "GET", "/api/v1/firmware/releases/{release_id}/candidates"),
    (Action.CREATE, "POST", "/api/v1/firmware/tasks"),
]
FIRMWARE_TASK = [  # (action, method, path, the task's state)
    (Action.READ, "GET", "/api/v1/firmware/tasks/{task_id}", "scheduled"),
    (Action.UPDATE, "POST", "/api/v1/firmware/tasks/{task_id}/pause", "scheduled"),
    (Action.UPDATE, "POST", "/api/v1/firmware/tasks/{task_id}/resume", "paused"),
    (Action.UPDATE, "POST", "/api/v1/firmware/tasks/{task_id}/cancel", "scheduled"),
    (Action.DELETE, "DELETE", "/api/v1/firmware/tasks/{task_id}", "scheduled"),
]
FIRMWARE_DEVICE = ("GET", "/api/v1/devices/{device_id}/firmware")
# The gateways' download link: its own credential (signature and expiry), a person's is no help.
FIRMWARE_LINK = ("GET", "/api/v1/firmware/files/{release_id}")
FIRMWARE_ROUTES = (
    {(m, p) for _, m, p in FIRMWARE_OWN + FIRMWARE_RELEASE}
    | {(m, p) for _, m, p, _ in FIRMWARE_TASK}
    | {FIRMWARE_DEVICE, FIRMWARE_LINK}
)
# The quarantine: for O&M and administrators, holding exactly the rows of the sites they see.
QUARANTINE = ("GET", "/api/v1/quarantine")
# Releasing quarantined readings by id: a row of a site out of scope is 404, else O&M/admin only.
RELEASE = ("POST", "/api/v1/quarantine/release")
# Alarms: the list holds exactly the alarms of the sites the caller sees.
ALARMS = ("GET", "/api/v1/alarms")
# Charging sessions: the list holds exactly the sessions of the sites the caller sees.
CHARGING = ("GET", "/api/v1/charging/sessions")
# Virtual batteries live under utility organisations, which this world has none of: their
# routes have their own oracle in tests/app/test_virtual_battery.py (every route, every caller).
VIRTUAL_BATTERY = {
    ("GET", "/api/v1/virtual-batteries"),
    ("POST", "/api/v1/virtual-batteries"),
    ("GET", "/api/v1/virtual-batteries/{battery_id}"),
    ("PATCH", "/api/v1/virtual-batteries/{battery_id}"),
    ("DELETE", "/api/v1/virtual-batteries/{battery_id}"),
    ("GET", "/api/v1/virtual-batteries/{battery_id}/readings"),
    ("GET", "/api/v1/virtual-batteries/{battery_id}/days.csv"),
    ("GET", "/api/v1/virtual-batteries/{battery_id}/energy"),
    ("GET", "/api/v1/virtual-batteries/{battery_id}/live"),
    ("GET", "/api/v1/virtual-batteries/{battery_id}/live/now"),
    ("GET", "/api/v1/virtual-batteries/{battery_id}/mscons"),
    ("GET", "/api/v1/orgs/{org_id}/market-partner"),
    ("PUT", "/api/v1/orgs/{org_id}/market-partner"),
}
# Alarm subscriptions and their delivery log: an organisation's subscriptions are seen by the
# staff who see that organisation, an owner's by that owner (and the organisation's staff).
SUBSCRIPTION = [  # (action, method, path)
    (Action.READ, "GET", "/api/v1/alarm-subscriptions/{subscription_id}"),
    (Action.UPDATE, "PATCH", "/api/v1/alarm-subscriptions/{subscription_id}"),
    (Action.DELETE, "DELETE", "/api/v1/alarm-subscriptions/{subscription_id}"),
]
SUBSCRIPTIONS = ("GET", "/api/v1/alarm-subscriptions")
SUBSCRIBE = ("POST", "/api/v1/alarm-subscriptions")
DELIVERIES = ("GET", "/api/v1/alarm-deliveries")
SUBSCRIPTION_ROUTES = {(m, p) for _, m, p in SUBSCRIPTION} | {SUBSCRIPTIONS, SUBSCRIBE, DELIVERIES}
# The same for every signed-in caller: no tenant's object in it.
REFERENCE = {("GET", "/api/v1/alarms/codes"), ("GET", "/api/v1/telemetry/points")}


def template(case: Case) -> tuple[str, str]:
    return case.method, case.path


def described_routes() -> set[tuple[str, str]]:
    return (
        PUBLIC
        | SELF
        | SPECIAL
        | COUNT_ROUTES
        | DEVICE_CREDENTIAL
        | {QUARANTINE, RELEASE, ALARMS, CHARGING}
        | REFERENCE
        | VIRTUAL_BATTERY
        | FIRMWARE_ROUTES
        | SUBSCRIPTION_ROUTES
        | {template(c) for c in OBJECT_CASES + SITE_CASES}
        | {("GET", p) for _, p in LIST_CASES}
    )


# ---- the oracle -------------------------------------------------------------------------------


def subscription_visible(
    caller: Account, caller_org: Org, org: Org, owner_user_id: str | None
) -> bool:
    if caller.superuser:
        return True
    if caller.role == "owner":
        return owner_user_id == caller.id
    return org.path.startswith(caller_org.path)


def org_visible(caller: Account, caller_org: Org, target: Org) -> bool:
    if caller.superuser:
        return True
    if caller.role == "owner":
        return target.id == caller_org.id
    return target.path.startswith(caller_org.path)


def user_visible(caller: Account, caller_org: Org, target: User, target_org: Org) -> bool:
    if caller.superuser:
        return True
    if caller.role == "owner":
        return target.id == caller.id
    return target_org.path.startswith(caller_org.path)


def site_visible(
    caller: Account, caller_org: Org, site: Site, site_org: Org, shared_to: list[Org]
) -> tuple[bool, bool]:
    """(visible, only because it was shared to the caller's organisation or one below it)."""
    if caller.superuser:
        return True, False
    if caller.role == "owner":
        return site.owner_id == caller.id, False
    if site_org.path.startswith(caller_org.path):
        return True, False
    via_share = any(o.path.startswith(caller_org.path) for o in shared_to)
    return via_share, via_share


# A receiver of a shared site may view and edit it, but not share, distribute or delete it; it
# removes the share (which takes DELETE) instead.
RECEIVER_REFUSED = {Action.SHARE, Action.DISTRIBUTE, Action.DELETE}


def expected_site(visible: bool, via_share: bool, caller: Account, case: Case) -> str:
    action = case.action
    if case.target == "unshare" and via_share:
        action = Action.DELETE
    want = expected(visible, caller, case.kind, action)
    refused = case.kind is Kind.SITE and case.target != "unshare" and action in RECEIVER_REFUSED
    if want == "2xx" and via_share and refused:
        return "403"
    return want


def expected(visible: bool, caller: Account, kind: Kind, action: Action) -> str:
    if not visible:
        return "404"
    if not allowed(Role(caller.role), kind, action, superuser=caller.superuser):
        return "403"
    return "2xx"


# Role ranking, written here from the product rule (not imported): who may act on whom.
USER_RANK = {"owner": 0, "om": 1, "admin": 2}
SUPERUSER_RANK = 3
# Actions that act on another user (reading and listing are the scope's business).
RANKED = {Action.UPDATE, Action.CHANGE_ROLE, Action.DELETE, Action.RESET_PASSWORD}
# The kinds of target user each ranked action is tried on, in every organisation.
TARGET_KINDS = ("owner", "om", "admin", "superuser")


def user_rank(role: str, superuser: bool) -> int:
    return SUPERUSER_RANK if superuser else USER_RANK[role]


def expected_user(visible: bool, caller: Account, action: Action, target: User) -> str:
    want = expected(visible, caller, Kind.USER, action)
    outranked = user_rank(target.role, target.is_superuser) > user_rank(
        caller.role, caller.superuser
    )
    if want == "2xx" and action in RANKED and outranked:
        return "403"
    return want


def outcome(status: int) -> str:
    return "2xx" if 200 <= status < 300 else str(status)


# ---- throwaway targets, so destructive actions never disturb the world -------------------------


class Targets:
    def __init__(self, runtime: Runtime, world: World) -> None:
        self.runtime = runtime
        self.world = world
        self.n = itertools.count()
        self.password_hash = runtime.security.hash_password("Tmp#12345")

    def child_org(self, parent_label: str) -> Org:
        with self.runtime.db.session() as s:
            parent = s.get(Org, self.world.org_id(parent_label))
            org = build_org(parent, f"tmp {next(self.n)}", OrgType.INSTALLER)
            s.add(org)
            return org

    def user(self, org_label: str) -> User:
        with self.runtime.db.session() as s:
            u = new_user(
                s,
                self.runtime,
                email=f"tmp{next(self.n)}@example.com",
                username="tmp",
                password="Tmp#12345",
                org_id=self.world.org_id(org_label),
                role="owner",
            )
            u.avatar, u.avatar_type = b"GIF89a", "image/gif"
            return u

    def users(self, org_label: str, kinds: tuple[str, ...]) -> dict[str, User]:
        """Throwaway users of the given kinds (a role, or "superuser") in one transaction, with
        one precomputed password hash (their passwords are never used)."""
        made: dict[str, User] = {}
        with self.runtime.db.session() as s:
            for kind in kinds:
                u = User(
                    email=f"tmp{next(self.n)}@example.com",
                    username="tmp",
                    password_hash=self.password_hash,
                    org_id=self.world.org_id(org_label),
                    role="admin" if kind == "superuser" else kind,
                    is_superuser=kind == "superuser",
                    avatar=b"GIF89a",
                    avatar_type="image/gif",
                )
                s.add(u)
                made[kind] = u
        return made

    def serial(self) -> str:
        return f"SN{next(self.n):06d}"

    def site(
        self, label: str, *, owner_id: str | None = None, device: bool = False
    ) -> tuple[Site, str | None]:
        """A site in the organisation ``label`` (or I1's site shared with I2 for "S"), owned by
        that organisation's owner unless told; returns it and its gateway's id when asked for."""
        org_label = "I1" if label == SHARED else label
        with self.runtime.db.session() as s:
            site = Site(
                org_id=self.world.org_id(org_label),
                owner_id=owner_id or self.world.accounts[f"owner@{org_label}"].id
                if org_label != "P"
                else owner_id,
                name=f"site {next(self.n)}",
                picture=b"GIF89a",
                picture_type="image/gif",
            )
            s.add(site)
            s.flush()
            if label == SHARED:
                s.add(SiteShare(site_id=site.id, org_id=self.world.org_id("I2")))
            gateway_id = None
            if device:
                gw = Device(site_id=site.id, kind="gateway", subtype="wifi", serial=self.serial())
                s.add(gw)
                s.flush()
                gateway_id = gw.id
            return site, gateway_id

    def owned_site(self, label: str) -> Site:
        """A site with a device and an owner of its own (each deletion code goes to a fresh
        address, so the per-address code limit never bites)."""
        org_label = "I1" if label == SHARED else label
        owner = self.user(org_label)
        return self.site(label, owner_id=owner.id, device=True)[0]


def commissioning_report(runtime: Runtime, site_id: str) -> str:
    """A finished commissioning report of the site."""
    with runtime.db.session() as s:
        row = CommissioningReport(
            site_id=site_id,
            name="r",
            device_ids=[],
            status="finished",
            progress=100,
            pdf=b"%PDF-1.4",
        )
        s.add(row)
        s.flush()
        return row.id


def firmware_targets(
    runtime: Runtime, world: World, standing: dict[str, tuple[Site, str | None]]
) -> tuple[dict[str, str], Callable[[str, str], str]]:
    """A release in each organisation (model VF-GW, which the standing gateways get), and a
    maker of throwaway tasks of that release for the organisation's standing gateway."""
    release_of: dict[str, str] = {}
    with runtime.db.session() as s:
        for label in world.orgs:
            org = s.get(Org, world.org_id(label))
            assert org is not None
            row = FirmwareRelease(
                org_id=org.id,
                org_path=org.path,
                device_kind="gateway",
                model="VF-GW",
                firmware_type="gateway",
                version="2.0",
                file_name="fw.bin",
                size_bytes=2,
                sha256="0" * 64,
            )
            s.add(row)
            s.flush()
            s.add(FirmwareFile(release_id=row.id, content=b"FW"))
            release_of[label] = row.id
            gw = s.get(Device, standing[label][1])
            assert gw is not None
            gw.model = "VF-GW"
    numbers = itertools.count(1)

    def task_of(label: str, state: str) -> str:
        with runtime.db.session() as s:
            org = s.get(Org, world.org_id(label))
            assert org is not None
            task = FirmwareTask(
                number=next(numbers),
                org_id=org.id,
                org_path=org.path,
                release_id=release_of[label],
                device_kind="gateway",
                firmware_type="gateway",
                model="VF-GW",
                version="2.0",
                state=state,
                policy={},
                start_at=datetime.now(UTC) + timedelta(days=1),
            )
            s.add(task)
            s.flush()
            s.add(
                FirmwareRun(
                    task_id=task.id,
                    device_id=standing[label][1],
                    position=0,
                    wave=0,
                    state="pending",
                )
            )
            return task.id

    return release_of, task_of


# The manual's role table for companies and users, written here from the manual (not from
# POLICY): O&M engineers add and edit companies but do not delete them, add users and edit their
# basic information; only administrators change roles and delete companies and users.
MANUAL_ROLE_TABLE = {
    ("admin", Kind.ORG): {"list", "read", "create", "update", "delete"},
    ("om", Kind.ORG): {"list", "read", "create", "update"},
    ("owner", Kind.ORG): {"read"},
    ("admin", Kind.USER): {
        "list",
        "read",
        "create",
        "update",
        "delete",
        "reset_password",
        "change_role",
    },
    ("om", Kind.USER): {"list", "read", "create", "update", "reset_password"},
    ("owner", Kind.USER): set(),
}


def test_the_policy_is_the_manuals_role_table() -> None:
    for (role, kind), actions in MANUAL_ROLE_TABLE.items():
        got = {a.value for a in Action if allowed(Role(role), kind, a)}
        assert got == actions, (role, kind)


def test_every_api_route_is_in_the_matrix(app: FastAPI) -> None:
    # The published OpenAPI lists every API route (the portal's pages are left out of it).
    routes = {
        (method.upper(), path)
        for path, ops in app.openapi()["paths"].items()
        if path.startswith("/api/")
        for method in ops
    }
    missing = routes - described_routes()
    assert not missing, f"endpoints missing from the authorisation matrix: {sorted(missing)}"
    stale = described_routes() - routes
    assert not stale, f"matrix describes endpoints that no longer exist: {sorted(stale)}"


def test_authorisation_matrix(
    client: TestClient,
    runtime: Runtime,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runtime.settings, "live_max_s", 0)  # live streams: one event, then end
    world = build_world(runtime)
    targets = Targets(runtime, world)
    with runtime.db.session() as s:
        for org in s.scalars(select(Org)):
            org.logo, org.logo_type = b"GIF89a", "image/gif"
    with runtime.db.session() as s:
        orgs = {o.id: o for o in s.scalars(select(Org))}
    tally: Counter[str] = Counter()
    failures: list[str] = []
    standing = {label: targets.site(label, device=True) for label in [*world.orgs, SHARED]}
    with runtime.db.session() as s:
        for site, _ in standing.values():
            s.add(
                TariffRow(
                    site_id=site.id,
                    direction="IMPORT",
                    valid_from=date(2020, 1, 1),
                    kind="fixed",
                    currency="EUR",
                    definition=FIXED_DEFINITION,
                )
            )
    tariff_days = itertools.count(1)
    quarantined_row: dict[str, str] = {}
    with runtime.db.session() as s:
        for site, gateway_id in standing.values():
            assert gateway_id is not None
            row = QuarantinedReading(site_id=site.id, gateway_id=gateway_id, reason="too_old")
            s.add(row)
            s.flush()
            quarantined_row[site.id] = row.id
    quarantine_of = {site.id: label for label, (site, _) in standing.items()}
    alarm_of: dict[str, str] = {}
    with runtime.db.session() as s:
        for site, gateway_id in standing.values():
            assert gateway_id is not None
            alarm = Alarm(
                site_id=site.id,
                device_id=gateway_id,
                code="GW_CLOCK_UNSYNCED",
                severity="warning",
                raised_at=datetime.now(UTC),
            )
            s.add(alarm)
            s.flush()
            alarm_of[site.id] = alarm.id
    session_of: dict[str, str] = {}
    charger_of: dict[str, str] = {}
    with runtime.db.session() as s:
        for n, (site, _) in enumerate(standing.values()):
            charger = Device(site_id=site.id, kind="charger", subtype="ac", serial=targets.serial())
            s.add(charger)
            s.flush()
            charger_of[site.id] = charger.id
            row = ChargingSession(
                site_id=site.id,
                device_id=charger.id,
                connector_id=1,
                transaction_id=1000 + n,
                started_at=datetime.now(UTC),
                meter_start_wh=0.0,
            )
            s.add(row)
            s.flush()
            session_of[site.id] = row.id
    battery_of: dict[str, str] = {}
    command_of: dict[str, str] = {}
    with runtime.db.session() as s:
        for site, gateway_id in standing.values():
            battery = Device(
                site_id=site.id, kind="battery", serial=targets.serial(), parent_id=gateway_id
            )
            s.add(battery)
            s.flush()
            battery_of[site.id] = battery.id
            now = datetime.now(UTC)
            cmd = Command(
                site_id=site.id,
                device_id=battery.id,
                gateway_id=gateway_id,
                kind="battery_mode",
                params={"mode": "idle"},
                state="queued",
                not_before=now,
                expires_at=now + timedelta(hours=1),
            )
            s.add(cmd)
            s.flush()
            command_of[site.id] = cmd.id

    # An organisation's subscription in every organisation, an owner's where there is an owner,
    # each with a delivery of the standing site's alarm.
    subscriptions: dict[str, tuple[str, str | None]] = {}  # id -> (org label, owner id)

    def subscription(label: str, owner_id: str | None = None) -> str:
        with runtime.db.session() as s:
            row = AlarmSubscription(
                org_id=world.org_id(label),
                owner_user_id=owner_id,
                name=f"sub {next(targets.n)}",
                channel="email",
                target="x@example.com",
                levels=["urgent"],
                site_ids=[],
            )
            s.add(row)
            s.flush()
            site = standing[label][0]
            s.add(
                AlarmDelivery(
                    subscription_id=row.id,
                    alarm_id=alarm_of[site.id],
                    site_id=site.id,
                    channel="email",
                    target="x@example.com",
                )
            )
            subscriptions[row.id] = (label, owner_id)
            return row.id

    sub_of = {label: subscription(label) for label in world.orgs}
    for label in world.orgs:
        if f"owner@{label}" in world.accounts:
            subscription(label, world.accounts[f"owner@{label}"].id)

    release_of, task_of = firmware_targets(runtime, world, standing)
    report_of = {site.id: commissioning_report(runtime, site.id) for site, _ in standing.values()}

    def check(
        caller: Account,
        label: str,
        method: str,
        url: str,
        want: str,
        body: object = None,
        files: dict[str, tuple[str, bytes, str]] | dict[str, tuple[str, bytes]] | None = None,
    ) -> None:
        if files:
            r = client.request(method, url, headers=caller.headers(), files=files)
        else:
            r = client.request(method, url, headers=caller.headers(), json=body)
        got = outcome(r.status_code)
        tally["requests"] += 1
        tally[got] += 1
        if got != want:
            failures.append(
                f"{label}: {method} {url} as {caller.email}: want {want}, got "
                f"{r.status_code} {r.text[:120]}"
            )

    for key, caller in world.accounts.items():
        caller_org = orgs[world.org_id(caller.org)]
        for target_label in world.orgs:
            target_org = orgs[world.org_id(target_label)]
            for case in OBJECT_CASES:
                label = f"{case.kind}.{case.action} on {target_label} by {key}"
                if case.kind in (Kind.ORG, Kind.REGISTER_MAP):
                    if case.action is Action.DELETE:
                        obj = targets.child_org(target_label)
                    else:
                        obj = target_org
                    visible = org_visible(caller, caller_org, obj)
                    url = case.path.format(org_id=obj.id)
                    body = case.body(obj.id) if case.body else None
                    if case.upload:
                        logo = {"file": ("logo.gif", b"GIF89a", "image/gif")}
                        want = expected(visible, caller, case.kind, case.action)
                        check(caller, label, case.method, url, want, None, logo)
                        continue
                elif case.action is Action.CREATE:
                    visible = org_visible(caller, caller_org, target_org)
                    url = case.path
                    body = case.body(target_org.id) if case.body else None
                else:
                    # Each action on a user, on a user of every rank (see expected_user) where
                    # the caller sees the organisation's users (elsewhere all ranks are a 404).
                    sees = caller.role != "owner" and org_visible(caller, caller_org, target_org)
                    kinds = TARGET_KINDS if case.action in RANKED and sees else ("owner",)
                    for kind, obj_user in targets.users(target_label, kinds).items():
                        visible = user_visible(caller, caller_org, obj_user, target_org)
                        check(
                            caller,
                            f"{label} ({kind})",
                            case.method,
                            case.path.format(user_id=obj_user.id),
                            expected_user(visible, caller, case.action, obj_user),
                            case.body(target_org.id) if case.body else None,
                        )
                    continue
                if case.kind is Kind.USER and case.action is Action.CREATE and body:
                    body["email"] = f"c{next(targets.n)}@example.com"  # type: ignore[index]
                check(
                    caller,
                    label,
                    case.method,
                    url,
                    expected(visible, caller, case.kind, case.action),
                    body,
                )

        # Never on oneself: the caller's own account changes through /api/v1/me.
        me = f"/api/v1/users/{caller.id}"
        other_role = "om" if caller.role != "om" else "owner"
        check(caller, f"own reset by {key}", "POST", f"{me}/reset-password", "403")
        check(caller, f"own role by {key}", "PATCH", me, "403", {"role": other_role})
        check(caller, f"own deletion by {key}", "DELETE", me, "403")

        # Sites and devices, including a site shared with I2 ("S").
        for target_label in [*world.orgs, SHARED]:
            for case in SITE_CASES:
                if case.action is Action.CREATE and case.kind is Kind.SITE:
                    if target_label == SHARED:
                        continue
                    target_org = orgs[world.org_id(target_label)]
                    visible = org_visible(caller, caller_org, target_org)
                    check(
                        caller,
                        f"site.create in {target_label} by {key}",
                        "POST",
                        case.path,
                        expected(visible, caller, Kind.SITE, Action.CREATE),
                        case.body(target_org.id) if case.body else None,
                    )
                    continue
                site, device_id = standing[target_label]
                if case.target == "temp_site":
                    site = targets.site(target_label)[0]
                elif case.target == "owned_site":
                    site = targets.owned_site(target_label)
                elif case.target == "unshare":
                    site = targets.site(target_label)[0]
                elif case.target == "temp_device":
                    site, device_id = targets.site(target_label, device=True)
                elif case.target == "battery":
                    device_id = battery_of[site.id]
                elif case.target == "charger":
                    device_id = charger_of[site.id]
                tag_id = ""
                if case.target == "temp_tag":
                    with runtime.db.session() as s:
                        tag = IdTag(site_id=site.id, tag=targets.serial())
                        s.add(tag)
                        s.flush()
                        tag_id = tag.id
                restart_id = ""
                if case.target == "temp_restart":
                    with runtime.db.session() as s:
                        restart = CounterRestart(
                            device_id=device_id,
                            point="pv_energy_wh",
                            at=RESTARTS_FROM - timedelta(minutes=next(RESTART_N)),
                            reason="x",
                        )
                        s.add(restart)
                        s.flush()
                        restart_id = restart.id
                power_group = power_connector = ""
                if case.target == "power":
                    power_group, power_connector = power_target(runtime, site)
                report_id = report_of.get(site.id, "")
                if case.target == "temp_report":
                    report_id = commissioning_report(runtime, site.id)
                tariff_id = ""
                if case.target == "temp_tariff":
                    with runtime.db.session() as s:
                        row = TariffRow(
                            site_id=site.id,
                            direction="EXPORT",
                            valid_from=date(2020, 1, 1) + timedelta(days=next(tariff_days)),
                            kind="fixed",
                            currency="EUR",
                            definition=FIXED_DEFINITION,
                        )
                        s.add(row)
                        s.flush()
                        tariff_id = row.id
                share_to = (
                    "D2" if target_label == SHARED else "I1" if target_label == "I2" else "I2"
                )
                if case.target == "unshare":
                    with runtime.db.session() as s:
                        if target_label != SHARED:
                            s.add(SiteShare(site_id=site.id, org_id=world.org_id(share_to)))
                    unshare_org = "I2" if target_label == SHARED else share_to
                with runtime.db.session() as s:
                    shared_to = [
                        orgs[o]
                        for o in s.scalars(
                            select(SiteShare.org_id).where(SiteShare.site_id == site.id)
                        )
                    ]
                visible, via_share = site_visible(
                    caller, caller_org, site, orgs[site.org_id], shared_to
                )
                url = case.path.format(
                    site_id=site.id,
                    device_id=device_id,
                    org_id=world.org_id(unshare_org) if case.target == "unshare" else "",
                    direction="EXPORT",
                    tariff_id=tariff_id,
                    alarm_id=alarm_of.get(site.id, ""),
                    session_id=session_of.get(site.id, ""),
                    command_id=command_of.get(site.id, ""),
                    restart_id=restart_id,
                    group_id=power_group,
                    connector_id=power_connector,
                    report_id=report_id,
                    tag_id=tag_id,
                ) + (f"?{case.query}" if case.query else "")
                body = case.body(site.org_id) if case.body else None
                files = None
                if case.path.endswith("/shares") and case.method == "POST":
                    body = {"org_id": world.org_id(share_to)}
                elif case.path.endswith("/devices"):
                    body = {"kind": "meter", "serial": targets.serial()}
                elif "/power/connectors/" in case.path and case.method == "PUT":
                    body = {"group_id": power_group, "rotation": "231"}
                elif case.path.endswith("/move"):
                    body = {"site_id": standing[target_label][0].id}
                elif case.upload and case.path.endswith("/picture"):
                    files = {"file": ("p.gif", b"GIF89a", "image/gif")}
                elif case.upload:
                    files = {"file": ("d.csv", f"kind,serial\nmeter,{targets.serial()}".encode())}
                check(
                    caller,
                    f"{case.kind}.{case.action} {case.method} {case.path} on {target_label} "
                    f"by {key}",
                    case.method,
                    url,
                    case.ok
                    if (want := expected_site(visible, via_share, caller, case)) == "2xx"
                    else want,
                    body,
                    files,
                )

        # Metering names its site in the body: a site out of scope is refused per record.
        meter_ref = itertools.count()
        for target_label in [*world.orgs, SHARED]:
            site = standing[target_label][0]
            with runtime.db.session() as s:
                shared_to = [
                    orgs[o]
                    for o in s.scalars(select(SiteShare.org_id).where(SiteShare.site_id == site.id))
                ]
            visible, _ = site_visible(caller, caller_org, site, orgs[site.org_id], shared_to)
            want = expected(True, caller, Kind.SITE, Action.UPDATE)
            rec = {
                "site_id": site.id,
                "start_time": "2026-03-02T00:00:00Z",
                "end_time": "2026-03-02T00:15:00Z",
                "value": 1,
                "units": "KWH",
                "direction": "IMPORT",
                "tariff_rate": "IMPORT",
                "record_reference_id": f"{key}-{next(meter_ref)}",
            }
            r = client.put("/api/v1/meters/interval", headers=caller.headers(), json=[rec])
            tally["requests"] += 1
            got = outcome(r.status_code)
            if got == "2xx" and not visible:
                got = "404" if r.json()["refused"][0]["code"] == "unknown_site" else "2xx"
            tally[got] += 1
            if want == "2xx" and not visible:
                want = "404"
            if got != want:
                failures.append(f"meters on {target_label} by {key}: want {want}, got {got}")
        check(
            caller,
            f"market prices by {key}",
            "PUT",
            "/api/v1/market-prices/awattar/DE",
            "2xx" if caller.superuser else "403",
            {
                "currency": "EUR",
                "prices": [
                    {
                        "start_time": "2026-03-02T00:00:00Z",
                        "end_time": "2026-03-02T01:00:00Z",
                        "price_per_kwh": 0.1,
                    }
                ],
            },
        )

        # Lists hold exactly what the caller may see.
        with runtime.db.session() as s:
            all_orgs = {o.id: o for o in s.scalars(select(Org))}
            all_users = list(s.scalars(select(User)))
            all_audit = list(s.scalars(select(AuditEntry)))
            all_sites = list(s.scalars(select(Site).where(Site.deleted_at.is_(None))))
            all_devices = list(s.scalars(select(Device).where(Device.deleted_at.is_(None))))
            shares_of: dict[str, list[str]] = {}
            for share in s.scalars(select(SiteShare)):
                shares_of.setdefault(share.site_id, []).append(share.org_id)
        for kind, path in LIST_CASES:
            want = expected(True, caller, kind, Action.LIST)
            r = client.get(path, params={"page_size": 500}, headers=caller.headers())
            tally["requests"] += 1
            tally[outcome(r.status_code)] += 1
            if outcome(r.status_code) != want:
                failures.append(f"list {kind} by {key}: want {want}, got {r.status_code}")
                continue
            if want != "2xx":
                continue
            got_ids = {item["id"] for item in r.json()["items"]}
            if kind is Kind.ORG:
                want_ids = {o.id for o in all_orgs.values() if org_visible(caller, caller_org, o)}
            elif kind is Kind.USER:
                want_ids = {
                    u.id
                    for u in all_users
                    if user_visible(caller, caller_org, u, all_orgs[u.org_id])
                }
            elif kind in (Kind.SITE, Kind.DEVICE):
                seen = {
                    site.id
                    for site in all_sites
                    if site_visible(
                        caller,
                        caller_org,
                        site,
                        all_orgs[site.org_id],
                        [all_orgs[o] for o in shares_of.get(site.id, [])],
                    )[0]
                }
                want_ids = (
                    seen if kind is Kind.SITE else {d.id for d in all_devices if d.site_id in seen}
                )
            else:
                want_ids = {
                    a.id
                    for a in all_audit
                    if a.org_id in all_orgs and org_visible(caller, caller_org, all_orgs[a.org_id])
                }
            assert r.json()["total"] == len(got_ids) or r.json()["total"] > 500
            if got_ids != want_ids:
                failures.append(f"list {kind} by {key}: {len(got_ids ^ want_ids)} rows differ")

        # Status counts cover the caller's own sites, not those shared to it.
        r = client.get("/api/v1/sites/status-counts", headers=caller.headers())
        tally["requests"] += 1
        tally[outcome(r.status_code)] += 1
        own = {
            site.id
            for site in all_sites
            if site_visible(caller, caller_org, site, all_orgs[site.org_id], [])[0]
        }
        if r.status_code != 200 or r.json()["total"] != len(own):
            failures.append(
                f"status counts by {key}: {r.status_code} {r.text[:80]}, want {len(own)}"
            )

        # The fleet's figures cover the same sites as the status counts.
        r = client.get("/api/v1/fleet/kpis", headers=caller.headers())
        tally["requests"] += 1
        tally[outcome(r.status_code)] += 1
        if r.status_code != 200 or r.json()["sites"] != len(own):
            failures.append(f"fleet kpis by {key}: {r.status_code} {r.text[:80]}, want {len(own)}")

        # The gateway dashboard counts exactly the gateways the device list shows the caller.
        seen_sites = {
            site.id
            for site in all_sites
            if site_visible(
                caller,
                caller_org,
                site,
                all_orgs[site.org_id],
                [all_orgs[o] for o in shares_of.get(site.id, [])],
            )[0]
        }
        want_gw = {d.id for d in all_devices if d.kind == "gateway" and d.site_id in seen_sites}
        r = client.get("/api/v1/gateways/summary", headers=caller.headers())
        tally["requests"] += 1
        tally[outcome(r.status_code)] += 1
        if r.status_code != 200 or r.json()["total"] != len(want_gw):
            failures.append(
                f"gateway summary by {key}: {r.status_code} {r.text[:80]}, want {len(want_gw)}"
            )

        # Readings come from gateways' credentials only, and so do command polls and replies.
        check(caller, f"ingest by {key}", "POST", "/api/v1/ingest", "401", {"readings": []})
        check(caller, f"command poll by {key}", "GET", "/api/v1/gateway/commands", "401")
        reply_url = f"/api/v1/gateway/commands/{command_of[standing['I1'][0].id]}/reply"
        check(caller, f"reply by {key}", "POST", reply_url, "401", {"status": "failed"})
        check(
            caller,
            f"inventory by {key}",
            "POST",
            "/api/v1/gateway/inventory",
            "401",
            {"devices": []},
        )

        # The quarantine holds the rows of the sites the caller sees, for O&M and admins only.
        r = client.get("/api/v1/quarantine", params={"page_size": 500}, headers=caller.headers())
        tally["requests"] += 1
        tally[outcome(r.status_code)] += 1
        want = expected(True, caller, Kind.DEVICE, Action.UPDATE)
        if outcome(r.status_code) != want:
            failures.append(f"quarantine by {key}: want {want}, got {r.status_code}")
        elif want == "2xx":
            got_sites = {quarantine_of.get(q["site_id"], "?") for q in r.json()["items"]}
            want_sites = {
                label
                for label, (site, _) in standing.items()
                if site_visible(
                    caller,
                    caller_org,
                    site,
                    all_orgs[site.org_id],
                    [all_orgs[o] for o in shares_of.get(site.id, [])],
                )[0]
            }
            if got_sites != want_sites:
                failures.append(f"quarantine by {key}: sites {got_sites}, want {want_sites}")

        # Releasing a quarantined reading by id: 404 outside the caller's scope, else the
        # quarantine's rule (the reading is refused again and stays: it is not a reading).
        for label, (site, _) in standing.items():
            visible, _ = site_visible(
                caller,
                caller_org,
                site,
                all_orgs[site.org_id],
                [all_orgs[o] for o in shares_of.get(site.id, [])],
            )
            check(
                caller,
                f"release of {label}'s quarantine by {key}",
                *RELEASE,
                expected(visible, caller, Kind.DEVICE, Action.UPDATE),
                {"ids": [quarantined_row[site.id]]},
            )

        # Firmware: releases, tasks, the device's Upgrade tab, the gateways' link and reports.
        for action, method, path in FIRMWARE_OWN:
            files = None
            if method == "POST":
                files = {
                    "file": ("fw.bin", b"FW", "application/octet-stream"),
                    "model": (None, f"M{next(targets.n)}".encode()),  # type: ignore[dict-item]
                    "firmware_type": (None, b"gateway"),  # type: ignore[dict-item]
                    "version": (None, b"1.0"),  # type: ignore[dict-item]
                }
            label = f"firmware {method} {path} by {key}"
            check(caller, label, method, path, expected(True, caller, F, action), None, files)
        for target_label in world.orgs:
            release_org = orgs[world.org_id(target_label)]
            seen = caller.superuser or caller_org.path.startswith(release_org.path)
            seen = seen or release_org.path.startswith(caller_org.path)
            site, gateway_id = standing[target_label]
            site_seen, _ = site_visible(caller, caller_org, site, release_org, [])
            for action, method, path in FIRMWARE_RELEASE:
                url = path.format(release_id=release_of[target_label])
                body = None
                visible = seen
                if method == "POST":
                    body = {"release_id": release_of[target_label], "device_ids": [gateway_id]}
                    visible = seen and site_seen
                label = f"firmware {method} {path} on {target_label} by {key}"
                check(caller, label, method, url, expected(visible, caller, F, action), body)
            task_seen = caller.superuser or release_org.path.startswith(caller_org.path)
            for action, method, path, state in FIRMWARE_TASK:
                task_id = task_of(target_label, state)
                label = f"firmware {method} {path} on {target_label} by {key}"
                url = path.format(task_id=task_id)
                check(caller, label, method, url, expected(task_seen, caller, F, action))
            url = FIRMWARE_DEVICE[1].format(device_id=gateway_id)
            label = f"firmware tab of {target_label}'s gateway by {key}"
            check(caller, label, "GET", url, expected(site_seen, caller, F, Action.READ))
        link = FIRMWARE_LINK[1].format(release_id=release_of["I1"]) + "?expires=9999999999&sig=x"
        check(caller, f"firmware link by {key}", "GET", link, "403")
        check(
            caller,
            f"firmware report by {key}",
            "POST",
            "/api/v1/gateway/firmware-status",
            "401",
            {"state": "running"},
        )

        # Alarms: exactly those of the sites the caller sees; the code catalogue for everyone.
        r = client.get(ALARMS[1], params={"page_size": 500}, headers=caller.headers())
        tally["requests"] += 1
        tally[outcome(r.status_code)] += 1
        want = expected(True, caller, Kind.DEVICE, Action.LIST)
        if outcome(r.status_code) != want:
            failures.append(f"alarms by {key}: want {want}, got {r.status_code}")
        elif want == "2xx":
            got_alarms = {a["id"] for a in r.json()["items"]}
            want_alarms = {
                alarm_of[site.id]
                for site, _ in standing.values()
                if site_visible(
                    caller,
                    caller_org,
                    site,
                    all_orgs[site.org_id],
                    [all_orgs[o] for o in shares_of.get(site.id, [])],
                )[0]
            }
            if got_alarms != want_alarms:
                failures.append(f"alarms by {key}: {len(got_alarms ^ want_alarms)} rows differ")
        for method, path in REFERENCE:
            check(caller, f"{path} by {key}", method, path, "2xx")

        # Alarm subscriptions: one by one, then the list and the delivery log hold exactly
        # those the caller sees; anyone may subscribe (within their own scope).
        AS = Kind.ALARM_SUBSCRIPTION
        for target_label in world.orgs:
            target_org = orgs[world.org_id(target_label)]
            visible = subscription_visible(caller, caller_org, target_org, None)
            for action, method, path in SUBSCRIPTION:
                sub_id = sub_of[target_label] if action is not Action.DELETE else None
                sub_id = sub_id or subscription(target_label)
                body = {"enabled": True} if method == "PATCH" else None
                url = path.format(subscription_id=sub_id)
                label = f"subscription {method} on {target_label} by {key}"
                check(caller, label, method, url, expected(visible, caller, AS, action), body)
        new_sub = {"name": "n", "channel": "email", "target": "y@example.com", "levels": ["urgent"]}
        check(
            caller,
            f"subscribe by {key}",
            *SUBSCRIBE,
            expected(True, caller, AS, Action.CREATE),
            new_sub,
        )
        with runtime.db.session() as s:
            made = {
                row.id: (row.org_id, row.owner_user_id)
                for row in s.scalars(select(AlarmSubscription))
            }
            logged = {d.id: d.subscription_id for d in s.scalars(select(AlarmDelivery))}
        want_subs = {
            sid
            for sid, (org_id, owner_id) in made.items()
            if subscription_visible(caller, caller_org, all_orgs[org_id], owner_id)
        }
        for (_method, path), want_ids in (
            (SUBSCRIPTIONS, want_subs),
            (DELIVERIES, {d for d, sid in logged.items() if sid in want_subs}),
        ):
            r = client.get(path, params={"page_size": 500}, headers=caller.headers())
            tally["requests"] += 1
            tally[outcome(r.status_code)] += 1
            if r.status_code != 200:
                failures.append(f"{path} by {key}: {r.status_code}")
            elif {x["id"] for x in r.json()["items"]} != want_ids:
                failures.append(f"{path} by {key}: rows differ")

        # Charging sessions: exactly those of the sites the caller sees.
        r = client.get(CHARGING[1], params={"page_size": 500}, headers=caller.headers())
        tally["requests"] += 1
        tally[outcome(r.status_code)] += 1
        want = expected(True, caller, Kind.DEVICE, Action.LIST)
        if outcome(r.status_code) != want:
            failures.append(f"charging sessions by {key}: want {want}, got {r.status_code}")
        elif want == "2xx":
            got_sessions = {x["id"] for x in r.json()["items"]}
            want_sessions = {
                session_of[site.id]
                for site, _ in standing.values()
                if site_visible(
                    caller,
                    caller_org,
                    site,
                    all_orgs[site.org_id],
                    [all_orgs[o] for o in shares_of.get(site.id, [])],
                )[0]
            }
            if got_sessions != want_sessions:
                n = len(got_sessions ^ want_sessions)
                failures.append(f"charging sessions by {key}: {n} rows differ")

    # A gateway cannot speak for a device below another gateway: quarantined, not stored.
    admin = world.accounts["admin@I1"]
    r = client.post(f"/api/v1/devices/{standing['I1'][1]}/token", headers=admin.headers())
    assert r.status_code == 201, r.text
    gateway_token = {"Authorization": f"Bearer {r.json()['token']}"}
    now = datetime.now(UTC).isoformat()
    for label in [*world.orgs, SHARED]:
        if label == "I1":
            continue
        reading = {"device": standing[label][1], "point": "soc", "ts": now, "value": 1, "unit": "1"}
        r = client.post("/api/v1/ingest", json={"readings": [reading]}, headers=gateway_token)
        tally["requests"] += 1
        if r.status_code != 200 or r.json()["accepted"] != 0 or r.json()["quarantined"] != 1:
            failures.append(f"ingest for {label}'s gateway by I1's gateway: {r.text[:120]}")
        else:
            tally["403"] += 1  # refused (quarantined)

    # A gateway gets and answers only the commands of the devices below it.
    polled = client.get("/api/v1/gateway/commands", headers=gateway_token)
    tally["requests"] += 1
    own_site = standing["I1"][0].id
    got_serials = {c["device"] for c in polled.json()["commands"]}
    with runtime.db.session() as s:
        own_serials = set(
            s.scalars(
                select(Device.serial).where(Device.site_id == own_site, Device.kind == "battery")
            )
        )
    if polled.status_code != 200 or not got_serials or not got_serials <= own_serials:
        failures.append(f"I1's gateway polled {got_serials}, want only {own_serials}")
    for label in [*world.orgs, SHARED]:
        if label == "I1":
            continue
        url = f"/api/v1/gateway/commands/{command_of[standing[label][0].id]}/reply"
        r = client.post(url, json={"status": "acknowledged"}, headers=gateway_token)
        tally["requests"] += 1
        tally[outcome(r.status_code)] += 1
        if r.status_code != 404:
            failures.append(f"reply for {label}'s command by I1's gateway: {r.status_code}")

    # Another user's API key cannot be deleted: it does not exist for the caller.
    with runtime.db.session() as s:
        s.add(
            ApiKey(
                user_id=world.accounts["admin@D2"].id, name="k", prefix="vfk_x", key_hash="0" * 64
            )
        )
        key_id = s.scalar(select(ApiKey.id))
    for key, caller in world.accounts.items():
        if key != "admin@D2":
            check(caller, "foreign api key", "DELETE", f"/api/v1/me/api-keys/{key_id}", "404")

    refused = tally["403"] + tally["404"]
    with capsys.disabled():
        print(
            f"\nauthorisation matrix [{runtime.db.engine.dialect.name}]: "
            f"{tally['requests']} requests, {refused} refused "
            f"({tally['403']} with 403, {tally['404']} with 404), {tally['2xx']} allowed"
        )
    assert not failures, "\n".join(failures[:40]) + f"\n({len(failures)} failures)"
    assert tally["403"] > 0 and tally["404"] > 0 and tally["2xx"] > 0


def test_only_who_manages_a_company_reads_its_access_code(
    client: TestClient, runtime: Runtime
) -> None:
    # An owner may read their own organisation, but the access code lets others register under
    # it or find it to share sites with: only those who manage the company (Kind.ORG UPDATE) see it.
    world = build_world(runtime)
    org_id = world.org_id("I1")
    for label in ("admin@I1", "om@I1", "admin@D1", "super"):
        r = client.get(f"/api/v1/orgs/{org_id}", headers=world.accounts[label].headers())
        assert r.status_code == 200 and len(r.json()["access_code"]) == 8, label
    r = client.get(f"/api/v1/orgs/{org_id}", headers=world.accounts["owner@I1"].headers())
    assert r.status_code == 200 and r.json()["name"] == "Org I1"
    assert r.json()["access_code"] is None
    me = client.get("/api/v1/me", headers=world.accounts["owner@I1"].headers()).json()
    assert me["org"]["id"] == org_id and me["org"]["access_code"] is None
    me = client.get("/api/v1/me", headers=world.accounts["om@I1"].headers()).json()
    assert len(me["org"]["access_code"]) == 8
