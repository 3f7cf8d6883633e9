"""Input limits through HTTP: every body, list and free-text string is bounded, a violation is a 413 or 422
with the JSON error body, the OpenAPI document says so, and the template's route throttles work locally."""

from __future__ import annotations

import json
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import pytest
from exam_core.models.api import (
    MAX_COMMENT_CHARS,
    MAX_IMPORT_ITEMS,
    MAX_KEY_OPTIONS,
    MAX_RESPONSES_PER_REQUEST,
    MAX_SELECTED,
)
from exam_core.settings import Settings

from tests.e2e.conftest import Api, Reply, running_server
from tests.e2e.test_bad_inputs import assert_error, header

EXAM = "clf-c02"
SOME_ID = "0" * 32
SOME_QUESTION = "q0123456789"
KEY = {"X-Api-Key": "demo-partner-key"}
ADMIN = {"Authorization": "Bearer demo-admin-token"}
CANDIDATE = {"Authorization": "Bearer dev:limits-candidate"}
TOKEN = {"X-Attempt-Token": "not-a-real-token"}
BODY_LIMIT = int(Settings.model_fields["max_body_bytes"].default)
ADMIN_BODY_LIMIT = int(Settings.model_fields["admin_max_body_bytes"].default)
GATEWAY_LIMIT = 10 * 1024 * 1024

# Every route that reads a body, with the headers that get it past API Gateway's own checks.
BODY_ROUTES: list[tuple[str, str, dict[str, str], int]] = [
    ("POST", "/attempts", {}, BODY_LIMIT),
    ("PUT", f"/attempts/{SOME_ID}/responses", TOKEN, BODY_LIMIT),
    ("POST", f"/attempts/{SOME_ID}/submit", TOKEN, BODY_LIMIT),
    ("POST", f"/attempts/{SOME_ID}/questions/{SOME_QUESTION}/report", TOKEN, BODY_LIMIT),
    ("POST", "/diagnostics", KEY, BODY_LIMIT),
    ("POST", f"/diagnostics/{SOME_ID}/submit", {**KEY, **TOKEN}, BODY_LIMIT),
    ("POST", "/me/attempts", CANDIDATE, BODY_LIMIT),
    ("PUT", f"/me/attempts/{SOME_ID}/responses", CANDIDATE, BODY_LIMIT),
    ("POST", f"/me/attempts/{SOME_ID}/submit", CANDIDATE, BODY_LIMIT),
    ("PUT", "/admin/items", ADMIN, ADMIN_BODY_LIMIT),
    ("PATCH", "/admin/items/some-item", ADMIN, ADMIN_BODY_LIMIT),
]


def padded(size: int) -> bytes:
    """A JSON object of exactly ``size`` bytes (its one field is unknown to every schema)."""
    shell = b'{"pad":""}'
    return shell[:-2] + b"x" * (size - len(shell)) + shell[-2:]


def template_path(path: str) -> str:
    return path.replace(SOME_ID, "{attemptId}").replace(SOME_QUESTION, "{questionId}").replace("some-item", "{itemId}")


# ---------------------------------------------------------------- body size


@pytest.mark.parametrize(
    ("method", "path", "headers", "limit"), BODY_ROUTES, ids=[f"{m} {p}" for m, p, _, _ in BODY_ROUTES]
)
def test_a_body_over_the_limit_is_413_and_one_at_the_limit_is_read(
    api: Api, method: str, path: str, headers: dict[str, str], limit: int
) -> None:
    over = api.call(method, path, raw=padded(limit + 1), headers=headers)
    error = assert_error(over, 413, "payload_too_large")
    assert error["details"] == [{"maxBytes": limit}]
    assert header(over, "Access-Control-Allow-Origin") == "*"
    at = api.call(method, path, raw=padded(limit), headers=headers)
    assert at.status != 413 and at.status < 500, (at.status, at.raw[:300])  # read and judged on its content


def test_a_body_over_api_gateways_limit_is_refused_unread_with_the_error_body(api: Api) -> None:
    """Over 10 MB API Gateway answers itself (REQUEST_TOO_LARGE in template.yaml); the body is never sent."""
    url = urlsplit(api.base)
    with socket.create_connection((url.hostname, url.port), timeout=10) as s:
        request = (
            f"POST /attempts HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {GATEWAY_LIMIT + 1}\r\n\r\n"
        )
        s.sendall(request.encode())
        raw = b""
        while chunk := s.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == b"413", head
    assert b"access-control-allow-origin: *" in head.lower()
    assert json.loads(body)["error"]["code"] == "payload_too_large"


