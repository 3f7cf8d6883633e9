"""The whole candidate journey over real HTTP: catalogue, start, save, resume, submit, review; CORS; OpenAPI."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import Api, Reply

ROOT = Path(__file__).resolve().parents[2]
EXAM = "clf-c02"
# (domain id, weight, scored items on a full form, task statement ids)
DOMAINS = [
    ("cloud-concepts", 0.24, 12, ["1.1", "1.2", "1.3", "1.4"]),
    ("security-and-compliance", 0.30, 15, ["2.1", "2.2", "2.3", "2.4"]),
    ("cloud-technology-and-services", 0.34, 17, ["3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "3.7", "3.8"]),
    ("billing-pricing-and-support", 0.12, 6, ["4.1", "4.2", "4.3"]),
]
DOMAIN_IDS = [d[0] for d in DOMAINS]
TASKS_OF = {d[0]: d[3] for d in DOMAINS}
QUESTION_FIELDS = {"number", "questionId", "type", "selectCount", "stem", "options"}
RESULT_FIELDS = {
    "attemptId",
    "examId",
    "mode",
    "submittedAt",
    "timedOut",
    "scaledScore",
    "passed",
    "passingScore",
    "scaleMin",
    "scaleMax",
    "scoreBand",
    "passProbability",
    "scored",
    "answered",
    "domains",
    "weakestDomain",
    "studyPlan",
}
REVIEW_QUESTION_FIELDS = QUESTION_FIELDS | {
    "selected",
    "key",
    "correct",
    "scored",
    "flagged",
    "domainId",
    "domainName",
    "taskStatement",
    "reference",
}
# The full-exam routes this file covers; the server may serve more (diagnostics, partners, admin).
ROUTES = {
    ("GET", "/exams"),
    ("POST", "/attempts"),
    ("GET", "/attempts/{attemptId}"),
    ("PUT", "/attempts/{attemptId}/responses"),
    ("POST", "/attempts/{attemptId}/submit"),
    ("GET", "/attempts/{attemptId}/review"),
}
STUDY_HOURS = 20.0  # the default STUDY_HOURS setting


# ---------------------------------------------------------------- helpers


def tok(token: str) -> dict[str, str]:
    return {"X-Attempt-Token": token}


def header(reply: Reply, name: str) -> str | None:
    return next((v for k, v in reply.headers.items() if k.lower() == name.lower()), None)


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def start(api: Api) -> dict[str, Any]:
    reply = api.post("/attempts", {"examId": EXAM, "mode": "full"})
    assert reply.status == 201, reply.raw
    return reply.body


def pick(question: dict[str, Any], offset: int = 0) -> list[str]:
    """A full-sized selection: ``selectCount`` option ids starting at ``offset``."""
    ids = [o["id"] for o in question["options"]]
    return ids[offset : offset + question["selectCount"]]


def load_bank() -> dict[tuple[str, frozenset[str]], dict[str, Any]]:
    """Bank items by what a candidate sees: stem and the set of option texts."""
    out = {}
    for path in sorted((ROOT / "infra" / "bank" / EXAM / "items").glob("*.yaml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8"))["items"]:
            out[(item["stem"], frozenset(o["text"] for o in item["options"]))] = item
    return out


def bank_item(bank: dict[tuple[str, frozenset[str]], dict[str, Any]], question: dict[str, Any]) -> dict[str, Any]:
    return bank[(question["stem"], frozenset(o["text"] for o in question["options"]))]


def key_texts(item: dict[str, Any]) -> set[str]:
    return {o["text"] for o in item["options"] if o["id"] in item["key"]}


def check_result(result: dict[str, Any], attempt_id: str) -> None:
    """Every field of a result, and the rules that tie them together."""
    assert set(result) >= RESULT_FIELDS
    assert result.get("note") is None  # a precision note is only for short forms; this one has 50 scored items
    assert result["attemptId"] == attempt_id
    assert result["examId"] == EXAM
    assert result["mode"] == "full"
    when(result["submittedAt"])
    assert isinstance(result["timedOut"], bool)
    assert (result["passingScore"], result["scaleMin"], result["scaleMax"]) == (700, 100, 1000)
    score = result["scaledScore"]
    assert isinstance(score, int)
    assert 100 <= score <= 1000
    assert result["passed"] is (score >= 700)
    band = result["scoreBand"]
    assert set(band) >= {"low", "high"}
    assert 100 <= band["low"] <= score <= band["high"] <= 1000
    assert 0.0 <= result["passProbability"] <= 1.0
    assert set(result["scored"]) >= {"correct", "total"}
    assert result["scored"]["total"] == 50
    assert 0 <= result["scored"]["correct"] <= 50
    assert 0 <= result["answered"] <= 65

    domains = result["domains"]
    assert [d["domainId"] for d in domains] == DOMAIN_IDS
    for d, (_, weight, total, _) in zip(domains, DOMAINS, strict=True):
        assert set(d) >= {
            "domainId",
            "name",
            "weight",
            "correct",
            "total",
            "percent",
            "expectedPercentAtCut",
            "rating",
        }
        assert d["name"]
        assert d["weight"] == pytest.approx(weight)
        assert d["total"] == total
        assert 0 <= d["correct"] <= total
        assert d["percent"] == pytest.approx(round(100.0 * d["correct"] / total, 1))
        assert 0.0 < d["expectedPercentAtCut"] < 100.0
        assert d["rating"] == ("meets" if d["percent"] >= d["expectedPercentAtCut"] else "needs_improvement")
    assert sum(d["correct"] for d in domains) == result["scored"]["correct"]
    weakest = max(domains, key=lambda d: (round(d["expectedPercentAtCut"] - d["percent"], 6), d["weight"]))
    assert result["weakestDomain"] == weakest["domainId"]

    plan = result["studyPlan"]
    assert sorted(e["domainId"] for e in plan) == sorted(DOMAIN_IDS)
    assert [e["share"] for e in plan] == sorted((e["share"] for e in plan), reverse=True)
    assert sum(e["share"] for e in plan) == pytest.approx(1.0, abs=0.001)
    assert sum(e["hours"] for e in plan) == STUDY_HOURS  # half-hour steps that add up to the budget exactly
    by_domain = {d["domainId"]: d for d in domains}
    for entry in plan:
        assert set(entry) >= {"domainId", "name", "share", "hours", "taskStatements"}
        assert 0.0 < entry["share"] < 1.0
        assert entry["hours"] >= 0 and (entry["hours"] * 2).is_integer()
        tasks = entry["taskStatements"]
        for t in tasks:
            assert set(t) >= {"id", "text", "missed"}
            assert t["id"] in TASKS_OF[entry["domainId"]]
            assert t["text"]
            assert t["missed"] > 0
        assert [(-t["missed"], t["id"]) for t in tasks] == sorted((-t["missed"], t["id"]) for t in tasks)
        d = by_domain[entry["domainId"]]
        assert sum(t["missed"] for t in tasks) == d["total"] - d["correct"]


def check_review_against(review: dict[str, Any], created: dict[str, Any], exam: dict[str, Any]) -> None:
    """A review's questions are the served questions, with keys, flags and scores that agree with each other."""
    assert review["attemptId"] == created["attemptId"]
    questions = review["questions"]
    assert len(questions) == 65
    tasks = {d["id"]: {t["id"]: t["text"] for t in d["taskStatements"]} for d in exam["domains"]}
    names = {d["id"]: d["name"] for d in exam["domains"]}
    for rq, q in zip(questions, created["questions"], strict=True):
        assert set(rq) >= REVIEW_QUESTION_FIELDS
        for name in QUESTION_FIELDS - {"options"}:
            assert rq[name] == q[name]
        assert [(o["id"], o["text"]) for o in rq["options"]] == [(o["id"], o["text"]) for o in q["options"]]
        ids = [o["id"] for o in q["options"]]
        assert rq["key"] == sorted(rq["key"])
        assert len(rq["key"]) == q["selectCount"]
        assert set(rq["key"]) <= set(ids)
        assert set(rq["selected"]) <= set(ids)
        assert rq["correct"] is (bool(rq["selected"]) and sorted(rq["selected"]) == rq["key"])
        for o in rq["options"]:
            assert set(o) >= {"id", "text", "correct", "selected", "explanation"}
            assert o["correct"] is (o["id"] in rq["key"])
            assert o["selected"] is (o["id"] in rq["selected"])
            assert isinstance(o["explanation"], str) and len(o["explanation"]) > 10
        assert isinstance(rq["scored"], bool)
        assert isinstance(rq["flagged"], bool)
        assert rq["domainId"] in DOMAIN_IDS
        assert rq["domainName"] == names[rq["domainId"]]
        ts = rq["taskStatement"]
        assert set(ts) >= {"id", "text"}
        assert tasks[rq["domainId"]].get(ts["id"]) == ts["text"]
        assert rq["reference"] is None or rq["reference"].startswith("https://")
    assert sum(q["scored"] for q in questions) == 50

    result = review["result"]
    scored = [q for q in questions if q["scored"]]
    assert result["scored"]["correct"] == sum(q["correct"] for q in scored)
    assert result["answered"] == sum(1 for q in questions if q["selected"])
    for d in result["domains"]:
        mine = [q for q in scored if q["domainId"] == d["domainId"]]
        assert d["total"] == len(mine)
        assert d["correct"] == sum(q["correct"] for q in mine)
    missed: dict[str, int] = {}
    for q in scored:
        if not q["correct"]:
            missed[q["taskStatement"]["id"]] = missed.get(q["taskStatement"]["id"], 0) + 1
    planned = {t["id"]: t["missed"] for e in result["studyPlan"] for t in e["taskStatements"]}
    assert planned == missed


