"""The free diagnostic over HTTP: partner keys, composition, secrecy, attribution, isolation, claims."""

from __future__ import annotations

import time
from typing import Any

from tests.e2e.conftest import Api

KEY = {"X-Api-Key": "demo-partner-key"}
OTHER = {"X-Api-Key": "second-partner-key"}
SECRET_FIELDS = {"key", "explanation", "correct", "scored", "b", "difficulty", "domainId", "taskStatement", "task"}


def _start(api: Api, key: dict[str, str] = KEY) -> dict[str, Any]:
    r = api.post("/diagnostics", {"examId": "clf-c02"}, headers=key)
    assert r.status == 201, r.body
    return r.body


def _answers(d: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"questionId": q["questionId"], "selected": list("abc"[: q["selectCount"]])} for q in d["questions"]]


def _submit(api: Api, d: dict[str, Any], key: dict[str, str] = KEY) -> Any:
    headers = {**key, "X-Attempt-Token": d["attemptToken"]}
    return api.post(f"/diagnostics/{d['attemptId']}/submit", {"responses": _answers(d)}, headers=headers)


def _keys(obj: Any) -> set[str]:
    if isinstance(obj, dict):
        return set(obj) | {k for v in obj.values() for k in _keys(v)}
    if isinstance(obj, list):
        return {k for v in obj for k in _keys(v)}
    return set()


def _meta(dynamodb: Any, attempt_id: str) -> dict[str, Any]:
    item: dict[str, Any] = dynamodb.get_item(
        TableName="AttemptsTable", Key={"pk": {"S": attempt_id}, "sk": {"S": "META"}}
    )["Item"]
    return item


def test_given_no_key_or_an_unknown_key_then_the_gateway_answers_403_forbidden_with_cors(api: Api) -> None:
    for headers in ({}, {"X-Api-Key": "not-a-partner"}):
        r = api.post("/diagnostics", {"examId": "clf-c02"}, headers=headers)
        assert r.status == 403
        assert r.body == {"message": "Forbidden"}
        assert r.headers.get("Access-Control-Allow-Origin") == "*"
    assert api.get("/partner/summary").status == 403


def test_given_a_valid_key_then_a_diagnostic_has_ten_questions_and_no_timer(api: Api) -> None:
    d = _start(api)
    assert d["mode"] == "diagnostic"
    assert d["questionCount"] == 10 == len(d["questions"])
    assert d["expiresAt"] is None and d["durationSeconds"] is None
    assert [q["number"] for q in d["questions"]] == list(range(1, 11))
    assert not (_keys(d["questions"]) & SECRET_FIELDS)


def test_given_a_submitted_diagnostic_then_domains_split_2_3_4_1_and_the_result_says_how_wide_the_band_is(
    api: Api,
) -> None:
    d = _start(api)
    r = _submit(api, d)
    assert r.status == 200, r.body
    result = r.body
    assert [x["total"] for x in result["domains"]] == [2, 3, 4, 1]
    assert result["scored"]["total"] == 10
    assert result["scoreBand"]["low"] <= result["scaledScore"] <= result["scoreBand"]["high"]
    assert result["scoreBand"]["high"] - result["scoreBand"]["low"] >= 80  # ten items cannot be precise
    assert "rough estimate" in result["note"]
    assert result["weakestDomain"] in {x["domainId"] for x in result["domains"]}
    assert abs(sum(p["share"] for p in result["studyPlan"]) - 1) < 0.01
    again = api.get(f"/diagnostics/{d['attemptId']}", headers={**KEY, "X-Attempt-Token": d["attemptToken"]})
    assert again.status == 200 and again.body["status"] == "submitted"
    assert again.body["result"] == result
    review = api.get(f"/diagnostics/{d['attemptId']}/review", headers={**KEY, "X-Attempt-Token": d["attemptToken"]})
    assert review.status == 200
    assert all(q["key"] and all(o["explanation"] for o in q["options"]) for q in review.body["questions"])
    assert sorted(q["domainId"] for q in review.body["questions"]).count("cloud-technology-and-services") == 4


