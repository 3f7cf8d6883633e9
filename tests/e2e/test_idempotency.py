"""Idempotency-Key on the three start routes, over HTTP: a retried start gets the same attempt back."""

from __future__ import annotations

import uuid
from typing import Any

from tests.e2e.conftest import Api

FULL = {"examId": "clf-c02", "mode": "full"}
DIAG = {"examId": "clf-c02"}
PARTNER_A = {"X-Api-Key": "demo-partner-key"}
PARTNER_B = {"X-Api-Key": "second-partner-key"}


def _key() -> str:
    return str(uuid.uuid4())


def _with(key: str, **headers: str) -> dict[str, str]:
    return {"Idempotency-Key": key, **headers}


def _started(api: Api, partner: dict[str, str]) -> int:
    reply = api.get("/partner/summary", headers=partner)
    assert reply.status == 200, reply.body
    return int(reply.body["started"])


def _error(reply: Any, status: int, code: str) -> None:
    assert reply.status == status, reply.body
    assert reply.body["error"]["code"] == code, reply.body


def test_given_a_retried_anonymous_start_then_the_same_attempt_and_token_come_back(api: Api) -> None:
    key = _key()
    first = api.post("/attempts", FULL, headers=_with(key))
    again = api.post("/attempts", FULL, headers=_with(key))
    assert first.status == again.status == 201
    assert again.body == first.body  # id, token, clock and the 65 questions in the same order
    assert again.headers["Location"] == f"/attempts/{first.body['attemptId']}"
    opened = api.get(f"/attempts/{again.body['attemptId']}", headers={"X-Attempt-Token": again.body["attemptToken"]})
    assert opened.status == 200 and opened.body["questionCount"] == 65

    other = api.post("/attempts", FULL, headers=_with(_key()))
    assert other.status == 201 and other.body["attemptId"] != first.body["attemptId"]


def test_given_no_key_then_every_start_is_a_new_attempt(api: Api) -> None:
    a = api.post("/attempts", FULL)
    b = api.post("/attempts", FULL)
    assert a.status == b.status == 201
    assert a.body["attemptId"] != b.body["attemptId"] and a.body["attemptToken"] != b.body["attemptToken"]


def test_given_a_key_reused_with_another_body_then_422_idempotency_key_reused(api: Api) -> None:
    key = _key()
    assert api.post("/attempts", FULL, headers=_with(key)).status == 201
    _error(
        api.post("/attempts", {"examId": "other-exam", "mode": "full"}, headers=_with(key)),
        422,
        "idempotency_key_reused",
    )
    me = {"Authorization": f"Bearer dev:idem-{uuid.uuid4().hex[:12]}"}
    assert api.post("/me/attempts", FULL, headers=_with(key, **me)).status == 201
    practice = {"examId": "clf-c02", "mode": "domain", "domainId": "cloud-concepts", "size": 5}
    _error(api.post("/me/attempts", practice, headers=_with(key, **me)), 422, "idempotency_key_reused")


def test_given_an_invalid_key_then_422_and_nothing_starts(api: Api) -> None:
    before = _started(api, PARTNER_A)
    for bad in ("too-short", "x" * 129, "spaces are not allowed here", "dots.are.not.allowed.either"):
        for path, body, headers in (("/attempts", FULL, {}), ("/diagnostics", DIAG, PARTNER_A)):
            reply = api.post(path, body, headers=_with(bad, **headers))
            _error(reply, 422, "invalid_request")
            assert reply.body["error"]["details"][0]["loc"] == ["header", "idempotency-key"]
    assert _started(api, PARTNER_A) == before


def test_given_two_partners_with_the_same_key_then_each_gets_its_own_diagnostic_once(api: Api) -> None:
    key = _key()
    before_a, before_b = _started(api, PARTNER_A), _started(api, PARTNER_B)
    a1 = api.post("/diagnostics", DIAG, headers=_with(key, **PARTNER_A))
    b1 = api.post("/diagnostics", DIAG, headers=_with(key, **PARTNER_B))
    a2 = api.post("/diagnostics", DIAG, headers=_with(key, **PARTNER_A))
    b2 = api.post("/diagnostics", DIAG, headers=_with(key, **PARTNER_B))
    assert {a1.status, b1.status, a2.status, b2.status} == {201}
    assert a1.body == a2.body and b1.body == b2.body
    assert a1.body["attemptId"] != b1.body["attemptId"] and a1.body["attemptToken"] != b1.body["attemptToken"]
    assert (_started(api, PARTNER_A), _started(api, PARTNER_B)) == (before_a + 1, before_b + 1)
    # the replayed token opens the diagnostic for its own partner only
    token = {"X-Attempt-Token": a2.body["attemptToken"]}
    assert api.get(f"/diagnostics/{a2.body['attemptId']}", headers={**PARTNER_A, **token}).status == 200
    _error(api.get(f"/diagnostics/{a2.body['attemptId']}", headers={**PARTNER_B, **token}), 403, "attempt_forbidden")


def test_given_a_candidate_retrying_a_start_then_the_history_holds_one_attempt(api: Api) -> None:
    key = _key()
    alice = {"Authorization": f"Bearer dev:idem-{uuid.uuid4().hex[:12]}"}
    bob = {"Authorization": f"Bearer dev:idem-{uuid.uuid4().hex[:12]}"}
    first = api.post("/me/attempts", FULL, headers=_with(key, **alice))
    again = api.post("/me/attempts", FULL, headers=_with(key, **alice))
    theirs = api.post("/me/attempts", FULL, headers=_with(key, **bob))
    assert first.status == again.status == theirs.status == 201
    assert again.body == first.body
    assert theirs.body["attemptId"] != first.body["attemptId"]
    history = api.get("/me/attempts", headers=alice)
    assert history.status == 200
    assert [a["attemptId"] for a in history.body["attempts"]] == [first.body["attemptId"]]
    # the replayed token works on the token route too
    token = {"X-Attempt-Token": again.body["attemptToken"]}
    assert api.get(f"/attempts/{first.body['attemptId']}", headers=token).status == 200


def test_the_openapi_document_declares_the_header_and_the_new_errors(api: Api) -> None:
    paths = api.get("/openapi.json").body["paths"]
    for path in ("/attempts", "/diagnostics", "/me/attempts"):
        op = paths[path]["post"]
        header = [p for p in op["parameters"] if p["in"] == "header" and p["name"].lower() == "idempotency-key"]
        assert len(header) == 1 and header[0]["required"] is False, path
        assert "idempotency_key_reused" in header[0]["description"]
        assert {"409", "422"} <= set(op["responses"]), path
