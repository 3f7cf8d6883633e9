"""Study mode over HTTP: ``POST /me/attempts/{attemptId}/check`` checks one answer of a practice set.

The happy path (right, wrong, the key and the explanations of that one question, nothing recorded, the
same verdicts as the set's result, still open after submission) and every bad input: malformed and
invalid bodies, answers that do not fit the form, full and diagnostic attempts (409, nothing of their
keys), another candidate's attempt and no sign-in.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.e2e.conftest import Api, Reply, bank_by_stem
from tests.e2e.test_bad_inputs import assert_error

EXAM = "clf-c02"
BANK = bank_by_stem()
KEY = {"X-Api-Key": "demo-partner-key"}


def who(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer dev:{name}"}


def _item(question: dict[str, Any]) -> dict[str, Any]:
    return BANK[" ".join(question["stem"].split())]


def _key(question: dict[str, Any]) -> list[str]:
    item = _item(question)
    texts = {o["id"]: o["text"] for o in item["options"]}
    served = {o["text"]: o["id"] for o in question["options"]}
    return sorted(served[texts[k]] for k in item["key"])


def _wrong(question: dict[str, Any]) -> list[str]:
    key = _key(question)
    return sorted(o["id"] for o in question["options"] if o["id"] not in key)[: question["selectCount"]]


def _practice(api: Api, me: str, size: int = 6) -> dict[str, Any]:
    reply = api.post(
        "/me/attempts", {"mode": "domain", "domainId": "security-and-compliance", "size": size}, headers=who(me)
    )
    assert reply.status == 201, reply.raw[:300]
    body: dict[str, Any] = reply.body
    return body


def _check(api: Api, me: str, attempt_id: str, body: Any = None, raw: bytes | None = None) -> Reply:
    return api.call("POST", f"/me/attempts/{attempt_id}/check", body, headers=who(me), raw=raw)


def _leaks(raw: bytes) -> list[str]:
    """Any key, explanation, reference or item id of the bank in a response's bytes."""
    found = []
    for item in BANK.values():
        if item["id"].encode() in raw:
            found.append(item["id"])
        found += [o["explanation"][:40] for o in item["options"] if o["explanation"].encode() in raw]
    return found + [w for w in ('"key"', '"explanation"', '"correct"') if w.encode() in raw]


# ---------------------------------------------------------------- the happy path


def test_given_a_practice_set_when_answers_are_checked_then_each_shows_its_verdict_key_and_explanations(
    api: Api,
) -> None:
    me = "study-happy"
    practice = _practice(api, me)
    aid, questions = practice["attemptId"], practice["questions"]
    verdicts = []
    for n, q in enumerate(questions):
        chosen = _key(q) if n % 2 == 0 else _wrong(q)
        reply = _check(api, me, aid, {"questionId": q["questionId"], "selected": chosen})
        assert reply.status == 200, reply.raw[:300]
        out = reply.body
        item = _item(q)
        assert out["attemptId"] == aid and out["questionId"] == q["questionId"] and out["saved"] is False
        assert out["correct"] is (n % 2 == 0) and out["key"] == _key(q) and out["selected"] == chosen
        assert [o["id"] for o in out["options"]] == [o["id"] for o in q["options"]]
        assert [o["text"] for o in out["options"]] == [o["text"] for o in q["options"]]
        explanation = {o["text"]: o["explanation"] for o in item["options"]}
        assert all(o["explanation"] == explanation[o["text"]] for o in out["options"])
        assert [o["id"] for o in out["options"] if o["correct"]] == _key(q)
        assert [o["id"] for o in out["options"] if o["selected"]] == chosen
        assert out["domainId"] == "security-and-compliance" and out["taskStatement"]["id"] == item["task"]
        assert out["reference"] == item.get("reference")
        assert item["id"].encode() not in reply.raw and "scored" not in out  # never the item's id or its status
        # only this question: no other question's explanation in the answer
        others = [o["explanation"] for p in questions if p is not q for o in _item(p)["options"]]
        assert not [e for e in others if e.encode() in reply.raw and e not in explanation.values()]
        verdicts.append(out["correct"])

    # a check records nothing: the attempt still has no saved answer
    read = api.get(f"/me/attempts/{aid}", headers=who(me)).body
    assert read["status"] == "in_progress" and read["answeredCount"] == 0 and read["responses"] == []

    # the set's result agrees with the checks
    answers = [
        {"questionId": q["questionId"], "selected": _key(q) if n % 2 == 0 else _wrong(q)}
        for n, q in enumerate(questions)
    ]
    result = api.post(f"/me/attempts/{aid}/submit", {"responses": answers}, headers=who(me))
    assert result.status == 200, result.raw[:300]
    assert result.body["correct"] == sum(verdicts) and result.body["total"] == len(questions)

    # after submission the review is open, so a check is too, and says the same as the review
    q = questions[1]
    after = _check(api, me, aid, {"questionId": q["questionId"], "selected": _key(q)})
    assert after.status == 200 and after.body["correct"] is True
    review = api.get(f"/me/attempts/{aid}/review", headers=who(me)).body
    reviewed = next(r for r in review["questions"] if r["questionId"] == q["questionId"])
    assert (
        reviewed["key"] == after.body["key"]
        and reviewed["options"][0]["explanation"] == (after.body["options"][0]["explanation"])
    )