def test_given_another_partners_key_then_its_diagnostics_are_unreadable_and_look_like_missing_ones(api: Api) -> None:
    d = _start(api)
    _submit(api, d)
    other = api.get(f"/diagnostics/{d['attemptId']}", headers={**OTHER, "X-Attempt-Token": d["attemptToken"]})
    missing = api.get(f"/diagnostics/{'0' * 32}", headers={**OTHER, "X-Attempt-Token": d["attemptToken"]})
    assert other.status == missing.status == 403
    assert other.raw == missing.raw
    review = api.get(f"/diagnostics/{d['attemptId']}/review", headers={**OTHER, "X-Attempt-Token": d["attemptToken"]})
    assert review.status == 403


def test_given_diagnostics_from_two_partners_then_each_summary_counts_only_its_own(api: Api) -> None:
    before_a = api.get("/partner/summary", headers=KEY).body
    before_b = api.get("/partner/summary", headers=OTHER).body
    for _ in range(3):
        _submit(api, _start(api))
    _start(api)  # abandoned
    b = _start(api, OTHER)
    _submit(api, b, OTHER)
    after_a = api.get("/partner/summary", headers=KEY).body
    after_b = api.get("/partner/summary", headers=OTHER).body
    assert after_a["partnerId"] == "demo-partner" and after_b["partnerId"] == "second-partner"
    assert after_a["started"] - before_a["started"] == 4
    assert after_a["submitted"] - before_a["submitted"] == 3
    assert after_b["started"] - before_b["started"] == 1
    assert after_b["submitted"] - before_b["submitted"] == 1
    assert sum(x["count"] for x in after_a["scoreDistribution"]) == after_a["submitted"]
    assert sum(x["count"] for x in after_a["weakestDomains"]) == after_a["submitted"]
    assert [x["domainId"] for x in after_a["domains"]] == [
        "cloud-concepts",
        "security-and-compliance",
        "cloud-technology-and-services",
        "billing-pricing-and-support",
    ]


def test_given_the_partner_in_the_body_then_it_is_refused_and_the_key_decides(api: Api) -> None:
    r = api.post("/diagnostics", {"examId": "clf-c02", "partnerId": "second-partner"}, headers=KEY)
    assert r.status == 422 and r.body["error"]["code"] == "invalid_request"


def test_given_bad_inputs_then_each_is_a_clear_4xx_with_the_error_body(api: Api) -> None:
    cases = [
        (api.post("/diagnostics", {"examId": "nope-exam"}, headers=KEY), 404, "exam_not_found"),
        (api.post("/diagnostics", {"examId": 7}, headers=KEY), 422, "invalid_request"),
        (api.call("POST", "/diagnostics", raw=b"{not json", headers=KEY), 400, "malformed_json"),
        (api.get("/diagnostics/not-an-id", headers={**KEY, "X-Attempt-Token": "x"}), 422, "invalid_request"),
        (api.get(f"/diagnostics/{'a' * 32}", headers=KEY), 403, "attempt_forbidden"),
        (api.get("/partner/summary?from=2026-02-01&to=2026-01-01", headers=KEY), 422, "invalid_range"),
        (api.get("/partner/summary?from=2020-01-01&to=2026-01-01", headers=KEY), 422, "invalid_range"),
        (api.get("/partner/summary?from=yesterday", headers=KEY), 422, "invalid_request"),
        (api.get("/partner/summary?examId=nope-exam", headers=KEY), 404, "exam_not_found"),
    ]
    for reply, status, code in cases:
        assert reply.status == status, (reply.status, reply.body)
        assert reply.body["error"]["code"] == code
        assert reply.body["error"]["message"]
    d = _start(api)
    tok = {**KEY, "X-Attempt-Token": d["attemptToken"]}
    q = d["questions"][0]
    beyond = "abcdef"[len(q["options"])] if len(q["options"]) < 6 else "z"  # an option id the question lacks
    bad = [
        {"responses": [{"questionId": "q0000000000", "selected": ["a"]}]},
        {"responses": [{"questionId": q["questionId"], "selected": [beyond]}]},
        {"responses": [{"questionId": q["questionId"], "selected": ["a", "b", "c", "d"]}]},
        {"responses": "all"},
    ]
    for body in bad:
        r = api.post(f"/diagnostics/{d['attemptId']}/submit", body, headers=tok)
        assert r.status == 422, r.body
        assert r.body["error"]["code"] in {"invalid_responses", "invalid_request"}
    # nothing was scored by the rejected submissions
    assert api.get(f"/diagnostics/{d['attemptId']}", headers=tok).body["status"] == "in_progress"
    assert api.get(f"/diagnostics/{d['attemptId']}/review", headers=tok).status == 409


