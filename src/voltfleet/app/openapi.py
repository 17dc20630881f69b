"""The API's description of its errors: one error model, and on every operation the error answers
it can give (``app.errors`` gives them; this module says so in the OpenAPI document)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field


class FieldError(BaseModel):
    """One input at fault. Some errors add details of their own (a tariff issue's period and
    slot, a schedule's largest energy that fits)."""

    model_config = ConfigDict(extra="allow")

    field: str = Field(
        description="the input at fault, dotted (e.g. `periods.winter.slots.2`, `page_size`); "
        "`request` when it is the request as a whole",
        examples=["name"],
    )
    message: str = Field(examples=["String should have at least 1 character"])


class ErrorOut(BaseModel):
    """Every error answer of the API."""

    detail: str = Field(description="what went wrong, for a person", examples=["site not found"])
    code: str = Field(
        description="a stable word for programs: e.g. `not_found`, `forbidden`, `bad_request`, "
        "`invalid` (the request does not match its declaration), `invalid_tariff`, "
        "`unauthenticated`, `rate_limited`, `unavailable`",
        examples=["not_found"],
    )
    errors: list[FieldError] = Field(
        default_factory=list, description="present when particular inputs are at fault"
    )


_RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds to wait before trying again",
        "schema": {"type": "integer", "minimum": 1},
    }
}

DESCRIPTIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "400": ("The input breaks a rule (`errors` names the fields where known).", {}),
    "401": (
        "No credential, or one that is not (or no longer) valid.",
        {
            "WWW-Authenticate": {
                "description": "the scheme to authenticate with",
                "schema": {"type": "string"},
            }
        },
    ),
    "403": ("The caller's role or organisation does not allow this.", {}),
    "404": ("No such object in the caller's scope.", {}),
    "409": ("The state of things does not allow this now (`code` says why).", {}),
    "413": ("The request or a file in it is larger than accepted.", {}),
    "415": ("The file's type is not accepted.", {}),
    "422": (
        "The request does not match the declared parameters or body (code `invalid`, "
        "`errors` lists each field), or its content cannot be carried out as asked.",
        {},
    ),
    "429": ("Too many attempts or requests.", _RETRY_AFTER),
    "503": ("The database or another part the operation needs is unavailable.", _RETRY_AFTER),
}

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def _takes_credential(op: dict[str, Any]) -> bool:
    """A person's token or API key (a security scheme), or a device's token (the
    Authorization header as a parameter)."""
    headers = {
        str(p.get("name", "")).lower() for p in op.get("parameters", []) if p.get("in") == "header"
    }
    return bool(op.get("security")) or "authorization" in headers


def _multipart(op: dict[str, Any]) -> bool:
    return "multipart/form-data" in op.get("requestBody", {}).get("content", {})


def error_statuses(op: dict[str, Any]) -> list[str]:
    """The error status codes an operation can answer with."""
    params = op.get("parameters", [])
    body = "requestBody" in op
    credential = _takes_credential(op)
    codes = {"400", "409", "429", "503"}  # a bad input, a state, a limit, the database away
    if params or body:
        codes.add("422")
    if credential:
        codes |= {"401", "403", "404"}
    if any(p.get("in") == "path" for p in params):
        codes.add("404")
    if body:
        codes.add("413")
    if _multipart(op):
        codes.add("415")
    # and what a route declares itself (signing in answers 401 without taking a credential)
    codes |= {str(s) for s in op.get("responses", {}) if str(s) in DESCRIPTIONS}
    return sorted(codes)


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Add ``ErrorOut`` to the components and the error answers to every operation, in place;
    the 422 answers point to ``ErrorOut`` instead of FastAPI's ``HTTPValidationError``."""
    model = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    ours = {**model.pop("$defs", {}), "ErrorOut": model}
    for name, definition in ours.items():
        if components.get(name, definition) != definition:
            raise ValueError(f"another schema is already named {name}")
    components.update(ours)
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
    for item in schema.get("paths", {}).values():
        for method, op in item.items():
            if method not in METHODS:
                continue
            responses = op.setdefault("responses", {})
            for status in error_statuses(op):
                description, headers = DESCRIPTIONS[status]
                answer: dict[str, Any] = {"description": description, "content": content}
                if headers:
                    answer["headers"] = headers
                responses[status] = answer
            op["responses"] = dict(sorted(responses.items()))
    used = json.dumps(schema.get("paths", {}))
    for name in ("HTTPValidationError", "ValidationError"):
        if f"#/components/schemas/{name}" not in used:
            components.pop(name, None)
    return schema


def describe_errors(app: FastAPI) -> None:
    """Make ``app.openapi()`` document the error answers of every operation."""
    build: Callable[[], dict[str, Any]] = app.openapi
    done: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        if not done:
            done.append(document_errors(build()))
        return done[0]

    app.openapi = openapi  # type: ignore[method-assign]