# ---------------------------------------------------------------- lists and strings


def response(i: int, selected: list[str] | None = None) -> dict[str, Any]:
    return {"questionId": f"q{i:010x}", "selected": selected if selected is not None else ["a"]}


def too_long(reply: Reply, *loc: str | int) -> None:
    """422 invalid_request whose details name the field (by its path) and say it is too long or too big."""
    error = assert_error(reply, 422, "invalid_request")
    hits = [d for d in error["details"] if tuple(d["loc"][-len(loc) :]) == loc]
    assert hits, error["details"]
    assert any(str(d["type"]).endswith(("too_long", "less_than_equal")) for d in hits), hits


@pytest.fixture(scope="module")
def attempt(api: Api) -> tuple[str, dict[str, str], str]:
    created = api.post("/attempts", {"examId": EXAM, "mode": "full"})
    assert created.status == 201, created.raw[:300]
    body = created.body
    return body["attemptId"], {"X-Attempt-Token": body["attemptToken"]}, body["questions"][0]["questionId"]


@pytest.mark.parametrize("route", ["responses", "submit"])
def test_more_responses_than_the_longest_form_is_422_and_saves_nothing(
    api: Api, attempt: tuple[str, dict[str, str], str], route: str
) -> None:
    attempt_id, token, _ = attempt
    body = {"responses": [response(i) for i in range(MAX_RESPONSES_PER_REQUEST + 1)]}
    call = api.put if route == "responses" else api.post
    too_long(call(f"/attempts/{attempt_id}/{route}", body, headers=token), "responses")
    state = api.get(f"/attempts/{attempt_id}", headers=token).body
    assert state["status"] == "in_progress" and state["responses"] == []


def test_more_selections_than_option_ids_is_422(api: Api, attempt: tuple[str, dict[str, str], str]) -> None:
    attempt_id, token, question = attempt
    selected = ["a", "b", "c", "d", "e", "f", "a"][: MAX_SELECTED + 1]
    body = {"responses": [{"questionId": question, "selected": selected}]}
    too_long(api.put(f"/attempts/{attempt_id}/responses", body, headers=token), "responses", 0, "selected")


def test_a_report_comment_over_the_limit_is_422_and_one_at_the_limit_is_recorded(
    api: Api, attempt: tuple[str, dict[str, str], str]
) -> None:
    attempt_id, token, question = attempt
    path = f"/attempts/{attempt_id}/questions/{question}/report"
    over = api.post(path, {"reason": "unclear", "comment": "x" * (MAX_COMMENT_CHARS + 1)}, headers=token)
    too_long(over, "comment")
    at = api.post(path, {"reason": "unclear", "comment": "é" * MAX_COMMENT_CHARS}, headers=token)  # characters
    assert at.status == 201, at.raw[:300]


@pytest.mark.parametrize(
    ("path", "body", "loc"),
    [
        ("/attempts", {"examId": "x" * 33}, ("examId",)),
        ("/diagnostics", {"examId": "x" * 33}, ("examId",)),
        ("/me/attempts", {"mode": "unseen", "size": 66}, ("size",)),
        ("/me/attempts", {"mode": "domain", "domainId": "d" * 65}, ("domainId",)),
    ],
)
def test_start_requests_are_bounded(api: Api, path: str, body: dict[str, Any], loc: tuple[str, ...]) -> None:
    headers = KEY if path == "/diagnostics" else CANDIDATE if path.startswith("/me") else {}
    reply = api.post(path, body, headers=headers)
    error = assert_error(reply, 422, "invalid_request")
    assert any(tuple(d["loc"][-len(loc) :]) == loc for d in error["details"]), error["details"]


def test_candidate_and_diagnostic_saves_are_bounded_like_anonymous_ones(api: Api) -> None:
    body = {"responses": [response(i) for i in range(MAX_RESPONSES_PER_REQUEST + 1)]}
    too_long(api.put(f"/me/attempts/{SOME_ID}/responses", body, headers=CANDIDATE), "responses")
    too_long(api.post(f"/me/attempts/{SOME_ID}/submit", body, headers=CANDIDATE), "responses")
    too_long(api.post(f"/diagnostics/{SOME_ID}/submit", body, headers={**KEY, **TOKEN}), "responses")


