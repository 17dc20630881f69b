"""Rows the alarm, fleet, telemetry and money paths insert carry the injected clock's instant,
not the wall clock's: a test sets a ManualClock far from today and finds that instant stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.app.test_alarms import event, home, send
from tests.app.test_tariffs_api import TOU
from tests.app.test_tariffs_api import make_site as tariff_site
from tests.app.test_telemetry import h
from tests.support.world import World, build_world
from voltfleet.app.runtime import Runtime
from voltfleet.clock import ManualClock
from voltfleet.store.alarm_models import Alarm
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import AuditEntry, Site
from voltfleet.store.money_models import MeterIntervalRow
from voltfleet.store.telemetry_models import DeviceCredential

FAR = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)  # not the wall clock's day, whenever this runs


@pytest.fixture
def clock(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    manual = ManualClock(FAR)
    monkeypatch.setattr(runtime, "clock", manual)
    return manual


@pytest.fixture
def world(client: TestClient, runtime: Runtime, clock: ManualClock) -> World:
    return build_world(runtime)  # tokens issued at the manual clock's instant


def test_an_alarm_is_received_and_acknowledged_at_the_injected_instant(
    client: TestClient, world: World, runtime: Runtime, clock: ManualClock
) -> None:
    ids, token = home(client, world, "GWCR1")
    out = send(client, token, [event("GWCR1-INV", "INV_GRID_LOST", "raise", FAR)])
    assert out["alarms"]["opened"] == 1, out
    clock.advance(timedelta(minutes=3))
    with runtime.db.session() as s:
        alarm = s.scalars(select(Alarm).where(Alarm.device_id == ids["GWCR1-INV"])).one()
        assert alarm.received_at == FAR
        alarm_id = alarm.id
    r = client.post(f"/api/v1/alarms/{alarm_id}/acknowledge", headers=h(world, "om@I1"))
    assert r.status_code == 200, r.text
    with runtime.db.session() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.object_id == alarm_id)).one()
        assert (entry.action, entry.at) == ("alarm.acknowledged", FAR + timedelta(minutes=3))


def test_rows_the_app_inserts_and_tokens_it_checks_carry_the_injected_instant(
    client: TestClient, world: World, runtime: Runtime, clock: ManualClock
) -> None:
    ids, token = home(client, world, "GWCR2")  # site, devices and token created at FAR
    clock.advance(timedelta(hours=2))
    send(client, token, [])  # the token is used two hours later
    with runtime.db.session() as s:
        site = s.get(Site, ids["site"])
        gateway = s.get(Device, ids["GWCR2"])
        cred = s.scalars(
            select(DeviceCredential).where(DeviceCredential.device_id == ids["GWCR2"])
        ).one()
        assert site is not None and gateway is not None
        assert (site.created_at, gateway.created_at) == (FAR, FAR)
        assert (cred.created_at, cred.last_used_at) == (FAR, FAR + timedelta(hours=2))
    clock.advance(timedelta(hours=1))
    r = client.patch(
        f"/api/v1/sites/{ids['site']}", json={"name": "Renamed"}, headers=h(world, "admin@I1")
    )
    assert r.status_code == 200, r.text
    with runtime.db.session() as s:
        site = s.get(Site, ids["site"])
        assert site is not None and site.updated_at == FAR + timedelta(hours=3)  # onupdate too


def test_tariff_versions_and_metered_intervals_are_stamped_at_the_injected_instant(
    client: TestClient, world: World, runtime: Runtime, clock: ManualClock
) -> None:
    site = tariff_site(runtime, world)
    admin = h(world, "admin@I1")
    r = client.put(f"/api/v1/sites/{site}/tariffs/IMPORT", json=TOU, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["created_at"] == "2031-05-06T07:08:09Z"
    clock.advance(timedelta(minutes=5))
    interval = {
        "site_id": site,
        "start_time": "2031-05-06T06:00:00Z",
        "end_time": "2031-05-06T06:15:00Z",
        "value": 0.5,
        "units": "KWH",
        "direction": "IMPORT",
        "tariff_rate": "IMPORT",
        "record_reference_id": "clock-1",
    }
    r = client.put("/api/v1/meters/interval", json=[interval], headers=admin)
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    with runtime.db.session() as s:
        row = s.scalars(select(MeterIntervalRow).where(MeterIntervalRow.site_id == site)).one()
        assert row.created_at == FAR + timedelta(minutes=5)
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "tariff.set")).all()
        assert [a.at for a in audit if a.object_id == site] == [FAR]