def test_given_the_openapi_document_then_the_check_route_lists_its_error_responses(api: Api) -> None:
    doc = api.get("/openapi.json").body
    op = doc["paths"]["/me/attempts/{attemptId}/check"]["post"]
    assert {"200", "400", "401", "403", "404", "409", "413", "415", "422", "429", "503"} <= set(op["responses"])
    assert op["responses"]["409"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
    assert "CheckRequest" in str(op["requestBody"])


# ---------------------------------------------------------------- bad inputs


@pytest.fixture(scope="module")
def practice(api: Api) -> dict[str, Any]:
    return _practice(api, "study-bad", size=10)


def test_given_a_body_that_is_not_json_then_a_check_is_400(api: Api, practice: dict[str, Any]) -> None:
    assert_error(_check(api, "study-bad", practice["attemptId"], raw=b'{"questionId": '), 400, "malformed_json")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"selected": ["a"]},
        {"questionId": "q0000000000"},
        {"questionId": "q0000000000", "selected": []},
        {"questionId": "q0000000000", "selected": "a"},
        {"questionId": "not-a-question", "selected": ["a"]},
        {"questionId": "q0000000000", "selected": ["z"]},
        {"questionId": "q0000000000", "selected": ["a"], "flagged": True},
        {"questionId": "q0000000000", "selected": ["a", "b", "c", "d", "e", "f", "a"]},
        [{"questionId": "q0000000000", "selected": ["a"]}],
    ],
    ids=[
        "empty",
        "no-question",
        "no-selection",
        "empty-selection",
        "selection-not-a-list",
        "bad-question-id",
        "bad-option-id",
        "extra-field",
        "too-many-ids",
        "array-body",
    ],
)
def test_given_a_body_that_does_not_match_the_schema_then_a_check_is_422(
    api: Api, practice: dict[str, Any], body: Any
) -> None:
    assert_error(_check(api, "study-bad", practice["attemptId"], body), 422, "invalid_request")


def test_given_a_question_not_on_the_form_then_a_check_is_422_naming_only_the_question(
    api: Api, practice: dict[str, Any]
) -> None:
    other = _practice(api, "study-bad-other", size=1)["questions"][0]["questionId"]  # real, but another set's
    for qid in ("q0000000000", other):
        error = assert_error(
            _check(api, "study-bad", practice["attemptId"], {"questionId": qid, "selected": ["a"]}),
            422,
            "invalid_responses",
        )
        assert error["details"] == [{"index": 0, "questionId": qid, "code": "unknown_question"}]


def test_given_options_that_do_not_fit_the_question_then_a_check_is_422(api: Api, practice: dict[str, Any]) -> None:
    single = next(q for q in practice["questions"] if q["type"] == "single")
    aid = practice["attemptId"]
    too_many = assert_error(
        _check(api, "study-bad", aid, {"questionId": single["questionId"], "selected": ["a", "b"]}),
        422,
        "invalid_responses",
    )
    assert too_many["details"][0]["code"] == "too_many_selections"
    dup = assert_error(
        _check(api, "study-bad", aid, {"questionId": single["questionId"], "selected": ["a", "a"]}),
        422,
        "invalid_responses",
    )
    assert dup["details"][0]["code"] == "duplicate_option"
    short = next((q for q in practice["questions"] if len(q["options"]) < 6), None)
    if short is not None:
        missing = "abcdef"[len(short["options"])]
        error = assert_error(
            _check(api, "study-bad", aid, {"questionId": short["questionId"], "selected": [missing]}),
            422,
            "invalid_responses",
        )
        assert error["details"][0]["code"] == "unknown_option"


