"""The demo shows alarm notifications at once: three subscriptions (an on-call mail, a ticketing
webhook that is down, the owner's own mail in German) and a delivery log with a delivered mail
and a webhook that gave up after its retries; the O&M engineer sees them, the other installer's
staff do not."""

from __future__ import annotations

from sqlalchemy import select

from tests.app.test_demo_seed import runtime  # noqa: F401 - the demo seed's runtime fixture
from voltfleet.app.runtime import Runtime
from voltfleet.demo import seed_demo
from voltfleet.store.alarm_notify_models import AlarmDelivery, AlarmSubscription


def test_the_demo_has_subscriptions_and_a_delivery_log(runtime: Runtime) -> None:  # noqa: F811
    seed_demo(runtime)
    with runtime.db.session() as s:
        subs = {x.name: x for x in s.scalars(select(AlarmSubscription))}
        log = list(s.scalars(select(AlarmDelivery)))
    assert set(subs) == {"On-call engineer", "Ticketing system", "Mein Zuhause"}
    assert subs["Ticketing system"].channel == "webhook" and subs["Mein Zuhause"].language == "de"
    assert sorted((d.status, d.attempts) for d in log) == [("delivered", 1), ("failed", 8)]
