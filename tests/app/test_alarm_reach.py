"""Which subscriptions an alarm reaches (store/alarm_notify_repository.py): an organisation's
subscription hears of its own sites, those of the organisations below it and sites shared to it;
an owner's, only of the owner's homes; a subscription to chosen sites only of those; a disabled one
of nothing; a subscription of an unrelated tenant never."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from tests.support.world import build_world
from voltfleet.app.runtime import Runtime
from voltfleet.store.alarm_models import Alarm
from voltfleet.store.alarm_notify_models import AlarmDelivery, AlarmSubscription
from voltfleet.store.alarm_notify_repository import SqlAlarmNotifier, ancestors
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import Site, SiteShare

NOW = datetime(2026, 12, 6, 6, 0, tzinfo=UTC)


def test_ancestor_paths() -> None:
    assert ancestors("/a/b/c/") == ["/a/", "/a/b/", "/a/b/c/"]
    assert ancestors("/") == []


def test_an_alarm_reaches_exactly_the_subscriptions_that_see_its_site(runtime: Runtime) -> None:
    world = build_world(runtime)
    owner_i1 = world.accounts["owner@I1"].id
    with runtime.db.session() as s:
        site = Site(org_id=world.org_id("I1"), owner_id=owner_i1, name="Home")
        s.add(site)
        s.flush()
        s.add(SiteShare(site_id=site.id, org_id=world.org_id("I2")))  # shared to I2
        gw = Device(site_id=site.id, kind="gateway", serial="GWR1")
        s.add(gw)
        s.flush()
        site_id, gw_id = site.id, gw.id

        def sub(label: str, name: str, **kw: object) -> None:
            s.add(
                AlarmSubscription(
                    org_id=world.org_id(label),
                    name=name,
                    channel="email",
                    target=f"{name}@example.com",
                    levels=kw.pop("levels", ["urgent"]),
                    site_ids=kw.pop("site_ids", []),
                    **kw,
                )
            )

        sub("I1", "own")  # the site's organisation
        sub("D1", "above")  # its distributor
        sub("P", "platform")  # the platform, above everything
        sub("I2", "shared")  # the site is shared to I2
        sub("D2", "above-shared")  # I2's distributor sees what is shared to I2
        sub("I1", "owner", owner_user_id=owner_i1)  # the site's owner
        sub("I2", "other-owner", owner_user_id=world.accounts["owner@I2"].id)  # not theirs
        sub("I1", "chosen-other", site_ids=["another-site"])  # other sites only
        sub("I1", "chosen", site_ids=[site_id])
        sub("I1", "off", enabled=False)
        sub("I1", "prompt-only", levels=["prompt"])
        s.flush()
        s.add(
            Alarm(
                site_id=site_id,
                device_id=gw_id,
                code="INV_GRID_LOST",
                severity="major",
                level="urgent",
                raised_at=NOW,
            )
        )
        s.flush()
        queued = SqlAlarmNotifier(s, NOW).alarm_raised(site_id, gw_id, "INV_GRID_LOST", "urgent")
        told = {
            name
            for name in s.scalars(
                select(AlarmSubscription.name).join(
                    AlarmDelivery, AlarmDelivery.subscription_id == AlarmSubscription.id
                )
            )
        }
    assert told == {"own", "above", "platform", "shared", "above-shared", "owner", "chosen"}
    assert queued == len(told)
    # Without the share, I2 and D2 hear nothing; telling the same alarm again adds nothing.
    with runtime.db.session() as s:
        s.execute(SiteShare.__table__.delete())
        s.execute(AlarmDelivery.__table__.delete())
        n = SqlAlarmNotifier(s, NOW).alarm_raised(site_id, gw_id, "INV_GRID_LOST", "urgent")
        assert n == len(told) - 2
        assert SqlAlarmNotifier(s, NOW).alarm_raised(site_id, gw_id, "INV_GRID_LOST", "urgent") == 0
