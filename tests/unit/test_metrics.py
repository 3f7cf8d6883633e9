"""Business metrics: one CloudWatch EMF line per event, with the dimensions the dashboard searches on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from exam_core import metrics
from exam_core.attempts import AttemptService
from exam_core.errors import Throttled
from exam_core.models.bank import Blueprint, Item

from tests.conftest import ROOT
from tests.fakes import InMemoryStore
from tests.unit.test_attempt_service import EXAM, FakeClock, answer, load_bank, make_service, record, resp


def emitted(out: str) -> list[dict[str, Any]]:
    """The EMF documents printed: name, value and dimensions of each."""
    docs = []
    for line in out.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        doc = json.loads(line)
        (directive,) = doc["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "ExamScoring"
        (metric,) = directive["Metrics"]
        (dims,) = directive["Dimensions"]
        docs.append({"name": metric["Name"], "value": doc[metric["Name"]], "dims": {d: doc[d] for d in dims}})
    return docs


@pytest.fixture(autouse=True)
def metrics_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "exam-scoring-api")


@pytest.fixture
def service(bank_files: tuple[Blueprint, list[Item]]) -> tuple[AttemptService, InMemoryStore]:
    store = InMemoryStore()
    load_bank(store, bank_files)
    return make_service(store, FakeClock()), store


def test_starting_and_submitting_a_full_exam_counts_a_start_a_submission_and_a_pass(
    service: tuple[AttemptService, InMemoryStore], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a full attempt answered correctly throughout
    svc, store = service
    created = svc.start(EXAM)
    form = record(store, created.attempt_id).form
    responses = [resp(q.question_id, answer(svc, q)) for q in form.questions]
    start_lines = emitted(capsys.readouterr().out)

    # When it is submitted
    result = svc.submit(created.attempt_id, created.attempt_token, responses)

    # Then one start (exam, mode, service), one submission (ending "submit") and one pass were counted
    assert result.passed
    assert start_lines == [
        {
            "name": "AttemptsStarted",
            "value": [1.0],
            "dims": {"exam": EXAM, "mode": "full", "service": "exam-scoring-api"},
        }
    ]
    assert emitted(capsys.readouterr().out) == [
        {
            "name": "AttemptsSubmitted",
            "value": [1.0],
            "dims": {"exam": EXAM, "mode": "full", "ending": "submit", "service": "exam-scoring-api"},
        },
        {"name": "Passes", "value": [1.0], "dims": {"exam": EXAM, "mode": "full", "service": "exam-scoring-api"}},
    ]


def test_a_failed_attempt_counts_a_submission_and_no_pass(
    service: tuple[AttemptService, InMemoryStore], capsys: pytest.CaptureFixture[str]
) -> None:
    svc, _ = service
    created = svc.start(EXAM)
    capsys.readouterr()

    svc.submit(created.attempt_id, created.attempt_token, [])

    assert [d["name"] for d in emitted(capsys.readouterr().out)] == ["AttemptsSubmitted"]


def test_a_partners_diagnostic_is_counted_per_partner(
    service: tuple[AttemptService, InMemoryStore], capsys: pytest.CaptureFixture[str]
) -> None:
    svc, _ = service

    svc.start(EXAM, "diagnostic", partner_id="acme")

    by_name = {d["name"]: d for d in emitted(capsys.readouterr().out)}
    assert by_name["AttemptsStarted"]["dims"]["mode"] == "diagnostic"
    assert by_name["DiagnosticsStarted"]["dims"] == {"exam": EXAM, "partner": "acme", "service": "exam-scoring-api"}


def test_refusals_and_503s_carry_their_reason_and_route(capsys: pytest.CaptureFixture[str]) -> None:
    metrics.save_refused("attempt_submitted")
    metrics.unavailable("PUT /attempts/{attemptId}/responses")

    assert [
        (d["name"], d["dims"].get("reason") or d["dims"].get("route")) for d in emitted(capsys.readouterr().out)
    ] == [
        ("SavesRefused", "attempt_submitted"),
        ("ServiceUnavailable", "PUT /attempts/{attemptId}/responses"),
    ]
    assert Throttled.status == 503


def test_metrics_can_be_silenced(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")

    metrics.save_refused("attempt_expired")

    assert emitted(capsys.readouterr().out) == []


def test_metrics_add_no_import_to_a_cold_start() -> None:
    """Powertools' own package init already loads its metrics module with the event handler, so emitting
    loads nothing more: the cold-start cost of metrics is the first line's print alone."""
    code = (
        "import sys, importlib.util; sys.path[:0] = ['shared']; "
        "spec = importlib.util.spec_from_file_location('h', 'functions/exam_api/app.py'); "
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); "
        "before = set(sys.modules); from aws_lambda_powertools.metrics import EphemeralMetrics; "
        "import exam_core.metrics; print(sorted(set(sys.modules) - before - {'exam_core.metrics'}))"
    )
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
