"""A third exam from data alone: a folder written in a temporary directory, loaded into a running local
server with the operator's loader, then served through the HTTP API with no code, template or settings
change (the exams served are the blueprints loaded: GET /exams reads the bank's registry)."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import Api, Reply, start_server

ROOT = Path(__file__).resolve().parents[2]
# A fresh id each run: nothing in the repository can name it.
EXAM = f"zz{secrets.token_hex(3)}-t01"
# (domain id, name, weight, task statements, scored items on its full form by the largest-remainder rule)
DOMAINS = [
    ("lighthouses", "Lighthouses", 0.5, ["1.1", "1.2"], 6),
    ("tides", "Tides and Currents", 0.3, ["2.1", "2.2"], 4),
    ("knots", "Knots", 0.2, ["3.1"], 2),
]
SCORED, PRETEST, MINUTES = 12, 3, 25
SCALE = {"min": 200, "max": 800, "passing": 560, "thetaCut": 0.2, "slope": 90}
OPERATIONAL_PER_DOMAIN, PRETEST_PER_DOMAIN = 12, 2
# The server's bank cache checks the bank this often (60 s deployed); shorter only so the test need not wait.
REFRESH_SECONDS = 2


def _items() -> list[dict[str, Any]]:
    """Small valid single-answer items, spread over every task statement and over difficulty."""
    out = []
    for d, (domain_id, _, _, tasks, _) in enumerate(DOMAINS):
        for n in range(OPERATIONAL_PER_DOMAIN + PRETEST_PER_DOMAIN):
            task = tasks[n % len(tasks)]
            key = "abcd"[(n + d) % 4]
            out.append(
                {
                    "id": f"{domain_id}-{n:03d}",
                    "task": task,
                    "type": "single",
                    "selectCount": 1,
                    "status": "operational" if n < OPERATIONAL_PER_DOMAIN else "pretest",
                    "b": round(-2.0 + 4.0 * n / (OPERATIONAL_PER_DOMAIN + PRETEST_PER_DOMAIN), 2),
                    "stem": f"[{domain_id} {n}] Which answer is the right one for task {task}, case {n}?",
                    "options": [
                        {
                            "id": o,
                            "text": f"Answer {o.upper()} to case {n} of {domain_id}",
                            "explanation": ("Right: this is the keyed answer." if o == key else "Wrong: not keyed."),
                        }
                        for o in "abcd"
                    ],
                    "key": [key],
                    "reference": "https://example.com/handbook",
                }
            )
    return out


def write_exam_folder(root: Path) -> tuple[Path, dict[str, dict[str, Any]]]:
    """``<root>/<exam>/exam.yaml`` and ``items/*.yaml``, as an author writes them; items by stem."""
    folder = root / EXAM
    (folder / "items").mkdir(parents=True)
    blueprint = {
        "examId": EXAM,
        "title": "Harbour Pilot Fundamentals (test exam)",
        "version": 1,
        "scale": SCALE,
        "forms": {
            "full": {"scored": SCORED, "pretest": PRETEST, "durationMinutes": MINUTES},
            "diagnostic": {"scored": 5, "pretest": 0},
        },
        "domains": [
            {
                "id": i,
                "name": name,
                "weight": w,
                "taskStatements": [{"id": t, "text": f"Task {t} of {name}."} for t in ts],
            }
            for i, name, w, ts, _ in DOMAINS
        ],
    }
    (folder / "exam.yaml").write_text(yaml.safe_dump(blueprint, sort_keys=False), encoding="utf-8")
    items = _items()
    for domain_id, *_ in DOMAINS:
        mine = [i for i in items if i["id"].startswith(domain_id)]
        (folder / "items" / f"{domain_id}.yaml").write_text(yaml.safe_dump({"items": mine}), encoding="utf-8")
    return folder, {i["stem"]: i for i in items}


def load_folder(folder: Path, endpoint: str) -> subprocess.CompletedProcess[str]:
    """The operator's loader against the server's DynamoDB (a deployed stack: its ItemsTableName)."""
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    return subprocess.run(
        [sys.executable, "-m", "infra.bank.load", "--items-table", "ItemsTable", str(folder)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def exam_ids(api: Api) -> list[str]:
    reply = api.get("/exams")
    assert reply.status == 200, reply.raw
    return [e["examId"] for e in reply.body["exams"]]


@dataclass
class Served:
    api: Api
    before: list[str]  # GET /exams on the running server before the folder was loaded
    loaded: subprocess.CompletedProcess[str]
    catalogue: Reply
    by_stem: dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder, by_stem = write_exam_folder(tmp_path_factory.mktemp("bank"))
    proc, base, lines = start_server({"BANK_REFRESH_SECONDS": str(REFRESH_SECONDS)})
    try:
        api = Api(base)
        endpoint = re.search(r"DynamoDB: (http://[0-9.:]+)", "\n".join(lines))
        assert endpoint, lines
        before = exam_ids(api)
        loaded = load_folder(folder, endpoint.group(1))
        deadline = time.monotonic() + REFRESH_SECONDS + 10
        while EXAM not in exam_ids(api) and time.monotonic() < deadline:
            time.sleep(0.5)
        yield Served(api, before, loaded, api.get("/exams"), by_stem)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _exam(served: Served) -> dict[str, Any]:
    return next(e for e in served.catalogue.body["exams"] if e["examId"] == EXAM)


def _right(question: dict[str, Any], by_stem: dict[str, dict[str, Any]]) -> list[str]:
    """The served option id whose text is the item's key (served ids are per attempt)."""
    item = by_stem[question["stem"]]
    texts = {o["text"] for o in item["options"] if o["id"] in item["key"]}
    return [o["id"] for o in question["options"] if o["text"] in texts]


def _wrong(question: dict[str, Any], by_stem: dict[str, dict[str, Any]]) -> list[str]:
    right = _right(question, by_stem)
    return [next(o["id"] for o in question["options"] if o["id"] not in right)]


# ---------------------------------------------------------------- loading and the catalogue


def test_given_a_new_exam_folder_when_the_loader_loads_it_then_it_validates_and_writes(served: Served) -> None:
    assert served.loaded.returncode == 0, served.loaded.stderr
    assert f"{EXAM}: loaded, bank version 1" in served.loaded.stdout


def test_given_a_running_server_when_an_exam_is_loaded_then_get_exams_lists_it_within_the_refresh(
    served: Served,
) -> None:
    # Before: the shipped exam only (every folder make run found), not ours
    assert EXAM not in served.before
    assert "clf-c02" in served.before
    # After: ours too, without a restart or any configuration, and the shipped exam still listed
    ids = [e["examId"] for e in served.catalogue.body["exams"]]
    assert EXAM in ids
    assert set(served.before) < set(ids)


def test_given_the_new_exam_listed_then_its_blueprint_is_its_own(served: Served) -> None:
    exam = _exam(served)
    assert exam["title"] == "Harbour Pilot Fundamentals (test exam)"
    assert (exam["questionCount"], exam["scoredCount"], exam["durationMinutes"]) == (SCORED + PRETEST, SCORED, MINUTES)
    assert (exam["scaleMin"], exam["scaleMax"], exam["passingScore"]) == (200, 800, 560)
    assert [(d["id"], d["name"], d["weight"]) for d in exam["domains"]] == [(i, n, w) for i, n, w, _, _ in DOMAINS]
    assert [[t["id"] for t in d["taskStatements"]] for d in exam["domains"]] == [ts for *_, ts, _ in DOMAINS]


# ---------------------------------------------------------------- a full attempt


@dataclass
class Attempt:
    created: Reply
    saves: list[Reply]
    submit: Reply
    after: Reply
    review: Reply


def _take(api: Api, by_stem: dict[str, dict[str, Any]], right: bool) -> Attempt:
    created = api.post("/attempts", {"examId": EXAM, "mode": "full"})
    assert created.status == 201, created.raw
    body = created.body
    path, headers = f"/attempts/{body['attemptId']}", {"X-Attempt-Token": body["attemptToken"]}
    answer = _right if right else _wrong
    qs = body["questions"]
    half = len(qs) // 2
    saves = [
        api.put(
            f"{path}/responses",
            {"responses": [{"questionId": q["questionId"], "selected": answer(q, by_stem)} for q in part]},
            headers=headers,
        )
        for part in (qs[:half], qs[half:])
    ]
    submit = api.post(f"{path}/submit", headers=headers)
    return Attempt(created, saves, submit, api.get(path, headers=headers), api.get(f"{path}/review", headers=headers))


@pytest.fixture(scope="module")
def all_right(served: Served) -> Attempt:
    return _take(served.api, served.by_stem, right=True)


@pytest.fixture(scope="module")
def all_wrong(served: Served) -> Attempt:
    return _take(served.api, served.by_stem, right=False)


def test_given_the_new_exam_when_started_then_the_form_has_its_lengths_duration_and_domain_split(
    all_right: Attempt, served: Served
) -> None:
    body = all_right.created.body
    assert body["examId"] == EXAM
    assert body["questionCount"] == SCORED + PRETEST
    assert body["durationSeconds"] == MINUTES * 60
    items = [served.by_stem[q["stem"]] for q in body["questions"]]
    assert len({i["id"] for i in items}) == SCORED + PRETEST
    scored = [i for i in items if i["status"] == "operational"]
    assert len(scored) == SCORED
    for domain_id, *_, count in DOMAINS:
        assert sum(i["id"].startswith(domain_id + "-") for i in scored) == count
    # nothing of a key before submission
    assert "Right: this is the keyed answer." not in all_right.created.raw.decode()


def test_given_the_new_exam_when_every_answer_is_saved_then_each_save_is_stored(all_right: Attempt) -> None:
    first, second = all_right.saves
    assert first.status == second.status == 200, (first.raw, second.raw)
    assert second.body["answeredCount"] == SCORED + PRETEST


def test_given_all_right_answers_when_submitted_then_the_result_is_on_the_exams_own_scale(all_right: Attempt) -> None:
    assert all_right.submit.status == 200, all_right.submit.raw
    result = all_right.submit.body
    assert result["examId"] == EXAM
    assert (result["scaleMin"], result["scaleMax"], result["passingScore"]) == (200, 800, 560)
    assert 560 <= result["scaledScore"] <= 800
    assert result["passed"] is True
    assert result["scored"] == {"correct": SCORED, "total": SCORED}
    assert [(d["domainId"], d["total"], d["correct"]) for d in result["domains"]] == [(i, n, n) for i, *_, n in DOMAINS]


def test_given_all_wrong_answers_when_submitted_then_the_result_fails_on_the_exams_own_scale(
    all_wrong: Attempt,
) -> None:
    assert all_wrong.submit.status == 200, all_wrong.submit.raw
    result = all_wrong.submit.body
    assert 200 <= result["scaledScore"] < 560
    assert result["passed"] is False
    assert result["scored"] == {"correct": 0, "total": SCORED}


def test_given_a_submitted_attempt_then_its_read_and_review_carry_the_result(all_right: Attempt) -> None:
    assert all_right.after.status == 200, all_right.after.raw
    assert all_right.after.body["status"] == "submitted"
    assert all_right.after.body["result"]["scaledScore"] == all_right.submit.body["scaledScore"]
    assert all_right.review.status == 200, all_right.review.raw
    assert all(q["correct"] for q in all_right.review.body["questions"] if q["scored"])


def test_given_a_short_full_form_then_its_note_names_no_other_exams_form(all_right: Attempt) -> None:
    note = all_right.submit.body["note"]  # 12 scored questions: a rough estimate, said plainly
    assert "rough estimate" in note
    # this is the exam's full form: nothing longer to suggest (a band such as "650" is not a form length)
    assert not re.search(r"\b65\b", note) and "narrows" not in note


def test_given_the_new_exam_then_the_diagnostic_and_signed_in_start_routes_accept_it(served: Served) -> None:
    key = {"X-Api-Key": "demo-partner-key"}
    diagnostic = served.api.post("/diagnostics", {"examId": EXAM}, headers=key)
    assert diagnostic.status == 201, diagnostic.raw
    assert diagnostic.body["questionCount"] == 5
    d = diagnostic.body
    answers = [{"questionId": q["questionId"], "selected": _right(q, served.by_stem)} for q in d["questions"]]
    submitted = served.api.post(
        f"/diagnostics/{d['attemptId']}/submit",
        {"responses": answers},
        headers={**key, "X-Attempt-Token": d["attemptToken"]},
    )
    assert submitted.status == 200, submitted.raw
    result = submitted.body
    assert result["examId"] == EXAM and (result["scaleMin"], result["scaleMax"]) == (200, 800)
    assert result["scored"] == {"correct": 5, "total": 5}
    # the note points to this exam's own full form, not another exam's
    assert re.search(r"A full 15-question practice exam narrows it to about \d+0 points\.$", result["note"])
    mine = served.api.post(
        "/me/attempts", {"examId": EXAM, "mode": "full"}, headers={"Authorization": "Bearer dev:harbour-pilot"}
    )
    assert mine.status == 201, mine.raw
    assert mine.body["questionCount"] == SCORED + PRETEST


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("path", "body", "headers"),
    [
        ("/attempts", {"examId": "nope-c01", "mode": "full"}, {}),
        ("/diagnostics", {"examId": "nope-c01"}, {"X-Api-Key": "demo-partner-key"}),
        ("/me/attempts", {"examId": "nope-c01", "mode": "full"}, {"Authorization": "Bearer dev:harbour-pilot"}),
    ],
)
def test_given_an_exam_id_that_is_not_loaded_when_started_then_404_with_the_json_error(
    served: Served, path: str, body: dict[str, Any], headers: dict[str, str]
) -> None:
    reply = served.api.post(path, body, headers=headers)
    assert reply.status == 404, reply.raw
    assert reply.body == {
        "error": {"code": "exam_not_found", "message": "no exam 'nope-c01'", "details": [{"examId": "nope-c01"}]}
    }
