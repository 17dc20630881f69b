"""Errors as JSON a person can read: ``{"detail": message, "code": code, "errors": [...]}``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException


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
}


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
