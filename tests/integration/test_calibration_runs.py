"""Asynchronous calibration runs on moto: queued, running, done or failed, each run executed once; and the
deployed path of ``POST /admin/calibrations`` (an asynchronous invoke of the function itself) with a fake
Lambda client."""

from __future__ import annotations

import importlib.util
import json
import random
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from exam_core import runtime
from exam_core.bank_files import load_exam_dir
from exam_core.calibration_job import MAX_QUEUED_SECONDS, MAX_RUN_SECONDS, CalibrationJob
from exam_core.errors import NotFound
from exam_core.invoker import LambdaInvoker, ThreadInvoker, make_invoker
from exam_core.settings import Settings
from exam_core.store import DynamoStore

from tests.bench.memory import api_event
from tests.conftest import EXAM_DIR, ROOT

EXAM = "clf-c02"
FUNCTION_NAME = "exam-scoring-api-CalibrationFunction-AbC123"


class Clock:
    def __init__(self) -> None:
        self.now = 1_790_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def loaded(store: DynamoStore) -> DynamoStore:
    load_exam_dir(store, EXAM_DIR)
    bank = store.load_bank(EXAM)
    assert bank is not None
    ids = [i["id"] for i in bank.items]
    rng = random.Random(3)
    rows = [
        (f"{n:032x}", ",".join(f"{i}={rng.randrange(2)}" for i in rng.sample(ids, 40))) for n in range(30)
    ]  # 30 recorded attempts of 40 items each
    store.add_calibration_rows(EXAM, rows)
    return store


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def job(loaded: DynamoStore, clock: Clock) -> CalibrationJob:
    return CalibrationJob(loaded, Settings(), clock)


def test_given_a_queued_run_when_it_executes_then_it_is_running_and_then_done_with_the_report(
    job: CalibrationJob, loaded: DynamoStore
) -> None:
    # Given a run queued as POST /admin/calibrations queues it
    queued = job.queue(EXAM, dry_run=True, who="admin")
    assert queued["status"] == "queued" and job.get(EXAM, queued["calibrationId"])["status"] == "queued"
    seen: list[str] = []
    claim = loaded.claim_calibration_run

    def watching(exam_id: str, calibration_id: str, doc: dict[str, Any]) -> bool:
        seen.append(doc["status"])
        return claim(exam_id, calibration_id, doc)

    loaded.claim_calibration_run = watching  # type: ignore[method-assign]
    version = loaded.bank_version(EXAM)

    # When the asynchronous invocation executes it
    done = job.execute(EXAM, queued["calibrationId"])

    # Then it went running, then done, and the stored run holds the report
    assert seen == ["running"]
    assert done is not None and done["status"] == "done" and done["attempts"] == 30 and done["dryRun"] is True
    stored = job.get(EXAM, queued["calibrationId"])
    assert stored == done and stored["queuedAt"] <= stored["startedAt"] <= stored["finishedAt"]
    assert stored["items"] and stored["applied"] == 0
    assert loaded.bank_version(EXAM) == version  # a dry run changes nothing


def test_given_the_same_event_delivered_twice_then_the_run_executes_once(
    job: CalibrationJob, loaded: DynamoStore
) -> None:
    queued = job.queue(EXAM, dry_run=False, who="admin")
    first = job.execute(EXAM, queued["calibrationId"])
    assert first is not None and first["status"] == "done"

    again = job.execute(EXAM, queued["calibrationId"])  # a redelivery, or a retry

    assert again is None
    assert job.get(EXAM, queued["calibrationId"]) == first


def test_given_two_deliveries_racing_for_a_queued_run_then_only_one_claims_it(
    job: CalibrationJob, loaded: DynamoStore
) -> None:
    queued = job.queue(EXAM, dry_run=True, who="admin")
    running = {**queued, "status": "running"}
    assert loaded.claim_calibration_run(EXAM, queued["calibrationId"], running) is True
    assert loaded.claim_calibration_run(EXAM, queued["calibrationId"], running) is False
    assert loaded.claim_calibration_run(EXAM, "20990101T000000Z-abcdef", running) is False  # never queued


def test_given_a_run_that_raises_then_it_ends_failed_with_the_reason(job: CalibrationJob, loaded: DynamoStore) -> None:
    queued = job.queue(EXAM, dry_run=False, who="admin")

    def broken(exam_id: str) -> Iterator[str]:
        raise RuntimeError("the responses could not be read")

    loaded.load_calibration_rows = broken  # type: ignore[method-assign]

    failed = job.execute(EXAM, queued["calibrationId"])

    assert failed is not None
    stored = job.get(EXAM, queued["calibrationId"])
    assert stored == failed and stored["status"] == "failed"
    assert stored["error"] == {"code": "internal_error", "message": "RuntimeError: the responses could not be read"}


def test_given_a_run_whose_exam_is_gone_then_it_fails_with_the_domain_reason(
    job: CalibrationJob, loaded: DynamoStore
) -> None:
    queued = job.queue(EXAM, dry_run=True, who="admin")
    loaded.client.delete_item(TableName="ItemsTable", Key={"pk": {"S": EXAM}, "sk": {"S": "META"}})

    job.execute(EXAM, queued["calibrationId"])

    stored = job.get(EXAM, queued["calibrationId"])
    assert stored["status"] == "failed" and stored["error"]["code"] == "exam_not_found"


def test_given_an_unknown_exam_then_nothing_is_queued(job: CalibrationJob) -> None:
    with pytest.raises(NotFound) as caught:
        job.queue("no-such-exam", dry_run=True, who="admin")
    assert caught.value.code == "exam_not_found"


def test_given_a_run_lambda_stopped_then_it_shows_failed_once_no_invocation_can_still_hold_it(
    job: CalibrationJob, loaded: DynamoStore, clock: Clock
) -> None:
    # Given a run claimed and then never finished (timeout, out of memory), and one never delivered
    stuck = job.queue(EXAM, dry_run=True, who="admin")
    assert loaded.claim_calibration_run(
        EXAM, stuck["calibrationId"], {**stuck, "status": "running", "startedAt": stuck["queuedAt"]}
    )
    waiting = job.queue(EXAM, dry_run=True, who="admin")

    clock.now += MAX_RUN_SECONDS - 1
    assert job.get(EXAM, stuck["calibrationId"])["status"] == "running"  # may still be running
    clock.now += 2
    lost = job.get(EXAM, stuck["calibrationId"])
    assert lost["status"] == "failed" and lost["error"]["code"] == "run_lost"
    assert job.get(EXAM, waiting["calibrationId"])["status"] == "queued"  # its event may still be delivered
    clock.now += MAX_QUEUED_SECONDS
    assert job.get(EXAM, waiting["calibrationId"])["status"] == "failed"


# ---------------------------------------------------------------- the invoker the runtime chooses


def test_given_local_async_thread_then_the_invoker_runs_the_handler_on_a_thread() -> None:
    import threading

    ran = threading.Event()
    invoker = make_invoker(lambda event: ran.set(), Settings(local_async="thread"))
    assert isinstance(invoker, ThreadInvoker)
    invoker({"calibrationRun": {}})
    assert ran.wait(5)


def test_given_lambda_then_the_invoker_invokes_the_running_function_itself() -> None:
    invoker = make_invoker(lambda event: None, Settings(aws_lambda_function_name=FUNCTION_NAME))
    assert isinstance(invoker, LambdaInvoker) and invoker.function_name == FUNCTION_NAME
    with pytest.raises(RuntimeError, match="AWS_LAMBDA_FUNCTION_NAME"):
        make_invoker(lambda event: None, Settings())  # neither: refuse rather than guess


# ---------------------------------------------------------------- the deployed path, end to end in-process


class FakeLambda:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fail = fail

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        if self.fail:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"}}, "Invoke")
        self.calls.append(kwargs)
        return {"StatusCode": 202}


class Context:
    function_name = FUNCTION_NAME
    function_version = "$LATEST"
    memory_limit_in_mb = 1769
    invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION_NAME}"
    aws_request_id = "test"
    log_group_name = f"/aws/lambda/{FUNCTION_NAME}"
    log_stream_name = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


