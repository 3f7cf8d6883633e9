"""Nothing a candidate receives before submitting reveals a key, an explanation or anything about the items."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import Api, Reply

ROOT = Path(__file__).resolve().parents[2]
EXAM = "clf-c02"
ITEM_ID = re.compile(rb"clf-\d+\.\d+-\d{3}")
# Keys that would leak an answer, an explanation or an item's metadata. ``status`` is allowed only at the top
# level of an attempt (in_progress / submitted), never on a question.
SECRET_KEYS = {
    "key",
    "keys",
    "answer",
    "answers",
    "explanation",
    "explanations",
    "correct",
    "isCorrect",
    "scored",
    "pretest",
    "b",
    "difficulty",
    "domainId",
    "domain",
    "task",
    "taskStatement",
    "itemId",
    "item",
    "reference",
    "order",
}
QUESTION_SECRET_KEYS = SECRET_KEYS | {"status"}


@dataclass(frozen=True)
class BankFacts:
    items: list[dict[str, Any]]
    explanations: list[str]
    item_ids: list[str]
    references: list[str]

    def item_for(self, question: dict[str, Any]) -> dict[str, Any]:
        texts = {o["text"] for o in question["options"]}
        return next(
            i for i in self.items if i["stem"] == question["stem"] and {o["text"] for o in i["options"]} == texts
        )


@pytest.fixture(scope="module")
def bank() -> BankFacts:
    items: list[dict[str, Any]] = []
    for path in sorted((ROOT / "infra" / "bank" / EXAM / "items").glob("*.yaml")):
        items += yaml.safe_load(path.read_text(encoding="utf-8"))["items"]
    explanations = [o["explanation"] for i in items for o in i["options"]]
    assert len(items) > 65 and len(explanations) > 4 * 65
    return BankFacts(
        items=items,
        explanations=explanations,
        item_ids=[i["id"] for i in items],
        references=[i["reference"] for i in items if i.get("reference")],
    )


def walk_keys(node: Any, path: str = "$") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield f"{path}.{k}", k
            yield from walk_keys(v, f"{path}.{k}")
    elif isinstance(node, list):
        for n, v in enumerate(node):
            yield from walk_keys(v, f"{path}[{n}]")


def encodings(text: str) -> list[bytes]:
    """How a string can appear in a JSON response: plain UTF-8 or escaped."""
    return list(
        {
            text.encode(),
            json.dumps(text)[1:-1].encode(),
            json.dumps(text, ensure_ascii=False)[1:-1].encode(),
        }
    )


def leaked_explanations(raw: bytes, bank: BankFacts) -> list[str]:
    return [e for e in bank.explanations if any(form in raw for form in encodings(e))]


@dataclass
class PreSubmission:
    created: list[dict[str, Any]] = field(default_factory=list)
    replies: list[tuple[str, Reply]] = field(default_factory=list)  # (what, reply) for every call before submit
    review: Reply | None = None

    def bodies(self) -> Iterator[tuple[str, Any]]:
        for what, reply in self.replies:
            yield what, reply.body

    def questions(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for what, body in self.bodies():
            for n, q in enumerate(body.get("questions") or []):
                yield f"{what}.questions[{n}]", q


@pytest.fixture(scope="module")
def journey(api: Api) -> PreSubmission:
    """Two attempts' every pre-submission call: start, reads, saves (good and rejected), an early review."""
    seen = PreSubmission()
    for n in range(2):
        start = api.post("/attempts", {"examId": EXAM, "mode": "full"})
        assert start.status == 201, start.raw
        created = start.body
        seen.created.append(created)
        seen.replies.append((f"start{n}", start))
        path, headers = f"/attempts/{created['attemptId']}", {"X-Attempt-Token": created["attemptToken"]}
        qs = created["questions"]

        def keep(what: str, reply: Reply, n: int = n) -> Reply:
            seen.replies.append((f"{what}{n}", reply))
            return reply

        keep("get", api.get(path, headers=headers))
        first = [
            {"questionId": q["questionId"], "selected": ["a"], "flagged": i % 3 == 0} for i, q in enumerate(qs[:20])
        ]
        assert keep("save", api.put(f"{path}/responses", {"responses": first}, headers=headers)).status == 200
        rest = [
            {"questionId": q["questionId"], "selected": [o["id"] for o in q["options"]][-q["selectCount"] :]}
            for q in qs[20:]
        ]
        assert keep("save", api.put(f"{path}/responses", {"responses": rest}, headers=headers)).status == 200
        again = [{"questionId": q["questionId"], "selected": ["b"], "flagged": True} for q in qs[:5]]
        assert keep("save", api.put(f"{path}/responses", {"responses": again}, headers=headers)).status == 200
        single = next(q for q in qs if q["type"] == "single")
        rejected = [
            {"questionId": single["questionId"], "selected": ["a", "b"]},
            {"questionId": single["questionId"], "selected": ["f"]},
            {"questionId": "q" + "0" * 10, "selected": ["a"]},
        ]
        assert keep("rejected", api.put(f"{path}/responses", {"responses": rejected}, headers=headers)).status == 422
        assert keep("early-review", api.get(f"{path}/review", headers=headers)).status == 409
        keep("get-again", api.get(path, headers=headers))
        if n == 0:
            assert api.post(f"{path}/submit", headers=headers).status == 200
            seen.review = api.get(f"{path}/review", headers=headers)
    return seen


