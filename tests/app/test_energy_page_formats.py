"""The energy pages write their figures, bars and window as the reader chose (issue 19, "two
languages: numbers and dates by locale", "one clock"): a German reader gets "2,00" kWh, "60,0 %",
bars "10:00" and "06.12.2026", the window "06.12.2026" and a "Gesamt" row; a reader with US
formats "10:00 AM". The rows keep their raw keys (``data-bar="10:00"``) for scripts and tests,
and the CSV download stays machine-readable ('.' decimals, ISO times with their zone)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import voltfleet.app
from tests.app.test_portal_rough_edges import _live_text
from tests.app.test_site_pages import login
from tests.app.test_telemetry import bearer, iso, make_site, token_for
from tests.app.test_telemetry_read import DAY, T0, counters
from tests.support.world import World, build_world
from voltfleet.app.runtime import Runtime


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


@pytest.fixture
def site(client: TestClient, world: World) -> dict[str, str]:
    ids = make_site(client, world, "GWF1")
    token = token_for(client, world, ids["GWF1"])
    r = client.post(
        "/api/v1/ingest", json={"readings": counters("GWF1-INV", "GWF1-MTR")}, headers=bearer(token)
    )
    assert r.status_code == 200 and r.json()["quarantined"] == 0, r.text
    return ids


def prefer(client: TestClient, world: World, **body: str) -> None:
    r = client.patch("/api/v1/me", json=body, headers=world.accounts["om@I1"].headers())
    assert r.status_code == 200, r.text


def cells(html: str, row_attr: str) -> list[str]:
    row = re.search(rf"<tr {row_attr}>(.*?)</tr>", html, re.S)
    assert row, (row_attr, html[:2000])
    found = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    return [c.strip().replace("\u00a0", " ").replace("\u202f", " ") for c in found]


def text_of(html: str, id_: str) -> str:
    found = re.search(rf'id="{id_}"[^>]*>([^<]*)<', html)
    assert found, id_
    return found.group(1).strip()


def test_a_german_reader_gets_the_energy_table_in_german_marks_and_dates(
    client: TestClient, world: World, site: dict[str, str]
) -> None:
    prefer(client, world, language="de")
    login(client, "om.i1@example.com")
    url = f"/site/{site['site']}/energy"
    html = client.get(url, params={"day": DAY.isoformat()}).text
    # PV 2 kWh, consumption 1.2, import 0.4, export 0.8 in the hour from 10:00 (site's clock)
    assert cells(html, 'data-bar="10:00"')[:5] == ["10:00", "2,00", "1,60", "0,40", "0,80"]
    total = cells(html, 'class="total" id="energy-total-row"')
    assert total[:2] == ["Gesamt", "6,00"], total
    assert total[-2:] == ["60,0 %", "75,0 %"], total
    assert text_of(html, "total-self-consumption") == "60,0 %"
    assert text_of(html, "energy-window") == f"{DAY:%d.%m.%Y}"

    month = client.get(url, params={"day": DAY.isoformat(), "period": "month"}).text
    assert cells(month, f'data-bar="{DAY.isoformat()}"')[:2] == [f"{DAY:%d.%m.%Y}", "6,00"]
    assert text_of(month, "energy-window") == f"{DAY:%m.%Y}"
    year = client.get(url, params={"day": DAY.isoformat(), "period": "year"}).text
    assert cells(year, f'data-bar="{DAY:%Y-%m}"')[:2] == [f"{DAY:%m.%Y}", "6,00"]

    device = client.get(f"/device/{site['GWF1-INV']}/energy", params={"day": DAY.isoformat()})
    assert cells(device.text, 'data-bar="10:00"')[:2] == ["10:00", "2,00"]
    assert cells(device.text, 'class="total" id="energy-total-row"')[:2] == ["Gesamt", "6,00"]

    csv = client.get(f"{url}.csv", params={"day": DAY.isoformat()}).text
    assert "\r\n10:00,20" in csv and ",2.000," in csv  # machine-readable, whatever the reader
    assert csv.splitlines()[-1].startswith("total,")  # the CSV's key, not the page's word


def test_a_reader_with_us_formats_gets_a_12_hour_clock_on_the_bars(
    client: TestClient, world: World, site: dict[str, str]
) -> None:
    prefer(client, world, language="de", formats="en-US")
    login(client, "om.i1@example.com")
    url = f"/site/{site['site']}/energy"
    html = client.get(url, params={"day": DAY.isoformat()}).text
    assert cells(html, 'data-bar="10:00"')[:2] == ["10:00 AM", "2.00"]
    assert text_of(html, "energy-window") == f"{DAY.month}/{DAY.day}/{DAY.year}"
    prefer(client, world, language="en", formats="iso")  # ISO readers: as before
    html = client.get(url, params={"day": DAY.isoformat()}).text
    assert cells(html, 'data-bar="10:00"')[:2] == ["10:00", "2.00"]
    assert cells(html, 'class="total" id="energy-total-row"')[0] == "Total"
    assert text_of(html, "energy-window") == DAY.isoformat()


def test_the_live_panel_no_longer_sends_a_locale_live_js_does_not_read(
    client: TestClient, world: World, site: dict[str, str]
) -> None:
    """live.js writes numbers with VF.number (the reader's formats from <html data-locale>);
    the language it was once given as "locale" would only invite a second set of marks."""
    script = (Path(voltfleet.app.__file__).parent / "static" / "js" / "live.js").read_text()
    assert not re.search(r"T\.locale|T\[.locale.\]", script)
    prefer(client, world, language="de")
    login(client, "om.i1@example.com")
    text = _live_text(client.get(f"/site/{site['site']}").text)
    assert text["grid_import"] == "Netzbezug" and "locale" not in text


def test_a_devices_readings_table_in_the_readers_marks(
    client: TestClient, world: World, site: dict[str, str]
) -> None:
    """The readings page printed values with Python's "%g": "1.23457e+06" for a counter at
    1234567.5 Wh, for every reader. Now every digit, the reader's decimal mark, and no grouping
    (a raw device value, as the browser test of this table reads it: "10000")."""
    token = token_for(client, world, site["GWF1"])
    late = iso(T0 + timedelta(hours=3, minutes=5))
    reading = {"device": "GWF1-INV", "point": "pv_energy_wh", "ts": late, "value": 1234567.5}
    r = client.post(
        "/api/v1/ingest", json={"readings": [{**reading, "unit": "Wh"}]}, headers=bearer(token)
    )
    assert r.status_code == 200 and r.json()["quarantined"] == 0, r.text
    prefer(client, world, language="de")
    login(client, "om.i1@example.com")
    params = {"points": "pv_energy_wh", "start": DAY.isoformat(), "end": DAY.isoformat()}
    html = client.get(f"/device/{site['GWF1-INV']}/data", params=params).text
    table = html.split('id="data-table"')[1].split("</table>")[0]
    assert '<td class="num">1234567,5</td>' in table and "e+06" not in table, table[-1500:]
    assert '<td class="num">10500</td>' in table
    prefer(client, world, language="de", formats="en-US")
    html = client.get(f"/device/{site['GWF1-INV']}/data", params=params).text
    assert '<td class="num">1234567.5</td>' in html


def test_a_devices_chart_says_its_last_day_in_the_readers_order(
    client: TestClient, world: World, site: dict[str, str]
) -> None:
    prefer(client, world, language="de")
    login(client, "om.i1@example.com")
    html = client.get(f"/device/{site['GWF1-INV']}/chart", params={"day": DAY.isoformat()}).text
    window = re.search(r'id="chart-window">([^<]*)<', html)
    assert window and window.group(1).endswith(f"{DAY:%d.%m.%Y}"), window


def test_the_bars_sentence_names_the_bar_in_the_readers_language(
    client: TestClient, world: World, site: dict[str, str]
) -> None:
    """ "kWh per hour" / "kWh pro Stunde": the bar's word has its own msgid for the sentence
    (the template had a German special case: the title translated in German, lowered in
    English)."""
    login(client, "om.i1@example.com")
    url = f"/site/{site['site']}/energy"
    prefer(client, world, language="en")
    assert "kWh per hour ·" in client.get(url, params={"day": DAY.isoformat()}).text
    month = client.get(url, params={"day": DAY.isoformat(), "period": "month"}).text
    assert "kWh per day ·" in month
    prefer(client, world, language="de")
    assert "kWh je Stunde ·" in client.get(url, params={"day": DAY.isoformat()}).text
