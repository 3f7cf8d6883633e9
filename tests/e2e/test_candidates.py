"""Signed-in candidates over HTTP: ownership and isolation, resume, history, timing out, readiness."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Api, bank_by_stem, running_server

ROOT = Path(__file__).resolve().parents[2]


def _who(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer dev:{name}"}


def _bank() -> dict[str, dict[str, Any]]:
    return bank_by_stem()


BANK = _bank()
DOMAIN_OF_TASK = {
    "1": "cloud-concepts",
    "2": "security-and-compliance",
    "3": "cloud-technology-and-services",
    "4": "billing-pricing-and-support",
}


def _answers(attempt: dict[str, Any], wrong_domain: str | None = None) -> list[dict[str, Any]]:
    """Right answers (from the bank), except every question of ``wrong_domain`` answered wrongly."""
    out = []
    for q in attempt["questions"]:
        item = BANK[" ".join(q["stem"].split())]
        texts = {o["id"]: o["text"] for o in item["options"]}
        served = {o["text"]: o["id"] for o in q["options"]}
        key = sorted(served[texts[k]] for k in item["key"])
        if DOMAIN_OF_TASK[item["task"][0]] == wrong_domain:
            key = sorted(o for o in served.values() if o not in key)[: q["selectCount"]]
        out.append({"questionId": q["questionId"], "selected": key})
    return out


def _full(api: Api, who: str, wrong_domain: str | None = None) -> dict[str, Any]:
    a = api.post("/me/attempts", {"examId": "clf-c02"}, headers=_who(who))
    assert a.status == 201, a.body
    r = api.post(
        f"/me/attempts/{a.body['attemptId']}/submit", {"responses": _answers(a.body, wrong_domain)}, headers=_who(who)
    )
    assert r.status == 200, r.body
    return r.body


def test_given_two_candidates_then_each_sees_only_their_own_attempts(api: Api) -> None:
    a = api.post("/me/attempts", {"examId": "clf-c02"}, headers=_who("iso-a")).body
    path = f"/me/attempts/{a['attemptId']}"
    answer = {"responses": [{"questionId": a["questions"][0]["questionId"], "selected": ["a"]}]}
    for method, p, body in [
        ("GET", path, None),
        ("PUT", path + "/responses", answer),
        ("POST", path + "/submit", None),
        ("GET", path + "/review", None),
    ]:
        r = api.call(method, p, body, headers=_who("iso-b"))
        assert r.status == 404 and r.body["error"]["code"] == "attempt_not_found", (method, p, r.body)
    missing = api.get(f"/me/attempts/{'0' * 32}", headers=_who("iso-b"))
    assert missing.raw == api.get(path, headers=_who("iso-b")).raw  # nothing learned about existence
    assert api.get("/me/attempts", headers=_who("iso-b")).body["attempts"] == []
    assert api.get(path, headers=_who("iso-a")).status == 200
    assert api.get(path, headers={}).status == 401  # the authorizer turns away anonymous callers
    tok = {"X-Attempt-Token": a["attemptToken"]}
    assert api.put(f"/attempts/{a['attemptId']}/responses", answer, headers=tok).status == 200  # the token still works


def test_given_an_attempt_started_on_one_device_then_another_finds_and_resumes_it(api: Api) -> None:
    a = api.post("/me/attempts", {"examId": "clf-c02"}, headers=_who("resumer")).body
    first = _answers(a)[:10]
    assert (
        api.put(f"/me/attempts/{a['attemptId']}/responses", {"responses": first}, headers=_who("resumer")).status == 200
    )
    other_device = Api(api.base)
    found = other_device.get("/me/attempts?status=in_progress", headers=_who("resumer")).body["attempts"]
    assert [x["attemptId"] for x in found] == [a["attemptId"]]
    state = other_device.get(f"/me/attempts/{a['attemptId']}", headers=_who("resumer")).body
    assert [q["questionId"] for q in state["questions"]] == [q["questionId"] for q in a["questions"]]
    assert {r["questionId"] for r in state["responses"]} == {r["questionId"] for r in first}
    assert state["status"] == "in_progress" and 0 < state["remainingSeconds"] <= 5400
    assert "attemptToken" not in state


def test_given_many_attempts_then_history_pages_newest_first_without_gaps(api: Api) -> None:
    ids = [api.post("/me/attempts", {"examId": "clf-c02"}, headers=_who("pager")).body["attemptId"] for _ in range(5)]
    seen, token = [], None
    while True:
        page = api.get("/me/attempts?limit=2" + (f"&nextToken={token}" if token else ""), headers=_who("pager")).body
        seen += [a["attemptId"] for a in page["attempts"]]
        token = page["nextToken"]
        if not token:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))
    assert api.get("/me/attempts?limit=0", headers=_who("pager")).status == 422
    assert api.get("/me/attempts?nextToken=@@@", headers=_who("pager")).status == 422
    import base64  # found by schemathesis: a token that decodes to JSON but not to an index key was a 500

    for forged in ("50", '{"pk": {"S": "x"}}'):
        token = base64.urlsafe_b64encode(forged.encode()).decode()
        assert api.get(f"/me/attempts?nextToken={token}", headers=_who("pager")).status == 422
    first = api.get("/me/attempts?limit=1", headers=_who("pager")).body["nextToken"]
    assert api.get(f"/me/attempts?nextToken={first}", headers=_who("someone-else")).status == 422
    assert api.get("/me/attempts?status=lost", headers=_who("pager")).status == 422


def test_given_bad_inputs_on_candidate_routes_then_clear_4xx(api: Api) -> None:
    me = _who("bad-inputs")
    assert api.post("/me/attempts", {"examId": "nope-exam"}, headers=me).status == 404
    assert api.post("/me/attempts", {"examId": "clf-c02", "mode": "weird"}, headers=me).status == 422
    assert api.post("/me/attempts", {"examId": "clf-c02", "candidateId": "someone"}, headers=me).status == 422
    assert api.get("/me/attempts/not-an-id", headers=me).status == 422
    assert api.get("/me/readiness?examId=nope-exam", headers=me).status == 404


def test_given_five_strong_attempts_then_ready_and_a_weak_domain_keeps_it_false(api: Api) -> None:
    before = api.get("/me/readiness", headers=_who("strong")).body
    assert before["ready"] is False and before["nextStep"]["moreAttemptsNeeded"] == 5
    for _ in range(5):
        assert _full(api, "strong")["scaledScore"] >= 750
    ready = api.get("/me/readiness", headers=_who("strong")).body
    assert ready["ready"] is True, ready["reasons"]
    assert len(ready["attemptsConsidered"]) == 5 and ready["pooled"]["items"] == 250
    assert ready["pooled"]["passProbability"] > 0.99 and ready["nextStep"] is None

    for _ in range(5):
        result = _full(api, "lopsided", wrong_domain="billing-pricing-and-support")
        assert result["scaledScore"] >= 750  # strong overall ...
    verdict = api.get("/me/readiness", headers=_who("lopsided")).body
    assert verdict["ready"] is False  # ... but one domain far below the rest
    assert any("Billing, Pricing, and Support" in r for r in verdict["reasons"])
    assert verdict["nextStep"]["domainId"] == "billing-pricing-and-support"
    progress = api.get("/me/progress", headers=_who("lopsided")).body
    assert len(progress["scores"]) == 5 and progress["readiness"]["ready"] is False
    billing = next(d for d in progress["domains"] if d["domainId"] == "billing-pricing-and-support")
    assert [p["percent"] for p in billing["points"]] == [0.0] * 5
    assert progress["itemsSeen"] >= 65


@pytest.fixture(scope="module")
def short_api() -> Iterator[Api]:
    with running_server({"DURATION_OVERRIDE_SECONDS": "2", "SUBMIT_GRACE_SECONDS": "0"}) as api:
        yield api


def test_given_a_timed_attempt_that_runs_out_then_it_is_scored_on_what_was_saved(short_api: Api) -> None:
    me = _who("slowpoke")
    a = short_api.post("/me/attempts", {"examId": "clf-c02"}, headers=me).body
    saved = _answers(a)[:3]
    assert short_api.put(f"/me/attempts/{a['attemptId']}/responses", {"responses": saved}, headers=me).status == 200
    time.sleep(3.2)
    late = short_api.put(f"/me/attempts/{a['attemptId']}/responses", {"responses": _answers(a)[3:6]}, headers=me)
    assert late.status == 409 and late.body["error"]["code"] == "attempt_expired"
    state = short_api.get(f"/me/attempts/{a['attemptId']}", headers=me).body
    assert state["status"] == "submitted" and state["result"]["timedOut"] is True
    assert {r["questionId"] for r in state["responses"]} == {r["questionId"] for r in saved}
    assert state["result"]["scored"]["correct"] <= 3


def _stems(api: Api, who: str, attempt_id: str) -> list[dict[str, Any]]:
    review = api.get(f"/me/attempts/{attempt_id}/review", headers=_who(who))
    assert review.status == 200, review.body
    return review.body["questions"]


def test_given_practice_modes_then_each_set_has_the_right_items_and_a_percent_result(api: Api) -> None:
    me = "practiser"
    assert api.post("/me/attempts", {"mode": "missed"}, headers=_who(me)).status == 409  # nothing missed yet
    assert api.post("/me/attempts", {"mode": "domain"}, headers=_who(me)).status == 422  # needs a domainId
    assert api.post("/me/attempts", {"mode": "domain", "domainId": "nope"}, headers=_who(me)).status == 422

    d = api.post(
        "/me/attempts", {"mode": "domain", "domainId": "security-and-compliance", "size": 12}, headers=_who(me)
    )
    assert d.status == 201 and d.body["questionCount"] == 12 and d.body["expiresAt"] is None
    answers = _answers(d.body)
    answers[0]["selected"] = sorted(
        o["id"] for o in d.body["questions"][0]["options"] if o["id"] not in answers[0]["selected"]
    )[: d.body["questions"][0]["selectCount"]]  # one deliberately wrong
    result = api.post(f"/me/attempts/{d.body['attemptId']}/submit", {"responses": answers}, headers=_who(me)).body
    assert result["mode"] == "domain" and "scaledScore" not in result
    assert result["correct"] == 11 and result["total"] == 12 and result["percent"] == 91.7
    assert sum(t["total"] for t in result["taskStatements"]) == 12
    assert all(t["id"].startswith("2.") for t in result["taskStatements"])
    questions = _stems(api, me, d.body["attemptId"])
    assert {q["domainId"] for q in questions} == {"security-and-compliance"}
    wrong_stem = next(q["stem"] for q in questions if not q["correct"])

    missed = api.post("/me/attempts", {"mode": "missed", "size": 20}, headers=_who(me))
    assert missed.status == 201 and [q["stem"] for q in missed.body["questions"]] == [wrong_stem]

    seen = {q["stem"] for q in questions}
    unseen = api.post("/me/attempts", {"mode": "unseen", "size": 30}, headers=_who(me)).body
    assert unseen["questionCount"] == 30 and not seen & {q["stem"] for q in unseen["questions"]}

    readiness = api.get("/me/readiness", headers=_who(me)).body  # practice never counts as a timed attempt
    assert readiness["attemptsConsidered"] == [] and readiness["ready"] is False
    history = api.get("/me/attempts", headers=_who(me)).body["attempts"]
    assert {h["mode"] for h in history} == {"domain", "missed", "unseen"}
