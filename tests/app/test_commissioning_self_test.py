"""Issue 16: the inverters' self-test results in the commissioning report. O&M ask an inverter
for its self-test (a ``self_test`` command); the gateway answers with the results (here the
simulated gateway's own answer); the report's PDF lists each protection function with its
threshold, measured value, trip time and verdict. Without a self-test the PDF says so."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.app.test_alarms import home
from tests.app.test_commissioning import pdf_text
from tests.app.test_telemetry import bearer, h
from tests.support.world import World, build_world
from voltfleet.app.firmware import commissioning
from voltfleet.app.runtime import Runtime
from voltfleet.simulator.commands import interpret
from voltfleet.store.fleet_models import Device


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


def report_text(client: TestClient, world: World, runtime: Runtime, ids: dict[str, str]) -> str:
    r = client.post(
        f"/api/v1/sites/{ids['site']}/commissioning-reports",
        json={"name": "Commissioning", "device_ids": [ids["GWS1"], ids["GWS1-INV"]]},
        headers=h(world, "om@I1"),
    )
    assert r.status_code == 201, r.text
    report_id = r.json()["id"]
    assert commissioning.generate(runtime.db, report_id, datetime.now(UTC)) == "finished"
    r = client.get(f"/api/v1/commissioning-reports/{report_id}/pdf", headers=h(world, "om@I1"))
    assert r.status_code == 200
    return pdf_text(r.content)


def test_self_test_results_reported_by_the_inverter_are_in_the_report(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids, token = home(client, world, "GWS1")
    with runtime.db.session() as s:
        s.execute(update(Device).where(Device.id == ids["GWS1-INV"]).values(status="online"))
    before = report_text(client, world, runtime, ids)
    assert "Self-test results" in before and "No self-test results were reported" in before

    assert (
        client.post(
            f"/api/v1/devices/{ids['GWS1-BAT']}/commands",
            json={"kind": "self_test", "params": {}},
            headers=h(world, "om@I1"),
        ).status_code
        == 422
    )  # a battery runs no grid-protection test
    r = client.post(
        f"/api/v1/devices/{ids['GWS1-INV']}/commands",
        json={"kind": "self_test", "params": {}},
        headers=h(world, "om@I1"),
    )
    assert r.status_code in (200, 201, 202), r.text
    r = client.get("/api/v1/gateway/commands", headers=bearer(token))
    (cmd,) = r.json()["commands"]
    assert cmd["kind"] == "self_test" and cmd["device"] == "GWS1-INV"
    answer = interpret(cmd, None, set()).reply()  # the simulated gateway's answer
    r = client.post(
        f"/api/v1/gateway/commands/{cmd['id']}/reply", json=answer, headers=bearer(token)
    )
    assert r.status_code == 200 and r.json()["state"] == "acknowledged", r.text

    text = report_text(client, world, runtime, ids)
    assert "No self-test results" not in text
    for expected in ("59.S1", "253.0 V", "253.2 V", "2960 ms", "81<.S2", "47.5 Hz", "pass"):
        assert expected in text, f"{expected!r} not in the PDF text:\n{text}"
    assert "overall" in text and "passed" in text
