"""Every bad input is a clear 4xx with the JSON error body, never a 500, and never loses saved answers."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.conftest import Api, Reply, running_server

EXAM = "clf-c02"
NOWHERE = "0" * 32  # a well-formed attempt id that no attempt has


# ---------------------------------------------------------------- helpers


def tok(token: str) -> dict[str, str]:
    return {"X-Attempt-Token": token}


def header(reply: Reply, name: str) -> str | None:
    return next((v for k, v in reply.headers.items() if k.lower() == name.lower()), None)


def assert_error(reply: Reply, status: int | tuple[int, ...], code: str | tuple[str, ...]) -> dict[str, Any]:
    """A 4xx with exactly {"error": {"code", "message", "details"}} as JSON."""
    statuses = status if isinstance(status, tuple) else (status,)
    codes = code if isinstance(code, tuple) else (code,)
    assert reply.status < 500, reply.raw[:500]
    assert reply.status in statuses, (reply.status, reply.raw[:500])
    assert (header(reply, "Content-Type") or "").startswith("application/json")
    assert isinstance(reply.body, dict), reply.raw[:500]
    assert set(reply.body) == {"error"}
    error = reply.body["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] in codes, error
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], list)
    return error


def start(api: Api) -> dict[str, Any]:
    reply = api.post("/attempts", {"examId": EXAM, "mode": "full"})
    assert reply.status == 201, reply.raw
    return reply.body


@dataclass
class Victim:
    """An in-progress attempt with a few saved answers that no rejected request may change."""

    api: Api
    created: dict[str, Any]
    snapshot: list[dict[str, Any]]

    @property
    def id(self) -> str:
        return self.created["attemptId"]

    @property
    def path(self) -> str:
        return f"/attempts/{self.id}"

    @property
    def headers(self) -> dict[str, str]:
        return tok(self.created["attemptToken"])

    def question(self, kind: str, max_options: int = 6) -> dict[str, Any]:
        return next(q for q in self.created["questions"] if q["type"] == kind and len(q["options"]) <= max_options)

    def assert_untouched(self) -> None:
        reply = self.api.get(self.path, headers=self.headers)
        assert reply.status == 200, reply.raw
        assert reply.body["status"] == "in_progress"
        assert reply.body["result"] is None
        assert reply.body["responses"] == self.snapshot  # same selections, flags and savedAt


@pytest.fixture(scope="module")
def victim(api: Api) -> Victim:
    created = start(api)
    v = Victim(api, created, [])
    single, multi = v.question("single"), v.question("multiple")
    other = next(q for q in created["questions"] if q not in (single, multi))
    ids = [o["id"] for o in multi["options"]]
    saved = api.put(
        f"{v.path}/responses",
        {
            "responses": [
                {"questionId": single["questionId"], "selected": ["a"], "flagged": True},
                {"questionId": multi["questionId"], "selected": ids[: multi["selectCount"]]},
                {"questionId": other["questionId"], "flagged": True},
            ]
        },
        headers=v.headers,
    )
    assert saved.status == 200, saved.raw
    v.snapshot = api.get(v.path, headers=v.headers).body["responses"]
    assert len(v.snapshot) == 3
    return v


# ---------------------------------------------------------------- starting an attempt


def test_unknown_exam_is_404(api: Api) -> None:
    error = assert_error(api.post("/attempts", {"examId": "saa-c03", "mode": "full"}), 404, "exam_not_found")
    assert error["details"] == [{"examId": "saa-c03"}]


@pytest.mark.parametrize(
    "raw",
    [
        b"{bad",
        b'{"examId": "clf-c02",}',
        b'{"examId": "clf-',
        b"\xff\xfe\x00",
        b"{'examId': 'clf-c02'}",
    ],
    ids=["brace", "trailing-comma", "truncated", "not-utf8", "single-quotes"],
)
def test_malformed_json_start_is_400(api: Api, raw: bytes) -> None:
    assert_error(api.post("/attempts", raw=raw), 400, "malformed_json")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"null",
        b"[]",
        b'"clf-c02"',
        b"42",
        b"{}",
        b'{"mode": "full"}',
        b'{"examId": 5}',
        b'{"examId": null}',
        b'{"examId": ["clf-c02"]}',
        b'{"examId": {"id": "clf-c02"}}',
        b'{"examId": "CLF-C02"}',
        b'{"examId": "../../etc/passwd"}',
        b'{"examId": "' + b"a" * 40 + b'"}',
        b'{"examId": "clf-c02", "mode": "diagnostic"}',
        b'{"examId": "clf-c02", "mode": 1}',
        b'{"examId": "clf-c02", "mode": null}',
        b'{"examId": "clf-c02", "candidateId": "me"}',
        b'{"examId": "clf-c02", "durationSeconds": 99999}',
    ],
)
def test_invalid_start_request_is_422(api: Api, body: bytes) -> None:
    error = assert_error(api.post("/attempts", raw=body), 422, "invalid_request")
    assert error["details"]
    for d in error["details"]:
        assert set(d) == {"loc", "type", "message"}
        assert d["loc"][0] == "body"


def test_validation_errors_do_not_echo_values(api: Api) -> None:
    marker = "<script>alert(1)</script>"
    reply = api.post("/attempts", {"examId": marker})
    assert_error(reply, 422, "invalid_request")
    assert b"script" not in reply.raw


# ---------------------------------------------------------------- saving responses: schema errors


def bad_save_bodies() -> list[tuple[str, Callable[[Victim], Any]]]:
    def single(v: Victim) -> str:
        return v.question("single")["questionId"]

    return [
        ("empty-body", lambda v: b""),
        ("null", lambda v: b"null"),
        ("list", lambda v: json.dumps([{"questionId": single(v), "selected": ["b"]}]).encode()),
        ("no-responses", lambda v: {}),
        ("empty-responses", lambda v: {"responses": []}),
        ("null-responses", lambda v: {"responses": None}),
        ("object-responses", lambda v: {"responses": {"questionId": single(v), "selected": ["b"]}}),
        ("missing-question-id", lambda v: {"responses": [{"selected": ["b"]}]}),
        ("numeric-question-id", lambda v: {"responses": [{"questionId": 7, "selected": ["b"]}]}),
        ("item-id-as-question-id", lambda v: {"responses": [{"questionId": "clf-2.3-004", "selected": ["b"]}]}),
        ("string-selected", lambda v: {"responses": [{"questionId": single(v), "selected": "b"}]}),
        ("null-selected", lambda v: {"responses": [{"questionId": single(v), "selected": None}]}),
        ("numeric-option", lambda v: {"responses": [{"questionId": single(v), "selected": [1]}]}),
        ("upper-option", lambda v: {"responses": [{"questionId": single(v), "selected": ["B"]}]}),
        ("option-g", lambda v: {"responses": [{"questionId": single(v), "selected": ["g"]}]}),
        ("seven-options", lambda v: {"responses": [{"questionId": single(v), "selected": list("abcdefa")}]}),
        ("null-flag", lambda v: {"responses": [{"questionId": single(v), "selected": ["b"], "flagged": None}]}),
        ("list-flag", lambda v: {"responses": [{"questionId": single(v), "selected": ["b"], "flagged": [True]}]}),
        ("extra-field", lambda v: {"responses": [{"questionId": single(v), "selected": ["b"], "correct": True}]}),
        ("extra-top-field", lambda v: {"responses": [{"questionId": single(v), "selected": ["b"]}], "submit": True}),
        ("too-many", lambda v: {"responses": [{"questionId": single(v), "selected": ["b"]}] * 66}),
    ]


@pytest.mark.parametrize(("name", "make"), bad_save_bodies(), ids=[n for n, _ in bad_save_bodies()])
def test_invalid_save_request_is_422_and_saves_nothing(
    victim: Victim, name: str, make: Callable[[Victim], Any]
) -> None:
    body = make(victim)
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    reply = victim.api.put(f"{victim.path}/responses", raw=raw, headers=victim.headers)
    error = assert_error(reply, 422, "invalid_request")
    assert error["details"], name
    victim.assert_untouched()


def test_malformed_json_save_is_400_and_saves_nothing(victim: Victim) -> None:
    reply = victim.api.put(f"{victim.path}/responses", raw=b'{"responses": [', headers=victim.headers)
    assert_error(reply, 400, "malformed_json")
    victim.assert_untouched()


def test_malformed_json_submit_is_400_and_submits_nothing(victim: Victim) -> None:
    reply = victim.api.post(f"{victim.path}/submit", raw=b"{submit", headers=victim.headers)
    assert_error(reply, 400, "malformed_json")
    victim.assert_untouched()


# ---------------------------------------------------------------- saving responses: answers that do not fit


def invalid_answers() -> list[tuple[str, Callable[[Victim], list[dict[str, Any]]], str]]:
    def single(v: Victim) -> dict[str, Any]:
        return v.question("single", max_options=5)

    def multi(v: Victim) -> dict[str, Any]:
        return v.question("multiple")

    def beyond(q: dict[str, Any]) -> str:
        return chr(ord("a") + len(q["options"]))

    def ids(q: dict[str, Any]) -> list[str]:
        return [o["id"] for o in q["options"]]

    return [
        ("unknown-question", lambda v: [{"questionId": "q" + "0" * 10, "selected": ["a"]}], "unknown_question"),
        (
            "question-of-another-attempt",
            lambda v: [{"questionId": start(v.api)["questions"][0]["questionId"], "selected": ["a"]}],
            "unknown_question",
        ),
        (
            "unknown-option",
            lambda v: [{"questionId": single(v)["questionId"], "selected": [beyond(single(v))]}],
            "unknown_option",
        ),
        (
            "two-for-single",
            lambda v: [{"questionId": single(v)["questionId"], "selected": ["b", "c"]}],
            "too_many_selections",
        ),
        (
            "all-for-single",
            lambda v: [{"questionId": single(v)["questionId"], "selected": ids(single(v))}],
            "too_many_selections",
        ),
        (
            "too-many-for-multiple",
            lambda v: [
                {"questionId": multi(v)["questionId"], "selected": ids(multi(v))[: multi(v)["selectCount"] + 1]}
            ],
            "too_many_selections",
        ),
        (
            "duplicate-option",
            lambda v: [{"questionId": single(v)["questionId"], "selected": ["b", "b"]}],
            "duplicate_option",
        ),
        (
            "one-bad-in-a-batch",
            lambda v: [
                {"questionId": multi(v)["questionId"], "selected": [], "flagged": True},
                {"questionId": single(v)["questionId"], "selected": ["c"]},
                {"questionId": "q" + "f" * 10, "selected": ["a"]},
            ],
            "unknown_question",
        ),
    ]


@pytest.mark.parametrize(("name", "make", "problem"), invalid_answers(), ids=[n for n, _, _ in invalid_answers()])
def test_answers_that_do_not_fit_are_422_and_nothing_is_saved(
    victim: Victim, name: str, make: Callable[[Victim], list[dict[str, Any]]], problem: str
) -> None:
    responses = make(victim)
    reply = victim.api.put(f"{victim.path}/responses", {"responses": responses}, headers=victim.headers)
    error = assert_error(reply, 422, "invalid_responses")
    codes = [d.get("code") for d in error["details"]]
    assert problem in codes, (name, error)
    bad = next(d for d in error["details"] if d.get("code") == problem)
    assert responses[bad["index"]]["questionId"] == bad["questionId"]
    victim.assert_untouched()


def test_submit_with_answers_that_do_not_fit_is_422_and_submits_nothing(api: Api) -> None:
    created = start(api)
    path, headers = f"/attempts/{created['attemptId']}", tok(created["attemptToken"])
    q = created["questions"][0]
    assert (
        api.put(
            f"{path}/responses", {"responses": [{"questionId": q["questionId"], "flagged": True}]}, headers=headers
        ).status
        == 200
    )
    before = api.get(path, headers=headers).body
    for body in (
        {"responses": [{"questionId": "q" + "0" * 10, "selected": ["a"]}]},
        {"responses": [{"questionId": q["questionId"], "selected": ["a", "a"]}]},
    ):
        assert_error(api.post(f"{path}/submit", body, headers=headers), 422, "invalid_responses")
    for raw in (b'{"responses": "all"}', b'{"answers": []}', b"[]"):
        assert_error(api.post(f"{path}/submit", raw=raw, headers=headers), 422, "invalid_request")
    after = api.get(path, headers=headers).body
    assert after["status"] == "in_progress"
    assert after["responses"] == before["responses"]
    assert_error(api.get(f"{path}/review", headers=headers), 409, "attempt_not_submitted")


# ---------------------------------------------------------------- attempt ids and tokens


@pytest.fixture(scope="module")
def nowhere(api: Api) -> Reply:
    """The canonical answer for an attempt that does not exist."""
    reply = api.get(f"/attempts/{NOWHERE}", headers=tok("some-token"))
    assert_error(reply, 403, "attempt_forbidden")
    return reply


def calls(v: Victim) -> dict[str, tuple[str, str, Any]]:
    q = v.question("single")
    return {
        "get": ("GET", "", None),
        "save": ("PUT", "/responses", {"responses": [{"questionId": q["questionId"], "selected": ["d"]}]}),
        "submit": ("POST", "/submit", None),
        "review": ("GET", "/review", None),
    }


@pytest.mark.parametrize("route", ["get", "save", "submit", "review"])
@pytest.mark.parametrize("token", ["missing", "empty", "wrong", "other-attempt"])
def test_wrong_token_is_403_identical_to_no_attempt(
    api: Api, victim: Victim, nowhere: Reply, route: str, token: str
) -> None:
    method, suffix, body = calls(victim)[route]
    if token == "missing":
        headers = {}
    elif token == "empty":
        headers = tok("")
    elif token == "wrong":
        headers = tok(victim.created["attemptToken"][::-1])
    else:
        headers = tok(start(api)["attemptToken"])
    existing = api.call(method, f"{victim.path}{suffix}", body, headers=headers)
    absent = api.call(method, f"/attempts/{uuid.uuid4().hex}{suffix}", body, headers=headers)
    assert_error(existing, 403, "attempt_forbidden")
    assert_error(absent, 403, "attempt_forbidden")
    assert existing.raw == absent.raw == nowhere.raw
    victim.assert_untouched()


def test_unknown_attempt_with_a_real_token_is_403(api: Api, victim: Victim, nowhere: Reply) -> None:
    reply = api.get(f"/attempts/{NOWHERE}", headers=victim.headers)
    assert_error(reply, 403, "attempt_forbidden")
    assert reply.raw == nowhere.raw


def test_token_header_name_is_case_insensitive(api: Api, victim: Victim) -> None:
    reply = api.get(victim.path, headers={"x-attempt-token": victim.created["attemptToken"]})
    assert reply.status == 200


@pytest.mark.parametrize(
    "attempt_id",
    ["abc", "0" * 31, "0" * 33, "g" * 32, "A" * 32, "0" * 31 + "-", "x" * 2000, "%00" + "0" * 29, "..%2F..%2Fexams"],
)
@pytest.mark.parametrize("route", ["", "/responses", "/submit", "/review"])
def test_malformed_attempt_id_is_422_or_403(api: Api, victim: Victim, attempt_id: str, route: str) -> None:
    method = {"": "GET", "/responses": "PUT", "/submit": "POST", "/review": "GET"}[route]
    body = {"responses": [{"questionId": "q" + "0" * 10, "selected": ["a"]}]} if method == "PUT" else None
    reply = api.call(method, f"/attempts/{attempt_id}{route}", body, headers=victim.headers)
    assert_error(reply, (422, 403), ("invalid_request", "attempt_forbidden"))


def test_upper_case_id_of_a_real_attempt_is_not_that_attempt(api: Api, victim: Victim) -> None:
    reply = api.get(f"/attempts/{victim.id.upper()}", headers=victim.headers)
    assert_error(reply, (422, 403), ("invalid_request", "attempt_forbidden"))


# ---------------------------------------------------------------- state conflicts and routes


def test_review_before_submission_is_409(victim: Victim) -> None:
    reply = victim.api.get(f"{victim.path}/review", headers=victim.headers)
    assert_error(reply, 409, "attempt_not_submitted")
    assert b"explanation" not in reply.raw
    victim.assert_untouched()


@pytest.fixture(scope="module")
def submitted(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    created = start(api)
    path, headers = f"/attempts/{created['attemptId']}", tok(created["attemptToken"])
    q = created["questions"][0]
    assert (
        api.put(
            f"{path}/responses", {"responses": [{"questionId": q["questionId"], "selected": ["a"]}]}, headers=headers
        ).status
        == 200
    )
    assert api.post(f"{path}/submit", headers=headers).status == 200
    after = api.get(path, headers=headers)
    assert after.body["status"] == "submitted"
    return created, after.body


@pytest.mark.parametrize("which", ["valid", "change", "flag", "unknown-question", "too-many"])
def test_responses_to_a_submitted_attempt_are_409(
    api: Api, submitted: tuple[dict[str, Any], dict[str, Any]], which: str
) -> None:
    created, before = submitted
    path, headers = f"/attempts/{created['attemptId']}", tok(created["attemptToken"])
    q0, q1 = created["questions"][0], created["questions"][1]
    response = {
        "valid": {"questionId": q1["questionId"], "selected": ["a"]},
        "change": {"questionId": q0["questionId"], "selected": ["b"]},
        "flag": {"questionId": q0["questionId"], "selected": ["a"], "flagged": True},
        "unknown-question": {"questionId": "q" + "0" * 10, "selected": ["a"]},
        "too-many": {"questionId": q0["questionId"], "selected": ["a", "b", "c", "d"]},
    }[which]
    reply = api.put(f"{path}/responses", {"responses": [response]}, headers=headers)
    assert_error(reply, 409, "attempt_submitted")
    after = api.get(path, headers=headers).body
    assert after["responses"] == before["responses"]
    assert after["result"] == before["result"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nowhere"),
        ("GET", "/nope"),
        ("GET", "/attempts"),
        ("POST", "/exams"),
        ("GET", "/exams/clf-c02"),
        ("DELETE", f"/attempts/{NOWHERE}"),
        ("PATCH", f"/attempts/{NOWHERE}"),
        ("GET", f"/attempts/{NOWHERE}/responses"),
        ("PUT", f"/attempts/{NOWHERE}/submit"),
        ("POST", f"/attempts/{NOWHERE}/review"),
        ("GET", f"/attempts/{NOWHERE}/review/extra"),
        ("GET", "/v1/exams"),
    ],
)
def test_unknown_route_is_404(api: Api, method: str, path: str) -> None:
    assert_error(api.call(method, path, headers=tok("x")), 404, "route_not_found")


# ---------------------------------------------------------------- bodies that are not JSON, or absurd JSON


def body_routes(v: Victim) -> dict[str, tuple[str, str, bytes]]:
    q = v.question("single")
    save = json.dumps({"responses": [{"questionId": q["questionId"], "selected": ["b"]}]}).encode()
    return {
        "start": ("POST", "/attempts", b'{"examId": "clf-c02"}'),
        "save": ("PUT", f"{v.path}/responses", save),
        "submit": ("POST", f"{v.path}/submit", b'{"responses": []}'),
    }


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "text/json"])
@pytest.mark.parametrize("route", ["start", "save", "submit"])
def test_a_non_json_content_type_is_415(victim: Victim, route: str, content_type: str) -> None:
    """Regression: a body of another media type was a 500 internal_error (RequestUnsupportedContentType)."""
    method, path, raw = body_routes(victim)[route]
    reply = victim.api.call(method, path, raw=raw, headers={**victim.headers, "Content-Type": content_type})
    assert_error(reply, 415, "unsupported_media_type")
    victim.assert_untouched()


def test_json_with_a_charset_is_accepted(api: Api) -> None:
    reply = api.post(
        "/attempts", raw=b'{"examId": "clf-c02"}', headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert reply.status == 201, reply.raw[:300]


def test_media_type_is_case_insensitive(api: Api) -> None:
    reply = api.post("/attempts", raw=b'{"examId": "clf-c02"}', headers={"Content-Type": "APPLICATION/JSON"})
    assert reply.status == 201, reply.raw[:300]


@pytest.mark.parametrize("route", ["start", "save"])
def test_multipart_without_a_boundary_is_a_4xx(victim: Victim, route: str) -> None:
    method, path, raw = body_routes(victim)[route]
    reply = victim.api.call(method, path, raw=raw, headers={**victim.headers, "Content-Type": "multipart/form-data"})
    try:
        assert_error(reply, (400, 415, 422), ("malformed_body", "unsupported_media_type", "invalid_request"))
    finally:
        victim.assert_untouched()


def test_deeply_nested_json_is_400(victim: Victim) -> None:
    """Regression: 100 000 nested arrays (200 kB) raised RecursionError in json.loads and came back as a 500.
    30 000 (60 kB) still are far too deep for the parser and stay under the body limit (64 KiB, else 413)."""
    depth = 30_000
    nested = b"[" * depth + b"]" * depth
    assert_error(victim.api.post("/attempts", raw=nested), 400, "malformed_json")
    reply = victim.api.put(f"{victim.path}/responses", raw=b'{"responses": ' + nested + b"}", headers=victim.headers)
    assert_error(reply, 400, "malformed_json")
    victim.assert_untouched()


@pytest.mark.parametrize("flag", ["yes", "true", 1, 0, "on"], ids=["yes", "true-string", "one", "zero", "on"])
def test_a_string_or_number_flag_is_422(victim: Victim, flag: Any) -> None:
    """Regression: "flagged": "yes" (or 1, "on") was coerced to true and saved with 200."""
    q = victim.question("single")
    reply = victim.api.put(
        f"{victim.path}/responses",
        {"responses": [{"questionId": q["questionId"], "selected": ["b"], "flagged": flag}]},
        headers=victim.headers,
    )
    assert_error(reply, 422, "invalid_request")
    victim.assert_untouched()


# ---------------------------------------------------------------- an attempt that runs out of time


@pytest.fixture(scope="module")
def short_api() -> Iterator[Api]:
    with running_server({"DURATION_OVERRIDE_SECONDS": "2", "SUBMIT_GRACE_SECONDS": "0"}) as api:
        yield api


@dataclass
class Expired:
    created: dict[str, Any]  # saved an answer, then tried to save after the clock ran out
    early_save: Reply
    late_save: Reply
    read: Reply
    submit: Reply
    review: Reply
    later_save: Reply
    other: dict[str, Any]  # nothing saved; submitted with final answers after the clock ran out
    other_submit: Reply
    other_read: Reply


@pytest.fixture(scope="module")
def expired(short_api: Api) -> Expired:
    api = short_api
    a, b = start(api), start(api)
    path, headers = f"/attempts/{a['attemptId']}", tok(a["attemptToken"])
    q0, q1 = a["questions"][0], a["questions"][1]
    early = api.put(
        f"{path}/responses",
        {"responses": [{"questionId": q0["questionId"], "selected": ["a"], "flagged": True}]},
        headers=headers,
    )
    time.sleep(3.5)
    late = api.put(
        f"{path}/responses", {"responses": [{"questionId": q1["questionId"], "selected": ["a"]}]}, headers=headers
    )
    b_path, b_headers = f"/attempts/{b['attemptId']}", tok(b["attemptToken"])
    b_submit = api.post(
        f"{b_path}/submit",
        {"responses": [{"questionId": b["questions"][0]["questionId"], "selected": ["a"]}]},
        headers=b_headers,
    )
    return Expired(
        created=a,
        early_save=early,
        late_save=late,
        read=api.get(path, headers=headers),
        submit=api.post(f"{path}/submit", headers=headers),
        review=api.get(f"{path}/review", headers=headers),
        later_save=api.put(
            f"{path}/responses", {"responses": [{"questionId": q1["questionId"], "selected": ["b"]}]}, headers=headers
        ),
        other=b,
        other_submit=b_submit,
        other_read=api.get(b_path, headers=b_headers),
    )


def test_short_attempt_uses_the_overridden_duration(expired: Expired) -> None:
    assert expired.created["durationSeconds"] == 2
    assert expired.early_save.status == 200, expired.early_save.raw
    assert 0 <= expired.early_save.body["remainingSeconds"] <= 2


def test_save_after_expiry_is_409_attempt_expired(expired: Expired) -> None:
    assert_error(expired.late_save, 409, "attempt_expired")


def test_expired_attempt_reads_as_submitted_and_timed_out(expired: Expired) -> None:
    reply = expired.read
    assert reply.status == 200, reply.raw
    body = reply.body
    assert body["status"] == "submitted"
    assert body["remainingSeconds"] == 0
    result = body["result"]
    assert result["timedOut"] is True
    assert result["answered"] == 1
    assert result["scored"]["total"] == 50
    assert result["passed"] is False
    assert result["submittedAt"] == expired.created["expiresAt"]


def test_expired_attempt_keeps_the_answer_saved_in_time(expired: Expired) -> None:
    q0, q1 = expired.created["questions"][0], expired.created["questions"][1]
    saved = {r["questionId"]: r for r in expired.read.body["responses"]}
    assert set(saved) == {q0["questionId"]}
    assert saved[q0["questionId"]]["selected"] == ["a"]
    assert saved[q0["questionId"]]["flagged"] is True
    assert q1["questionId"] not in saved


def test_submitting_an_expired_attempt_returns_its_timed_out_result(expired: Expired) -> None:
    assert expired.submit.status == 200, expired.submit.raw
    assert expired.submit.body == expired.read.body["result"]


def test_expired_attempt_can_be_reviewed(expired: Expired) -> None:
    assert expired.review.status == 200, expired.review.raw
    assert expired.review.body["result"] == expired.read.body["result"]
    q0 = expired.created["questions"][0]["questionId"]
    selected = {q["questionId"]: q["selected"] for q in expired.review.body["questions"]}
    assert selected[q0] == ["a"]
    assert sum(1 for s in selected.values() if s) == 1


def test_saving_later_still_is_409(expired: Expired) -> None:
    assert_error(expired.later_save, 409, ("attempt_expired", "attempt_submitted"))
    assert {r["questionId"] for r in expired.read.body["responses"]} == {expired.created["questions"][0]["questionId"]}


def test_final_answers_sent_after_expiry_are_refused_and_not_saved(expired: Expired) -> None:
    assert_error(expired.other_submit, 409, "attempt_expired")
    body = expired.other_read.body
    assert body["status"] == "submitted"
    assert body["responses"] == []
    assert body["result"]["timedOut"] is True
    assert body["result"]["answered"] == 0


@pytest.mark.parametrize(
    "route",
    ["start", "save", "submit"],
)
@pytest.mark.parametrize("body", [b'[{"examId": "clf-c02"}, 42]', b"[null]", b"[{}]", b"  [null, null]"])
def test_a_json_array_body_is_422_and_changes_nothing(victim: Victim, route: str, body: bytes) -> None:
    """Regression (found by make fuzz): Powertools read a top-level array as its first element, so
    ``[{"examId": ...}, 42]`` started an attempt and ``[null]`` submitted one with no answers."""
    if route == "start":
        reply = victim.api.post("/attempts", raw=body)
    elif route == "save":
        reply = victim.api.put(f"{victim.path}/responses", raw=body, headers=victim.headers)
    else:
        reply = victim.api.post(f"{victim.path}/submit", raw=body, headers=victim.headers)
    err = assert_error(reply, 422, "invalid_request")
    assert err["details"] == [{"loc": ["body"], "type": "model_type", "message": "Input should be an object"}]
    victim.assert_untouched()
