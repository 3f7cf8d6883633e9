"""Each function's ``lambda_handler(event, context)`` in process, with API Gateway's REST proxy events (and a
real DynamoDB stream batch for item_stats) on the template's tables in moto.

Each handler module is loaded from its file, as Lambda loads it (``tests/bench/run.py`` ``_load``); the
runtime's cached wiring (settings, store, services) is cleared around every test. Per function: a happy
path and a refusal, through the real edge (resolver, validation, error mapping) and the real store.
"""

from __future__ import annotations

import importlib.util
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from exam_core import runtime

from tests.bench.memory import api_event
from tests.conftest import EXAM_DIR

ROOT = Path(__file__).resolve().parents[2]
EXAM = "clf-c02"
ENV = {
    "ITEMS_TABLE": "ItemsTable",
    "ATTEMPTS_TABLE": "AttemptsTable",
    "IDEMPOTENCY_TABLE": "IdempotencyTable",
    "EXAM_IDS": EXAM,
    "POWERTOOLS_METRICS_NAMESPACE": "ExamApiTest",
}


class Context:
    """The Lambda context object, with what Powertools' logger and idempotency read."""

    def __init__(self, name: str) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + 20

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _load(function: str) -> ModuleType:
    path = ROOT / "functions" / function / "app.py"
    spec = importlib.util.spec_from_file_location(f"handler_test_{function}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def aws() -> Iterator[Any]:
    """moto with the template's tables and the shipped bank, once for the module."""
    import boto3
    from exam_core.bank_files import load_exam_dir
    from moto import mock_aws

    from infra.local.gateway import Template, create_tables

    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("AWS_ENDPOINT_URL", raising=False)
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        for k, v in ENV.items():
            mp.setenv(k, v)
        with mock_aws():
            client = boto3.client("dynamodb", region_name="us-east-1")
            create_tables(Template(ROOT / "template.yaml"), client)
            runtime.reset()
            load_exam_dir(runtime.store(), EXAM_DIR)
            yield client
            runtime.reset()


@pytest.fixture(autouse=True)
def fresh_runtime(aws: Any) -> Iterator[None]:
    runtime.reset()
    yield
    runtime.reset()


@pytest.fixture(scope="module")
def handlers(aws: Any) -> dict[str, ModuleType]:
    return {f: _load(f) for f in ("exam_api", "diagnostic_api", "candidate_api", "admin_api", "embed", "item_stats")}


def call(handlers: dict[str, ModuleType], function: str, event: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
    out = handlers[function].lambda_handler(event, Context(function))
    headers = {k: v[0] if isinstance(v, list) else v for k, v in (out.get("multiValueHeaders") or {}).items()}
    headers.update(out.get("headers") or {})
    body = out.get("body") or ""
    is_json = headers.get("Content-Type", "").startswith("application/json")
    return out["statusCode"], (json.loads(body) if is_json and body else body), headers


def error_code(body: Any) -> str:
    return str(body["error"]["code"])


def key_answers(questions: list[dict[str, Any]], attempt_id: str) -> list[dict[str, Any]]:
    """The key to every served question (read from the stored form, as only the server can)."""
    rec = runtime.store().load_attempt(attempt_id)
    assert rec is not None
    bank = runtime.bank_cache().get(EXAM)
    form = {q.question_id: q for q in rec.form.questions}
    out = []
    for q in questions:
        fq = form[q["questionId"]]
        out.append({"questionId": fq.question_id, "selected": fq.to_served(list(bank.items[fq.item_id].key))})
    return out


# ====================================================================== exam_api


def test_exam_api_given_a_full_attempt_when_started_saved_and_submitted_then_201_200_200(
    handlers: dict[str, ModuleType],
) -> None:
    # Given a started full attempt
    status, created, headers = call(
        handlers, "exam_api", api_event("POST", "/attempts", "/attempts", body={"examId": EXAM, "mode": "full"})
    )
    assert status == 201 and created["questionCount"] == 65
    attempt_id, token = created["attemptId"], created["attemptToken"]
    assert headers["Location"] == f"/attempts/{attempt_id}"
    auth = {"X-Attempt-Token": token}
    first = created["questions"][0]["questionId"]
    # When one answer is saved and the attempt submitted
    status, saved, _ = call(
        handlers,
        "exam_api",
        api_event(
            "PUT",
            "/attempts/{attemptId}/responses",
            f"/attempts/{attempt_id}/responses",
            body={"responses": [{"questionId": first, "selected": ["a"], "flagged": True}]},
            headers=auth,
        ),
    )
    assert status == 200 and saved["saved"] == 1
    status, result, _ = call(
        handlers,
        "exam_api",
        api_event("POST", "/attempts/{attemptId}/submit", f"/attempts/{attempt_id}/submit", headers=auth),
    )
    # Then the result is scored and the attempt reads as submitted
    assert status == 200 and 100 <= result["scaledScore"] <= 1000 and result["answered"] == 1
    status, read, _ = call(
        handlers, "exam_api", api_event("GET", "/attempts/{attemptId}", f"/attempts/{attempt_id}", headers=auth)
    )
    assert status == 200 and read["status"] == "submitted" and read["flaggedCount"] == 1


def test_exam_api_given_no_token_or_a_bad_body_when_called_then_403_and_422(handlers: dict[str, ModuleType]) -> None:
    _, created, _ = call(handlers, "exam_api", api_event("POST", "/attempts", "/attempts", body={"examId": EXAM}))
    attempt_id = created["attemptId"]
    status, body, _ = call(handlers, "exam_api", api_event("GET", "/attempts/{attemptId}", f"/attempts/{attempt_id}"))
    assert (status, error_code(body)) == (403, "attempt_forbidden")
    status, body, _ = call(
        handlers, "exam_api", api_event("POST", "/attempts", "/attempts", body={"examId": EXAM, "mode": "sprint"})
    )
    assert (status, error_code(body)) == (422, "invalid_request")
    assert "sprint" not in json.dumps(body)  # input is never echoed back


# ====================================================================== diagnostic_api


def test_diagnostic_api_given_a_partner_key_when_a_diagnostic_is_run_then_the_summary_counts_it(
    handlers: dict[str, ModuleType],
) -> None:
    partner = f"partner-{uuid.uuid4().hex[:8]}"
    # Given a diagnostic started with the partner's key
    status, created, _ = call(
        handlers,
        "diagnostic_api",
        api_event("POST", "/diagnostics", "/diagnostics", body={"examId": EXAM}, api_key="k", api_key_id=partner),
    )
    assert status == 201 and created["questionCount"] == 10
    attempt_id = created["attemptId"]
    # When it is submitted with every key
    status, result, _ = call(
        handlers,
        "diagnostic_api",
        api_event(
            "POST",
            "/diagnostics/{attemptId}/submit",
            f"/diagnostics/{attempt_id}/submit",
            body={"responses": key_answers(created["questions"], attempt_id)},
            headers={"X-Attempt-Token": created["attemptToken"]},
            api_key="k",
            api_key_id=partner,
        ),
    )
    # Then it passes, and the partner's summary counts it
    assert status == 200 and result["passed"] is True
    status, summary, _ = call(
        handlers,
        "diagnostic_api",
        api_event("GET", "/partner/summary", "/partner/summary", api_key="k", api_key_id=partner),
    )
    assert status == 200 and (summary["partnerId"], summary["started"], summary["submitted"]) == (partner, 1, 1)


def test_diagnostic_api_given_no_key_or_another_partners_key_when_called_then_403(
    handlers: dict[str, ModuleType],
) -> None:
    status, body, _ = call(
        handlers, "diagnostic_api", api_event("POST", "/diagnostics", "/diagnostics", body={"examId": EXAM})
    )
    assert (status, error_code(body)) == (403, "partner_key_required")
    _, created, _ = call(
        handlers,
        "diagnostic_api",
        api_event("POST", "/diagnostics", "/diagnostics", body={"examId": EXAM}, api_key="k", api_key_id="p-own"),
    )
    status, body, _ = call(
        handlers,
        "diagnostic_api",
        api_event(
            "GET",
            "/diagnostics/{attemptId}",
            f"/diagnostics/{created['attemptId']}",
            headers={"X-Attempt-Token": created["attemptToken"]},
            api_key="k2",
            api_key_id="p-other",
        ),
    )
    assert (status, error_code(body)) == (403, "attempt_forbidden")
    status, body, _ = call(
        handlers,
        "diagnostic_api",
        api_event("GET", "/partner/summary", "/partner/summary", query={"from": "2026-02-30"}, api_key_id="p-own"),
    )
    assert (status, error_code(body)) == (422, "invalid_range")


# ====================================================================== candidate_api


def test_candidate_api_given_a_signed_in_candidate_when_starting_then_it_is_in_their_history(
    handlers: dict[str, ModuleType],
) -> None:
    me = {"sub": f"cand-{uuid.uuid4().hex[:8]}"}
    status, created, _ = call(
        handlers,
        "candidate_api",
        api_event("POST", "/me/attempts", "/me/attempts", body={"examId": EXAM, "mode": "full"}, claims=me),
    )
    assert status == 201 and created["questionCount"] == 65
    status, history, _ = call(handlers, "candidate_api", api_event("GET", "/me/attempts", "/me/attempts", claims=me))
    assert status == 200 and [a["attemptId"] for a in history["attempts"]] == [created["attemptId"]]
    assert history["attempts"][0]["status"] == "in_progress" and history.get("nextToken") is None
    status, readiness, _ = call(
        handlers, "candidate_api", api_event("GET", "/me/readiness", "/me/readiness", claims=me)
    )
    assert status == 200 and readiness["ready"] is False


def test_candidate_api_given_no_sign_in_or_another_candidate_when_called_then_403_and_404(
    handlers: dict[str, ModuleType],
) -> None:
    status, body, _ = call(handlers, "candidate_api", api_event("GET", "/me/attempts", "/me/attempts"))
    assert (status, error_code(body)) == (403, "candidate_required")
    _, created, _ = call(
        handlers,
        "candidate_api",
        api_event("POST", "/me/attempts", "/me/attempts", body={"examId": EXAM}, claims={"sub": "owner-1"}),
    )
    status, body, _ = call(
        handlers,
        "candidate_api",
        api_event(
            "GET", "/me/attempts/{attemptId}", f"/me/attempts/{created['attemptId']}", claims={"sub": "intruder-1"}
        ),
    )
    assert (status, error_code(body)) == (404, "attempt_not_found")
    status, body, _ = call(
        handlers,
        "candidate_api",
        api_event("GET", "/me/attempts", "/me/attempts", query={"nextToken": "forged"}, claims={"sub": "owner-1"}),
    )
    assert (status, error_code(body)) == (422, "invalid_next_token")


# ====================================================================== admin_api


def test_admin_api_given_an_operator_when_listing_and_patching_then_200_with_the_audit(
    handlers: dict[str, ModuleType],
) -> None:
    who = "ops-handler-test"
    status, page, _ = call(
        handlers,
        "admin_api",
        api_event("GET", "/admin/items", "/admin/items", query={"status": "pretest", "limit": "2"}, iam_user=who),
    )
    assert status == 200 and len(page["items"]) == 2 and page["total"] >= 2 and page["nextToken"]
    item = page["items"][0]
    status, detail, _ = call(
        handlers,
        "admin_api",
        api_event(
            "PATCH",
            "/admin/items/{itemId}",
            f"/admin/items/{item['id']}",
            body={"examId": EXAM, "b": round(item["b"] + 0.01, 4), "reason": "handler test"},
            iam_user=who,
        ),
    )
    assert status == 200 and detail["version"] == item["version"] + 1
    assert detail["history"][-1]["by"].endswith(who) and detail["history"][-1]["reason"] == "handler test"


def test_admin_api_given_an_unknown_item_or_an_empty_patch_when_called_then_404_and_422(
    handlers: dict[str, ModuleType],
) -> None:
    status, body, _ = call(
        handlers, "admin_api", api_event("GET", "/admin/items/{itemId}", "/admin/items/no-such-item", iam_user="ops")
    )
    assert (status, error_code(body)) == (404, "item_not_found")
    _, page, _ = call(handlers, "admin_api", api_event("GET", "/admin/items", "/admin/items", iam_user="ops"))
    item_id = page["items"][0]["id"]
    status, body, _ = call(
        handlers,
        "admin_api",
        api_event("PATCH", "/admin/items/{itemId}", f"/admin/items/{item_id}", body={"examId": EXAM}, iam_user="ops"),
    )
    assert (status, error_code(body)) == (422, "no_change")


# ====================================================================== embed


def test_embed_given_the_script_and_demo_routes_when_fetched_then_javascript_and_html_naming_the_api(
    handlers: dict[str, ModuleType],
) -> None:
    status, script, headers = call(handlers, "embed", api_event("GET", "/embed/diagnostic.js", "/embed/diagnostic.js"))
    assert status == 200 and headers["Content-Type"].startswith("application/javascript") and script
    assert headers["Access-Control-Allow-Origin"] == "*"
    status, page, headers = call(
        handlers, "embed", api_event("GET", "/embed/demo", "/embed/demo", headers={"Host": "api.example.test:8443"})
    )
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "http://api.example.test:8443/embed/diagnostic.js" in page and "{{API_BASE}}" not in page


def test_embed_given_a_hostile_host_or_an_unknown_route_when_fetched_then_nothing_is_reflected_and_404(
    handlers: dict[str, ModuleType],
) -> None:
    hostile = 'evil.test"><script>alert(1)</script>'
    status, page, _ = call(handlers, "embed", api_event("GET", "/embed/demo", "/embed/demo", headers={"Host": hostile}))
    assert status == 200 and "alert(1)" not in page and "http://127.0.0.1/embed/diagnostic.js" in page
    status, _, _ = call(handlers, "embed", api_event("GET", "/embed/nothing", "/embed/nothing"))
    assert status == 404


# ====================================================================== item_stats (stream consumer)


def _stream_batch(client: Any, attempt_id: str) -> dict[str, Any]:
    """One attempt's records from the attempts table's stream in moto, kept by the template's FilterCriteria,
    in the event shape Lambda delivers (creation time in epoch seconds)."""
    import boto3

    from infra.local.gateway import Template
    from infra.local.streams import matches

    source = Template(ROOT / "template.yaml").resources_of("AWS::Serverless::Function")["ItemStatsFunction"]
    (event_source,) = [e for e in source["Properties"]["Events"].values() if e["Type"] == "DynamoDB"]
    filters = [json.loads(f["Pattern"]) for f in event_source["Properties"]["FilterCriteria"]["Filters"]]
    # moto answers DynamoDB Streams only on its classic endpoint name
    streams = boto3.client(
        "dynamodbstreams", region_name="us-east-1", endpoint_url="https://streams.dynamodb.us-east-1.amazonaws.com"
    )
    arn = client.describe_table(TableName="AttemptsTable")["Table"]["LatestStreamArn"]
    records = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")
        for r in streams.get_records(ShardIterator=it["ShardIterator"], Limit=1000)["Records"]:
            if r["dynamodb"]["Keys"]["pk"] == {"S": attempt_id} and any(matches(f, r) for f in filters):
                created = r["dynamodb"]["ApproximateCreationDateTime"]
                r["dynamodb"]["ApproximateCreationDateTime"] = int(created.timestamp())
                records.append({**r, "eventSourceARN": arn})
    return {"Records": records}


def test_item_stats_given_a_submission_on_the_stream_when_the_batch_is_redelivered_then_it_counts_once(
    handlers: dict[str, ModuleType], aws: Any
) -> None:
    # Given a submitted full attempt and its record on the stream
    _, created, _ = call(handlers, "exam_api", api_event("POST", "/attempts", "/attempts", body={"examId": EXAM}))
    attempt_id = created["attemptId"]
    call(
        handlers,
        "exam_api",
        api_event(
            "POST",
            "/attempts/{attemptId}/submit",
            f"/attempts/{attempt_id}/submit",
            headers={"X-Attempt-Token": created["attemptToken"]},
        ),
    )
    batch = _stream_batch(aws, attempt_id)
    assert [r["eventName"] for r in batch["Records"]] == ["MODIFY"]  # the submission, as the filter keeps it
    before = runtime.store().load_item_stats(EXAM).get("_TOTAL", {}).get("attempts", 0.0)
    # When the batch is delivered, and delivered again
    first = handlers["item_stats"].lambda_handler(batch, Context("item_stats"))
    runtime.reset()  # a fresh container gets the redelivery
    again = handlers["item_stats"].lambda_handler(batch, Context("item_stats"))
    # Then no record failed, and the attempt's 65 items and the attempt counter moved once
    assert first == again == {"batchItemFailures": []}
    stats = runtime.store().load_item_stats(EXAM)
    assert stats["_TOTAL"]["attempts"] == before + 1
    rec = runtime.store().load_attempt(attempt_id)
    assert rec is not None
    served = [q.item_id for q in rec.form.questions]
    assert all(stats[i]["n"] >= 1 for i in served) and all(stats[i].get("blank", 0) >= 1 for i in served)
    rows = list(runtime.store().load_calibration_rows(EXAM))
    assert sum(1 for r in rows if served[0] in r) >= 1
