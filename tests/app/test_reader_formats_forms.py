"""A form's numbers are shown as the reader writes them and read back as shown (issue 19, "two
languages: numbers and dates by locale"): the savings page's stored-energy fields give a German
reader "2,5" (Python's "%g" wrote "2.5" for everyone), with no grouping mark, and sending the
fields back unchanged gives the same savings. The fields stay text inputs that accept either
decimal mark (tariffs.page_text.decimal_text): an <input type=number> would show its '.'-value in
the browser's locale, not the reader's chosen formats, and reject the "2,5" the existing pages
and tests accept."""

from __future__ import annotations

import re
import uuid

from fastapi.testclient import TestClient
from sqlalchemy import insert

from tests.app.test_alarms import home
from tests.app.test_money_pages import (
    csrf_of,
    make_site,
    meter_worked_example,
    set_tariffs,
    sign_in,
)
from tests.app.test_money_rates import ECB, _summary
from tests.app.test_reader_formats_pages import prefer
from tests.app.test_telemetry import h
from tests.support.world import build_world
from voltfleet.app.exchange import rates as fx
from voltfleet.app.runtime import Runtime
from voltfleet.market.ecb import parse_ecb
from voltfleet.store.models import Site, User
from voltfleet.store.telemetry_models import SiteSummary


def fields(html: str) -> dict[str, str]:
    found = re.findall(r'<input name="(stored_[a-z]+)" value="([^"]*)"', html)
    return dict(found)


def stored_change(html: str) -> str:
    found = re.search(r'id="stored-change">([^<]*)<', html)
    assert found, html[-3000:]
    return found.group(1).replace("\u00a0", " ")


def test_the_savings_forms_numbers_round_trip_in_the_readers_marks(
    client: TestClient, runtime: Runtime
) -> None:
    w = build_world(runtime)
    site = make_site(runtime, w, name="Haus Form")
    set_tariffs(client, w, site)
    meter_worked_example(client, w, site)
    prefer(client, w, "om@I1", language="de")
    sign_in(client, w, "om@I1")
    url = f"/sites/{site}/savings"
    dates = {"start": "2026-03-02", "end": "2026-03-03"}
    html = client.get(
        url, params={**dates, "stored_start": "1", "stored_end": "2,5", "stored_price": "0.1"}
    ).text
    shown = fields(html)
    assert shown == {"stored_start": "1", "stored_end": "2,5", "stored_price": "0,1"}, shown
    assert stored_change(html) == "+1,50 kWh (Wert 0,15 EUR)"
    again = client.get(url, params={**dates, **shown}).text  # sent back as shown
    assert fields(again) == shown and stored_change(again) == "+1,50 kWh (Wert 0,15 EUR)"

    big = client.get(url, params={**dates, **shown, "stored_end": "1234,5"}).text
    assert fields(big)["stored_end"] == "1234,5"  # no grouping mark to misread on the way back
    assert fields(client.get(url, params={**dates, **fields(big)}).text) == fields(big)

    prefer(client, w, "om@I1", formats="en-US")  # German words, US marks
    html = client.get(url, params={**dates, **shown}).text
    assert fields(html) == {"stored_start": "1", "stored_end": "2.5", "stored_price": "0.1"}
    assert stored_change(html) == "+1.50 kWh (Wert 0.15 EUR)"


def test_the_exchange_rate_line_in_the_readers_marks_and_date_order(
    client: TestClient, runtime: Runtime
) -> None:
    """The home page's "1 EUR = 1.0826 USD (rate of 2022-04-13)" was written with the rate's
    Python text and an ISO date for every reader."""
    w = build_world(runtime)
    with runtime.db.session() as s:
        fx.store(s, parse_ecb(ECB.read_bytes()))
        site_id = str(uuid.uuid4())
        s.execute(
            insert(Site),
            [{"id": site_id, "org_id": w.org_id("I1"), "name": "Euro home", "currency": "EUR",
              "timezone": "Europe/Berlin"}],
        )  # fmt: skip
        s.execute(insert(SiteSummary), [_summary(site_id, 10_000.0)])
        user = s.get(User, w.accounts["admin@I1"].id)
        assert user is not None
        user.currency, user.language = "USD", "de"
    sign_in(client, w, "admin@I1")
    rates = re.search(r'id="revenue-rates">(.*?)</p>', client.get("/home").text, re.S)
    assert rates and "1 EUR = 1,0826 USD" in rates.group(1), rates
    assert "13.04.2022" in rates.group(1)


FRACTIONAL_MAP = """group,address,name,label,unit,type,scale,min,max,step,register,access
Grid,40102,PowerFactor,Power factor,,int16,0.001,-0.8,0.8,0.01,holding,RW
Grid,40100,ExportLimit,Export limit,W,uint16,10,0,12000,100,holding,RW
"""


def test_a_settings_range_in_the_readers_marks(client: TestClient, runtime: Runtime) -> None:
    """A register's range and step were printed with Python's "%g" ("-0.8..0.8 step 0.01" for
    every reader); a reader types against them, so no grouping ("0..12000")."""
    w = build_world(runtime)
    ids, _token = home(client, w, "GWFR")
    inv = ids["GWFR-INV"]
    p = client.patch(f"/api/v1/devices/{inv}", json={"model": "VX-9"}, headers=h(w, "admin@I1"))
    assert p.status_code == 200, p.text
    prefer(client, w, "admin@I1", language="de")
    sign_in(client, w, "admin@I1")
    page = client.get(f"/device/{inv}/settings")
    r = client.post(
        f"/device/{inv}/settings/map",
        data={"csrf": csrf_of(page.text)},
        files={"file": ("vx9.csv", FRACTIONAL_MAP.encode(), "text/csv")},
        follow_redirects=True,
    )
    assert r.status_code == 200, r.text
    row = re.search(r'<tr data-key="@40102">(.*?)</tr>', r.text, re.S)
    assert row and "-0,8..0,8" in row.group(1) and "0,01" in row.group(1), row
    limit = re.search(r'<tr data-key="@40100">(.*?)</tr>', r.text, re.S)
    assert limit and "0..12000" in limit.group(1), limit
