"""Typed domain errors. Each carries its HTTP status and a stable code; the mapping to an HTTP
response happens once, in :mod:`asusual.api`."""

from __future__ import annotations

from http import HTTPStatus


class AsusualError(Exception):
    status: HTTPStatus = HTTPStatus.INTERNAL_SERVER_ERROR
    code: str = "internal_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class BadRequest(AsusualError):
    """The request body cannot be used at all (unparseable, oversized, wrong shape)."""

    status = HTTPStatus.BAD_REQUEST
    code = "bad_request"


class Unauthorized(AsusualError):
    status = HTTPStatus.UNAUTHORIZED
    code = "unauthorized"


class Forbidden(AsusualError):
    status = HTTPStatus.FORBIDDEN
    code = "forbidden"


class NotFound(AsusualError):
    status = HTTPStatus.NOT_FOUND
    code = "not_found"


class Conflict(AsusualError):
    status = HTTPStatus.CONFLICT
    code = "conflict"


class RetryLater(AsusualError):
    """An error the client should retry after ``retry_after`` seconds (sent as Retry-After)."""

    def __init__(self, message: str, *, retry_after: int = 1, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = max(1, retry_after)


class Throttled(RetryLater):
    """Too many requests."""

    status = HTTPStatus.TOO_MANY_REQUESTS
    code = "throttled"


class TransientError(RetryLater):
    """A dependency failed in a way a retry may fix (clients retry 5xx)."""

    status = HTTPStatus.SERVICE_UNAVAILABLE
    code = "unavailable"
