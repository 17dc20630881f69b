"""The OpenAPI document describes the errors the API answers with, and the answers match it."""

from __future__ import annotations

from typing import Any

import jsonschema
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from tests.support.world import build_world
from voltfleet.app.runtime import Runtime

ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}
METHODS = ("get", "put", "post", "delete", "patch")


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def _error_schema(op: dict[str, Any], status: int) -> dict[str, Any]:
    schema: dict[str, Any] = op["responses"][str(status)]["content"]["application/json"]["schema"]
    return schema


def test_every_operation_documents_its_errors(app: FastAPI) -> None:
    spec = app.openapi()
    ops = _operations(spec)
    assert len(ops) > 80
    missing: list[str] = []
    for method, path, op in ops:
        expected = {400, 409, 429, 503}
        headers = {p["name"].lower() for p in op.get("parameters", []) if p["in"] == "header"}
        if op.get("security") or "authorization" in headers:
            expected |= {401, 403, 404}
        if op.get("parameters") or op.get("requestBody"):
            expected.add(422)
        if any(p["in"] == "path" for p in op.get("parameters", [])):
            expected.add(404)
        for status in sorted(expected):
            answer = op["responses"].get(str(status))
            if answer is None or _error_schema(op, status) != ERROR_REF:
                missing.append(f"{method} {path} {status}")
        for status in op["responses"]:
            if status.startswith(("4", "5")):
                assert _error_schema(op, int(status)) == ERROR_REF, (method, path, status)
        if 401 in expected:
            assert "WWW-Authenticate" in op["responses"]["401"]["headers"]
        assert "Retry-After" in op["responses"]["429"]["headers"]
        assert "Retry-After" in op["responses"]["503"]["headers"]
    assert missing == []
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert set(schemas["ErrorOut"]["required"]) == {"detail", "code"}
    assert set(schemas["FieldError"]["required"]) == {"field", "message"}
    # the device-token operations count as taking a credential too
    paths = spec["paths"]
    assert "401" in paths["/api/v1/ingest"]["post"]["responses"]
    assert "401" in paths["/api/v1/sites"]["get"]["responses"]
    assert "401" not in paths["/api/v1/auth/register"]["post"]["responses"]


def _conforms(spec: dict[str, Any], method: str, path: str, r: Response) -> None:
    """The answer has a documented status and matches the schema declared for it."""
    op = spec["paths"][path][method.lower()]
    assert str(r.status_code) in op["responses"], (method, path, r.status_code, r.text)
    schema = {**_error_schema(op, r.status_code), "components": spec["components"]}
    jsonschema.Draft202012Validator(schema).validate(r.json())


def test_error_answers_match_the_declared_schema(
    app: FastAPI, client: TestClient, runtime: Runtime
) -> None:
    spec = app.openapi()
    world = build_world(runtime)
    h = world.accounts["admin@I1"].headers()

    # request validation (FastAPI's own 422) in the project's shape, not HTTPValidationError
    r = client.get("/api/v1/sites", params={"page": "first"}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "page"
    _conforms(spec, "GET", "/api/v1/sites", r)
    r = client.post("/api/v1/sites", json={"name": 7}, headers=h)
    assert r.status_code == 422
    _conforms(spec, "POST", "/api/v1/sites", r)

    # no credential: 401 naming its scheme
    r = client.get("/api/v1/sites")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    _conforms(spec, "GET", "/api/v1/sites", r)
    r = client.post("/api/v1/ingest", json={"readings": []})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    _conforms(spec, "POST", "/api/v1/ingest", r)

    # a sort key the list does not have: 422 naming the field, like any invalid parameter
    r = client.get("/api/v1/sites", params={"sort": "colour"}, headers=h)
    assert r.status_code == 422 and r.json()["code"] == "invalid"
    assert r.json()["errors"][0]["field"] == "sort" and "colour" in r.json()["detail"]
    _conforms(spec, "GET", "/api/v1/sites", r)
    # Invalid (400), NotFound (404)
    r = client.post("/api/v1/orgs", json={"name": "Sub", "type": "distributor"}, headers=h)
    assert r.status_code == 400 and r.json()["code"] == "bad_request"
    _conforms(spec, "POST", "/api/v1/orgs", r)
    r = client.get("/api/v1/sites/no-such-site", headers=h)
    assert r.status_code == 404 and r.json() == {"detail": "site not found", "code": "not_found"}
    _conforms(spec, "GET", "/api/v1/sites/{site_id}", r)

    # Rejected (422) with field errors that carry details of their own
    site = client.post("/api/v1/sites", json={"name": "Home", "country": "DE"}, headers=h)
    assert site.status_code == 201, site.text
    overlap = {
        "valid_from": "2026-01-01",
        "kind": "tou",
        "currency": "EUR",
        "periods": [
            {
                "name": "all year",
                "start": "01-01",
                "end": "12-31",
                "slots": [
                    {"start": "00:00", "end": "07:00", "price_per_kwh": 0.2},
                    {"start": "06:00", "end": "00:00", "price_per_kwh": 0.4},
                ],
            }
        ],
    }
    path = "/api/v1/sites/{site_id}/tariffs/{direction}"
    r = client.put(f"/api/v1/sites/{site.json()['id']}/tariffs/IMPORT", json=overlap, headers=h)
    assert r.status_code == 422 and r.json()["code"] == "invalid_tariff"
    assert r.json()["errors"][0]["field"].startswith("periods.all year.slots.")
    _conforms(spec, "PUT", path, r)

    # TooMany (429) with Retry-After
    form = {"username": "om.i1@example.com", "password": "Wrong#123"}
    answers = [client.post("/api/v1/auth/token", data=form) for _ in range(40)]
    limited = [a for a in answers if a.status_code == 429]
    assert limited, [a.status_code for a in answers]
    assert int(limited[0].headers["Retry-After"]) >= 1
    _conforms(spec, "POST", "/api/v1/auth/token", limited[0])
