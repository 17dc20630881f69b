"""The HTTP edge of the project's errors: each ``voltfleet.usecases.errors`` class answered with
its status code and ``{"detail": message, "code": code, "errors": [...]}`` (a portal page gets
the error page the application was given instead)."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from voltfleet.app.text_guard import NUL_MESSAGE
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

log = logging.getLogger(__name__)

ErrorPage = Callable[[Request, int, str], Response]
"""Renders a person's error page: (request, status code, message) -> response."""

# The status code of each of the project's errors; a subclass takes its nearest listed ancestor's.
STATUS: dict[type[AppError], int] = {
    Invalid: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    UnsupportedMedia: 415,
    Rejected: 422,
    TooMany: 429,
    Unavailable: 503,
}


def status_of(exc: AppError) -> int:
    """The HTTP status code that answers ``exc``."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500  # a bare AppError: a mistake of the raiser, not of the client


def headers_of(exc: AppError) -> dict[str, str]:
    """The headers the status code of ``exc`` calls for (RFC 9110: a 401 names the scheme
    to use, a 429 or 503 says when to come back)."""
    if isinstance(exc, Unauthenticated):
        return {"WWW-Authenticate": exc.scheme}
    if isinstance(exc, TooMany | Unavailable):
        return {"Retry-After": str(exc.retry_after_s)}
    return {}


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form")]
    return ".".join(parts) or "request"


def _body(status: int, message: str, code: str, errors: list[dict[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": message, "code": code}
    if errors:
        body["errors"] = errors
    return body


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


def nul_in_text(exc: BaseException) -> bool:
    """Whether PostgreSQL refused a statement because a text value held a NUL character."""
    orig = exc.orig if isinstance(exc, sa_exc.DBAPIError) else exc
    return type(orig).__name__ == "DataError" and "NUL (0x00)" in str(orig)


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


def install(app: FastAPI, page: ErrorPage | None = None) -> None:
    """Answer the project's errors, an unreachable database, invalid requests and unknown
    addresses as JSON; with ``page``, a person's browser on a portal page gets that page."""

    def as_page(request: Request) -> ErrorPage | None:
        return page if page is not None and wants_page(request) else None

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Response:
        status = status_of(exc)
        if status == 500:  # a bare AppError: the raiser should have said what kind
            log.error("%s %s: %s (%s)", request.method, request.url.path, exc, type(exc).__name__)
        headers = headers_of(exc)
        render = as_page(request)
        if render is not None:
            response = render(request, status, exc.message)
            response.headers.update(headers)
            return response
        return JSONResponse(
            _body(status, exc.message, exc.code, exc.errors), status_code=status, headers=headers
        )

    async def _database(request: Request, exc: Exception) -> Response:
        if nul_in_text(exc):  # what app/text_guard.py does not see (a value built by the server)
            return JSONResponse(_body(422, NUL_MESSAGE, "invalid", []), status_code=422)
        if not database_unavailable(exc):
            raise exc  # a bug or bad data: a 500, logged with its traceback as before
        log.warning(
            "database unavailable: %s %s answered 503 (%s)",
            request.method,
            request.url.path,
            str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
        )
        headers = {"Retry-After": str(RETRY_AFTER_S)}
        render = as_page(request)
        if render is not None:
            response = render(
                request,
                503,
                "The service cannot reach its database right now. "
                "Please try again in a few seconds.",
            )
            response.headers.update(headers)
            return response
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
            render = as_page(request)
            if render is not None:
                return render(request, 404, "There is no page at this address.")
        if exc.status_code == 405:
            message = "this endpoint does not accept that method"
        return JSONResponse(
            _body(exc.status_code, message, "http", []),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )
