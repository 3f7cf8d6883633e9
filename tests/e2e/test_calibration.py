"""Calibration end to end: simulated candidates take real attempts over HTTP; the job calibrates them."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Api, bank_by_stem, running_server

ADMIN = {"Authorization": "Bearer demo-admin-token"}
ATTEMPTS = 160
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cal_api() -> Iterator[Api]:
    with running_server({"CALIBRATION_MIN_RESPONSES": "20", "BANK_REFRESH_SECONDS": "0"}) as api:
        yield api


def _bank() -> dict[str, dict[str, Any]]:
    return bank_by_stem()


def _take(api: Api, bank: dict[str, dict[str, Any]], theta: float, rng: random.Random) -> dict[str, Any]:
    a = api.post("/attempts", {"examId": "clf-c02"}).body
    answers = []
    for q in a["questions"]:
        item = bank[" ".join(q["stem"].split())]
        texts = {o["id"]: o["text"] for o in item["options"]}
        by_text = {o["text"]: o["id"] for o in q["options"]}
        key = sorted(by_text[texts[k]] for k in item["key"])
        if rng.random() < 1 / (1 + math.exp(-(theta - item["b"]))):
            chosen = key
        else:
            wrong = [o for o in by_text.values() if o not in key]
            chosen = sorted(rng.sample(wrong, min(len(wrong), q["selectCount"])))
        answers.append({"questionId": q["questionId"], "selected": chosen})
    tok = {"X-Attempt-Token": a["attemptToken"]}
    result = api.post(f"/attempts/{a['attemptId']}/submit", {"responses": answers}, headers=tok).body
    return {"attempt": a, "token": tok, "result": result}


def test_given_hundreds_of_real_attempts_when_calibrating_then_dry_run_changes_nothing_and_a_real_run_promotes(
    cal_api: Api,
) -> None:
    bank, rng = _bank(), random.Random(7)
    taken = [_take(cal_api, bank, rng.gauss(0, 1), rng) for _ in range(ATTEMPTS)]

    deadline = time.monotonic() + 120
    dry: dict[str, Any] = {}
    while time.monotonic() < deadline:  # the stream consumer records each submission off the request path
        dry = cal_api.post("/admin/calibrations?dryRun=true", headers=ADMIN).body
        if dry["attempts"] >= ATTEMPTS:
            break
        time.sleep(2)
    assert dry["attempts"] == ATTEMPTS and dry["dryRun"] is True and dry["applied"] == 0
    assert dry["persons"] == ATTEMPTS
    pretest = dry["items"]
    # Every live pretest item of the shipped bank is reported (66 in the 312-item bank; the bank grows).
    assert len(pretest) == sum(1 for i in bank.values() if i["status"] == "pretest")
    assert all(i["n"] >= 1 for i in pretest if i["decision"] != "keep_pretest")
    assert dry["promoted"] >= 10, dry["promoted"]
    promoted_id = next(i["itemId"] for i in pretest if i["decision"] == "promote")
    assert cal_api.get(f"/admin/items/{promoted_id}", headers=ADMIN).body["status"] == "pretest"  # dry: unchanged

    real = cal_api.post("/admin/calibrations", headers=ADMIN)
    assert real.status == 201
    report = real.body
    assert report["applied"] >= report["promoted"] >= 10
    stored = cal_api.get(f"/admin/calibrations/{report['calibrationId']}", headers=ADMIN)
    assert stored.status == 200 and stored.body == report
    promoted = next(i for i in report["items"] if i["decision"] == "promote")
    item = cal_api.get(f"/admin/items/{promoted['itemId']}", headers=ADMIN).body
    assert item["status"] == "operational" and item["b"] == promoted["newB"]
    assert item["history"][-1]["reason"] == f"calibration {report['calibrationId']}"

    # estimates track the truth the simulated candidates answered by
    truth = {i["id"]: i["b"] for i in bank.values()}
    pairs = [(truth[i["itemId"]], i["newB"]) for i in report["items"] if i["newB"] is not None and i["n"] >= 20]
    mean_t = sum(t for t, _ in pairs) / len(pairs)
    mean_e = sum(e for _, e in pairs) / len(pairs)
    cov = sum((t - mean_t) * (e - mean_e) for t, e in pairs)
    corr = cov / math.sqrt(sum((t - mean_t) ** 2 for t, _ in pairs) * sum((e - mean_e) ** 2 for _, e in pairs))
    assert corr > 0.6, corr  # about 35 responses per item: noisy, but clearly on the right scale

    # results already given never change
    first = taken[0]
    again = cal_api.get(f"/attempts/{first['attempt']['attemptId']}", headers=first["token"]).body
    assert again["result"] == first["result"]

    assert cal_api.get("/admin/calibrations/20990101T000000Z-abcdef", headers=ADMIN).status == 404
    assert cal_api.post("/admin/calibrations").status == 403
