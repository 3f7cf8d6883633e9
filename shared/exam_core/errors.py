"""Domain errors. Each carries a machine-readable code and the HTTP status the edge maps it to."""

from __future__ import annotations

from typing import Any

UNAVAILABLE_RETRY_SECONDS = 2  # what a 503 tells the client to wait (Retry-After) unless its class says otherwise


class DomainError(Exception):
    status = 400
    code = "bad_request"
    # Seconds after which the same request may succeed, sent as Retry-After: a class sets it (RetryLater's
    # "not yet" 409s), and every 503 (unavailable) has it by default; see ``retry_after``.
    retry_after_seconds: int | None = None

    def __init__(self, message: str, *, code: str | None = None, details: list[Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details: list[Any] = details or []

    @property
    def retry_after(self) -> int | None:
        if self.retry_after_seconds is None and self.status == 503:
            return UNAVAILABLE_RETRY_SECONDS
        return self.retry_after_seconds


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
    retry_after_seconds = UNAVAILABLE_RETRY_SECONDS


class StaleWrite(Exception):
    """A conditional write lost a race (internal: the service re-reads and retries)."""


class AlreadyExists(Exception):
    """A create collided with an existing record (internal)."""