def test_given_a_full_timed_attempt_then_a_check_is_409_and_nothing_of_its_key_leaves(api: Api) -> None:
    me = "study-full"
    full = api.post("/me/attempts", {"examId": EXAM, "mode": "full"}, headers=who(me))
    assert full.status == 201
    for q in full.body["questions"][:5]:
        for chosen in (_key(q), _wrong(q)):
            reply = _check(api, me, full.body["attemptId"], {"questionId": q["questionId"], "selected": chosen})
            assert assert_error(reply, 409, "not_practice")["details"] == []
            assert _leaks(reply.raw) == []
    # an answer that does not fit is still 409 first: the route says nothing about a full attempt's form
    reply = _check(api, me, full.body["attemptId"], {"questionId": "q0000000000", "selected": ["a"]})
    assert_error(reply, 409, "not_practice")
    read = api.get(f"/me/attempts/{full.body['attemptId']}", headers=who(me)).body
    assert read["answeredCount"] == 0  # and nothing was recorded


def test_given_a_claimed_diagnostic_then_a_check_is_409_and_nothing_of_its_key_leaves(api: Api) -> None:
    me = "study-diag"
    d = api.post("/diagnostics", {"examId": EXAM}, headers=KEY).body
    claim = api.post(
        f"/me/diagnostics/{d['attemptId']}/claim", headers={**who(me), "X-Attempt-Token": d["attemptToken"]}
    )
    assert claim.status == 200, claim.raw[:300]
    q = d["questions"][0]
    reply = _check(api, me, d["attemptId"], {"questionId": q["questionId"], "selected": _key(q)})
    assert_error(reply, 409, "not_practice")
    assert _leaks(reply.raw) == []


def test_given_another_candidates_practice_set_then_a_check_is_404_exactly_as_for_no_attempt(
    api: Api, practice: dict[str, Any]
) -> None:
    q = practice["questions"][0]
    body = {"questionId": q["questionId"], "selected": _key(q)}
    theirs = _check(api, "study-thief", practice["attemptId"], body)
    nothing = _check(api, "study-thief", uuid.uuid4().hex, body)
    assert_error(theirs, 404, "attempt_not_found")
    assert (theirs.status, theirs.raw) == (nothing.status, nothing.raw)
    assert _leaks(theirs.raw) == []


def test_given_an_anonymous_attempt_then_its_token_does_not_open_the_check_route(api: Api) -> None:
    a = api.post("/attempts", {"examId": EXAM, "mode": "full"}).body
    q = a["questions"][0]
    reply = api.post(
        f"/me/attempts/{a['attemptId']}/check",
        {"questionId": q["questionId"], "selected": ["a"]},
        headers={**who("study-anon"), "X-Attempt-Token": a["attemptToken"]},
    )
    assert_error(reply, 404, "attempt_not_found")


def test_given_no_sign_in_then_a_check_is_refused_by_the_gateway(api: Api, practice: dict[str, Any]) -> None:
    q = practice["questions"][0]
    reply = api.post(f"/me/attempts/{practice['attemptId']}/check", {"questionId": q["questionId"], "selected": ["a"]})
    assert reply.status == 401, reply.raw[:300]
    assert _leaks(reply.raw) == []


@pytest.mark.parametrize("attempt_id", ["nope", "A" * 32, "0" * 31])
def test_given_a_malformed_attempt_id_then_a_check_is_422(api: Api, attempt_id: str) -> None:
    reply = _check(api, "study-bad", attempt_id, {"questionId": "q0000000000", "selected": ["a"]})
    assert_error(reply, 422, "invalid_request")


def test_given_a_non_json_content_type_then_a_check_is_415(api: Api, practice: dict[str, Any]) -> None:
    q = practice["questions"][0]
    reply = api.call(
        "POST",
        f"/me/attempts/{practice['attemptId']}/check",
        raw=f'{{"questionId": "{q["questionId"]}", "selected": ["a"]}}'.encode(),
        headers={**who("study-bad"), "Content-Type": "text/plain"},
    )
    assert_error(reply, 415, "unsupported_media_type")