# ---------------------------------------------------------------- the catalogue


@pytest.fixture(scope="module")
def exam(api: Api) -> dict[str, Any]:
    reply = api.get("/exams")
    assert reply.status == 200, reply.raw
    assert len(reply.body["exams"]) == 1
    return reply.body["exams"][0]


def test_exam_catalogue(exam: dict[str, Any]) -> None:
    assert exam["examId"] == EXAM
    assert exam["title"]
    assert exam["questionCount"] == 65
    assert exam["scoredCount"] == 50
    assert exam["durationMinutes"] == 90
    assert exam["passingScore"] == 700
    assert exam["scaleMin"] == 100
    assert exam["scaleMax"] == 1000
    assert [d["id"] for d in exam["domains"]] == DOMAIN_IDS
    for d, (_, weight, _, tasks) in zip(exam["domains"], DOMAINS, strict=True):
        assert set(d) >= {"id", "name", "weight", "taskStatements"}
        assert d["name"]
        assert d["weight"] == pytest.approx(weight)
        assert [t["id"] for t in d["taskStatements"]] == tasks
        assert all(set(t) == {"id", "text"} and t["text"] for t in d["taskStatements"])
    assert sum(d["weight"] for d in exam["domains"]) == pytest.approx(1.0)


def test_exam_catalogue_is_json(api: Api) -> None:
    reply = api.get("/exams")
    assert (header(reply, "Content-Type") or "").startswith("application/json")


