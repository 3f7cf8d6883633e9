"""The HTTP edge's error answers: Retry-After comes from the error class; refusals made before the
resolver runs keep the usual error shape."""

from __future__ import annotations

import json
from typing import Any

import pytest
from exam_core.assembly import BankTooSmall
from exam_core.errors import Conflict, DomainError, RetryLater, Throttled
from exam_core.http import build_resolver, handle


def _event(method: str = "GET", path: str = "/boom", body: str | None = None, **headers: str) -> dict[str, Any]:
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {"resourcePath": path, "httpMethod": method, "stage": "v1", "identity": {}},
        "body": body,
        "isBase64Encoded": False,
    }


def _raising(exc: DomainError) -> dict[str, Any]:
    app = build_resolver()

    @app.get("/boom")
    def boom() -> dict[str, str]:
        raise exc

    return handle(app, _event(), None)


@pytest.mark.parametrize(
    ("exc", "status", "retry_after"),
    [
        (Throttled("busy", code="database_busy"), 503, "2"),
        (BankTooSmall("too few items"), 503, "2"),
        (RetryLater("changing", code="attempt_busy"), 409, "2"),
        (RetryLater("running", code="idempotency_in_progress"), 409, "2"),
        (Conflict("submitted", code="attempt_submitted"), 409, None),
        (DomainError("bad"), 400, None),
    ],
)
def test_given_a_domain_error_then_retry_after_is_sent_exactly_when_its_class_says_so(
    exc: DomainError, status: int, retry_after: str | None
) -> None:
    reply = _raising(exc)
    assert reply["statusCode"] == status
    assert json.loads(reply["body"])["error"]["code"] == exc.code
    sent = reply.get("multiValueHeaders") or {}  # the REST resolver answers with multi-value headers
    assert sent.get("Retry-After") == ([retry_after] if retry_after else None)


def _subclasses(cls: type[DomainError]) -> list[type[DomainError]]:
    return [cls, *(sub for direct in cls.__subclasses__() for sub in _subclasses(direct))]


def test_given_every_domain_error_class_then_each_503_says_when_to_retry() -> None:
    unavailable = [cls for cls in _subclasses(DomainError) if cls.status >= 500]
    assert Throttled in unavailable and BankTooSmall in unavailable
    assert all(cls("unavailable").retry_after for cls in unavailable)


@pytest.mark.parametrize(
    ("event", "status", "code"),
    [
        (_event("POST", body='{"a": 1}', **{"Content-Type": "text/plain"}), 415, "unsupported_media_type"),
        (_event("POST", body="[1, 2]", **{"Content-Type": "application/json"}), 422, "invalid_request"),
        (_event("POST", body="x" * 70_000, **{"Content-Type": "application/json"}), 413, "payload_too_large"),
    ],
)
def test_given_a_body_refused_before_the_resolver_then_the_usual_error_shape_with_cors(
    event: dict[str, Any], status: int, code: str
) -> None:
    app = build_resolver()
    reply = handle(app, event, None)
    assert reply["statusCode"] == status
    assert reply["headers"] == {"Content-Type": "application/json", "Access-Control-Allow-Origin": "*"}
    error = json.loads(reply["body"])["error"]
    assert error["code"] == code and isinstance(error["message"], str) and isinstance(error["details"], list)
    assert reply["isBase64Encoded"] is False
