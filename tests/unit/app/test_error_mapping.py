"""The HTTP edge answers each of the project's errors with its status code, headers and body."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from fastapi.testclient import TestClient

from voltfleet.app.errors import install
from voltfleet.usecases.errors import (
    AppError,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    Rejected,
    TooLarge,
    TooMany,
    Unauthenticated,
    Unavailable,
    UnsupportedMedia,
)

FIELD_ERRORS = [{"field": "name", "message": "cannot be empty"}]

# (error raised, status, code, extra headers expected, errors in the body)
CASES: list[tuple[AppError, int, str, dict[str, str], list[dict[str, Any]]]] = [
    (NotFound("site"), 404, "not_found", {}, []),
    (NotFound("chart", "no devices yet", code="empty"), 404, "empty", {}, []),
    (Forbidden("your role may not"), 403, "forbidden", {}, []),
    (Forbidden("the form expired", code="csrf"), 403, "csrf", {}, []),
    (Unauthenticated("not signed in"), 401, "unauthenticated", {"www-authenticate": "Bearer"}, []),
    (
        Unauthenticated("wrong password", scheme="Basic", code="wrong_credentials"),
        401,
        "wrong_credentials",
        {"www-authenticate": "Basic"},
        [],
    ),
    (Invalid("name: cannot be empty", FIELD_ERRORS), 400, "bad_request", {}, FIELD_ERRORS),
    (TooLarge("at most 1 MB"), 413, "too_large", {}, []),
    (UnsupportedMedia("PNG or JPEG"), 415, "bad_media_type", {}, []),
    (
        Rejected("slots overlap", FIELD_ERRORS, code="invalid_tariff"),
        422,
        "invalid_tariff",
        {},
        FIELD_ERRORS,
    ),
    (Conflict("already bound"), 409, "conflict", {}, []),
    (Conflict("no tariff", code="no_tariff"), 409, "no_tariff", {}, []),
    (
        TooMany("Too many attempts. Try again in 7 seconds.", 7),
        429,
        "rate_limited",
        {"retry-after": "7"},
        [],
    ),
    (Unavailable("the broker is away", 11), 503, "unavailable", {"retry-after": "11"}, []),
    (AppError("said nothing about its kind"), 500, "error", {}, []),
]


def _page(request: Request, status: int, message: str) -> Response:
    return PlainTextResponse(f"page {status}: {message}", status_code=status)


def _client(error: AppError) -> TestClient:
    app = FastAPI()
    install(app, page=_page)

    @app.get("/api/v1/thing")
    @app.get("/thing")
    def _raise() -> None:
        raise error

    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(("error", "status", "code", "headers", "errors"), CASES)
def test_api_answer(
    error: AppError,
    status: int,
    code: str,
    headers: dict[str, str],
    errors: list[dict[str, Any]],
) -> None:
    r = _client(error).get("/api/v1/thing", headers={"Accept": "text/html"})
    assert r.status_code == status
    expected: dict[str, Any] = {"detail": error.message, "code": code}
    if errors:
        expected["errors"] = errors
    assert r.json() == expected
    for name, value in headers.items():
        assert r.headers[name] == value


@pytest.mark.parametrize(("error", "status", "code", "headers", "errors"), CASES)
def test_portal_page(
    error: AppError,
    status: int,
    code: str,
    headers: dict[str, str],
    errors: list[dict[str, Any]],
) -> None:
    """A browser on a portal page gets the page the application was given, same status."""
    r = _client(error).get("/thing", headers={"Accept": "text/html"})
    assert r.status_code == status
    assert r.text == f"page {status}: {error.message}"
    for name, value in headers.items():
        assert r.headers[name] == value
    # a script on the same address asking for JSON still gets JSON
    assert _client(error).get("/thing").json()["code"] == code


def test_without_a_page_everything_is_json() -> None:
    app = FastAPI()
    install(app)

    @app.get("/thing")
    def _raise() -> None:
        raise NotFound("thing")

    r = TestClient(app).get("/thing", headers={"Accept": "text/html"})
    assert (r.status_code, r.json()) == (404, {"detail": "thing not found", "code": "not_found"})