# ---------------------------------------------------------------- the journey


@dataclass
class Journey:
    created: Reply
    reads: list[Reply] = field(default_factory=list)  # every GET before submission
    saves: list[Reply] = field(default_factory=list)
    expected: dict[str, dict[str, Any]] = field(default_factory=dict)  # last write per question
    mid: Reply | None = None  # GET after the partial saves
    before_submit: Reply | None = None
    submit: Reply | None = None
    submit_again: Reply | None = None
    submit_with_answers: Reply | None = None
    late_save: Reply | None = None
    after: Reply | None = None
    review: Reply | None = None

    @property
    def body(self) -> dict[str, Any]:
        return self.created.body

    @property
    def path(self) -> str:
        return f"/attempts/{self.body['attemptId']}"

    @property
    def headers(self) -> dict[str, str]:
        return tok(self.body["attemptToken"])


@pytest.fixture(scope="module")
def journey(api: Api) -> Journey:
    created = api.post("/attempts", {"examId": EXAM, "mode": "full"})
    assert created.status == 201, created.raw
    j = Journey(created)
    qs = created.body["questions"]

    def save(responses: list[dict[str, Any]]) -> Reply:
        reply = api.put(f"{j.path}/responses", {"responses": responses}, headers=j.headers)
        j.saves.append(reply)
        if reply.status == 200:
            for r in responses:
                j.expected[r["questionId"]] = {
                    "selected": sorted(set(r.get("selected", []))),
                    "flagged": r.get("flagged", False),
                }
        return reply

    j.reads.append(api.get(j.path, headers=j.headers))
    # 1. a partial save: the first ten questions, two of them flagged
    save([{"questionId": q["questionId"], "selected": pick(q), "flagged": n in (2, 5)} for n, q in enumerate(qs[:10])])
    # 2. saved again: a changed answer, a flag removed, an answer cleared, a flag without an answer,
    #    and one question twice in one request (the later entry wins)
    save(
        [
            {"questionId": qs[0]["questionId"], "selected": pick(qs[0], 1)},
            {"questionId": qs[2]["questionId"], "selected": pick(qs[2])},
            {"questionId": qs[3]["questionId"], "selected": []},
            {"questionId": qs[10]["questionId"], "flagged": True},
            {"questionId": qs[4]["questionId"], "selected": pick(qs[4])},
            {"questionId": qs[4]["questionId"], "selected": pick(qs[4], 1), "flagged": True},
        ]
    )
    j.mid = api.get(j.path, headers=j.headers)
    j.reads.append(j.mid)
    # 3. everything still unanswered gets its first option(s), except the cleared and the flag-only questions
    rest = [q for q in qs if q["questionId"] not in j.expected]
    save([{"questionId": q["questionId"], "selected": pick(q)} for q in rest])
    j.before_submit = api.get(j.path, headers=j.headers)
    j.reads.append(j.before_submit)

    j.submit = api.post(f"{j.path}/submit", headers=j.headers)
    j.submit_again = api.post(f"{j.path}/submit", headers=j.headers)
    j.submit_with_answers = api.post(
        f"{j.path}/submit",
        {"responses": [{"questionId": qs[3]["questionId"], "selected": pick(qs[3])}]},
        headers=j.headers,
    )
    j.late_save = api.put(
        f"{j.path}/responses",
        {"responses": [{"questionId": qs[3]["questionId"], "selected": pick(qs[3])}]},
        headers=j.headers,
    )
    j.after = api.get(j.path, headers=j.headers)
    j.review = api.get(f"{j.path}/review", headers=j.headers)
    return j


