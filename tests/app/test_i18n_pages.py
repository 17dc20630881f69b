"""Two languages and one clock in the portal (issue 19).

A user's language, zone and formats from the profile (API and page); the browser's language
before sign-in; a German page with German words, dates and numbers; an alarm, a charging session
and a plan shown on the site's clock with its offset to a user whose own zone is elsewhere.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from tests.app.test_alarms import home
from tests.app.test_battery_plan import site_with_tariff
from tests.app.test_site_pages import login
from tests.app.test_telemetry import h
from tests.support.world import World, build_world
from voltfleet.app.runtime import Runtime
from voltfleet.store.alarm_models import Alarm
from voltfleet.store.charging_models import ChargingSession
from voltfleet.store.fleet_models import Connector, Device

# 13:05 UTC on 15 January: 14:05 in Berlin (+01:00), 08:05 in New York (-05:00).
WINTER = datetime(2026, 1, 15, 13, 5, tzinfo=UTC)


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


def prefer(client: TestClient, world: World, who: str, **body: str) -> dict:  # type: ignore[type-arg]
    r = client.patch("/api/v1/me", json=body, headers=h(world, who))
    assert r.status_code == 200, r.text
    return r.json()["user"]  # type: ignore[no-any-return]


def test_preferences_through_the_api_are_validated(client: TestClient, world: World) -> None:
    user = prefer(
        client, world, "om@I1", language="de", timezone="America/New_York", formats="en-US"
    )
    assert (user["language"], user["timezone"], user["formats"]) == (
        "de",
        "America/New_York",
        "en-US",
    )
    for bad in (
        {"timezone": "Mars/Olympus"},
        {"timezone": "../etc/passwd"},
        {"language": "fr"},
        {"formats": "xx-XX"},
    ):
        r = client.patch("/api/v1/me", json=bad, headers=h(world, "om@I1"))
        assert r.status_code == 422, (bad, r.text)
    r = client.patch("/api/v1/me", json={"timezone": "Mars/Olympus"}, headers=h(world, "om@I1"))
    assert "unknown time zone" in r.text
    # back to the defaults
    user = prefer(client, world, "om@I1", language="", timezone="", formats="")
    assert (user["language"], user["timezone"], user["formats"]) == ("", "", "")


def test_the_sign_in_page_follows_the_browser_and_the_user_their_choice(
    client: TestClient, world: World
) -> None:
    assert "<h1>Sign in</h1>" in client.get("/login").text
    page = client.get("/login", headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}).text
    assert "<h1>Anmelden</h1>" in page and '<html lang="de"' in page
    page = client.get("/login", headers={"Accept-Language": "fr-FR, en;q=0.8, de;q=0.7"}).text
    assert "<h1>Sign in</h1>" in page
    csrf = login(client, "om.i1@example.com")
    r = client.post(
        "/account/profile/preferences",
        data={"csrf": csrf, "language": "de", "timezone": "Asia/Tokyo", "formats": ""},
    )
    assert r.status_code == 200 and 'id="notice">Einstellungen gespeichert.<' in r.text, r.text
    # the user's choice wins over the browser's
    home_page = client.get("/home", headers={"Accept-Language": "en-GB"}).text
    assert "Anlagenstatus heute" in home_page and ">Abmelden<" in home_page
    r = client.post(
        "/account/profile/preferences",
        data={"csrf": csrf, "language": "de", "timezone": "Nowhere/Else"},
    )
    assert 'id="error">Unbekannte Zeitzone Nowhere/Else' in r.text


def test_a_german_page_has_german_words_dates_and_numbers(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids = home(client, world, "GWDE")[0]
    prefer(client, world, "om@I1", language="de", timezone="America/New_York")
    with runtime.db.session() as s:
        device = s.get(Device, ids["GWDE-INV"])
        assert device is not None
        device.last_seen = WINTER
        charger = Device(site_id=ids["site"], kind="charger", serial="GWDE-EVC", name="Wallbox")
        s.add(charger)
        s.flush()
        s.add(Connector(charger_id=charger.id, connector_no=1, status="charging"))
        s.add(
            ChargingSession(
                site_id=ids["site"],
                device_id=charger.id,
                connector_id=1,
                transaction_id=4711,
                started_at=WINTER,
                meter_start_wh=0,
                meter_last_wh=12345.6,
                energy_wh=12345.6,
            )
        )
    login(client, "om.i1@example.com")
    page = client.get(f"/device/{ids['GWDE-INV']}").text
    assert "<dt>Zuletzt gesehen</dt><dd>15.01.2026 14:05 +01:00</dd>" in page, page
    assert '<html lang="de"' in page
    chargers = client.get(f"/site/{ids['site']}/chargers").text
    # a session on the site's clock (not New York's), energy with a decimal comma
    assert "15.01.2026 14:05 +01:00" in chargers and "08:05" not in chargers, chargers
    assert "12,35 kWh" in chargers and "Ladevorgang seit" in chargers


def test_alarms_sessions_and_plans_are_on_the_site_clock(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids, _token = site_with_tariff(client, world, "GWCL")  # the site is in Europe/Berlin
    prefer(client, world, "om@I1", timezone="America/New_York", formats="en-GB")
    with runtime.db.session() as s:
        s.add(
            Alarm(
                site_id=ids["site"],
                device_id=ids["GWCL-INV"],
                code="E001",
                severity="major",
                raised_at=WINTER,
            )
        )
    login(client, "om.i1@example.com")
    berlin = "15/01/2026 14:05 +01:00"
    # the overview's alarm fragment, and the fleet list (date and time on two lines there)
    fragment = client.get(f"/site/{ids['site']}/alarms", headers={"HX-Request": "true"}).text
    assert berlin in fragment and "08:05" not in fragment, fragment
    listing = client.get("/maintenance/alarms", params={"status": "all"}).text
    assert '15/01/2026<br><span class="small">14:05 +01:00</span>' in listing
    english = client.get("/maintenance/alarms.csv", params={"status": "all"}).text
    # the CSV says which zone its instants are in (the reader's: a fleet-wide download)
    assert english.startswith(
        "level,severity,raised_at (America/New_York),cleared_at (America/New_York)"
    ), english[:90]
    # the CSV header in the user's language, saying the zone of its instants
    prefer(client, world, "om@I1", language="de")
    german = client.get("/maintenance/alarms.csv", params={"status": "all"}).text
    assert german.startswith(
        "Stufe,Schweregrad,ausgelöst_am (America/New_York),beendet_am (America/New_York)"
    ), german[:90]
    prefer(client, world, "om@I1", language="")
    # a plan's commands: each step on the site's clock with its offset
    r = client.post(
        f"/api/v1/sites/{ids['site']}/battery-plan",
        json={"capacity_kwh": 10, "soc_now": 0.2, "max_charge_w": 3000, "max_discharge_w": 3000},
        headers=h(world, "om@I1"),
    )
    assert r.status_code == 201, r.text
    plan = client.get(f"/site/{ids['site']}/battery-plan").text
    assert "From (Europe/Berlin)" in plan
    made = datetime.fromisoformat(r.json()["commands"][0]["not_before"])
    local = made.astimezone(ZoneInfo("Europe/Berlin"))
    offset = local.strftime("%z")
    shown = f"{local:%d/%m/%Y} {local:%H:%M} {offset[:3]}:{offset[3:]}"
    assert shown in plan, (shown, plan)


def test_mails_are_written_in_the_recipients_language(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    from sqlalchemy import select

    from voltfleet.store.models import OutboxMail

    prefer(client, world, "owner@I1", language="de")
    r = client.post(
        f"/api/v1/users/{world.accounts['owner@I1'].id}/reset-password",
        json={},
        headers=h(world, "admin@I1"),  # the administrator's browser says nothing: English
    )
    assert r.status_code == 200, r.text
    # a registration code before sign-in: the browser's language
    r = client.post(
        "/api/v1/auth/register/code",
        json={"email": "neu@example.com"},
        headers={"Accept-Language": "de-DE"},
    )
    with runtime.db.session() as s:
        mails = {m.to: m for m in s.scalars(select(OutboxMail))}
    reset = mails["owner.i1@example.com"]
    assert reset.subject == "Ihr voltfleet-Passwort wurde zurückgesetzt"
    assert reset.body.startswith("Hallo owner I1,") and "vorläufiges Passwort" in reset.body
    assert r.status_code == 202, r.text
    code = mails["neu@example.com"]
    assert code.subject == "Ihr voltfleet-Registrierungscode" and "Ihr Code lautet" in code.body
