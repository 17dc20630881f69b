"""Device commands over HTTP: people send them (O&M and admins), gateways fetch theirs with their
own token and answer; states go queued -> sent -> acknowledged | failed | expired; bad input is a
4xx with a reason; another tenant's gateway neither sees nor answers them; audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tests.app.test_alarms import home
from tests.app.test_telemetry import bearer, h, iso
from tests.support.world import World, build_world
from voltfleet.app.runtime import Runtime
from voltfleet.store.command_models import Command
from voltfleet.store.models import AuditEntry


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


def send(client: TestClient, world: World, device: str, body: dict, who: str = "om@I1"):  # type: ignore[no-untyped-def,type-arg]
    return client.post(f"/api/v1/devices/{device}/commands", json=body, headers=h(world, who))


def test_a_command_goes_queued_sent_acknowledged_over_http_polling(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids, token = home(client, world, "GWC1")
    bat = ids["GWC1-BAT"]
    r = send(
        client,
        world,
        bat,
        {"kind": "battery_mode", "params": {"mode": "charge", "battery_power_w": 2500}},
    )
    assert r.status_code == 201, r.text
    cmd = r.json()
    assert cmd["state"] == "queued" and cmd["params"] == {
        "mode": "charge",
        "battery_power_w": 2500.0,
    }
    assert cmd["source"] == "user" and cmd["created_by"] == world.accounts["om@I1"].id

    got = client.get("/api/v1/gateway/commands", headers=bearer(token))
    assert got.status_code == 200, got.text
    items = got.json()["commands"]
    assert [c["id"] for c in items] == [cmd["id"]]
    assert items[0]["device"] == "GWC1-BAT" and items[0]["kind"] == "battery_mode"
    assert (
        client.get(f"/api/v1/commands/{cmd['id']}", headers=h(world, "om@I1")).json()["state"]
        == "sent"
    )
    # not answered yet: handed out again (a lost answer does not lose it)
    again = client.get("/api/v1/gateway/commands", headers=bearer(token)).json()["commands"]
    assert [c["id"] for c in again] == [cmd["id"]]

    r = client.post(
        f"/api/v1/gateway/commands/{cmd['id']}/reply",
        json={"status": "acknowledged", "message": "charging", "details": {"applied_w": 2500}},
        headers=bearer(token),
    )
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["state"] == "acknowledged" and done["sent_via"] == "http"
    assert done["result"] == {"applied_w": 2500} and done["message"] == "charging"
    assert client.get("/api/v1/gateway/commands", headers=bearer(token)).json()["commands"] == []
    # the same answer again is harmless; a different one is refused
    r = client.post(
        f"/api/v1/gateway/commands/{cmd['id']}/reply",
        json={"status": "acknowledged"},
        headers=bearer(token),
    )
    assert r.status_code == 200
    r = client.post(
        f"/api/v1/gateway/commands/{cmd['id']}/reply",
        json={"status": "failed"},
        headers=bearer(token),
    )
    assert r.status_code == 409 and "already acknowledged" in r.json()["detail"]

    page = client.get(f"/api/v1/devices/{bat}/commands", headers=h(world, "om@I1")).json()
    assert page["total"] == 1 and page["items"][0]["state"] == "acknowledged"
    with runtime.db.session() as s:
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "command.created")).all()
        assert [a.object_id for a in audit] == [cmd["id"]]


def test_failed_reply_and_paging(client: TestClient, world: World) -> None:
    ids, token = home(client, world, "GWC2")
    inv = ids["GWC2-INV"]
    made = [
        send(
            client,
            world,
            inv,
            {"kind": "battery_setpoint", "params": {"battery_power_w": -1000 * (i + 1)}},
            "admin@I1",
        ).json()
        for i in range(3)
    ]
    items = client.get("/api/v1/gateway/commands", headers=bearer(token)).json()["commands"]
    assert [c["id"] for c in items] == [m["id"] for m in made]  # oldest first
    r = client.post(
        f"/api/v1/gateway/commands/{made[0]['id']}/reply",
        json={"status": "failed", "message": "battery offline"},
        headers=bearer(token),
    )
    assert r.json()["state"] == "failed" and r.json()["message"] == "battery offline"
    page = client.get(
        f"/api/v1/devices/{inv}/commands?page_size=2", headers=h(world, "om@I1")
    ).json()
    assert page["total"] == 3 and [c["id"] for c in page["items"]] == [made[2]["id"], made[1]["id"]]


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        ({"kind": "reboot", "params": {}}, "kind", "unknown command kind"),
        ({"kind": "battery_mode", "params": {"mode": "turbo"}}, "mode", "mode must be one of"),
        (
            {"kind": "battery_mode", "params": {"mode": "charge", "battery_power_w": -5}},
            "battery_power_w",
            "> 0",
        ),
        (
            {"kind": "battery_mode", "params": {"mode": "discharge", "battery_power_w": 5}},
            "battery_power_w",
            "< 0",
        ),
        (
            {"kind": "battery_mode", "params": {"mode": "idle", "battery_power_w": 5}},
            "battery_power_w",
            "takes no",
        ),
        ({"kind": "battery_setpoint", "params": {}}, "battery_power_w", "required"),
        (
            {"kind": "battery_setpoint", "params": {"battery_power_w": "lots"}},
            "battery_power_w",
            "number of watts",
        ),
        (
            {"kind": "battery_setpoint", "params": {"battery_power_w": 9e9}},
            "battery_power_w",
            "beyond the device's limit",
        ),
        (
            {"kind": "battery_setpoint", "params": {"battery_power_w": 1, "volts": 3}},
            "volts",
            "unknown parameter",
        ),
        (
            {"kind": "battery_setpoint", "params": {"battery_power_w": 1}, "ttl_s": 1},
            "ttl_s",
            "ttl_s must be",
        ),
    ],
)
def test_bad_commands_are_refused_with_a_reason(
    client: TestClient,
    world: World,
    body: dict,
    field: str,
    fragment: str,  # type: ignore[type-arg]
) -> None:
    ids, _ = home(client, world, "GWC3")
    r = send(client, world, ids["GWC3-BAT"], body)
    assert r.status_code == 422, r.text
    assert fragment in r.json()["detail"]
    assert r.json()["errors"][0]["field"] == field


def test_wrong_targets_and_rated_power_limit(client: TestClient, world: World) -> None:
    ids, _ = home(client, world, "GWC4")
    r = send(client, world, ids["GWC4-MTR"], {"kind": "battery_mode", "params": {"mode": "idle"}})
    assert r.status_code == 422 and "a meter does not take" in r.json()["detail"]
    client.patch(
        f"/api/v1/devices/{ids['GWC4-INV']}",
        json={"rated_power_w": 3000},
        headers=h(world, "admin@I1"),
    )
    r = send(
        client,
        world,
        ids["GWC4-INV"],
        {"kind": "battery_setpoint", "params": {"battery_power_w": 3500}},
    )
    assert r.status_code == 422 and "3000 W" in r.json()["detail"], r.text
    # charge without a power: the device's limit
    r = send(client, world, ids["GWC4-INV"], {"kind": "battery_mode", "params": {"mode": "charge"}})
    assert r.status_code == 201 and r.json()["params"]["battery_power_w"] == 3000.0
    # O&M of another installer does not see the device at all (owners: the authz matrix)
    r = send(
        client,
        world,
        ids["GWC4-INV"],
        {"kind": "battery_mode", "params": {"mode": "idle"}},
        "om@I2",
    )
    assert r.status_code == 404


def test_commands_expire_when_not_delivered_and_fail_without_reply(
    client: TestClient, world: World, runtime: Runtime
) -> None:
    ids, token = home(client, world, "GWC5")
    a = send(
        client,
        world,
        ids["GWC5-BAT"],
        {"kind": "battery_mode", "params": {"mode": "idle"}, "ttl_s": 10},
    ).json()
    b = send(
        client,
        world,
        ids["GWC5-BAT"],
        {"kind": "battery_mode", "params": {"mode": "idle"}, "ttl_s": 10},
    ).json()
    # b goes out; then time passes beyond both expiries (and b's reply grace)
    with runtime.db.session() as s:
        s.execute(
            update(Command)
            .where(Command.id == a["id"])
            .values(not_before=datetime.now(UTC) + timedelta(hours=1))
        )
    assert [
        c["id"]
        for c in client.get("/api/v1/gateway/commands", headers=bearer(token)).json()["commands"]
    ] == [b["id"]]
    past = datetime.now(UTC) - timedelta(minutes=5)
    with runtime.db.session() as s:
        s.execute(
            update(Command)
            .where(Command.id.in_([a["id"], b["id"]]))
            .values(expires_at=past, not_before=past - timedelta(seconds=10))
        )
        s.execute(
            update(Command).where(Command.id == b["id"]).values(sent_at=past - timedelta(seconds=5))
        )
    got_a = client.get(f"/api/v1/commands/{a['id']}", headers=h(world, "om@I1")).json()
    assert got_a["state"] == "expired" and "not delivered" in got_a["message"]
    got_b = client.get(f"/api/v1/commands/{b['id']}", headers=h(world, "om@I1")).json()
    assert got_b["state"] == "failed" and "no reply" in got_b["message"]
    r = client.post(
        f"/api/v1/gateway/commands/{a['id']}/reply",
        json={"status": "acknowledged"},
        headers=bearer(token),
    )
    assert r.status_code == 409
    assert client.get("/api/v1/gateway/commands", headers=bearer(token)).json()["commands"] == []


def test_a_gateway_sees_and_answers_only_its_own_commands(client: TestClient, world: World) -> None:
    ids1, token1 = home(client, world, "GWC6")
    _, token2 = home(client, world, "GWC7")
    c = send(
        client, world, ids1["GWC6-BAT"], {"kind": "battery_mode", "params": {"mode": "idle"}}
    ).json()
    assert client.get("/api/v1/gateway/commands", headers=bearer(token2)).json()["commands"] == []
    r = client.post(
        f"/api/v1/gateway/commands/{c['id']}/reply",
        json={"status": "acknowledged"},
        headers=bearer(token2),
    )
    assert r.status_code == 404
    assert client.get("/api/v1/gateway/commands").status_code == 401
    assert client.get("/api/v1/gateway/commands", headers=h(world, "admin@I1")).status_code == 401
    r = client.post(
        f"/api/v1/gateway/commands/{c['id']}/reply",
        json={"status": "maybe"},
        headers=bearer(token1),
    )
    assert r.status_code == 422 and "acknowledged" in r.json()["detail"]
    # a person of another tenant does not see it
    assert (
        client.get(f"/api/v1/commands/{c['id']}", headers=h(world, "admin@I2")).status_code == 404
    )
    assert (
        client.get(
            f"/api/v1/devices/{ids1['GWC6-BAT']}/commands", headers=h(world, "om@I2")
        ).status_code
        == 404
    )


def test_a_device_without_gateway_cannot_be_commanded(client: TestClient, world: World) -> None:
    r = client.post("/api/v1/sites", json={"name": "Bare"}, headers=h(world, "admin@I1"))
    sid = r.json()["id"]
    r = client.post(
        f"/api/v1/sites/{sid}/devices",
        json={"kind": "battery", "serial": "LONEBAT"},
        headers=h(world, "admin@I1"),
    )
    assert r.status_code == 201, r.text
    r = send(client, world, r.json()["id"], {"kind": "battery_mode", "params": {"mode": "idle"}})
    assert r.status_code == 409 and "no gateway" in r.json()["detail"]


def test_not_before_in_the_future_waits(client: TestClient, world: World) -> None:
    ids, token = home(client, world, "GWC8")
    later = datetime.now(UTC) + timedelta(minutes=30)
    r = send(
        client,
        world,
        ids["GWC8-BAT"],
        {"kind": "battery_mode", "params": {"mode": "idle"}, "not_before": iso(later)},
    )
    assert r.status_code == 201
    assert client.get("/api/v1/gateway/commands", headers=bearer(token)).json()["commands"] == []
    r = send(
        client,
        world,
        ids["GWC8-BAT"],
        {"kind": "battery_mode", "params": {"mode": "idle"}, "not_before": "2026-01-01T00:00:00"},
    )
    assert r.status_code == 400 and "UTC offset" in r.json()["detail"]