def test_start_returns_a_full_timed_attempt(journey: Journey) -> None:
    reply = journey.created
    body = reply.body
    assert reply.status == 201
    assert header(reply, "Location") == f"/attempts/{body['attemptId']}"
    assert re.fullmatch(r"[0-9a-f]{32}", body["attemptId"])
    assert isinstance(body["attemptToken"], str) and len(body["attemptToken"]) >= 32
    assert body["examId"] == EXAM
    assert body["mode"] == "full"
    assert body["durationSeconds"] == 5400
    assert (when(body["expiresAt"]) - when(body["startedAt"])).total_seconds() == 5400
    assert body["questionCount"] == 65


def test_started_questions_are_numbered_and_well_formed(journey: Journey) -> None:
    questions = journey.body["questions"]
    assert [q["number"] for q in questions] == list(range(1, 66))
    assert len({q["questionId"] for q in questions}) == 65
    assert len({q["stem"] for q in questions}) == 65
    for q in questions:
        assert set(q) == QUESTION_FIELDS
        assert re.fullmatch(r"q[0-9a-f]{10}", q["questionId"])
        assert q["type"] in ("single", "multiple")
        assert q["stem"].strip()
        ids = [o["id"] for o in q["options"]]
        assert ids == [chr(ord("a") + i) for i in range(len(ids))]
        assert 4 <= len(ids) <= 6
        assert all(set(o) == {"id", "text"} and o["text"].strip() for o in q["options"])
        if q["type"] == "single":
            assert q["selectCount"] == 1
        else:
            assert 2 <= q["selectCount"] < len(ids)


