"""The project's errors: what went wrong, in words a person understands, without a protocol.

Use cases, services and repositories raise these; only the edges translate them: the HTTP API to
a status code and ``{"detail", "code", "errors"}``, the portal to an error page or a message on
the form, the OCPP central system to a CALLERROR, the MQTT bridge to a refused reply.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """Base of the project's errors. ``code`` is a stable machine word; ``errors`` lists
    ``{"field", "message"}`` pairs when particular inputs are at fault."""

    code = "error"

    def __init__(
        self,
        message: str,
        errors: list[dict[str, Any]] | None = None,
        *,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or []
        if code is not None:
            self.code = code


class NotFound(AppError):
    """The object does not exist, or the caller may not know that it does."""

    code = "not_found"

    def __init__(self, kind: str, message: str | None = None, *, code: str | None = None) -> None:
        super().__init__(message or f"{kind} not found", code=code)
        self.kind = kind


class Forbidden(AppError):
    """The caller may see the object but not do this to it."""

    code = "forbidden"


class Unauthenticated(AppError):
    """No credential, or one that is not (or no longer) valid."""

    code = "unauthenticated"

    def __init__(self, message: str, *, scheme: str = "Bearer", code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.scheme = scheme


class Invalid(AppError):
    """The input breaks a rule; ``errors`` says which fields, where known."""

    code = "bad_request"


class TooLarge(Invalid):
    """The input is bigger than the operation accepts (a file, a batch, a body)."""

    code = "too_large"


class UnsupportedMedia(Invalid):
    """The input is of a kind the operation cannot read (an image format, a file type)."""

    code = "bad_media_type"


class Rejected(Invalid):
    """The input is well-formed but its content cannot be carried out as asked (a tariff whose
    slots overlap, a schedule that does not fit, a command outside a device's range)."""

    code = "rejected"


class Conflict(AppError):
    """The request is well-formed but the state of things does not allow it now."""

    code = "conflict"


class TooMany(AppError):
    """Too many attempts or requests; try again after ``retry_after_s`` seconds."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Unavailable(AppError):
    """A part the operation needs (the database, a broker, a device link) cannot serve now;
    worth retrying after ``retry_after_s`` seconds."""

    code = "unavailable"

    def __init__(self, message: str, retry_after_s: int = 5) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