def test_journey_saw_everything(journey: PreSubmission) -> None:
    kinds = {what.rstrip("0123456789") for what, _ in journey.replies}
    assert kinds == {"start", "get", "save", "rejected", "early-review", "get-again"}
    assert sum(1 for _ in journey.questions()) == 2 * 3 * 65  # start, get, get-again per attempt


def test_question_objects_carry_only_public_fields(journey: PreSubmission) -> None:
    for where, q in journey.questions():
        assert set(q) == {"number", "questionId", "type", "selectCount", "stem", "options"}, where
        for o in q["options"]:
            assert set(o) == {"id", "text"}, where


def test_no_secret_key_anywhere_in_a_question(journey: PreSubmission) -> None:
    found = [(where, p) for where, q in journey.questions() for p, k in walk_keys(q) if k in QUESTION_SECRET_KEYS]
    assert found == []


def test_no_secret_key_anywhere_in_a_pre_submission_body(journey: PreSubmission) -> None:
    found = [(what, p) for what, body in journey.bodies() for p, k in walk_keys(body) if k in SECRET_KEYS]
    assert found == []


def test_pre_submission_reads_carry_no_result(journey: PreSubmission) -> None:
    for what, body in journey.bodies():
        if what.startswith("get"):
            assert body["status"] == "in_progress", what
            assert body["result"] is None, what


def test_no_explanation_text_in_pre_submission_bytes(journey: PreSubmission, bank: BankFacts) -> None:
    for what, reply in journey.replies:
        assert leaked_explanations(reply.raw, bank) == [], what


def test_no_item_id_in_pre_submission_bytes(journey: PreSubmission, bank: BankFacts) -> None:
    for what, reply in journey.replies:
        assert ITEM_ID.findall(reply.raw) == [], what
        assert [i for i in bank.item_ids if i.encode() in reply.raw] == [], what


def test_no_reference_link_in_pre_submission_bytes(journey: PreSubmission, bank: BankFacts) -> None:
    for what, reply in journey.replies:
        assert [r for r in bank.references if any(f in reply.raw for f in encodings(r))] == [], what


def test_rejected_save_details_name_only_the_problem(journey: PreSubmission) -> None:
    for what, body in journey.bodies():
        if what.startswith("rejected"):
            assert body["error"]["code"] == "invalid_responses"
            for d in body["error"]["details"]:
                assert set(d) <= {"index", "questionId", "code", "options", "selectCount"}, d


def test_catalogue_reveals_no_item(api: Api, bank: BankFacts) -> None:
    reply = api.get("/exams")
    assert reply.status == 200
    assert leaked_explanations(reply.raw, bank) == []
    assert ITEM_ID.findall(reply.raw) == []
    assert not any(i["stem"].encode() in reply.raw for i in bank.items)


def test_question_ids_are_per_attempt(journey: PreSubmission, bank: BankFacts) -> None:
    first, second = ({q["questionId"] for q in c["questions"]} for c in journey.created)
    assert first.isdisjoint(second)
    for c in journey.created:
        assert not {q["questionId"] for q in c["questions"]} & set(bank.item_ids)


def test_option_order_is_shuffled(journey: PreSubmission, bank: BankFacts) -> None:
    """Served option letters are not the bank's: the letter of the key cannot be learned from the bank's order."""
    as_in_bank = 0
    same_key_letter = 0
    total = 0
    for c in journey.created:
        for q in c["questions"]:
            item = bank.item_for(q)
            total += 1
            bank_texts = [o["text"] for o in item["options"]]
            served_texts = [o["text"] for o in q["options"]]
            as_in_bank += served_texts == bank_texts
            served_key = sorted(
                o["id"]
                for o in q["options"]
                if o["text"] in {b["text"] for b in item["options"] if b["id"] in item["key"]}
            )
            same_key_letter += served_key == sorted(item["key"])
    assert total == 130
    assert as_in_bank < total // 2
    assert same_key_letter < total