def test_every_read_returns_identical_questions(journey: Journey) -> None:
    served = journey.body["questions"]
    assert journey.after is not None
    for reply in [*journey.reads, journey.after]:
        assert reply.status == 200, reply.raw
        assert reply.body["questions"] == served
        assert reply.body["attemptId"] == journey.body["attemptId"]
        assert reply.body["questionCount"] == 65
        assert reply.body["startedAt"] == journey.body["startedAt"]
        assert reply.body["expiresAt"] == journey.body["expiresAt"]
        assert reply.body["durationSeconds"] == 5400


def test_fresh_attempt_reads_in_progress_with_no_responses(journey: Journey) -> None:
    body = journey.reads[0].body
    assert body["status"] == "in_progress"
    assert body["responses"] == []
    assert body["answeredCount"] == 0
    assert body["flaggedCount"] == 0
    assert body["result"] is None
    assert 5300 < body["remainingSeconds"] <= 5400


def test_saves_report_what_they_stored(journey: Journey) -> None:
    first, second, third = journey.saves
    for reply in journey.saves:
        assert reply.status == 200, reply.raw
        assert set(reply.body) >= {"attemptId", "saved", "answeredCount", "remainingSeconds"}
        assert reply.body["attemptId"] == journey.body["attemptId"]
        assert 5300 < reply.body["remainingSeconds"] <= 5400
    assert (first.body["saved"], first.body["answeredCount"]) == (10, 10)
    # six entries for five questions; q3 cleared, q10 only flagged
    assert (second.body["saved"], second.body["answeredCount"]) == (5, 9)
    assert (third.body["saved"], third.body["answeredCount"]) == (54, 63)


def test_last_write_wins_per_question(journey: Journey) -> None:
    assert journey.mid is not None
    qs = journey.body["questions"]
    saved = {r["questionId"]: r for r in journey.mid.body["responses"]}
    assert saved[qs[0]["questionId"]]["selected"] == pick(qs[0], 1)
    assert saved[qs[2]["questionId"]]["flagged"] is False  # the flag went with the rewrite
    assert saved[qs[3]["questionId"]]["selected"] == []
    assert saved[qs[4]["questionId"]] | {"savedAt": None} == {
        "questionId": qs[4]["questionId"],
        "selected": pick(qs[4], 1),
        "flagged": True,
        "savedAt": None,
    }
    assert saved[qs[5]["questionId"]]["flagged"] is True  # untouched by the second save
    assert saved[qs[10]["questionId"]] | {"savedAt": None} == {
        "questionId": qs[10]["questionId"],
        "selected": [],
        "flagged": True,
        "savedAt": None,
    }


def test_reads_show_saved_responses_and_flags(journey: Journey) -> None:
    assert journey.before_submit is not None
    body = journey.before_submit.body
    assert body["status"] == "in_progress"
    assert body["result"] is None
    assert 5300 < body["remainingSeconds"] <= 5400
    got = {r["questionId"]: {"selected": r["selected"], "flagged": r["flagged"]} for r in body["responses"]}
    assert got == journey.expected
    assert body["answeredCount"] == sum(1 for r in journey.expected.values() if r["selected"]) == 63
    assert body["flaggedCount"] == sum(1 for r in journey.expected.values() if r["flagged"]) == 3
    for r in body["responses"]:
        assert set(r) >= {"questionId", "selected", "flagged", "savedAt"}
        assert when(r["savedAt"]) >= when(journey.body["startedAt"])


def test_submit_returns_a_complete_consistent_result(journey: Journey) -> None:
    assert journey.submit is not None
    assert journey.submit.status == 200, journey.submit.raw
    result = journey.submit.body
    check_result(result, journey.body["attemptId"])
    assert result["timedOut"] is False
    assert result["answered"] == 63
    assert when(result["submittedAt"]) >= when(journey.body["startedAt"])


def test_submitting_again_returns_the_identical_result(journey: Journey) -> None:
    assert journey.submit is not None and journey.submit_again is not None
    assert journey.submit_again.status == 200
    assert journey.submit_again.body == journey.submit.body


