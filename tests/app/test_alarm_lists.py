"""The alarm lists: filters by site, device serial, level, free text in the alarm info and a day
range read in a chosen time zone; the site's and the device's Alarm tabs; the CSV of the filtered
list with its zone in the headers; another tenant sees none of it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.app.test_alarms import event, home, send
from tests.app.test_site_pages import login
from tests.app.test_telemetry import h
from tests.support.world import World, build_world
from voltfleet.app.runtime import Runtime

# Two alarms either side of midnight in Berlin (UTC+1 in December), an hour apart in UTC.
NOW = datetime.now(UTC).replace(microsecond=0)
DAY = (NOW - timedelta(days=2)).date()
LATE = datetime(DAY.year, DAY.month, DAY.day, 22, 30, tzinfo=UTC)  # 23:30 Berlin: that day
LATER = LATE + timedelta(hours=1)  # 00:30 Berlin: the next day, still the same day in UTC


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


@pytest.fixture
def alarms(client: TestClient, world: World) -> dict[str, str]:
    ids, token = home(client, world, "GWL1")
    other, other_token = home(client, world, "GWL2")  # a second site of I1
    send(
        client,
        token,
        [
            event("GWL1-BAT", "BAT_COMM_LOST", "raise", LATE, "CAN timeout"),  # urgent
            event("GWL1-INV", "INV_OVER_TEMPERATURE", "raise", LATER),  # important
            event("GWL1-INV", "INV_EXPORT_LIMITED", "raise", LATER, "limit 70%"),  # prompt
            event("GWL1-INV", "INV_EXPORT_LIMITED", "clear", LATER + timedelta(minutes=5)),
        ],
    )
    send(client, other_token, [event("", "GW_CLOCK_UNSYNCED", "raise", LATER)])  # common
    return {**ids, "other_site": other["site"]}


def codes(client: TestClient, headers: dict[str, str], **params: str) -> list[str]:
    r = client.get("/api/v1/alarms", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return sorted(a["code"] for a in r.json()["items"])


def test_api_filters_by_level_serial_and_alarm_info(
    client: TestClient, world: World, alarms: dict[str, str]
) -> None:
    om = h(world, "om@I1")
    assert codes(client, om, level="urgent") == ["BAT_COMM_LOST"]
    assert codes(client, om, level="PROMPT") == ["INV_EXPORT_LIMITED"]
    assert codes(client, om, level="common") == ["GW_CLOCK_UNSYNCED"]
    assert codes(client, om, serial="gwl1-inv") == ["INV_EXPORT_LIMITED", "INV_OVER_TEMPERATURE"]
    assert codes(client, om, serial="GWL2") == ["GW_CLOCK_UNSYNCED"]
    assert codes(client, om, q="can timeout") == ["BAT_COMM_LOST"]  # the device's message
    assert codes(client, om, q="over temperature") == ["INV_OVER_TEMPERATURE"]  # the title
    assert codes(client, om, q="export_lim") == ["INV_EXPORT_LIMITED"]  # the code
    assert codes(client, om, q="100%") == []  # LIKE's wildcards are literal
    assert codes(client, om, q="grid", site_id=alarms["site"]) == ["INV_EXPORT_LIMITED"]
    r = client.get("/api/v1/alarms", params={"level": "loud"}, headers=om)
    assert r.status_code == 400 and "urgent, important, common, prompt" in r.json()["detail"]
    item = client.get("/api/v1/alarms", params={"level": "urgent"}, headers=om).json()["items"]
    assert item[0]["level"] == "urgent" and item[0]["severity"] == "major"
    listed = client.get("/api/v1/alarms/codes", headers=om).json()
    assert [c["level"] for c in listed][:1] == ["urgent"] and listed[-1]["level"] == "prompt"
    # Another tenant finds none of them by any filter.
    other = h(world, "admin@I2")
    assert codes(client, other, serial="GWL1") == [] and codes(client, other, q="CAN") == []


def test_csv_of_the_filtered_list_says_its_zone(
    client: TestClient, world: World, alarms: dict[str, str]
) -> None:
    om = h(world, "om@I1")
    r = client.get(
        "/api/v1/alarms",
        params={
            "format": "csv",
            "tz": "Europe/Berlin",
            "site_id": alarms["site"],
            "level": "urgent",
        },
        headers=om,
    )
    assert r.status_code == 200, r.text
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [x["code"] for x in rows] == ["BAT_COMM_LOST"]
    assert rows[0]["raised_at (Europe/Berlin)"] == f"{DAY.isoformat()}T23:30:00+01:00"
    assert rows[0]["level"] == "urgent"
    r = client.get("/api/v1/alarms", params={"format": "csv", "tz": "Mars/Base"}, headers=om)
    assert r.status_code == 400 and "not a time zone" in r.json()["detail"]
    r = client.get("/api/v1/alarms", params={"format": "csv"}, headers=om)
    assert "raised_at (UTC)" in r.text.splitlines()[0]


def test_portal_lists_read_days_in_the_chosen_zone_and_tabs_are_scoped(
    client: TestClient, world: World, alarms: dict[str, str]
) -> None:
    login(client, world.accounts["om@I1"].email)
    day = DAY.isoformat()

    def shown(path: str, **params: str) -> list[str]:
        r = client.get(path, params={"status": "all", **params})
        assert r.status_code == 200, r.text[:300]
        return sorted(
            line.split('data-code="')[1].split('"')[0]
            for line in r.text.splitlines()
            if "data-alarm=" in line
        )

    # The same calendar day, in Berlin and in UTC: the 00:30 alarm moves to the next day.
    assert shown(
        "/maintenance/alarms", since=day, until=day, tz="Europe/Berlin", level="urgent"
    ) == ["BAT_COMM_LOST"]
    assert "INV_OVER_TEMPERATURE" not in shown("/maintenance/alarms", until=day, tz="Europe/Berlin")
    assert "INV_OVER_TEMPERATURE" in shown("/maintenance/alarms", until=day, tz="UTC")
    page = client.get(
        "/maintenance/alarms", params={"status": "all", "tz": "Europe/Berlin", "level": "urgent"}
    ).text
    assert f'{day}<br><span class="small">23:30 +01:00</span>' in page
    assert "the CSV use Europe/Berlin" in page
    assert '<details class="remedy">' in page and "BMS cable" in page
    bad = client.get("/maintenance/alarms", params={"tz": "Nowhere/City"}).text
    assert "is not a time zone" in bad
    assert shown("/maintenance/alarms", serial="GWL2") == ["GW_CLOCK_UNSYNCED"]
    assert shown("/maintenance/alarms", q="limit 70") == ["INV_EXPORT_LIMITED"]

    # The site's Alarm tab: its own alarms, in the site's zone, with a CSV of the same list.
    site = alarms["site"]
    assert shown(f"/site/{site}/alarms") == [
        "BAT_COMM_LOST",
        "INV_EXPORT_LIMITED",
        "INV_OVER_TEMPERATURE",
    ]
    tab = client.get(f"/site/{site}/alarms").text
    assert "the CSV use Europe/Berlin" in tab and 'name="site_id"' not in tab
    r = client.get(f"/site/{site}/alarms.csv", params={"status": "all", "level": "important"})
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [x["code"] for x in rows] == ["INV_OVER_TEMPERATURE"]
    assert rows[0]["raised_at (Europe/Berlin)"].endswith("+01:00")
    # The overview's fragment (htmx): active alarms only, no page around them.
    frag = client.get(f"/site/{site}/alarms", headers={"HX-Request": "true"}).text
    assert frag.count("data-alarm=") == 2 and "<html" not in frag

    # The device's Alarm tab: only that device's alarms.
    inverter = alarms["GWL1-INV"]
    assert shown(f"/device/{inverter}/alarms") == ["INV_EXPORT_LIMITED", "INV_OVER_TEMPERATURE"]
    r = client.get(f"/device/{inverter}/alarms.csv", params={"status": "all"})
    assert sorted(x["code"] for x in csv.DictReader(io.StringIO(r.text))) == [
        "INV_EXPORT_LIMITED",
        "INV_OVER_TEMPERATURE",
    ]
    assert f'href="/device/{inverter}/alarms"' in client.get(f"/device/{inverter}").text

    # Another tenant: the tabs are not found, the fleet list is empty.
    login(client, world.accounts["admin@I2"].email)
    assert client.get(f"/site/{site}/alarms").status_code == 404
    assert client.get(f"/site/{site}/alarms.csv").status_code == 404
    assert client.get(f"/device/{inverter}/alarms").status_code == 404
    assert client.get(f"/device/{inverter}/alarms.csv").status_code == 404
    assert shown("/maintenance/alarms") == []


def test_german_alarm_list(client: TestClient, world: World, alarms: dict[str, str]) -> None:
    from voltfleet.app import i18n

    login(client, world.accounts["om@I1"].email)
    i18n.use_language("de")
    try:
        from voltfleet.app.portal.render import templates

        html = templates.get_template("portal/_alarm_level.html").render(
            a={"level": "urgent", "severity": "major"}
        )
    finally:
        i18n.use_language("en")
    assert "Dringend" in html
