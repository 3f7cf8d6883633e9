"""Domain errors. Each carries a machine-readable code and the HTTP status the edge maps it to."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    code = "bad_request"
    # Set on errors after which the same request may succeed: the edge answers with Retry-After.
    retry_after_seconds: int | None = None

    def __init__(self, message: str, *, code: str | None = None, details: list[Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details: list[Any] = details or []


class InvalidInput(DomainError):
    status = 422
    code = "invalid_input"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class RetryLater(Conflict):
    """A 409 that only means "not yet" (the attempt is changing, the first request with this key is still
    running): the same request will succeed shortly, so the answer says when to retry."""

    code = "retry_later"
    retry_after_seconds = 2


class TooManyRequests(DomainError):
    status = 429
    code = "too_many_requests"


class Throttled(DomainError):
    """DynamoDB kept throttling or failing after bounded retries: the client should retry later."""

    status = 503
    code = "service_unavailable"
    retry_after_seconds = 2


class StaleWrite(Exception):
    """A conditional write lost a race (internal: the service re-reads and retries)."""


class AlreadyExists(Exception):
    """A create collided with an existing record (internal)."""
