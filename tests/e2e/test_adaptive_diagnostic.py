"""The adaptive diagnostic over HTTP: stage 1 at the start, the next stage from POST .../next, then submission."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Api, Reply

KEY = {"X-Api-Key": "demo-partner-key"}
OTHER = {"X-Api-Key": "second-partner-key"}
SECRET_FIELDS = {"key", "explanation", "correct", "scored", "b", "difficulty", "itemId", "domainId", "task"}
NOWHERE = "0" * 32


def _start(api: Api, body: dict[str, Any] | None = None) -> dict[str, Any]:
    r = api.post("/diagnostics", body or {"examId": "clf-c02", "adaptive": True}, headers=KEY)
    assert r.status == 201, r.body
    created: dict[str, Any] = r.body
    return created


def _headers(d: dict[str, Any], key: dict[str, str] = KEY) -> dict[str, str]:
    return {**key, "X-Attempt-Token": d["attemptToken"]}


def _answers(questions: list[dict[str, Any]]) -> dict[str, Any]:
    return {"responses": [{"questionId": q["questionId"], "selected": ["a"]} for q in questions]}


def _keys(obj: Any) -> set[str]:
    if isinstance(obj, dict):
        return set(obj) | {k for v in obj.values() for k in _keys(v)}
    if isinstance(obj, list):
        return {k for v in obj for k in _keys(v)}
    return set()


def _error(reply: Reply, status: int, code: str) -> dict[str, Any]:
    assert reply.status == status, (reply.status, reply.raw[:300])
    assert set(reply.body) == {"error"} and set(reply.body["error"]) == {"code", "message", "details"}
    assert reply.body["error"]["code"] == code, reply.body
    return dict(reply.body["error"])


def test_given_an_adaptive_start_when_both_stages_are_answered_then_it_submits_with_ten_scored_questions(
    api: Api,
) -> None:
    d = _start(api)
    assert d["mode"] == "diagnostic" and d["questionCount"] == 4 == len(d["questions"])
    assert not (_keys(d["questions"]) & SECRET_FIELDS)
    path = f"/diagnostics/{d['attemptId']}"

    nxt = api.post(f"{path}/next", _answers(d["questions"]), headers=_headers(d))
    assert nxt.status == 200, nxt.body
    stage = nxt.body
    assert (stage["stage"], stage["stageCount"], stage["last"], stage["questionCount"]) == (2, 2, True, 10)
    assert [q["number"] for q in stage["questions"]] == list(range(5, 11))
    assert not (_keys(stage) & SECRET_FIELDS)
    first_ids = {q["questionId"] for q in d["questions"]}
    assert first_ids.isdisjoint(q["questionId"] for q in stage["questions"])

    read = api.get(path, headers=_headers(d))
    assert read.status == 200 and read.body["questionCount"] == 10
    assert {r["questionId"] for r in read.body["responses"]} == first_ids

    done = api.post(f"{path}/submit", _answers(stage["questions"]), headers=_headers(d))
    assert done.status == 200, done.body
    assert done.body["scored"]["total"] == 10 and 100 <= done.body["scaledScore"] <= 1000
    assert done.body["scoreBand"]["low"] <= done.body["scaledScore"] <= done.body["scoreBand"]["high"]
    review = api.get(f"{path}/review", headers=_headers(d))
    assert review.status == 200 and len(review.body["questions"]) == 10
    _error(api.post(f"{path}/next", _answers(stage["questions"]), headers=_headers(d)), 409, "attempt_submitted")


def test_given_no_adaptive_field_then_the_fixed_ten_question_form_is_served_and_next_is_409(api: Api) -> None:
    d = _start(api, {"examId": "clf-c02"})
    assert d["questionCount"] == 10
    _error(api.post(f"/diagnostics/{d['attemptId']}/next", {}, headers=_headers(d)), 409, "not_adaptive")


def test_given_a_stage_pending_then_submission_is_409_and_after_the_last_stage_next_is_409(api: Api) -> None:
    d = _start(api)
    path = f"/diagnostics/{d['attemptId']}"
    _error(api.post(f"{path}/submit", {}, headers=_headers(d)), 409, "stages_pending")
    assert api.post(f"{path}/next", headers=_headers(d)).status == 200  # no body: every answer counts as wrong
    _error(api.post(f"{path}/next", {}, headers=_headers(d)), 409, "stages_complete")


def test_given_bad_input_to_next_then_it_is_a_4xx_with_the_error_body_and_changes_nothing(api: Api) -> None:
    d = _start(api)
    path = f"/diagnostics/{d['attemptId']}"
    headers = _headers(d)
    _error(api.post(f"{path}/next", raw=b"{not json", headers=headers), 400, "malformed_json")
    _error(api.post(f"{path}/next", {"responses": [], "stage": 2}, headers=headers), 422, "invalid_request")
    _error(api.post(f"{path}/next", {"responses": "all"}, headers=headers), 422, "invalid_request")
    unknown = {"responses": [{"questionId": "q0000000041", "selected": ["a"]}]}
    _error(api.post(f"{path}/next", unknown, headers=headers), 422, "invalid_responses")
    first = d["questions"][0]
    too_many = {"responses": [{"questionId": first["questionId"], "selected": ["a", "b", "c", "d", "e"]}]}
    assert api.post(f"{path}/next", too_many, headers=headers).status == 422
    # Wrong token, another partner, an unknown attempt: the same 403; a malformed id is 422.
    refused = [
        api.post(f"{path}/next", {}, headers={**KEY, "X-Attempt-Token": "x" * 43}),
        api.post(f"{path}/next", {}, headers=_headers(d, OTHER)),
        api.post(f"/diagnostics/{NOWHERE}/next", {}, headers=headers),
    ]
    assert {r.status for r in refused} == {403}
    assert len({r.raw for r in refused}) == 1
    assert api.post("/diagnostics/NOT-AN-ID/next", {}, headers=headers).status == 422
    _error(api.post("/diagnostics", {"examId": "clf-c02", "adaptive": "yes"}, headers=KEY), 422, "invalid_request")
    # Nothing above changed the diagnostic: still stage 1, no answers.
    read = api.get(path, headers=headers)
    assert read.body["questionCount"] == 4 and read.body["responses"] == []