@pytest.fixture
def calibration_app(loaded: DynamoStore, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.setenv("ITEMS_TABLE", "ItemsTable")
    monkeypatch.setenv("ATTEMPTS_TABLE", "AttemptsTable")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", FUNCTION_NAME)  # as Lambda sets it
    monkeypatch.delenv("LOCAL_ASYNC", raising=False)
    runtime.reset()
    spec = importlib.util.spec_from_file_location("calibration_app_under_test", ROOT / "functions/calibration/app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    runtime.reset()


def _post(module: ModuleType, **kw: Any) -> dict[str, Any]:
    event = api_event("POST", "/admin/calibrations", "/admin/calibrations", iam_user="admin", **kw)
    out: dict[str, Any] = module.lambda_handler(event, Context())
    return out


def test_given_the_deployed_function_when_a_run_is_posted_then_it_invokes_itself_asynchronously_with_the_run(
    calibration_app: ModuleType,
) -> None:
    fake = FakeLambda()
    invoker = calibration_app.invoker()
    assert isinstance(invoker, LambdaInvoker) and invoker.function_name == FUNCTION_NAME
    invoker._client = fake

    out = _post(calibration_app, query={"dryRun": "true"})

    # Then 202 with the queued run and its Location, and one Event invoke of the function itself
    assert out["statusCode"] == 202, out["body"]
    run = json.loads(out["body"])
    assert run["status"] == "queued" and run["dryRun"] is True
    headers = {k.lower(): v for k, v in (out.get("headers") or {}).items()}
    headers.update({k.lower(): v[0] for k, v in (out.get("multiValueHeaders") or {}).items()})
    assert headers["location"] == f"/admin/calibrations/{run['calibrationId']}?examId={EXAM}"
    assert len(fake.calls) == 1
    call = fake.calls[0]
    assert call["FunctionName"] == FUNCTION_NAME and call["InvocationType"] == "Event"
    payload = json.loads(call["Payload"])
    assert payload == {
        "calibrationRun": {"examId": EXAM, "calibrationId": run["calibrationId"], "dryRun": True, "by": run["by"]}
    }

    # When Lambda delivers that payload to the function, then the run executes and is stored done
    calibration_app.lambda_handler(payload, Context())
    get = api_event(
        "GET",
        "/admin/calibrations/{calibrationId}",
        f"/admin/calibrations/{run['calibrationId']}",
        iam_user="admin",
    )
    stored = calibration_app.lambda_handler(get, Context())
    assert stored["statusCode"] == 200
    report = json.loads(stored["body"])
    assert report["status"] == "done" and report["attempts"] == 30 and report["dryRun"] is True


def test_given_lambda_refuses_the_invoke_then_the_post_answers_503_and_the_run_is_recorded_failed(
    calibration_app: ModuleType, loaded: DynamoStore
) -> None:
    calibration_app.invoker()._client = FakeLambda(fail=True)

    out = _post(calibration_app)

    assert out["statusCode"] == 503, out["body"]
    assert json.loads(out["body"])["error"]["code"] == "job_not_queued"
    runs = loaded.client.query(
        TableName="ItemsTable",
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": f"CALIBRATIONS#{EXAM}"}},
    )["Items"]
    assert [json.loads(r["doc"]["S"])["status"] for r in runs] == ["failed"]


@pytest.mark.parametrize(
    ("body", "query", "status", "code"),
    [
        ("{not json", None, 400, "malformed_json"),
        ({"dryRun": "yes"}, None, 422, "invalid_request"),
        ({"examId": EXAM, "surprise": 1}, None, 422, "invalid_request"),
        ({"dryRun": False}, {"dryRun": "true"}, 422, "conflicting_parameters"),
        (None, {"examId": "no-such-exam"}, 404, "exam_not_found"),
    ],
)
def test_given_bad_input_when_posting_a_run_then_4xx_and_nothing_is_invoked(
    calibration_app: ModuleType, body: Any, query: dict[str, str] | None, status: int, code: str
) -> None:
    fake = FakeLambda()
    calibration_app.invoker()._client = fake
    event = api_event("POST", "/admin/calibrations", "/admin/calibrations", iam_user="admin", query=query, body=None)
    if body is not None:
        event["body"] = body if isinstance(body, str) else json.dumps(body)
        event["headers"]["Content-Type"] = "application/json"

    out = calibration_app.lambda_handler(event, Context())

    assert out["statusCode"] == status, out["body"]
    assert json.loads(out["body"])["error"]["code"] == code
    assert fake.calls == []
