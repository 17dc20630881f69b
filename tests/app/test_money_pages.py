"""The money pages of the portal: tariff setting (tabs, editors, validation shown at the period and
slot at fault, history, preview), a site's savings (table, CSV) and the fleet's savings."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from fastapi.testclient import TestClient

from tests.support.world import PASSWORD, World, build_world
from voltfleet.app.runtime import Runtime
from voltfleet.store.models import Site

# The worked example: 5.5 kWh imported for 0.64 EUR, 3.2 kWh supplied worth 1.18 EUR.
IMPORT_TOU = {
    "valid_from": "2026-01-01",
    "kind": "tou",
    "currency": "EUR",
    "periods": [
        {
            "name": "all year",
            "start": "01-01",
            "end": "12-31",
            "slots": [
                {"start": "00:00", "end": "06:00", "price_per_kwh": 0.10},
                {"start": "06:00", "end": "17:00", "price_per_kwh": 0.16},
                {"start": "17:00", "end": "21:00", "price_per_kwh": 0.36875},
                {"start": "21:00", "end": "00:00", "price_per_kwh": 0.10},
            ],
        }
    ],
}
EXPORT_FIXED = {
    "valid_from": "2026-01-01",
    "kind": "fixed",
    "currency": "EUR",
    "price_per_kwh": 0.08,
}


def make_site(
    runtime: Runtime, world: World, org: str = "I1", name: str = "Home", owner: str | None = None
) -> str:
    with runtime.db.session() as s:
        site = Site(
            org_id=world.org_id(org),
            name=name,
            timezone="Europe/Berlin",
            country="DE",
            currency="EUR",
            owner_id=world.accounts[owner].id if owner else None,
        )
        s.add(site)
        s.flush()
        return site.id


def sign_in(client: TestClient, world: World, account: str) -> None:
    client.cookies.clear()
    r = client.post(
        "/login",
        data={"email": world.accounts[account].email, "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def csrf_of(html: str) -> str:
    match = re.search(r'"X-CSRF-Token": "([^"]+)"', html)
    assert match, "no csrf field on the page"
    return match.group(1)


def set_tariffs(client: TestClient, world: World, site: str) -> None:
    h = world.accounts["admin@I1"].headers()
    for direction, body in (("IMPORT", IMPORT_TOU), ("EXPORT", EXPORT_FIXED)):
        r = client.put(f"/api/v1/sites/{site}/tariffs/{direction}", headers=h, json=body)
        assert r.status_code == 200, r.text


def record(site: str, start: str, hours: int, kwh: float, direction: str, rate: str, ref: str):
    from datetime import datetime, timedelta

    a = datetime.fromisoformat(start)
    return {
        "site_id": site,
        "start_time": a.isoformat(),
        "end_time": (a + timedelta(hours=hours)).isoformat(),
        "value": kwh,
        "units": "KWH",
        "direction": direction,
        "tariff_rate": rate,
        "record_reference_id": ref,
    }


def meter_worked_example(client: TestClient, world: World, site: str) -> None:
    """Two Berlin days (UTC+1): 2.0 + 3.5 kWh imported, 1.2 + 2.0 kWh supplied."""
    batch = [
        # 2 March: 2.0 kWh at night (0.10) = 0.20; 1.2 kWh supplied 18-19 h (0.36875) = 0.4425
        record(site, "2026-03-02T00:00:00+00:00", 2, 2.0, "IMPORT", "IMPORT", "a"),
        record(site, "2026-03-02T17:00:00+00:00", 1, 1.2, "EXPORT", "IMPORT", "b"),
        # 3 March: 2.0 kWh at night = 0.20 and 1.5 kWh 10-11 h (0.16) = 0.24; 2.0 kWh supplied
        # 18-20 h = 0.7375
        record(site, "2026-03-03T00:00:00+00:00", 2, 2.0, "IMPORT", "IMPORT", "c"),
        record(site, "2026-03-03T09:00:00+00:00", 1, 1.5, "IMPORT", "IMPORT", "d"),
        record(site, "2026-03-03T17:00:00+00:00", 2, 2.0, "EXPORT", "IMPORT", "e"),
    ]
    h = world.accounts["admin@I1"].headers()
    r = client.put("/api/v1/meters/interval", headers=h, json=batch)
    assert r.status_code == 200 and r.json()["accepted"] == 5, r.text


def slot_block(html: str, field: str) -> str:
    """The editor's slot element holding the input named ``field``."""
    for block in re.findall(r'<div class="slot[^"]*" data-slot>.*?</div>', html, re.S):
        if f'name="{field}"' in block:
            return str(block)
    raise AssertionError(f"no slot with {field}")