def test_submitting_again_with_answers_changes_nothing(journey: Journey) -> None:
    assert journey.submit is not None and journey.submit_with_answers is not None and journey.review is not None
    assert journey.submit_with_answers.status in (200, 409), journey.submit_with_answers.raw
    if journey.submit_with_answers.status == 200:
        assert journey.submit_with_answers.body == journey.submit.body
    else:
        assert journey.submit_with_answers.body["error"]["code"] == "attempt_submitted"
    q3 = journey.body["questions"][3]["questionId"]
    assert next(q for q in journey.review.body["questions"] if q["questionId"] == q3)["selected"] == []


def test_answering_after_submission_is_409(journey: Journey) -> None:
    reply = journey.late_save
    assert reply is not None
    assert reply.status == 409
    assert reply.body["error"]["code"] == "attempt_submitted"
    assert set(reply.body["error"]) == {"code", "message", "details"}


def test_read_after_submission_shows_the_result_and_keeps_answers(journey: Journey) -> None:
    assert journey.after is not None and journey.submit is not None and journey.before_submit is not None
    body = journey.after.body
    assert journey.after.status == 200
    assert body["status"] == "submitted"
    assert body["remainingSeconds"] == 0
    assert body["result"] == journey.submit.body
    assert body["responses"] == journey.before_submit.body["responses"]


def test_review_after_submission(journey: Journey, exam: dict[str, Any]) -> None:
    assert journey.review is not None and journey.submit is not None
    assert journey.review.status == 200, journey.review.raw
    review = journey.review.body
    assert set(review) >= {"attemptId", "result", "questions"}
    assert review["result"] == journey.submit.body
    check_review_against(review, journey.body, exam)
    for rq in review["questions"]:
        assert {"selected": rq["selected"], "flagged": rq["flagged"]} == journey.expected.get(
            rq["questionId"], {"selected": [], "flagged": False}
        )


def test_review_keys_and_explanations_come_from_the_bank(journey: Journey) -> None:
    assert journey.review is not None
    bank = load_bank()
    for rq in journey.review.body["questions"]:
        item = bank_item(bank, rq)
        texts = {o["id"]: o["text"] for o in rq["options"]}
        assert {texts[k] for k in rq["key"]} == key_texts(item)
        explained = {o["text"]: o["explanation"] for o in item["options"]}
        assert all(o["explanation"] == explained[o["text"]] for o in rq["options"])
        assert rq["taskStatement"]["id"] == item["task"]
        assert rq["reference"] == item.get("reference")
        if item["status"] == "pretest":
            assert rq["scored"] is False


# ---------------------------------------------------------------- a perfect and an all-wrong attempt


def answer_from_bank(api: Api, correct: bool) -> tuple[dict[str, Any], Reply, Reply]:
    """Answer every question right (or wrong) using the bank's keys, submit, review."""
    bank = load_bank()
    created = start(api)
    responses = []
    for q in created["questions"]:
        keys = key_texts(bank_item(bank, q))
        # wrong answers: only wrong options (a 3-of-5 item has just two), so never the key
        ids = [o["id"] for o in q["options"] if (o["text"] in keys) is correct][: q["selectCount"]]
        assert ids
        assert len(ids) == q["selectCount"] or not correct
        responses.append({"questionId": q["questionId"], "selected": ids})
    path, headers = f"/attempts/{created['attemptId']}", tok(created["attemptToken"])
    saved = api.put(f"{path}/responses", {"responses": responses}, headers=headers)
    assert saved.status == 200, saved.raw
    assert saved.body["answeredCount"] == 65
    return created, api.post(f"{path}/submit", headers=headers), api.get(f"{path}/review", headers=headers)


@pytest.fixture(scope="module")
def perfect(api: Api) -> tuple[dict[str, Any], Reply, Reply]:
    return answer_from_bank(api, correct=True)


@pytest.fixture(scope="module")
def all_wrong(api: Api) -> tuple[dict[str, Any], Reply, Reply]:
    return answer_from_bank(api, correct=False)