def test_given_a_diagnostic_then_its_lifetime_is_a_ttl_until_submitted_kept_after_and_cleared_by_a_claim(
    api: Api, dynamodb: Any
) -> None:
    now = time.time()
    d = _start(api)
    ttl = int(_meta(dynamodb, d["attemptId"])["ttl"]["N"])
    assert 6.9 * 86400 < ttl - now < 7.1 * 86400  # abandoned diagnostics go after a week
    assert _meta(dynamodb, d["attemptId"])["partnerId"]["S"] == "demo-partner"
    _submit(api, d)
    ttl = int(_meta(dynamodb, d["attemptId"])["ttl"]["N"])
    assert 399 * 86400 < ttl - now < 401 * 86400  # submitted ones are kept for partner summaries
    claim = api.post(
        f"/me/diagnostics/{d['attemptId']}/claim",
        headers={"Authorization": "Bearer dev:cand-claim", "X-Attempt-Token": d["attemptToken"]},
    )
    assert claim.status == 200 and claim.body == {"attemptId": d["attemptId"], "mode": "diagnostic", "claimed": True}
    meta = _meta(dynamodb, d["attemptId"])
    assert "ttl" not in meta and meta["candidateId"]["S"] == "cand-claim"
    form = dynamodb.get_item(TableName="AttemptsTable", Key={"pk": {"S": d["attemptId"]}, "sk": {"S": "FORM"}})["Item"]
    assert "ttl" not in form


def test_given_a_claim_then_it_needs_the_token_and_sign_in_and_shows_in_history(api: Api) -> None:
    d = _start(api)
    _submit(api, d)
    path = f"/me/diagnostics/{d['attemptId']}/claim"
    assert api.post(path, headers={"X-Attempt-Token": d["attemptToken"]}).status == 401
    wrong = api.post(path, headers={"Authorization": "Bearer dev:cand-a", "X-Attempt-Token": "wrong"})
    assert wrong.status == 403 and wrong.body["error"]["code"] == "attempt_forbidden"
    ok = api.post(path, headers={"Authorization": "Bearer dev:cand-a", "X-Attempt-Token": d["attemptToken"]})
    assert ok.status == 200
    again = api.post(path, headers={"Authorization": "Bearer dev:cand-a", "X-Attempt-Token": d["attemptToken"]})
    assert again.status == 200  # idempotent
    stolen = api.post(path, headers={"Authorization": "Bearer dev:cand-b", "X-Attempt-Token": d["attemptToken"]})
    assert stolen.status == 409 and stolen.body["error"]["code"] == "attempt_claimed"
    history = api.get("/me/attempts", headers={"Authorization": "Bearer dev:cand-a"}).body
    assert [a["attemptId"] for a in history["attempts"]] == [d["attemptId"]]
    assert history["attempts"][0]["mode"] == "diagnostic" and history["attempts"][0]["scaledScore"] >= 100
    assert api.get("/me/attempts", headers={"Authorization": "Bearer dev:cand-b"}).body["attempts"] == []


def test_given_a_browser_on_a_partner_page_then_preflight_allows_the_api_key_header(api: Api) -> None:
    r = api.call(
        "OPTIONS",
        "/diagnostics",
        headers={"Origin": "https://partner.example", "Access-Control-Request-Method": "POST"},
    )
    assert r.status == 200
    assert "X-Api-Key" in r.headers["Access-Control-Allow-Headers"]
    assert r.headers["Access-Control-Allow-Origin"] == "*"