def period_block(html: str, index: int) -> str:
    match = re.search(
        rf'<fieldset class="period[^"]*" data-period="{index}">(.*?)</fieldset>', html, re.S
    )
    assert match, f"no period {index}"
    return match.group(0)


def preview_data(html: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="preview-data">(.*?)</script>', html)
    assert match
    return dict(json.loads(match.group(1)))


def week_form(csrf: str, **overrides: str) -> dict[str, str]:
    """A TOU weekday + weekend import tariff in two periods, as the editor posts it."""
    data = {
        "csrf": csrf,
        "manner": "customised",
        "kind": "tou_weekday_weekend",
        "valid_from": "2026-01-01",
        "currency": "EUR",
        "holiday_country": "DE",
        "p0_name": "winter",
        "p0_start": "10-01",
        "p0_end": "03-31",
        "p0_weekday_0_start": "00:00",
        "p0_weekday_0_end": "07:00",
        "p0_weekday_0_price": "0.22",
        "p0_weekday_1_start": "07:00",
        "p0_weekday_1_end": "00:00",
        "p0_weekday_1_price": "0,38",
        "p0_weekend_0_start": "00:00",
        "p0_weekend_0_end": "00:00",
        "p0_weekend_0_price": "0.25",
        "p3_name": "summer",
        "p3_start": "04-01",
        "p3_end": "09-30",
        "p3_weekday_0_start": "00:00",
        "p3_weekday_0_end": "08:00",
        "p3_weekday_0_price": "0.20",
        "p3_weekday_4_start": "08:00",
        "p3_weekday_4_end": "00:00",
        "p3_weekday_4_price": "0.34",
        "p3_weekend_0_start": "00:00",
        "p3_weekend_0_end": "00:00",
        "p3_weekend_0_price": "0.21",
    }
    data.update(overrides)
    return data


# --- tariff page ---------------------------------------------------------------------------------


def test_tariff_page_tabs_history_and_preview(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    site = make_site(runtime, w)
    set_tariffs(client, w, site)
    sign_in(client, w, "admin@I1")

    r = client.get(f"/sites/{site}/tariff?direction=IMPORT")
    assert r.status_code == 200
    html = r.text
    assert "Export price" in html and "Import price" in html
    assert re.search(r'aria-selected="true"[^>]*data-direction="IMPORT"', html)
    assert 'id="tariff-form"' in html
    assert "1 period, 0.10 to 0.36875 EUR/kWh" in html  # the version's summary
    assert 'data-valid-from="2026-01-01"' in html and "in force" in html
    # The editor is filled with the version in force, as a new version from today.
    assert 'name="p0_all_2_price" value="0.36875"' in html
    assert '<option value="tou" selected>' in html
    # The preview: three days from today, import and export, on a 15-minute grid.
    data = preview_data(html)
    assert data["tz"] == "Europe/Berlin" and data["currency"] == "EUR"
    assert len(data["x"]) == len(data["IMPORT"]) == len(data["EXPORT"]) > 3 * 92
    assert set(data["IMPORT"]) == {0.10, 0.16, 0.36875}
    assert set(data["EXPORT"]) == {0.08}
    assert data["notes"] == []

    r = client.get(f"/sites/{site}/tariff")  # export is the first tab
    assert re.search(r'aria-selected="true"[^>]*data-direction="EXPORT"', r.text)
    assert "0.08 EUR/kWh" in r.text
    assert 'name="price" value="0.08"' in r.text


def test_preview_says_which_tariff_is_missing(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    site = make_site(runtime, w)
    sign_in(client, w, "admin@I1")
    r = client.get(f"/sites/{site}/tariff")
    assert r.status_code == 200
    assert "No export price is in force" in r.text
    assert "No versions yet." in r.text
    data = preview_data(r.text)
    assert data["notes"] == ["No import tariff is set.", "No export tariff is set."]
    assert data["empty"] is True
    # A new tariff starts as one whole-day slot in one period covering the year.
    assert 'name="p0_start" value="01-01"' in r.text and 'name="p0_end" value="12-31"' in r.text


def test_save_tou_weekday_weekend_from_the_editor(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    site = make_site(runtime, w)
    sign_in(client, w, "om@I1")
    page = client.get(f"/sites/{site}/tariff?direction=IMPORT")
    r = client.post(
        f"/sites/{site}/tariff/IMPORT", data=week_form(csrf_of(page.text)), follow_redirects=False
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/sites/{site}/tariff?direction=IMPORT&done=saved"
    stored = client.get(
        f"/api/v1/sites/{site}/tariffs",
        headers=w.accounts["om@I1"].headers(),
        params={"direction": "IMPORT"},
    ).json()
    assert len(stored) == 1
    t = stored[0]
    assert t["kind"] == "tou_weekday_weekend" and t["holiday_country"] == "DE"
    assert [(p["name"], p["start"], p["end"]) for p in t["periods"]] == [
        ("winter", "10-01", "03-31"),
        ("summer", "04-01", "09-30"),
    ]
    # Rows the browser numbered with gaps (removed rows) keep their order; a decimal comma works.
    assert [
        (s["start"], s["end"], s["price_per_kwh"]) for s in t["periods"][0]["weekday_slots"]
    ] == [
        ("00:00:00", "07:00:00", 0.22),
        ("07:00:00", "00:00:00", 0.38),
    ]
    assert [s["price_per_kwh"] for s in t["periods"][1]["weekday_slots"]] == [0.20, 0.34]
    assert t["periods"][1]["weekend_slots"][0]["price_per_kwh"] == 0.21
    assert t["periods"][0]["slots"] is None

    page = client.get(r.headers["location"])
    assert 'id="notice"' in page.text and "Tariff saved." in page.text
    assert '<option value="tou_weekday_weekend" selected>' in page.text
    # Switching the type to plain TOU in the browser finds the weekday slots filled in.
    assert 'name="p1_all_1_price" value="0.34"' in page.text


def test_overlapping_slot_is_shown_next_to_the_slot(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    site = make_site(runtime, w)
    sign_in(client, w, "admin@I1")
    csrf = csrf_of(client.get(f"/sites/{site}/tariff?direction=IMPORT").text)
    # Summer's second weekday slot starts at 07:00 while the first runs to 08:00.
    r = client.post(
        f"/sites/{site}/tariff/IMPORT", data=week_form(csrf, p3_weekday_4_start="07:00")
    )
    assert r.status_code == 422
    html = r.text
    assert "Not saved" in html
    block = slot_block(html, "p1_weekday_1_start")
    assert 'class="slot fault"' in block
    assert "period &#39;summer&#39;, weekday slot 2 (07:00-00:00) overlaps slot 1" in block
    assert 'value="07:00"' in block  # what was typed is kept
    assert 'class="slot fault"' in slot_block(html, "p1_weekday_0_start")  # the other one
    assert "field-error" not in slot_block(html, "p0_weekday_1_start")
    assert "field-error" not in period_block(html, 0)
    # Nothing was saved.
    listed = client.get(
        f"/api/v1/sites/{site}/tariffs", headers=w.accounts["admin@I1"].headers()
    ).json()
    assert listed == []

    # A gap between the periods is shown at the period.
    r = client.post(f"/sites/{site}/tariff/IMPORT", data=week_form(csrf, p3_start="04-05"))
    assert r.status_code == 422
    block = period_block(r.text, 1)
    assert 'class="period fault"' in block
    assert "04-01..04-04 uncovered" in block

    # A price that is not a number is named at its slot.
    r = client.post(f"/sites/{site}/tariff/IMPORT", data=week_form(csrf, p0_weekend_0_price="x"))
    assert r.status_code == 422
    assert "price: Input should be a valid number" in slot_block(r.text, "p0_weekend_0_price")


def test_fixed_and_automatic_tariffs(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    site = make_site(runtime, w)
    sign_in(client, w, "admin@I1")
    csrf = csrf_of(client.get(f"/sites/{site}/tariff").text)
    base = {"csrf": csrf, "manner": "customised", "currency": "EUR", "valid_from": "2026-01-01"}
    r = client.post(
        f"/sites/{site}/tariff/EXPORT",
        data={**base, "kind": "fixed", "price": "0,081"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    automatic = {
        **base,
        "manner": "automatic",
        "kind": "fixed",  # the customised type is ignored when automatic is chosen
        "source": "awattar",
        "area": "de",
        "multiplier": "1",
        "markup": "0.02",
        "grid_fee": "0,11",
        "vat_percent": "19",
    }
    # No market prices cover tomorrow: the page asks first (issue 19), then saves when told to.
    r = client.post(f"/sites/{site}/tariff/IMPORT", data=automatic, follow_redirects=False)
    assert r.status_code == 409 and 'id="confirm-missing"' in r.text
    r = client.post(
        f"/sites/{site}/tariff/IMPORT",
        data={**automatic, "confirm_missing": "yes"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    h = w.accounts["admin@I1"].headers()
    by_direction = {
        t["direction"]: t for t in client.get(f"/api/v1/sites/{site}/tariffs", headers=h).json()
    }
    assert by_direction["EXPORT"]["price_per_kwh"] == 0.081
    market = by_direction["IMPORT"]
    assert (market["kind"], market["source"], market["area"]) == ("market", "awattar", "DE")
    assert market["formula"] == {
        "multiplier": 1.0,
        "markup_per_kwh": 0.02,
        "grid_fee_per_kwh": 0.11,
        "vat_rate": 0.19,
    }
    page = client.get(f"/sites/{site}/tariff?direction=IMPORT").text
    assert "aWATTar DE + 0.02 markup + 0.11 grid fee + 19 % VAT (EUR/kWh)" in page
    assert 'name="vat_percent" value="19"' in page
    # No market prices stored: the preview says so instead of inventing them.
    assert any("Import price on" in n for n in preview_data(page)["notes"])

    # A fixed tariff without a price, and a currency that differs from the earlier versions.
    r = client.post(f"/sites/{site}/tariff/EXPORT", data={**base, "kind": "fixed", "price": ""})
    assert r.status_code == 422 and "a fixed tariff needs a price" in r.text
    r = client.post(
        f"/sites/{site}/tariff/EXPORT",
        data={
            **base,
            "kind": "fixed",
            "price": "0.1",
            "currency": "CHF",
            "valid_from": "2026-06-01",
        },
    )
    assert r.status_code == 422 and "currency CHF differs" in r.text


def test_history_edit_and_delete_a_version(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    site = make_site(runtime, w)
    h = w.accounts["admin@I1"].headers()
    for day, price in (("2025-01-01", 0.07), ("2026-01-01", 0.08), ("2099-01-01", 0.09)):
        body = {**EXPORT_FIXED, "valid_from": day, "price_per_kwh": price}
        assert client.put(f"/api/v1/sites/{site}/tariffs/EXPORT", headers=h, json=body).is_success
    versions = {
        t["valid_from"]: t["id"]
        for t in client.get(f"/api/v1/sites/{site}/tariffs", headers=h).json()
    }
    sign_in(client, w, "admin@I1")
    page = client.get(f"/sites/{site}/tariff").text
    rows = re.findall(
        r'<tr data-valid-from="([\d-]+)"[^>]*>.*?<span class="badge[^"]*">([^<]+)<', page, re.S
    )
    assert rows == [("2099-01-01", "upcoming"), ("2026-01-01", "in force"), ("2025-01-01", "past")]
    # The editor opens the newest version (upcoming, its own date); "Edit" opens another one.
    assert 'name="valid_from" value="2099-01-01"' in page
    page = client.get(
        f"/sites/{site}/tariff?direction=EXPORT&version={versions['2025-01-01']}"
    ).text
    assert 'name="valid_from" value="2025-01-01"' in page and 'name="price" value="0.07"' in page

    r = client.post(
        f"/sites/{site}/tariff/EXPORT/{versions['2099-01-01']}/delete",
        data={"csrf": csrf_of(page)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert "Tariff version deleted." in page and 'data-valid-from="2099-01-01"' not in page
    left = client.get(f"/api/v1/sites/{site}/tariffs", headers=h).json()
    assert [t["valid_from"] for t in left] == ["2025-01-01", "2026-01-01"]
    # Without the form's token nothing happens.
    r = client.post(
        f"/sites/{site}/tariff/EXPORT/{versions['2025-01-01']}/delete", data={"csrf": "x"}
    )
    assert r.status_code == 403
    assert len(client.get(f"/api/v1/sites/{site}/tariffs", headers=h).json()) == 2


def test_owner_sets_their_own_tariff(client: TestClient, runtime: Runtime) -> None:
    """The "connect" step: a home's owner sets the tariff of their own home, checked exactly as
    an installer's, and the installer sees who set it and when (issue 19). An owner may still
    not change the site itself, nor see a home that is not theirs."""
    w = build_world(runtime)
    site = make_site(runtime, w, owner="owner@I1")
    other = make_site(runtime, w, name="Not mine")
    set_tariffs(client, w, site)
    sign_in(client, w, "owner@I1")
    r = client.get(f"/sites/{site}/tariff?direction=IMPORT")
    assert r.status_code == 200
    assert 'id="tariff-form"' in r.text and 'name="manner" value="automatic"' in r.text
    csrf = csrf_of(r.text)
    # The same validation as an installer's: overlapping slots are refused at the slot.
    bad = week_form(csrf, p0_weekday_1_start="05:00")
    r = client.post(f"/sites/{site}/tariff/IMPORT", data=bad)
    assert r.status_code == 422 and "overlap" in r.text
    r = client.post(
        f"/sites/{site}/tariff/EXPORT",
        data={"csrf": csrf, "manner": "customised", "currency": "EUR",
              "valid_from": "2026-03-01", "kind": "fixed", "price": "0.095"},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303, r.text
    assert client.post(f"/sites/{other}/tariff/EXPORT", data={"csrf": csrf}).status_code == 404
    assert client.get(f"/sites/{site}/savings").status_code == 200

    # The installer sees the owner's version, who set it and when (in the site's zone).
    sign_in(client, w, "admin@I1")
    page = client.get(f"/sites/{site}/tariff?direction=EXPORT").text
    row = re.search(r'<tr data-valid-from="2026-03-01".*?</tr>', page, re.S)
    assert row, page
    assert 'data-role="owner"' in row.group(0)
    assert "owner I1" in row.group(0) and "home owner" in row.group(0)
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d \+0[12]:00", row.group(0))
    h = w.accounts["admin@I1"].headers()
    mine = [
        t
        for t in client.get(f"/api/v1/sites/{site}/tariffs", headers=h).json()
        if t["valid_from"] == "2026-03-01"
    ]
    assert mine[0]["set_by"]["user_id"] == w.accounts["owner@I1"].id
    assert mine[0]["set_by"]["role"] == "owner"
    # The owner still may not edit the site itself.
    oh = w.accounts["owner@I1"].headers()
    assert client.patch(f"/api/v1/sites/{site}", headers=oh, json={"name": "x"}).status_code == 403


def test_another_tenant_gets_404(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    site = make_site(runtime, w)
    set_tariffs(client, w, site)
    tariff_id = client.get(
        f"/api/v1/sites/{site}/tariffs", headers=w.accounts["admin@I1"].headers()
    ).json()[0]["id"]
    sign_in(client, w, "admin@I2")
    csrf = csrf_of(client.get("/home").text)
    for path in (f"/sites/{site}/tariff", f"/sites/{site}/savings", f"/sites/{site}/savings.csv"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert "0.36875" not in r.text
    assert client.post(f"/sites/{site}/tariff/IMPORT", data=week_form(csrf)).status_code == 404
    r = client.post(f"/sites/{site}/tariff/IMPORT/{tariff_id}/delete", data={"csrf": csrf})
    assert r.status_code == 404
    assert (
        len(
            client.get(
                f"/api/v1/sites/{site}/tariffs", headers=w.accounts["admin@I1"].headers()
            ).json()
        )
        == 2
    )
    # The fleet view does not list it either.
    assert site not in client.get("/savings").text


def test_pages_need_sign_in(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    site = make_site(runtime, w)
    for path in (f"/sites/{site}/tariff", f"/sites/{site}/savings", "/savings"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")


# --- savings -------------------------------------------------------------------------------------


def test_savings_table_and_csv(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    site = make_site(runtime, w, name="Haus Süd")
    set_tariffs(client, w, site)
    meter_worked_example(client, w, site)
    sign_in(client, w, "om@I1")
    r = client.get(f"/sites/{site}/savings", params={"start": "2026-03-02", "end": "2026-03-03"})
    assert r.status_code == 200
    html = r.text

    def cells(bucket: str) -> list[str]:
        row = re.search(rf'<tr[^>]*data-bucket="{bucket}">(.*?)</tr>', html, re.S)
        assert row, bucket
        return [c.strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]

    assert cells("2026-03-02") == [
        "2026-03-02",
        "2.00",
        "0.20",
        "1.20",
        "0.44",
        "0.00",
        "0.00",
        "0.24",
        "54.8",
    ]
    assert cells("2026-03-03") == [
        "2026-03-03",
        "3.50",
        "0.44",
        "2.00",
        "0.74",
        "0.00",
        "0.00",
        "0.30",
        "40.3",
    ]
    assert cells("total") == [
        "Total (EUR)",
        "5.50",
        "0.64",
        "3.20",
        "1.18",
        "0.00",
        "0.00",
        "0.54",
        "45.8",
    ]
    assert "45.8 % of the avoided cost" in html
    chart = json.loads(re.search(r'id="savings-data">(.*?)</script>', html).group(1))  # type: ignore[union-attr]
    assert chart["labels"] == ["2026-03-02", "2026-03-03"]
    assert [round(x, 4) for x in chart["supplied_value"]] == [0.4425, 0.7375]
    # No battery energy given: the extra lines say what they need.
    assert "stored energy at the start and at the end" in html

    link = re.search(r'id="download-csv" href="([^"]+)"', html)
    assert link
    r = client.get(link.group(1).replace("&amp;", "&"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert (
        'filename="savings-haus-s-d-2026-03-02-2026-03-03-day.csv"'
        in r.headers["content-disposition"]
    )
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [x["bucket"] for x in rows] == ["2026-03-02", "2026-03-03", "total"]
    assert rows[0]["start_time (Europe/Berlin)"] == "2026-03-02T00:00:00+01:00"
    assert (rows[1]["import_cost"], rows[1]["supplied_value"]) == ("0.4400", "0.7375")
    total = rows[2]
    assert (total["imported_kwh"], total["import_cost"]) == ("5.500", "0.6400")
    assert (total["supplied_kwh"], total["supplied_value"]) == ("3.200", "1.1800")
    assert (total["savings"], total["savings_percent"], total["currency"]) == (
        "0.5400",
        "45.8",
        "EUR",
    )
    assert "round_trip_losses_kwh" not in total


def test_savings_honest_lines_and_weeks(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    site = make_site(runtime, w)
    set_tariffs(client, w, site)
    meter_worked_example(client, w, site)
    sign_in(client, w, "admin@I1")
    params = {
        "aggregation": "WEEK",
        "start": "2026-03-01",
        "end": "2026-03-08",
        "stored_start": "1",
        "stored_end": "2,5",
        "stored_price": "0.1",
    }
    r = client.get(f"/sites/{site}/savings", params=params)
    assert r.status_code == 200
    assert re.findall(r'data-bucket="([^"]+)"', r.text) == ["2026-W09", "2026-W10", "total"]
    # 5.5 kWh charged - 3.2 kWh supplied - 1.5 kWh still stored = 0.8 kWh lost.
    assert re.search(r'id="stored-change">\+1.50 kWh \(worth 0.15 EUR\)', r.text)
    assert 'id="round-trip-losses">0.80 kWh' in r.text
    csv_rows = list(
        csv.DictReader(io.StringIO(client.get(f"/sites/{site}/savings.csv", params=params).text))
    )
    assert csv_rows[-1]["round_trip_losses_kwh"] == "0.800"
    assert csv_rows[-1]["stored_energy_change_value"] == "0.1500"


def test_savings_without_metered_energy_say_so_instead_of_a_table_of_zeros(
    client: TestClient, runtime: Runtime
) -> None:
    """Tariffs but no meter intervals in the window: a sentence says where the report's data
    comes from (and that the telemetry card above counts the savings), not thirty rows of 0.00;
    the aggregation's words are in the reader's language."""
    w = build_world(runtime)
    site = make_site(runtime, w)
    set_tariffs(client, w, site)
    sign_in(client, w, "om@I1")
    window = {"start": "2026-03-02", "end": "2026-03-03"}
    r = client.get(f"/sites/{site}/savings", params=window)
    assert r.status_code == 200 and 'id="no-metered"' in r.text
    assert 'id="savings-table"' not in r.text and 'id="savings-totals"' not in r.text
    meter_worked_example(client, w, site)
    r = client.get(f"/sites/{site}/savings", params=window)
    assert 'id="no-metered"' not in r.text and 'id="savings-table"' in r.text
    r = client.get(f"/sites/{site}/savings", params=window, headers={"Accept-Language": "de"})
    assert ">Woche</option>" in r.text and "Abgabe kWh" in r.text


def test_savings_refusals_are_shown(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    site = make_site(runtime, w)
    sign_in(client, w, "admin@I1")
    r = client.get(f"/sites/{site}/savings", params={"start": "March", "end": "2026-03-03"})
    assert r.status_code == 422 and "from: &#39;March&#39; is not a date" in r.text
    r = client.get(f"/sites/{site}/savings", params={"stored_start": "1"})
    assert r.status_code == 422 and "at both the start and the end" in r.text
    assert client.get(f"/sites/{site}/savings.csv", params={"start": "x"}).status_code == 422
    # Metering but no tariff: the page says so and points to the tariff page.
    meter_worked_example(client, w, site)
    r = client.get(f"/sites/{site}/savings", params={"start": "2026-03-02", "end": "2026-03-03"})
    assert "no IMPORT tariff" in r.text and f'href="/sites/{site}/tariff"' in r.text
    assert 'id="savings-table"' not in r.text
    r = client.get(
        f"/sites/{site}/savings.csv", params={"start": "2026-03-02", "end": "2026-03-03"}
    )
    assert r.status_code == 409


def test_fleet_savings_per_site_with_a_total(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    metered = make_site(runtime, w, name="A metered home")
    set_tariffs(client, w, metered)
    meter_worked_example(client, w, metered)
    quiet = make_site(runtime, w, name="B quiet home")
    set_tariffs(client, w, quiet)
    untariffed = make_site(runtime, w, name="C home without tariffs")
    h = w.accounts["admin@I1"].headers()
    r = client.put(
        "/api/v1/meters/interval",
        headers=h,
        json=[record(untariffed, "2026-03-02T00:00:00+00:00", 1, 1.0, "IMPORT", "IMPORT", "z")],
    )
    assert r.json()["accepted"] == 1
    elsewhere = make_site(runtime, w, org="I2", name="Somebody else's home")
    sign_in(client, w, "admin@D1")  # the distributor above I1 sees I1's sites
    r = client.get("/savings", params={"start": "2026-03-01", "end": "2026-03-31"})
    assert r.status_code == 200
    html = r.text
    assert re.findall(r'<tr data-site="([^"]+)"', html) == [metered, quiet, untariffed]
    assert elsewhere not in html
    row = re.search(rf'<tr data-site="{metered}">(.*?)</tr>', html, re.S).group(1)  # type: ignore[union-attr]
    assert [c.strip() for c in re.findall(r'<td class="num[^"]*">(.*?)</td>', row)] == [
        "5.50", "0.64", "1.18", "0.00", "0.54", "45.8",
    ]  # fmt: skip
    assert "no IMPORT tariff" in html
    total = re.search(r'<tr class="total" data-total="fleet">(.*?)</tr>', html, re.S)
    assert total
    assert "Total, 2 sites" in total.group(1) and ">0.54<" in total.group(1)


def test_fleet_savings_pages(client: TestClient, runtime: Runtime) -> None:
    w = build_world(runtime)
    with runtime.db.session() as s:
        for i in range(27):
            s.add(
                Site(
                    org_id=w.org_id("I1"),
                    name=f"Home {i:02d}",
                    timezone="Europe/Berlin",
                    country="DE",
                    currency="EUR",
                )
            )
    sign_in(client, w, "admin@I1")
    first = client.get("/savings").text
    assert len(re.findall(r"<tr data-site=", first)) == 25
    assert "27 sites · page 1" in first and "page=2" in first
    second = client.get("/savings", params={"page": 2}).text
    assert len(re.findall(r"<tr data-site=", second)) == 2
    assert "Total, 27 sites" in second  # the fleet total covers every page
    assert (
        len(re.findall(r"<tr data-site=", client.get("/savings", params={"q": "Home 1"}).text))
        == 10
    )
