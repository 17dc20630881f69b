"""Default departures through the API and the charger page of the portal: an id tag's and a
connector's default are set, read, cleared and audited; bad input is a clear 4xx; owners look
but may not change; the charger page shows the running session's departure and energy need,
sets and clears it (CSRF, on the site's clock), edits the connector's default, and the id-tag
form carries the tag's default; German where the reader wants it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update

from tests.app.test_power import connector_of, h, make_site
from tests.app.test_power import link as link
from tests.app.test_power import world as world
from tests.app.test_power_ev_modes import _session
from tests.app.test_sites import portal_login
from tests.support.world import World
from voltfleet.app.charging import departure_defaults
from voltfleet.app.runtime import Runtime
from voltfleet.store.charging_models import ChargingSession
from voltfleet.store.ev_modes_models import SessionDeparture
from voltfleet.store.fleet_models import Device
from voltfleet.store.models import AuditEntry, Site
from voltfleet.usecases.charging import StartRequest

BERLIN = ZoneInfo("Europe/Berlin")


def _distribute(client: TestClient, world: World, site: str) -> None:
    r = client.post(
        f"/api/v1/sites/{site}/distribute",
        json={"user_id": world.accounts["owner@I1"].id},
        headers=h(world, "admin@I1"),
    )
    assert r.status_code == 200, r.text


def _tag(client: TestClient, world: World, site: str, tag: str) -> str:
    r = client.put(f"/api/v1/sites/{site}/id-tags", json={"tag": tag}, headers=h(world, "om@I1"))
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def test_defaults_are_set_read_cleared_and_audited(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids = make_site(client, world)
    site, om = ids["site"], h(world, "om@I1")
    tag = _tag(client, world, site, "CARD-7")
    conn = connector_of(runtime, ids["PWR-A"])
    _distribute(client, world, site)
    r = client.put(
        f"/api/v1/sites/{site}/id-tags/{tag}/departure-default",
        json={"departure_time": "7:30", "energy_need_kwh": 20},
        headers=om,
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"id_tag_id": tag, "tag": "CARD-7", "label": "",
                        "departure_time": "07:30", "energy_need_kwh": 20.0}  # fmt: skip
    r = client.put(
        f"/api/v1/sites/{site}/connectors/{conn}/departure-default",
        json={"departure_time": "17:00", "energy_need_kwh": 8.5},
        headers=om,
    )
    assert r.status_code == 200, r.text
    got = client.get(f"/api/v1/sites/{site}/departure-defaults", headers=h(world, "owner@I1"))
    assert got.status_code == 200
    body = got.json()
    assert [t["tag"] for t in body["tags"]] == ["CARD-7"]
    assert [(c["charger_serial"], c["connector_no"], c["departure_time"], c["energy_need_kwh"])
            for c in body["connectors"]] == [("PWR-A", 1, "17:00", 8.5)]  # fmt: skip

    # owners look, never change
    r = client.put(
        f"/api/v1/sites/{site}/connectors/{conn}/departure-default",
        json={"departure_time": "06:00", "energy_need_kwh": 5},
        headers=h(world, "owner@I1"),
    )
    assert r.status_code == 403
    # another tenant does not see them
    r = client.get(f"/api/v1/sites/{site}/departure-defaults", headers=h(world, "admin@I2"))
    assert r.status_code == 404

    assert (
        client.delete(
            f"/api/v1/sites/{site}/id-tags/{tag}/departure-default", headers=om
        ).status_code
        == 204
    )
    assert (
        client.delete(
            f"/api/v1/sites/{site}/connectors/{conn}/departure-default", headers=om
        ).status_code
        == 204
    )
    assert client.get(f"/api/v1/sites/{site}/departure-defaults", headers=om).json() == {
        "tags": [], "connectors": []}  # fmt: skip
    with runtime.db.session() as s:
        actions = set(s.scalars(select(AuditEntry.action).where(
            AuditEntry.action.like("departure_default.%"))))  # fmt: skip
    assert actions == {
        f"departure_default.{what}.{how}"
        for what in ("tag", "connector")
        for how in ("set", "clear")
    }


def test_bad_defaults_are_refused_with_a_reason(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids = make_site(client, world)
    site, om = ids["site"], h(world, "om@I1")
    tag = _tag(client, world, site, "CARD-7")
    url = f"/api/v1/sites/{site}/id-tags/{tag}/departure-default"
    for bad in (
        {"departure_time": "24:00", "energy_need_kwh": 20},
        {"departure_time": "07:30", "energy_need_kwh": 0},
        {"departure_time": "07:30", "energy_need_kwh": 501},
        {"departure_time": "half past seven", "energy_need_kwh": 20},
        {"energy_need_kwh": 20},
    ):
        r = client.put(url, json=bad, headers=om)
        assert r.status_code == 422, (bad, r.text)
    r = client.put(
        f"/api/v1/sites/{site}/id-tags/no-such-tag/departure-default",
        json={"departure_time": "07:30", "energy_need_kwh": 20},
        headers=om,
    )
    assert r.status_code == 404 and "id tag" in r.text
    # a connector of a charger of another site is not found here
    other = make_other_site(client, world)
    r = client.put(
        f"/api/v1/sites/{site}/connectors/{connector_of(runtime, other)}/departure-default",
        json={"departure_time": "07:30", "energy_need_kwh": 20},
        headers=om,
    )
    assert r.status_code == 404 and "connector" in r.text


def make_other_site(client: TestClient, world: World) -> str:
    admin = h(world, "admin@I1")
    site = client.post("/api/v1/sites", json={"name": "Other"}, headers=admin).json()["id"]
    d = {"kind": "charger", "serial": "OTHER-C", "connectors": [{"connector_no": 1}]}
    r = client.post(f"/api/v1/sites/{site}/devices", json=d, headers=admin)
    assert r.status_code == 201, r.text
    devices = client.get("/api/v1/devices", params={"site_id": site}, headers=admin).json()
    return str(devices["items"][0]["id"])


def test_the_charger_page_sets_and_clears_a_sessions_departure_and_the_defaults(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids = make_site(client, world)
    site, charger = ids["site"], ids["PWR-A"]
    now = datetime.now(UTC)
    sid = _session(runtime, site, charger, 73001, now - timedelta(minutes=10))
    csrf = portal_login(client, "om.i1@example.com")
    device_page = client.get(f"/device/{charger}")
    assert f'hx-get="/device/{charger}/departure"' in device_page.text
    card = client.get(f"/device/{charger}/departure")
    assert card.status_code == 200 and 'id="charger-departures"' in card.text
    assert "departure-form" in card.text and "no session" not in card.text

    # a departure on the site's clock (Berlin), 20 kWh in all
    leaves = (now + timedelta(hours=6)).astimezone(BERLIN).replace(second=0, microsecond=0)
    url = f"/device/{charger}/departure/{sid}"
    form = {"csrf": csrf, "departure_at": leaves.strftime("%Y-%m-%dT%H:%M"),
            "energy_need_kwh": "20"}  # fmt: skip
    r = client.post(url, data=form, headers={"HX-Request": "true"})
    assert r.status_code == 200 and "Departure time saved." in r.text
    assert leaves.strftime("%H:%M") in r.text and "20.0 kWh" in r.text
    got = client.get(f"/api/v1/charging/sessions/{sid}/departure", headers=h(world, "om@I1"))
    assert datetime.fromisoformat(got.json()["departure_at"]) == leaves
    assert got.json()["energy_need_kwh"] == 20.0

    # bad input: the reason, 422 without htmx (200 for htmx, which swaps only 2xx)
    bad = dict(form, departure_at="tomorrow")
    r = client.post(url, data=bad)
    assert r.status_code == 422 and "Not saved" in r.text
    r = client.post(url, data=dict(form, energy_need_kwh="0"), headers={"HX-Request": "true"})
    assert r.status_code == 200 and "Not saved" in r.text and 'id="departure-error"' in r.text
    past = (now - timedelta(hours=1)).astimezone(BERLIN).strftime("%Y-%m-%dT%H:%M")
    r = client.post(url, data=dict(form, departure_at=past))
    assert r.status_code == 422 and "in the future" in r.text
    # no CSRF token: refused
    r = client.post(url, data={"departure_at": form["departure_at"], "energy_need_kwh": "5",
                               "csrf": "forged"})  # fmt: skip
    assert r.status_code == 403

    # the connector's default
    conn = connector_of(runtime, charger)
    r = client.post(
        f"/device/{charger}/departure-default/{conn}",
        data={"csrf": csrf, "departure_time": "07:30", "energy_need_kwh": "12"},
    )
    assert r.status_code == 200 and "Default departure saved." in r.text
    assert "07:30, 12.0 kWh" in r.text
    r = client.post(
        f"/device/{charger}/departure-default/{conn}",
        data={"csrf": csrf, "departure_time": "25:00", "energy_need_kwh": "12"},
    )
    assert r.status_code == 422 and "Not saved" in r.text

    # German
    german = client.get(f"/device/{charger}/departure", headers={"Accept-Language": "de"})
    assert "Abfahrtszeiten" in german.text and "Standard-Abfahrt" in german.text

    # cleared
    r = client.post(url, data={"csrf": csrf, "clear": "1"})
    assert r.status_code == 200 and "Departure time cleared." in r.text
    got = client.get(f"/api/v1/charging/sessions/{sid}/departure", headers=h(world, "om@I1"))
    assert got.json()["departure_at"] is None
    r = client.post(f"/device/{charger}/departure-default/{conn}",
                    data={"csrf": csrf, "clear": "1"})  # fmt: skip
    assert r.status_code == 200 and "Default departure cleared." in r.text

    # a session of another charger is not this page's
    other = _session(runtime, site, ids["PWR-B"], 73002, now)
    r = client.post(f"/device/{charger}/departure/{other}", data=form)
    assert r.status_code == 404


def test_the_id_tag_form_carries_the_tags_default(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids = make_site(client, world)
    charger = ids["PWR-A"]
    csrf = portal_login(client, "om.i1@example.com")
    url = f"/device/{charger}/ocpp/id-tags"
    r = client.post(url, data={"csrf": csrf, "tag": "CARD-7", "active": "1",
                               "departure_time": "07:30", "energy_need_kwh": "20"})  # fmt: skip
    assert r.status_code == 200 and "id tag CARD-7 saved" in r.text
    assert "07:30, 20.0 kWh" in r.text
    got = client.get(f"/api/v1/sites/{ids['site']}/departure-defaults", headers=h(world, "om@I1"))
    assert [(t["tag"], t["departure_time"]) for t in got.json()["tags"]] == [("CARD-7", "07:30")]
    # half a default: refused with the reason, and the tag is not changed either
    r = client.post(url, data={"csrf": csrf, "tag": "CARD-7", "label": "Anna",
                               "departure_time": "07:30"})  # fmt: skip
    assert "a default departure is a time of day" in r.text and "Anna" not in r.text
    # both empty: no default
    r = client.post(url, data={"csrf": csrf, "tag": "CARD-7", "active": "1"})
    assert "id tag CARD-7 saved" in r.text
    got = client.get(f"/api/v1/sites/{ids['site']}/departure-defaults", headers=h(world, "om@I1"))
    assert got.json()["tags"] == []


def test_owners_see_the_departure_but_no_forms(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids = make_site(client, world)
    charger = ids["PWR-A"]
    sid = _session(runtime, ids["site"], charger, 73003, datetime.now(UTC))
    _distribute(client, world, ids["site"])
    csrf = portal_login(client, "owner.i1@example.com")
    card = client.get(f"/device/{charger}/departure")
    assert card.status_code == 200 and 'id="charger-departures"' in card.text
    assert "departure-form" not in card.text and "departure-default-form" not in card.text
    leaves = (datetime.now(UTC) + timedelta(hours=3)).astimezone(BERLIN)
    r = client.post(
        f"/device/{charger}/departure/{sid}",
        data={"csrf": csrf, "departure_at": leaves.strftime("%Y-%m-%dT%H:%M"),
              "energy_need_kwh": "5"},
    )  # fmt: skip
    assert r.status_code == 422 and "may not update" in r.text


def test_a_start_takes_the_default_on_the_sites_clock_across_the_spring_change(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    """Berlin's clocks jump on 29 March 2026 at 02:00: a 06:00 default of a card is 04:00 UTC
    that morning, a 07:30 default of a connector 05:30 UTC (both an hour earlier in UTC than
    the evening before's offset would say)."""
    ids = make_site(client, world)
    site, om = ids["site"], h(world, "om@I1")
    tag = _tag(client, world, site, "T")  # the tag _session's sessions start with
    r = client.put(f"/api/v1/sites/{site}/id-tags/{tag}/departure-default",
                   json={"departure_time": "06:00", "energy_need_kwh": 20}, headers=om)  # fmt: skip
    assert r.status_code == 200
    for charger in ("PWR-A", "PWR-B"):
        r = client.put(
            f"/api/v1/sites/{site}/connectors/{connector_of(runtime, ids[charger])}"
            "/departure-default",
            json={"departure_time": "07:30", "energy_need_kwh": 8},
            headers=om,
        )
        assert r.status_code == 200
    evening = datetime(2026, 3, 28, 20, 0, tzinfo=UTC)  # 21:00 CET
    with_tag = _session(runtime, site, ids["PWR-A"], 74001, evening)
    without = _session(runtime, site, ids["PWR-B"], 74002, evening)
    with runtime.db.session() as s:
        s.execute(update(ChargingSession).where(ChargingSession.id == without).values(id_tag=""))

    def start(charger: str, tag: str, now: datetime) -> SessionDeparture | None:
        with runtime.db.session() as s:
            device = s.get(Device, ids[charger])
            assert device is not None
            request = StartRequest(1, tag, 1000, evening)
            return departure_defaults.apply_at_start(s, device, request, now)

    assert start("PWR-A", "T", evening) is not None
    assert start("PWR-B", "", evening) is not None
    assert start("PWR-A", "T", evening) is None  # a start sent again: the one it has stays
    with runtime.db.session() as s:
        got = {d.session_id: d for d in s.scalars(select(SessionDeparture))}
        assert (got[with_tag].departure_at, got[with_tag].source, got[with_tag].energy_need_wh) == (
            datetime(2026, 3, 29, 4, 0, tzinfo=UTC), "tag_default", 20_000)  # fmt: skip
        assert (got[without].departure_at, got[without].source) == (
            datetime(2026, 3, 29, 5, 30, tzinfo=UTC), "connector_default")  # fmt: skip
        s.execute(delete(SessionDeparture))
    # reported long after the fact (a charger that was offline): a departure gone is not set
    assert start("PWR-A", "T", datetime(2026, 3, 29, 9, 0, tzinfo=UTC)) is None


def test_a_bad_zone_never_costs_the_charger_its_start(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids = make_site(client, world)
    conn = connector_of(runtime, ids["PWR-A"])
    r = client.put(f"/api/v1/sites/{ids['site']}/connectors/{conn}/departure-default",
                   json={"departure_time": "07:30", "energy_need_kwh": 8},
                   headers=h(world, "om@I1"))  # fmt: skip
    assert r.status_code == 200
    now = datetime.now(UTC)
    _session(runtime, ids["site"], ids["PWR-A"], 75001, now)
    with runtime.db.session() as s:
        s.execute(update(Site).where(Site.id == ids["site"]).values(timezone="Mars/Olympus"))
    with runtime.db.session() as s:
        device = s.get(Device, ids["PWR-A"])
        assert device is not None
        request = StartRequest(1, "T", 1000, now)
        assert departure_defaults.apply_at_start(s, device, request, now) is None