def test_perfect_attempt_passes_with_full_marks(perfect: tuple[dict[str, Any], Reply, Reply]) -> None:
    created, submitted, _ = perfect
    assert submitted.status == 200, submitted.raw
    result = submitted.body
    check_result(result, created["attemptId"])
    assert result["scored"] == {"correct": 50, "total": 50}
    assert result["answered"] == 65
    assert result["passed"] is True
    assert result["scaledScore"] >= 900
    assert result["passProbability"] >= 0.99
    assert all(d["percent"] == 100.0 and d["rating"] == "meets" for d in result["domains"])
    assert all(e["taskStatements"] == [] for e in result["studyPlan"])


def test_perfect_attempt_review_marks_every_answer_correct(
    perfect: tuple[dict[str, Any], Reply, Reply], exam: dict[str, Any]
) -> None:
    created, _, review = perfect
    assert review.status == 200, review.raw
    check_review_against(review.body, created, exam)
    assert all(q["correct"] and q["selected"] == q["key"] for q in review.body["questions"])


def test_all_wrong_attempt_fails_everywhere(
    all_wrong: tuple[dict[str, Any], Reply, Reply], exam: dict[str, Any]
) -> None:
    created, submitted, review = all_wrong
    assert submitted.status == 200, submitted.raw
    result = submitted.body
    check_result(result, created["attemptId"])
    assert result["scored"] == {"correct": 0, "total": 50}
    assert result["passed"] is False
    assert result["scaledScore"] < 700
    assert result["passProbability"] <= 0.01
    assert all(d["percent"] == 0.0 and d["rating"] == "needs_improvement" for d in result["domains"])
    check_review_against(review.body, created, exam)
    assert not any(q["correct"] for q in review.body["questions"])


def test_more_correct_answers_score_higher(
    perfect: tuple[dict[str, Any], Reply, Reply],
    all_wrong: tuple[dict[str, Any], Reply, Reply],
    journey: Journey,
) -> None:
    assert journey.submit is not None
    best, worst, middle = perfect[1].body, all_wrong[1].body, journey.submit.body
    assert worst["scaledScore"] <= middle["scaledScore"] <= best["scaledScore"]
    assert worst["scaledScore"] < best["scaledScore"]
    assert worst["passProbability"] <= middle["passProbability"] <= best["passProbability"]


def test_study_plan_hours_add_up_to_the_study_budget(
    perfect: tuple[dict[str, Any], Reply, Reply], all_wrong: tuple[dict[str, Any], Reply, Reply]
) -> None:
    """Regression: hours were rounded per domain, so a perfect attempt's plan summed to 20.5 of 20 hours."""
    for _, submitted, _ in (perfect, all_wrong):
        plan = submitted.body["studyPlan"]
        assert sum(e["hours"] for e in plan) == STUDY_HOURS
        assert all((e["hours"] * 2).is_integer() for e in plan)


# ---------------------------------------------------------------- CORS


def test_cors_preflight_on_attempts(api: Api) -> None:
    reply = api.call(
        "OPTIONS",
        "/attempts",
        headers={
            "Origin": "https://candidate.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-attempt-token",
        },
    )
    assert reply.status in (200, 204)
    assert header(reply, "Access-Control-Allow-Origin") in ("*", "https://candidate.example")
    allowed = {h.strip().lower() for h in (header(reply, "Access-Control-Allow-Headers") or "").split(",")}
    assert {"x-attempt-token", "content-type"} <= allowed
    methods = {m.strip().upper() for m in (header(reply, "Access-Control-Allow-Methods") or "").split(",")}
    assert "POST" in methods


