"""Schemathesis over the whole OpenAPI document (issue 12, "tests that keep them out"): every
operation is called with generated data (valid and invalid) as an administrator, an O&M engineer
and an owner, with real ids of a seeded site, device, organisation and user in the paths; no
answer may be a server error. Bounded and derandomised (the same requests on every run) so it
stays in the test command: ``FUZZ_EXAMPLES`` examples per operation, role and mode (override with
VOLTFLEET_FUZZ_EXAMPLES). The request count and any failure with its curl command are printed.

``CONFORMANCE_CHECKS``: every answer also keeps to its documented status codes and schema
(schemathesis' status_code_conformance and response_schema_conformance, the server-sent events
of the live streams included): the OpenAPI describes the error answers (issue 12, defect 11).
VOLTFLEET_FUZZ_CONFORMANCE=0 looks for server errors only."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from tests.app.test_telemetry import make_site
from tests.support.world import PASSWORD, World, build_world
from voltfleet.app.runtime import Runtime
from voltfleet.app.users.service import new_user
from voltfleet.store.models import User

CONFORMANCE_CHECKS = os.environ.get("VOLTFLEET_FUZZ_CONFORMANCE", "1") == "1"
FUZZ_EXAMPLES = int(os.environ.get("VOLTFLEET_FUZZ_EXAMPLES", "5"))
ROLES = ("admin@I1", "om@I1", "owner@I1")

pytestmark = pytest.mark.parametrize("runtime", ["sqlite"], indirect=True)


@pytest.fixture
def world(client: TestClient, runtime: Runtime) -> World:
    return build_world(runtime)


def spare_user(runtime: Runtime, world: World) -> str:
    """A user of I1 for the operations on ``/users/{user_id}`` to act on (and delete)."""
    with runtime.db.session() as s:
        user = new_user(
            s,
            runtime,
            email="spare.i1@example.com",
            username="spare I1",
            password=PASSWORD,
            org_id=world.org_id("I1"),
            role="owner",
        )
        return user.id


def _checks() -> list[Callable[..., Any]]:
    checks: list[Callable[..., Any]] = [not_a_server_error]
    if CONFORMANCE_CHECKS:
        checks += [status_code_conformance, response_schema_conformance]
    return checks


def test_no_operation_answers_a_server_error(
    client: TestClient,
    app: FastAPI,
    runtime: Runtime,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = make_site(client, world, "GWZ1")
    known = {
        "site_id": ids["site"],
        "device_id": ids["GWZ1-INV"],
        "org_id": world.org_id("I1"),
        "user_id": spare_user(runtime, world),
    }
    # the live streams (server-sent events) end after one snapshot instead of an hour
    monkeypatch.setattr(runtime.settings, "live_max_s", 0.0)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    # destructive operations last, so the seeded objects serve the others first
    operations.sort(key=lambda op: (op.method.upper() == "DELETE", op.path, op.method))
    checks = _checks()
    requests = 0
    skipped = 0
    failures: list[str] = []
    t0 = time.monotonic()

    def token(who: str) -> str:
        with runtime.db.session() as s:
            user = s.get(User, world.accounts[who].id)
            assert user is not None
            return runtime.security.issue_token(
                user.id, user.password_changed_at, now=runtime.clock.now()
            )

    tokens = {who: token(who) for who in ROLES}

    def fuzz(op: Any, mode: GenerationMode) -> None:
        """``FUZZ_EXAMPLES`` cases for each role, the roles taking turns."""
        nonlocal requests, skipped
        names = {p.name for p in op.path_parameters}
        strategy = op.as_strategy(
            generation_mode=mode,
            path_parameters={k: v for k, v in known.items() if k in names} or None,
        )

        @settings(
            max_examples=FUZZ_EXAMPLES * len(ROLES),
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def run(case: schemathesis.Case) -> None:
            nonlocal requests
            who = ROLES[requests % len(ROLES)]
            requests += 1
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {tokens[who]}"}
            try:
                response = case.call()
            except Exception as exc:  # raised through the test transport: a 500 on a server
                failures.append(
                    f"{who} {case.method} {case.path} -> exception {type(exc).__name__}: "
                    f"{str(exc)[:300]}\n  {case.as_curl_command()}"
                )
                return
            if response.status_code == 401:  # e.g. a fuzzed password change: sign in again
                tokens[who] = token(who)
            try:
                case.validate_response(response, checks=checks)
            except (Exception, BaseExceptionGroup) as exc:  # a failed check: report, go on
                failures.append(
                    f"{who} {case.method} {case.path} -> {response.status_code}: "
                    f"{str(exc)[:300]}\n  {case.as_curl_command()}"
                )

        try:
            run()
        except Unsatisfiable:
            skipped += 1  # e.g. no invalid request exists for an operation without input

    slowest: list[tuple[float, str]] = []
    for op in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            started = time.monotonic()
            fuzz(op, mode)
            slowest.append((time.monotonic() - started, f"{op.method} {op.path} {mode.value}"))
    for spent, what in sorted(slowest, reverse=True)[:5]:
        print(f"  {spent:5.1f} s {what}")
    elapsed = time.monotonic() - t0
    print(
        f"\nschemathesis: {len(operations)} operations, {requests} requests, "
        f"{len(failures)} failures, {skipped} (operation, mode) pairs without cases, "
        f"{elapsed:.0f} s"
    )
    assert not failures, "\n".join(failures[:30])


# ---- the server errors it found, kept as plain regression tests -----------------------------


def test_a_site_with_a_gateway_serial_a_device_may_not_have_is_a_422(
    client: TestClient, world: World
) -> None:
    r = client.post(
        "/api/v1/sites",
        json={"name": "Home", "gateway": {"serial": "\u023e"}},
        headers=world.accounts["om@I1"].headers(),
    )
    assert r.status_code == 422 and "serial" in r.text, r.text


def test_emptying_a_site_field_that_always_has_a_value_is_a_400(
    client: TestClient, world: World
) -> None:
    headers = world.accounts["om@I1"].headers()
    site = make_site(client, world, "GWZ2")["site"]
    for field in ("address", "region", "temperature_unit", "capacity_kwp"):
        r = client.patch(f"/api/v1/sites/{site}", json={field: None}, headers=headers)
        assert r.status_code == 400 and f"{field} cannot be empty" in r.text, (field, r.text)
    r = client.patch(f"/api/v1/sites/{site}", json={"latitude": None}, headers=headers)
    assert r.status_code == 200, r.text
