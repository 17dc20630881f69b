"""Errors as JSON a person can read: ``{"detail": message, "code": code, "errors": [...]}``."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        code: str = "error",
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.errors = errors or []
        self.headers = headers


def not_found(kind: str) -> ApiError:
    return ApiError(404, f"{kind} not found", "not_found")


def forbidden(message: str) -> ApiError:
    return ApiError(403, message, "forbidden")


def conflict(message: str) -> ApiError:
    return ApiError(409, message, "conflict")


def bad_request(message: str, errors: list[dict[str, Any]] | None = None) -> ApiError:
    return ApiError(400, message, "bad_request", errors)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form")]
    return ".".join(parts) or "request"


def _body(status: int, message: str, code: str, errors: list[dict[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": message, "code": code}
    if errors:
        body["errors"] = errors
    return body


TITLES = {
    401: "Please sign in",
    403: "Not allowed",
    404: "Not found",
    409: "Not possible",
    429: "Too many attempts",
    503: "Temporarily unavailable",
}

# ---- the database is away -----------------------------------------------------------------------

RETRY_AFTER_S = 5  # what a client is told to wait while the database is unavailable
DB_UNAVAILABLE = (
    "the database is unavailable at the moment, so the request could not be completed; "
    "try again in a few seconds (resending telemetry is always safe)"
)
# PEP 249 names the driver exceptions for "the database cannot serve this now" (connection lost or
# refused, server shutting down, lock or statement timeout, serialisation failure). Drivers are
# used raw in places (the PostgreSQL time-series store copies through psycopg's own cursor), so
# their exceptions arrive unwrapped as well as wrapped by SQLAlchemy.
_TRANSIENT_NAMES = frozenset({"OperationalError", "InterfaceError"})


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached or is too busy right now (worth
    retrying later), as opposed to a bug or bad data (IntegrityError, DataError ...)."""
    if isinstance(exc, sa_exc.TimeoutError):  # no pooled connection came free in time
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        if exc.orig is None:
            return isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError)
        exc = exc.orig
    if isinstance(exc, sqlite3.Error):  # SQLite's OperationalError also means "no such table"
        return "locked" in str(exc) or "busy" in str(exc)
    return any(cls.__name__ in _TRANSIENT_NAMES for cls in type(exc).__mro__)


def _db_error_classes() -> tuple[type[Exception], ...]:
    """The exception types the 503 handler looks at: SQLAlchemy's, and the raw drivers'."""
    classes: list[type[Exception]] = [sa_exc.DBAPIError, sa_exc.TimeoutError, sqlite3.Error]
    try:
        import psycopg
    except ImportError:  # pragma: no cover - PostgreSQL support not installed
        pass
    else:
        classes.append(psycopg.Error)
    return tuple(classes)


def wants_page(request: Request) -> bool:
    """A person's browser on a portal page gets an HTML page; the API always gets JSON."""
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


def error_page(request: Request, status: int, message: str) -> Response:
    from voltfleet.app.portal.render import render  # the portal imports this module

    title = TITLES.get(status, "Something went wrong")
    return render(
        request, "portal/error.html", None, status_code=status, title=title, message=message
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        if wants_page(request):
            return error_page(request, exc.status, exc.message)
        return JSONResponse(
            _body(exc.status, exc.message, exc.code, exc.errors),
            status_code=exc.status,
            headers=exc.headers,
        )

    async def _database(request: Request, exc: Exception) -> Response:
        if not database_unavailable(exc):
            raise exc  # a bug or bad data: a 500, logged with its traceback as before
        log.warning(
            "database unavailable: %s %s answered 503 (%s)",
            request.method,
            request.url.path,
            str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
        )
        headers = {"Retry-After": str(RETRY_AFTER_S)}
        if wants_page(request):
            page = error_page(
                request,
                503,
                "The service cannot reach its database right now. "
                "Please try again in a few seconds.",
            )
            page.headers.update(headers)
            return page
        return JSONResponse(
            _body(503, DB_UNAVAILABLE, "unavailable", []), status_code=503, headers=headers
        )

    for cls in _db_error_classes():
        app.add_exception_handler(cls, _database)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field(tuple(e.get("loc", ()))), "message": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        message = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
        return JSONResponse(_body(422, message, "invalid", errors), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404 and message == "Not Found":
            message = "no such endpoint"
            if wants_page(request):
                return error_page(request, 404, "There is no page at this address.")
        if exc.status_code == 405:
            message = "this endpoint does not accept that method"
        return JSONResponse(
            _body(exc.status_code, message, "http", []),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )
