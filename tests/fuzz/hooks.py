"""Schemathesis hooks for ``make fuzz`` (loaded through ``SCHEMATHESIS_HOOKS=tests.fuzz.hooks``).

- ``error_body_shape``: every 4xx carries the API's JSON error body ``{"error": {"code", "message",
  "details"}}`` with a string code and message and a list of details. The one exception is what API
  Gateway itself answers before any function runs (a refused key, no sign-in, a usage-plan throttle):
  ``{"message": "..."}`` on a 401, 403 or 429, which the document declares for those routes.
- Start requests sometimes name a real exam: the schema allows any ``^[a-z0-9-]{2,32}$`` id, and a
  random one is always a 404, so without this no attempt would ever start and nothing could chain.
- A missing SigV4 signature on the admin routes is API Gateway's ``403 {"message": "Missing Authentication
  Token"}``, not the 401 that ``missing_required_header`` expects whenever ``Authorization`` is missing.
"""

from __future__ import annotations

import json
import re
from typing import Any

import schemathesis
from hypothesis import strategies as st

GATEWAY_STATUSES = {401, 403, 429}
REAL_EXAM = "clf-c02"
START_PATHS = {"/attempts", "/diagnostics", "/me/attempts"}
EXAM_ID = re.compile(r"^[a-z0-9-]{2,32}$")


def error_body_problem(status: int, content: bytes) -> str | None:
    """Why a 4xx body is not the API's error body (or API Gateway's own refusal), or None when it is."""
    try:
        body = json.loads(content)
    except ValueError:
        return f"{status} body is not JSON: {content[:120]!r}"
    if isinstance(body, dict) and set(body) == {"error"} and isinstance(body["error"], dict):
        error = body["error"]
        missing = {"code", "message", "details"} - set(error)
        if missing:
            return f"{status} error body lacks {sorted(missing)}: {body}"
        if not (isinstance(error["code"], str) and error["code"] and isinstance(error["message"], str)):
            return f"{status} error body has a bad code or message: {body}"
        if not isinstance(error["details"], list):
            return f"{status} error details is not a list: {body}"
        return None
    is_gateway = isinstance(body, dict) and set(body) == {"message"} and isinstance(body["message"], str)
    if is_gateway and status in GATEWAY_STATUSES:
        return None
    return f"{status} body is not the JSON error body: {str(body)[:200]}"


@schemathesis.check
def error_body_shape(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 4xx must carry ``{"error": {"code", "message", "details"}}`` (or API Gateway's own refusal)."""
    if not 400 <= response.status_code < 500:
        return None
    problem = error_body_problem(response.status_code, response.content)
    if problem is not None:
        raise AssertionError(problem)
    return True


def _with_real_exam(body: Any) -> Any:
    # Only a body whose examId is already a valid id: swapping it cannot turn a negative case positive.
    if isinstance(body, dict) and isinstance(body.get("examId"), str) and EXAM_ID.match(body["examId"]):
        return {**body, "examId": REAL_EXAM}
    return body


@schemathesis.hook("before_generate_body")
def real_exam_sometimes(ctx: Any, strategy: Any) -> Any:
    operation = ctx.operation
    if operation is None or operation.method.upper() != "POST" or operation.path not in START_PATHS:
        return strategy
    return st.one_of(strategy.map(_with_real_exam), strategy)


IAM_ROUTES = "/admin/"
MISSING_SIGNATURE = {"message": "Missing Authentication Token"}


def is_api_gateway_missing_signature(failure: Any, case: Any, status: int, content: bytes) -> bool:
    """A missing_required_header failure for Authorization on an AWS_IAM route answered as API Gateway answers it.

    The admin routes' SigV4 scheme is declared as API Gateway declares it (an apiKey in ``Authorization``), and
    API Gateway refuses a request without a signature with ``403 {"message": "Missing Authentication Token"}``
    (so does the local gateway); schemathesis expects 401 whenever ``Authorization`` is missing.
    """
    if getattr(failure, "header_name", "").lower() != "authorization" or status != 403:
        return False
    if not str(case.operation.path).startswith(IAM_ROUTES):
        return False
    try:
        return bool(json.loads(content) == MISSING_SIGNATURE)
    except ValueError:
        return False


@schemathesis.hook("filter_failure")
def api_gateway_refuses_a_missing_signature_with_403(ctx: Any, failure: Any, case: Any, response: Any) -> bool:
    return not is_api_gateway_missing_signature(failure, case, response.status_code, response.content)