def test_admin_bodies_are_bounded(api: Api) -> None:
    items = api.put("/admin/items", {"examId": EXAM, "items": [{}] * (MAX_IMPORT_ITEMS + 1)}, headers=ADMIN)
    too_long(items, "items")
    patch = "/admin/items/some-item"
    too_long(api.call("PATCH", patch, {"reason": "r" * (MAX_COMMENT_CHARS + 1)}, headers=ADMIN), "reason")
    keys = ["a", "b", "c", "d", "e", "f"][: MAX_KEY_OPTIONS + 1]
    too_long(api.call("PATCH", patch, {"key": keys}, headers=ADMIN), "key")


# ---------------------------------------------------------------- the published schema says the same


@pytest.fixture(scope="module")
def openapi(api: Api) -> dict[str, Any]:
    reply = api.get("/openapi.json")
    assert reply.status == 200
    return reply.body


def test_every_body_route_documents_413_with_the_error_body(openapi: dict[str, Any]) -> None:
    for method, path, _, _ in BODY_ROUTES:
        responses = openapi["paths"][template_path(path)][method.lower()]["responses"]
        assert "413" in responses, (method, path)
        assert responses["413"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
        assert "429" in responses, (method, path)  # every route can meet a throttle


def test_the_schema_publishes_every_list_and_string_bound(openapi: dict[str, Any]) -> None:
    schemas = openapi["components"]["schemas"]

    def prop(model: str, field: str) -> dict[str, Any]:
        found: dict[str, Any] = schemas[model]["properties"][field]
        if "anyOf" in found:  # optional fields: the bound is on the non-null branch
            found = next(s for s in found["anyOf"] if s.get("type") != "null")
        return found

    assert prop("SaveResponsesRequest", "responses")["maxItems"] == MAX_RESPONSES_PER_REQUEST
    assert prop("SubmitRequest", "responses")["maxItems"] == MAX_RESPONSES_PER_REQUEST
    assert prop("ResponseIn", "selected")["maxItems"] == MAX_SELECTED
    assert prop("ProblemReportIn", "comment")["maxLength"] == MAX_COMMENT_CHARS
    assert prop("ImportRequest", "items")["maxItems"] == MAX_IMPORT_ITEMS
    assert prop("ItemPatch", "reason")["maxLength"] == MAX_COMMENT_CHARS
    assert prop("ItemPatch", "key")["maxItems"] == MAX_KEY_OPTIONS


# ---------------------------------------------------------------- route throttles (template MethodSettings)


THROTTLE = {
    "LOCAL_THROTTLE": "1",
    # Rates low enough that refills during the test cannot matter: one token per 5 s, 3 (or 2) at once.
    "LOCAL_PARAMETER_OVERRIDES": ",".join(
        ["AttemptStartRateLimit=0.2", "AttemptStartBurstLimit=3", "ReportRateLimit=0.2", "ReportBurstLimit=2"]
    ),
}


def test_route_throttles_refuse_the_burst_plus_one_and_spare_authenticated_routes() -> None:
    with running_server(THROTTLE) as local:
        began = time.monotonic()
        started = [local.post("/attempts", {"examId": EXAM}) for _ in range(3)]
        assert [r.status for r in started] == [201, 201, 201], [r.raw[:200] for r in started]
        refused = local.post("/attempts", {"examId": EXAM})
        assert time.monotonic() - began < 5, "too slow for the 0.2/s refill to be negligible"
        error = assert_error(refused, 429, "too_many_requests")
        assert error["details"] == []
        assert header(refused, "Retry-After") == "1" and header(refused, "Access-Control-Allow-Origin") == "*"

        # Signed-in candidates and partner keys have their own routes, under the stage's (high) throttle.
        for i in range(5):
            mine = local.post("/me/attempts", {"examId": EXAM}, headers={"Authorization": f"Bearer dev:c{i}"})
            assert mine.status == 201, mine.raw[:200]
            diagnostic = local.post("/diagnostics", {"examId": EXAM}, headers=KEY)
            assert diagnostic.status == 201, diagnostic.raw[:200]
        # and an attempt already started is not throttled on its other routes
        first = started[0].body
        token = {"X-Attempt-Token": first["attemptToken"]}
        for _ in range(5):
            assert local.get(f"/attempts/{first['attemptId']}", headers=token).status == 200

        # Problem reports: their own burst (2), far below the per-attempt cap (REPORTS_PER_ATTEMPT).
        report = f"/attempts/{first['attemptId']}/questions/{{}}/report"
        questions = [q["questionId"] for q in first["questions"][:3]]
        replies = [local.post(report.format(q), {"reason": "typo"}, headers=token) for q in questions]
        assert [r.status for r in replies[:2]] == [201, 201]
        assert_error(replies[2], 429, "too_many_requests")
