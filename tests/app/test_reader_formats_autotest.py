"""A CEI 0-21 AutoTest's report (device_autotest.html) writes each tripping value and trip time
with the reader's decimal marks (issue 19, "numbers by locale")."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from tests.app.test_money_pages import csrf_of, sign_in
from tests.app.test_telemetry import h
from tests.app.test_work_modes import answer, clock, italian_home, world  # noqa: F401
from tests.support.world import World
from voltfleet.clock import ManualClock

CONDITIONS = ["grid_connected", "loads_safe", "installer_present"]


def step_cells(html: str, code: str) -> list[str]:
    row = re.search(rf'<tr data-step="{code}">(.*?)</tr>', html, re.S)
    assert row, html
    return [
        re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", row.group(1), re.S)
    ]


def test_a_german_reader_reads_the_autotest_with_decimal_commas(
    client: TestClient,
    world: World,  # noqa: F811
    clock: ManualClock,  # noqa: F811
) -> None:
    inv, token = italian_home(client, world)
    r = client.patch("/api/v1/me", json={"language": "de"}, headers=h(world, "om@I1"))
    assert r.status_code == 200, r.text
    sign_in(client, world, "om@I1")
    csrf = csrf_of(client.get(f"/device/{inv}/autotest").text)
    data = {"csrf": csrf, "condition": CONDITIONS, "agreement": "on"}
    assert client.post(f"/device/{inv}/autotest", data=data).status_code == 200
    clock.advance(timedelta(seconds=4))
    answer(client, token, {"GWI-INV"})
    page = client.get(f"/device/{inv}/autotest").text
    # threshold, tripped at, time limit, trip time
    assert step_cells(page, "59.S2")[1:5] == ["264,50 V", "264,040 V", "0,2 s", "0,130 s"]
    assert step_cells(page, "59.S1")[1:5] == ["253,00 V", "253,000 V", "603,0 s", "452,250 s"]
    r = client.patch("/api/v1/me", json={"formats": "en-US"}, headers=h(world, "om@I1"))
    assert r.status_code == 200, r.text
    page = client.get(f"/device/{inv}/autotest").text
    assert step_cells(page, "59.S2")[1:5] == ["264.50 V", "264.040 V", "0.2 s", "0.130 s"]