def test_cors_preflight_on_saving_responses(api: Api) -> None:
    reply = api.call(
        "OPTIONS",
        f"/attempts/{'0' * 32}/responses",
        headers={"Origin": "https://candidate.example", "Access-Control-Request-Method": "PUT"},
    )
    assert reply.status in (200, 204)
    assert header(reply, "Access-Control-Allow-Origin") in ("*", "https://candidate.example")
    allowed = {h.strip().lower() for h in (header(reply, "Access-Control-Allow-Headers") or "").split(",")}
    assert "x-attempt-token" in allowed
    methods = {m.strip().upper() for m in (header(reply, "Access-Control-Allow-Methods") or "").split(",")}
    assert "PUT" in methods


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/exams", None, 200),
        ("POST", "/attempts", {"examId": EXAM}, 201),
        ("POST", "/attempts", {"examId": "no-such-exam"}, 404),
        ("GET", f"/attempts/{'0' * 32}", None, 403),
        ("GET", "/no-such-route", None, 404),
    ],
)
def test_browser_responses_carry_allow_origin(api: Api, method: str, path: str, body: Any, status: int) -> None:
    reply = api.call(method, path, body, headers={"Origin": "https://candidate.example"})
    assert reply.status == status
    assert header(reply, "Access-Control-Allow-Origin") in ("*", "https://candidate.example")


# ---------------------------------------------------------------- OpenAPI and Swagger


@pytest.fixture(scope="module")
def openapi(api: Api) -> dict[str, Any]:
    reply = api.get("/openapi.json")
    assert reply.status == 200, reply.raw[:300]
    assert (header(reply, "Content-Type") or "").startswith("application/json")
    return reply.body


def documented(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops if m != "parameters"}


def test_openapi_lists_every_route(openapi: dict[str, Any], server: tuple[Api, list[str]]) -> None:
    """Every route the server serves (its startup banner, read from template.yaml) is in the document."""
    assert openapi["openapi"].startswith("3.")
    printed = set()
    for line in server[1]:
        m = re.match(r"^\s+(GET|POST|PUT|PATCH|DELETE)\s+http://[^/\s]+(/\S*)$", line)
        if m:
            printed.add((m.group(1), m.group(2)))
    assert printed >= ROUTES
    assert printed <= documented(openapi)


def test_openapi_documents_error_statuses_with_the_error_body(openapi: dict[str, Any]) -> None:
    expected = {
        ("POST", "/attempts"): {"400", "404", "422"},
        ("GET", "/attempts/{attemptId}"): {"403", "422"},
        ("PUT", "/attempts/{attemptId}/responses"): {"400", "403", "409", "422"},
        ("POST", "/attempts/{attemptId}/submit"): {"400", "403", "409", "422"},
        ("GET", "/attempts/{attemptId}/review"): {"403", "409", "422"},
    }
    for (method, path), codes in expected.items():
        responses = openapi["paths"][path][method.lower()]["responses"]
        assert codes <= set(responses), (method, path)
        for code in codes:
            schema = responses[code]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, code)
    assert "201" in openapi["paths"]["/attempts"]["post"]["responses"]


def test_openapi_documents_every_success_response(openapi: dict[str, Any]) -> None:
    """Regression: routes with error responses listed used to document no 2xx response at all."""
    missing = []
    for method, path in sorted(ROUTES):
        responses = openapi["paths"][path][method.lower()]["responses"]
        ok = [c for c in responses if c.startswith("2")]
        if not ok or "schema" not in responses[ok[0]].get("content", {}).get("application/json", {}):
            missing.append((method, path))
    assert missing == []


def test_openapi_error_responses_never_use_another_shape(openapi: dict[str, Any]) -> None:
    """Regression: GET /exams documented a 422 with Powertools' {"detail": [...]} shape, which we never send."""
    other = []
    for method, path in sorted(ROUTES):
        for code, response in openapi["paths"][path][method.lower()]["responses"].items():
            if code.startswith(("4", "5")):
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if schema != {"$ref": "#/components/schemas/ErrorBody"}:
                    other.append((method, path, code, schema))
    assert other == []


def test_swagger_ui_is_served(api: Api) -> None:
    reply = api.get("/swagger")
    assert reply.status == 200
    assert (header(reply, "Content-Type") or "").startswith("text/html")
    text = reply.raw.decode("utf-8", errors="replace")
    assert text.lstrip().lower().startswith("<!doctype html>")
    assert "swagger-ui" in text.lower()
    assert "/attempts/{attemptId}/responses" in text
