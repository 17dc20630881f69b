"""The demo organisation tree, users and sites, created once on the embedded database."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from voltfleet.accounts import create_superuser, ensure_platform
from voltfleet.app.commands.plan_service import PLAN
from voltfleet.app.devices.service import refresh_live_data
from voltfleet.app.firmware.demo import seed_firmware
from voltfleet.app.orgs.service import build_org
from voltfleet.app.runtime import Runtime
from voltfleet.app.tariffs import service as tariffs
from voltfleet.app.users.service import new_user
from voltfleet.demo_alarms import seed_alarm_notifications
from voltfleet.demo_departure import seed_departure_defaults
from voltfleet.demo_ev_modes import seed_ev_modes_demo
from voltfleet.demo_money import seed_exchange_rates
from voltfleet.demo_power import seed_power_demo
from voltfleet.domain.access import OrgType
from voltfleet.domain.commands import CommandKind, CommandState
from voltfleet.domain.plan import BatteryParams, day_plan
from voltfleet.simulator.demo_homes import (  # noqa: F401 - re-exported for the demo's callers
    DEMO_HISTORY,
    DEMO_TAG,
    DYNAMIC_BATTERY_W,
    DYNAMIC_BATTERY_WH,
    DYNAMIC_HOME,
    HOMES,
    demo_serial,
)
from voltfleet.store.command_models import Command
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Org, Site, User
from voltfleet.store.money_models import MarketPriceRow, TariffVersion

GATEWAY_FIRMWARE = "3.0.2"  # the simulated gateway's firmware (wifi: live data from 3.0)
DEMO_PASSWORD = "Demo#2026"  # satisfies the password rules; the demo says so when it starts
INSTALLER = "Bright Roofs Installers"


def demo_installer_id(runtime: Runtime) -> str | None:
    """The demo installer's organisation id (where the simulated homes beyond the seeded
    sites go)."""
    with runtime.db.session() as s:
        return s.scalar(select(Org.id).where(Org.name == INSTALLER))


def seed_demo(runtime: Runtime) -> list[tuple[str, str, str]]:
    """Create the demo fleet unless it exists; returns (role, email, password) for each login."""
    logins = [
        ("platform superuser", "admin@demo.voltfleet", DEMO_PASSWORD),
        ("distributor administrator", "distributor@demo.voltfleet", DEMO_PASSWORD),
        ("installer administrator", "installer@demo.voltfleet", DEMO_PASSWORD),
        ("installer O&M engineer", "om@demo.voltfleet", DEMO_PASSWORD),
        ("home owner", "owner@demo.voltfleet", DEMO_PASSWORD),
    ]
    with runtime.db.session() as s:
        if s.scalar(select(User).where(User.email == logins[0][1])) is not None:
            return logins
        platform = ensure_platform(s)
        create_superuser(s, runtime, logins[0][1], DEMO_PASSWORD)
        dist = build_org(platform, "Sunrise Distribution", OrgType.DISTRIBUTOR, "DE")
        s.add(dist)
        s.flush()
        inst = build_org(dist, INSTALLER, OrgType.INSTALLER, "DE")
        other = build_org(dist, "Alpine Solar Service", OrgType.INSTALLER, "AT")
        s.add_all([inst, other])
        s.flush()

        def user(email: str, name: str, org_id: str, role: str) -> User:
            return new_user(
                s,
                runtime,
                email=email,
                username=name,
                password=DEMO_PASSWORD,
                org_id=org_id,
                role=role,
                country="DE",
            )

        user(logins[1][1], "Dana Distributor", dist.id, "admin")
        user(logins[2][1], "Ingo Installer", inst.id, "admin")
        user(logins[3][1], "Olga O&M", inst.id, "om")
        owner = user(logins[4][1], "Otto Owner", inst.id, "owner")
        sites = []
        for i, (name, country, tz, kwp, lat, lon) in enumerate(HOMES):
            sites.append(
                Site(
                    org_id=inst.id if i < 4 else other.id,
                    owner_id=owner.id if i == 0 else None,
                    name=name,
                    country=country,
                    timezone=tz,
                    capacity_kwp=kwp,
                    latitude=lat,
                    longitude=lon,
                    currency="EUR",
                )
            )
        s.add_all(sites)
        s.flush()
        # Each seeded site is one of the simulated homes: its gateway is here, the simulator adds
        # the inverter, battery and meter below it and sends live data (the dynamic-tariff home's
        # battery is seeded too, with the plan it followed: seed_plan_history).
        gateways = [
            Device(
                site_id=site.id,
                kind="gateway",
                subtype="wifi",
                serial=demo_serial(i, "GW"),
                model="voltfleet simulator",
                name="Gateway",
                fw_arm=GATEWAY_FIRMWARE,  # new enough for 10-second live data
            )
            for i, site in enumerate(sites)
        ]
        s.add_all(gateways)
        s.flush()
        now = runtime.clock.now()
        seed_money(s, sites, now)
        seed_exchange_rates(s)  # revenue in another currency at once (demo_money.py)
        seed_plan_history(s, sites[DYNAMIC_HOME], gateways[DYNAMIC_HOME], now)
        power_loc = seed_power_demo(s, sites[0], gateways[0], now)  # EV power (demo_power.py)
        seed_ev_modes_demo(s, power_loc, now)  # departure time, 1p/3p (demo_ev_modes.py)
        seed_departure_defaults(s, sites[0].id)  # per card and connector (demo_departure.py)
        seed_firmware(s, inst, gateways[:4], now)  # Upgrade: releases and a finished campaign
        seed_alarm_notifications(s, inst, owner, sites, gateways, now)  # demo_alarms.py
        for site in sites:  # live data follows each gateway's firmware (seeded above)
            refresh_live_data(s, site.id)
    return logins


# A two-rate tariff, a flat feed-in tariff, and one home on a dynamic (market) tariff.
TOU_IMPORT = {
    "kind": "tou",
    "currency": "EUR",
    "periods": [
        {
            "name": "all year",
            "start": "01-01",
            "end": "12-31",
            "slots": [
                {"start": "00:00", "end": "06:00", "price_per_kwh": 0.24},
                {"start": "06:00", "end": "17:00", "price_per_kwh": 0.33},
                {"start": "17:00", "end": "21:00", "price_per_kwh": 0.41},
                {"start": "21:00", "end": "00:00", "price_per_kwh": 0.29},
            ],
        }
    ],
}
FEED_IN = {"kind": "fixed", "currency": "EUR", "price_per_kwh": 0.082}
MARKET = {
    "kind": "market",
    "currency": "EUR",
    "source": "demo",
    "area": "DE",
    "formula": {"markup_per_kwh": 0.02, "grid_fee_per_kwh": 0.11, "vat_rate": 0.19},
}


def seed_money(s: Session, sites: list[Site], now: datetime) -> None:
    """Tariffs for every demo home, made-up day-ahead prices (source "demo", labelled so) for
    the days around today (UTC, at ``now``)."""
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    for i, site in enumerate(sites):
        s.add(
            TariffVersion(
                site_id=site.id,
                direction="IMPORT",
                valid_from=date(2024, 1, 1),
                kind="market" if i == DYNAMIC_HOME else "tou",
                currency="EUR",
                definition=MARKET if i == DYNAMIC_HOME else TOU_IMPORT,
            )
        )
        s.add(
            TariffVersion(
                site_id=site.id,
                direction="EXPORT",
                valid_from=date(2024, 1, 1),
                kind="fixed",
                currency="EUR",
                definition=FEED_IN,
            )
        )
    # Day-ahead shape: cheap at night and midday (solar), dear in the evening; EUR/kWh.
    hour = timedelta(hours=1)
    for h in range(-8 * 24, 3 * 24):
        start = today + h * hour
        local_hour = (start.hour + 1) % 24
        price = (
            0.09
            + 0.05 * math.cos((local_hour - 19) / 24 * 2 * math.pi)
            - (0.04 if 11 <= local_hour <= 15 else 0.0)
        )
        s.add(
            MarketPriceRow(
                source="demo",
                area="DE",
                start=start,
                end=start + hour,
                price_per_kwh=round(price, 4),
                currency="EUR",
            )
        )
    # No made-up battery metering: every home with a battery gets its savings from its own
    # telemetry (app/siteview/savings.py, shown on its savings page).


def seed_plan_history(s: Session, site: Site, gateway: Device, now: datetime) -> list[Command]:
    """The dynamic-tariff home's battery below its gateway, and the day plan it followed over
    the day of history: the placeholder plan (domain.plan) from the seeded prices, as the
    acknowledged commands of a plan made when that day began. The simulated home back-fills
    the day obeying them (simulator.fleet replays a planned home's acknowledged plan
    commands), so the site page shows planned against reported power from the first minute,
    not only from the live plan's first charge or discharge hour on. Planned as for a battery
    the night has emptied, so the day charges it fully."""
    quarter = 900
    end = datetime.fromtimestamp(now.timestamp() // quarter * quarter, UTC)
    start = datetime.fromtimestamp((now - DEMO_HISTORY).timestamp() // 3600 * 3600, UTC)
    battery = Device(
        site_id=site.id,
        parent_id=gateway.id,
        kind="battery",
        subtype="lfp",
        serial=demo_serial(DYNAMIC_HOME, "BAT"),
        model="voltfleet simulator",
        name=f"{DYNAMIC_BATTERY_WH / 1000:.1f} kWh",
        rated_power_w=DYNAMIC_BATTERY_W,
    )
    s.add(battery)
    s.flush()
    refresh_live_data(s, site.id)
    params = BatteryParams(
        capacity_wh=DYNAMIC_BATTERY_WH,
        max_charge_w=DYNAMIC_BATTERY_W,
        max_discharge_w=DYNAMIC_BATTERY_W,
        soc_now=0.05,
        soc_min=0.05,
    )
    plan = day_plan(tariffs.rates(s, site, "IMPORT", start, end), params)
    rows = [
        Command(
            site_id=site.id,
            device_id=battery.id,
            gateway_id=gateway.id,
            kind=CommandKind.BATTERY_MODE.value,
            params=it.command_params(),
            state=CommandState.ACKNOWLEDGED.value,
            source=PLAN,
            created_at=start,
            not_before=it.start,
            expires_at=it.end,
            sent_at=it.start,
            replied_at=it.start,
            message="demo history: the simulated battery followed it",
        )
        for it in plan.intervals
    ]
    s.add_all(rows)
    return rows
