"""A Python client generated from the served ``/openapi.json`` walks the API as a client developer would.

openapi-python-client (a dev dependency) generates the client offline from the document the local server
serves, the test imports it, and every call below goes through the generated functions and models over
real HTTP: a full attempt with the attempt token in the generated client's own auth
(``AuthenticatedClient(auth_header_name="X-Attempt-Token")``), a diagnostic with the partner key in it
(``X-Api-Key``), a candidate's history with a bearer token (its default ``Authorization: Bearer``), and
the bank with the local admin token in that same slot (the deployed admin routes take a SigV4 signature).
Generation takes a second or two (no formatter post-hooks), and it reads a file: no network.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from tests.e2e.conftest import Api

PACKAGE = "exam_api_client"
GENERATION_BUDGET_S = 30.0  # measured about 1.5 s on the 2-core machine
# Any HTTP the generator tried would go to a closed local port and fail: generation reads the file only.
NO_NETWORK = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}


@pytest.fixture(scope="module")
def client_pkg(api: Api, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    folder = tmp_path_factory.mktemp("generated-client")
    doc = api.get("/openapi.json")
    assert doc.status == 200
    (folder / "openapi.json").write_text(json.dumps(doc.body))
    (folder / "config.yaml").write_text("post_hooks: []\n")  # ruff is the repo's linter, not the client's
    tool = Path(sys.executable).with_name("openapi-python-client")
    started = time.monotonic()
    out = subprocess.run(
        [
            str(tool),
            "generate",
            "--path",
            str(folder / "openapi.json"),
            "--output-path",
            str(folder / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(folder / "config.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=folder,
        env={**os.environ, **NO_NETWORK},
    )
    elapsed = time.monotonic() - started
    assert out.returncode == 0, out.stdout + out.stderr
    assert elapsed < GENERATION_BUDGET_S, f"generation took {elapsed:.1f} s"
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _mod(pkg: ModuleType, name: str) -> Any:
    return importlib.import_module(f"{pkg.__name__}.{name}")


def _operations(pkg: ModuleType, tag: str) -> Any:
    """The generated modules of one tag (one per operation, named for its operationId): ``ops.start_attempt``."""
    package = _mod(pkg, f"api.{tag}")
    names = [m.name for m in pkgutil.iter_modules(package.__path__)]
    return SimpleNamespace(**{name: importlib.import_module(f"{package.__name__}.{name}") for name in names})


def _first_options(pkg: ModuleType, questions: list[Any]) -> list[Any]:
    response_in = _mod(pkg, "models").ResponseIn
    return [response_in(question_id=q.question_id, selected=[q.options[0].id]) for q in questions]


def test_generated_client_walks_a_full_attempt_with_the_attempt_token_as_its_auth(
    client_pkg: ModuleType, api: Api
) -> None:
    models = _mod(client_pkg, "models")
    attempts = _operations(client_pkg, "attempts")
    start, save, submit = attempts.start_attempt, attempts.save_responses, attempts.submit_attempt
    get, review = attempts.get_attempt, attempts.review_attempt
    # Given an attempt started through the generated open client (startAttempt needs no credentials)
    anonymous = client_pkg.Client(base_url=api.base, raise_on_unexpected_status=True)
    created = start.sync(client=anonymous, body=models.StartAttemptRequest(exam_id="clf-c02", mode="full"))
    assert isinstance(created, models.AttemptCreated), created
    assert created.question_count == 65 and len(created.questions) == 65
    # When its token is the generated client's own credential (the attemptToken security scheme)
    holder = client_pkg.AuthenticatedClient(
        base_url=api.base, token=created.attempt_token, prefix="", auth_header_name="X-Attempt-Token"
    )
    answers = _first_options(client_pkg, created.questions)
    saved = save.sync(created.attempt_id, client=holder, body=models.SaveResponsesRequest(responses=answers[:10]))
    assert isinstance(saved, models.SaveResult), saved
    assert saved.saved == 10 and saved.answered_count == 10
    result = submit.sync(created.attempt_id, client=holder, body=models.SubmitRequest(responses=answers[10:20]))
    # Then the attempt is scored, and reading it back gives the same result
    assert isinstance(result, models.Result), result
    assert result.answered == 20 and 100 <= result.scaled_score <= 1000
    assert result.scored.total == 50
    back = get.sync(created.attempt_id, client=holder)
    assert isinstance(back, models.AttemptOut), back
    assert back.status == "submitted" and back.answered_count == 20
    assert back.result.scaled_score == result.scaled_score
    assert isinstance(review.sync(created.attempt_id, client=holder), models.Review)
    # and another token in the same auth slot is refused like a missing one
    stranger = client_pkg.AuthenticatedClient(
        base_url=api.base, token="not-the-token", prefix="", auth_header_name="X-Attempt-Token"
    )
    refused = get.sync_detailed(created.attempt_id, client=stranger)
    assert refused.status_code == 403
    assert refused.parsed.error.code == "attempt_forbidden"


def test_generated_client_takes_a_diagnostic_with_the_partner_key_as_its_auth(client_pkg: ModuleType, api: Api) -> None:
    models = _mod(client_pkg, "models")
    diagnostics = _operations(client_pkg, "diagnostics")
    # Given the partner key as the generated client's credential (the partnerApiKey scheme, X-Api-Key)
    partner = client_pkg.AuthenticatedClient(
        base_url=api.base, token="demo-partner-key", prefix="", auth_header_name="X-Api-Key"
    )
    # When the partner starts a diagnostic and submits an answer to every question
    created = diagnostics.start_diagnostic.sync(client=partner, body=models.StartDiagnosticRequest(exam_id="clf-c02"))
    assert isinstance(created, models.AttemptCreated), created
    assert created.question_count == 10
    answers = _first_options(client_pkg, created.questions)
    result = diagnostics.submit_diagnostic.sync(
        created.attempt_id,
        client=partner,
        body=models.SubmitRequest(responses=answers),
        x_attempt_token=created.attempt_token,  # the diagnostic's own token, as the header parameter
    )
    # Then it is scored with a band, and the same key reads it back
    assert isinstance(result, models.Result), result
    assert result.answered == 10 and result.score_band.low <= result.scaled_score <= result.score_band.high
    back = diagnostics.get_diagnostic.sync(created.attempt_id, client=partner, x_attempt_token=created.attempt_token)
    assert isinstance(back, models.AttemptOut) and back.status == "submitted"
    # and a key API Gateway does not know is refused before any function runs
    unknown = client_pkg.AuthenticatedClient(
        base_url=api.base, token="no-such-key", prefix="", auth_header_name="X-Api-Key"
    )
    refused = diagnostics.start_diagnostic.sync_detailed(
        client=unknown, body=models.StartDiagnosticRequest(exam_id="clf-c02")
    )
    assert refused.status_code == 403


def test_generated_client_reads_a_candidates_history_with_a_bearer_token(client_pkg: ModuleType, api: Api) -> None:
    models = _mod(client_pkg, "models")
    candidates = _operations(client_pkg, "candidates")
    # Given a signed-in candidate: the generated client's default auth is "Authorization: Bearer <token>"
    me = client_pkg.AuthenticatedClient(base_url=api.base, token="dev:generated-client-carol")
    started = [
        candidates.start_my_attempt.sync(
            client=me, body=models.StartCandidateAttempt(exam_id="clf-c02", mode=models.StartCandidateAttemptMode.FULL)
        )
        for _ in range(2)
    ]
    assert all(isinstance(a, models.AttemptCreated) for a in started), started
    # (an empty body: openapi-python-client 0.29 sends an omitted optional body as its UNSET marker)
    done = candidates.submit_my_attempt.sync(started[0].attempt_id, client=me, body=models.SubmitRequest())
    assert isinstance(done, models.Result), done
    # When the candidate lists their history, one per page
    first = candidates.list_my_attempts.sync(client=me, limit=1)
    assert isinstance(first, models.History), first
    second = candidates.list_my_attempts.sync(client=me, limit=1, next_token=first.next_token)
    assert isinstance(second, models.History), second
    # Then both attempts are there, one on each page, newest first, with their status
    entries = [*first.attempts, *second.attempts]
    assert len(first.attempts) == len(second.attempts) == 1
    assert {entry.attempt_id for entry in entries} == {a.attempt_id for a in started}
    assert entries[0].started_at >= entries[1].started_at  # both may start within the same second
    statuses = {entry.attempt_id: entry.status for entry in [*first.attempts, *second.attempts]}
    assert statuses == {started[1].attempt_id: "in_progress", started[0].attempt_id: "submitted"}
    submitted = candidates.list_my_attempts.sync(client=me, status=models.ListMyAttemptsStatusType0.SUBMITTED)
    assert [entry.attempt_id for entry in submitted.attempts] == [started[0].attempt_id]
    assert submitted.attempts[0].scaled_score == done.scaled_score
    # and another candidate's token sees none of them
    other = client_pkg.AuthenticatedClient(base_url=api.base, token="dev:generated-client-dave")
    assert candidates.list_my_attempts.sync(client=other).attempts == []


def test_generated_client_reads_the_bank_with_the_local_admin_token_in_its_auth(
    client_pkg: ModuleType, api: Api
) -> None:
    models = _mod(client_pkg, "models")
    admin = _operations(client_pkg, "admin")
    # Given the local stand-in for the admin's SigV4 signature: the admin token as the Authorization header
    operator = client_pkg.AuthenticatedClient(base_url=api.base, token="demo-admin-token")
    # When the operator lists pretest items, then reads one of them
    page = admin.list_items.sync(client=operator, status=models.ListItemsStatusType0.PRETEST, limit=5)
    assert isinstance(page, models.AdminItemPage), page
    assert 1 <= len(page.items) <= 5 and {item.status for item in page.items} == {"pretest"}
    item = admin.get_item.sync(page.items[0].id, client=operator)
    # Then the item comes back with its key, and a candidate's token in the same slot is refused
    assert isinstance(item, models.AdminItemDetail) and item.key
    candidate = client_pkg.AuthenticatedClient(base_url=api.base, token="dev:generated-client-erin")
    assert admin.list_items.sync_detailed(client=candidate).status_code == 403
