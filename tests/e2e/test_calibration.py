"""Calibration end to end: simulated candidates take real attempts over HTTP; the job calibrates them.

A run is asynchronous: ``POST /admin/calibrations`` answers 202 with the queued run and its Location, and
the tests poll ``GET /admin/calibrations/{id}`` until it is done or failed (locally the run executes on a
background thread of the server, as deployed in an asynchronous invocation of the function)."""

from __future__ import annotations

import math
import random
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.e2e.conftest import Api, bank_by_stem, start_server

ADMIN = {"Authorization": "Bearer demo-admin-token"}
ATTEMPTS = 160
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cal_server() -> Iterator[tuple[Api, Any]]:
    """A server of its own and a client on its embedded DynamoDB (whose endpoint it prints first)."""
    proc, base, lines = start_server({"CALIBRATION_MIN_RESPONSES": "20", "BANK_REFRESH_SECONDS": "0"})
    try:
        endpoint = re.search(r"DynamoDB: (http://[0-9.:]+)", "\n".join(lines))
        assert endpoint, lines
        client = boto3.client(
            "dynamodb",
            endpoint_url=endpoint.group(1),
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        yield Api(base), client
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def cal_api(cal_server: tuple[Api, Any]) -> Api:
    return cal_server[0]


def _finished(api: Api, calibration_id: str, timeout: float = 120) -> dict[str, Any]:
    """Poll the run until it is done or failed; every answer on the way is queued, running or the end."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        got = api.get(f"/admin/calibrations/{calibration_id}", headers=ADMIN)
        assert got.status == 200, got.raw[:300]
        seen.append(got.body["status"])
        assert seen[-1] in ("queued", "running", "done", "failed"), seen
        if seen[-1] in ("done", "failed"):
            body: dict[str, Any] = got.body
            return body
        time.sleep(0.3)
    raise AssertionError(f"run {calibration_id} not finished in {timeout} s: {seen[-5:]}")


def _calibrate(api: Api, query: str = "") -> tuple[dict[str, Any], dict[str, Any]]:
    """Start a run (202, queued, with its Location) and wait for it: (the queued run, the finished run)."""
    started = api.post(f"/admin/calibrations{query}", headers=ADMIN)
    assert started.status == 202, started.raw[:300]
    queued = started.body
    assert queued["status"] == "queued"
    location = {k.lower(): v for k, v in started.headers.items()}["location"]
    assert location.startswith(f"/admin/calibrations/{queued['calibrationId']}")
    return queued, _finished(api, queued["calibrationId"])


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
        _, dry = _calibrate(cal_api, "?dryRun=true")
        assert dry["status"] == "done", dry
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

    queued, report = _calibrate(cal_api)
    assert report["status"] == "done" and report["calibrationId"] == queued["calibrationId"]
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


def test_given_a_stored_response_row_the_job_cannot_read_when_calibrating_then_the_run_ends_failed_with_the_reason(
    cal_server: tuple[Api, Any],
) -> None:
    api, dynamodb = cal_server
    # Given one recorded row the job cannot read (an injected failure: its responses stored as a number)
    bad = {"pk": {"S": "CALDATA#clf-c02"}, "sk": {"S": "f" * 32}, "r": {"N": "1"}}
    dynamodb.put_item(TableName="ItemsTable", Item=bad)
    try:
        # When a run is started, then it is accepted at once and ends failed, with the reason
        queued, failed = _calibrate(api, "?dryRun=true")
    finally:
        dynamodb.delete_item(TableName="ItemsTable", Key={"pk": bad["pk"], "sk": bad["sk"]})
    assert failed["status"] == "failed" and failed["calibrationId"] == queued["calibrationId"]
    assert failed["error"]["code"] == "internal_error" and "KeyError" in failed["error"]["message"], failed
    assert "items" not in failed and failed["startedAt"] <= failed["finishedAt"]

    # and the next run, the row gone, is done again
    assert _calibrate(api, "?dryRun=true")[1]["status"] == "done"


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/admin/calibrations", b"{not json", 400, "malformed_json"),
        ("/admin/calibrations", b'{"dryRun": "yes"}', 422, "invalid_request"),
        ("/admin/calibrations", b'{"examId": "clf-c02", "unknown": 1}', 422, "invalid_request"),
        ("/admin/calibrations?dryRun=true", b'{"dryRun": false}', 422, "conflicting_parameters"),
        ("/admin/calibrations?examId=no-such-exam", None, 404, "exam_not_found"),
    ],
)
def test_given_bad_input_when_starting_a_run_then_4xx_with_the_error_body(
    cal_api: Api, path: str, body: bytes | None, status: int, code: str
) -> None:
    reply = cal_api.call("POST", path, headers=ADMIN, raw=body)
    assert reply.status == status, reply.raw[:300]
    assert reply.body["error"]["code"] == code


def test_given_a_json_body_when_starting_a_run_then_it_is_the_same_as_the_query(cal_api: Api) -> None:
    started = cal_api.post("/admin/calibrations", {"examId": "clf-c02", "dryRun": True}, headers=ADMIN)
    assert started.status == 202 and started.body["dryRun"] is True
    assert _finished(cal_api, started.body["calibrationId"])["dryRun"] is True


@pytest.mark.parametrize(
    ("calibration_id", "status", "code"),
    [
        ("20990101T000000Z-abcdef", 404, "calibration_not_found"),  # well formed, never started
        ("not-a-run-id", 422, "invalid_request"),
        ("x" * 40, 422, "invalid_request"),
    ],
)
def test_given_an_unknown_or_malformed_run_id_then_404_or_422(
    cal_api: Api, calibration_id: str, status: int, code: str
) -> None:
    reply = cal_api.get(f"/admin/calibrations/{calibration_id}", headers=ADMIN)
    assert reply.status == status, reply.raw[:300]
    assert reply.body["error"]["code"] == code
