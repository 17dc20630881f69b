"""The virtual battery's demo: a utility partner, one customer whose home's house meter has
sent a day and a half of readings (PV export around noon, the household's evening draw), and a
virtual battery over it that fills at noon and empties in the evening. Seeded once."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from voltfleet.accounts import ensure_platform
from voltfleet.app.orgs.service import build_org
from voltfleet.app.runtime import Runtime
from voltfleet.app.users.service import new_user
from voltfleet.domain.access import OrgType
from voltfleet.domain.virtual_battery import calendar
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site, User
from voltfleet.store.money_models import TariffVersion
from voltfleet.store.virtual_battery_models import MarketPartner, VirtualBattery
from voltfleet.store.virtual_battery_repository import SqlVirtualBatteryRepository
from voltfleet.usecases.virtual_battery import settle

UTILITY = "Stadtwerke Sonnental"
UTILITY_ADMIN = "utility@demo.voltfleet"
CUSTOMER = "customer@demo.voltfleet"
BERLIN = ZoneInfo("Europe/Berlin")
STEP = timedelta(minutes=5)


@dataclass(frozen=True)
class _Reading:
    device: str
    point: str
    ts: datetime
    value: float
    unit: str


def grid_power_w(local: datetime) -> float:
    """The house meter's power (> 0 import) at a local time: about 4 kW of PV export around
    noon, about 2 kW drawn from 17:00 to 23:00, a small base load otherwise."""
    h = local.hour + local.minute / 60
    pv = max(0.0, math.sin((h - 7) / 12 * math.pi)) * 4500  # 07:00-19:00
    load = 300 + (1900 if 17 <= h < 23 else 0)
    return load - pv


def seed_virtual_battery_demo(runtime: Runtime, password: str) -> list[tuple[str, str, str]]:
    """Create the utility, its customer and the battery unless they exist; returns logins."""
    logins = [
        ("utility administrator", UTILITY_ADMIN, password),
        ("utility customer", CUSTOMER, password),
    ]
    now = runtime.clock.now()
    with runtime.db.session() as s:
        if s.scalar(select(User).where(User.email == UTILITY_ADMIN)) is not None:
            return logins
        org = build_org(ensure_platform(s), UTILITY, OrgType.UTILITY, "DE")
        s.add(org)
        s.flush()
        common = {"password": password, "org_id": org.id, "country": "DE"}
        new_user(s, runtime, email=UTILITY_ADMIN, username="Ulla Utility", role="admin", **common)
        customer = new_user(
            s, runtime, email=CUSTOMER, username="Carla Customer", role="owner", **common
        )
        site = Site(org_id=org.id, owner_id=customer.id, name="Sonnental Home", country="DE",
                    timezone="Europe/Berlin", capacity_kwp=6.0, currency="EUR")  # fmt: skip
        s.add(site)
        s.flush()
        price = {"kind": "fixed", "currency": "EUR", "price_per_kwh": 0.32}
        s.add(TariffVersion(site_id=site.id, direction="IMPORT", valid_from=date(2020, 1, 1),
                            kind="fixed", currency="EUR", definition=price))  # fmt: skip
        gw = Device(site_id=site.id, kind="gateway", subtype="wifi", serial="VBDEMO-GW",
                    name="Gateway")  # fmt: skip
        s.add(gw)
        s.flush()
        meter = Device(site_id=site.id, kind="meter", subtype="grid", serial="VBDEMO-MTR",
                       parent_id=gw.id, name="House meter")  # fmt: skip
        s.add(meter)
        s.flush()
        yesterday = now.astimezone(BERLIN).date() - timedelta(days=1)
        start = calendar.local_midnight(yesterday, BERLIN)
        readings: list[_Reading] = []
        imp = exp = 0.0
        t = start
        while t <= now - STEP:
            if t > start:
                p = grid_power_w((t - STEP / 2).astimezone(BERLIN))
                wh = abs(p) * STEP.total_seconds() / 3600
                imp, exp = (imp + wh, exp) if p > 0 else (imp, exp + wh)
            p_now = grid_power_w(t.astimezone(BERLIN))
            readings += [
                _Reading(meter.serial, "grid_import_energy_wh", t, round(imp, 1), "Wh"),
                _Reading(meter.serial, "grid_export_energy_wh", t, round(exp, 1), "Wh"),
                _Reading(meter.serial, "grid_power_w", t, round(p_now, 1), "W"),
            ]
            t += STEP
        runtime.ingest(s, gw, readings, now=now)
        battery = VirtualBattery(org_id=org.id, name="Sonnenspeicher", customer_id=customer.id,
                                 site_id=site.id, meter_id=meter.id, capacity_wh=10_000.0,
                                 start_date=yesterday, reset_on=date(now.year + 1, 1, 1),
                                 reset_yearly=True, dirty_from=start, created_at=now,
                                 updated_at=now)  # fmt: skip
        s.add(battery)
        s.add(MarketPartner(org_id=org.id, sender_id="9900000000001", receiver_id="9900000000002",
                            format_version="2.4c", updated_at=now))  # fmt: skip
        s.flush()
        settle(SqlVirtualBatteryRepository(s), battery.id, now)
    return logins