def test_same_item_in_two_attempts_is_not_served_identically(journey: PreSubmission) -> None:
    """Where both forms drew the same item, its question id differs and options are reshuffled somewhere."""
    first = {q["stem"]: q for q in journey.created[0]["questions"]}
    common = [(first[q["stem"]], q) for q in journey.created[1]["questions"] if q["stem"] in first]
    for a, b in common:
        assert a["questionId"] != b["questionId"]
        assert sorted(o["text"] for o in a["options"]) == sorted(o["text"] for o in b["options"])
    if len(common) >= 5:
        assert any([o["text"] for o in a["options"]] != [o["text"] for o in b["options"]] for a, b in common)


def test_detectors_find_what_the_review_reveals(journey: PreSubmission, bank: BankFacts) -> None:
    """Positive control: after submission the review does carry keys and explanations, and the checks see them."""
    review = journey.review
    assert review is not None
    assert review.status == 200, review.raw
    assert len(leaked_explanations(review.raw, bank)) >= 4 * 65
    keys = {k for _, k in walk_keys(review.body)}
    assert {"key", "explanation", "correct", "scored", "domainId", "taskStatement"} <= keys


# ---------------------------------------------------------------- study mode: the check route


@dataclass
class Checks:
    refused: list[tuple[str, Reply]] = field(default_factory=list)  # checks on a full attempt and a diagnostic
    practice: Reply | None = None  # the positive control: a practice set's check does carry a key


@pytest.fixture(scope="module")
def checks(api: Api, bank: BankFacts) -> Checks:
    """``POST /me/attempts/{id}/check`` on every question of a signed-in full attempt (its key, a wrong answer,
    an answer that does not fit) and of a claimed diagnostic; then once on a practice set."""
    me = {"Authorization": "Bearer dev:secrecy-check"}
    seen = Checks()
    full = api.post("/me/attempts", {"examId": EXAM, "mode": "full"}, headers=me)
    assert full.status == 201, full.raw[:300]
    d = api.post("/diagnostics", {"examId": EXAM}, headers={"X-Api-Key": "demo-partner-key"}).body
    claim = api.post(f"/me/diagnostics/{d['attemptId']}/claim", headers={**me, "X-Attempt-Token": d["attemptToken"]})
    assert claim.status == 200, claim.raw[:300]
    for what, created in (("full", full.body), ("diagnostic", d)):
        path = f"/me/attempts/{created['attemptId']}/check"
        for n, q in enumerate(created["questions"]):
            item = bank.item_for(q)
            key_texts = {o["text"] for o in item["options"] if o["id"] in item["key"]}
            key = sorted(o["id"] for o in q["options"] if o["text"] in key_texts)
            for chosen in (key, ["a"], ["a", "a"]):
                reply = api.post(path, {"questionId": q["questionId"], "selected": chosen}, headers=me)
                seen.refused.append((f"{what}[{n}]{chosen}", reply))
    practice = api.post("/me/attempts", {"mode": "unseen", "size": 1}, headers=me).body
    q = practice["questions"][0]
    seen.practice = api.post(
        f"/me/attempts/{practice['attemptId']}/check", {"questionId": q["questionId"], "selected": ["a"]}, headers=me
    )
    return seen


def test_check_on_a_full_attempt_or_a_diagnostic_is_always_409_not_practice(checks: Checks) -> None:
    assert len(checks.refused) == 3 * (65 + 10)
    for what, reply in checks.refused:
        assert reply.status == 409, (what, reply.raw[:300])
        assert reply.body == {
            "error": {"code": "not_practice", "message": reply.body["error"]["message"], "details": []}
        }


def test_check_refusals_carry_no_secret_key_explanation_item_id_or_reference(checks: Checks, bank: BankFacts) -> None:
    for what, reply in checks.refused:
        assert [p for p, k in walk_keys(reply.body) if k in SECRET_KEYS] == [], what
        assert leaked_explanations(reply.raw, bank) == [], what
        assert ITEM_ID.findall(reply.raw) == [], what
        assert [r for r in bank.references if any(f in reply.raw for f in encodings(r))] == [], what
    assert len({reply.raw for _, reply in checks.refused}) == 1  # the same bytes whatever was sent


def test_detectors_find_what_a_practice_check_reveals(checks: Checks, bank: BankFacts) -> None:
    """Positive control: a practice set's check carries its key and explanations, and the scans above see them;
    it still never carries the item's id, difficulty or scored flag."""
    reply = checks.practice
    assert reply is not None and reply.status == 200, reply.raw[:300] if reply else None
    assert len(leaked_explanations(reply.raw, bank)) >= 4
    assert {"key", "explanation", "correct", "domainId", "taskStatement"} <= {k for _, k in walk_keys(reply.body)}
    assert ITEM_ID.findall(reply.raw) == []
    assert not {"scored", "b", "difficulty", "itemId", "pretest"} & {k for _, k in walk_keys(reply.body)}
