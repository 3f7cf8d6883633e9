"""``make bench``: cold import, warm overhead and DynamoDB calls per request, as ratios and counts.

Every timing is a ratio against a baseline measured in the same run on the same machine:
- cold import: a fresh process that imports a function's handler module (building its resolver) and
  creates the DynamoDB client its first request needs, against a fresh process that only does
  ``import boto3; boto3.client("dynamodb")``; paired, alternating runs, median of the pair ratios;
- warm overhead: the real handler, in-process, with the store backed by an in-memory fake, against a
  Powertools "hello" route with validation on, same kind of event; p50 over many calls;
- DynamoDB calls: counted with botocore event hooks through the real store against moto.
Writes ``reports/bench.json``.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "shared"), str(ROOT)]
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # EMF lines would drown the report

FUNCTIONS = {
    name: ROOT / "functions" / name / "app.py"
    for name in ("exam_api", "diagnostic_api", "candidate_api", "admin_api", "item_stats", "calibration", "embed")
}
PAIRS = int(os.environ.get("BENCH_PAIRS", "11"))
WARM_CALLS = int(os.environ.get("BENCH_WARM_CALLS", "300"))

BASELINE_SNIPPET = """
import time
t0 = time.perf_counter()
import boto3
boto3.client("dynamodb", region_name="us-east-1")
print(time.perf_counter() - t0)
"""

FUNCTION_SNIPPET = """
import sys, time, importlib.util
sys.path[:0] = [{shared!r}]
t0 = time.perf_counter()
spec = importlib.util.spec_from_file_location("handler", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
t1 = time.perf_counter()
if "embed" not in {path!r}:
    from exam_core import runtime
    runtime.store().client  # the DynamoDB client the first request creates (the embed makes no AWS calls)
print(time.perf_counter() - t0, t1 - t0)
"""


def _run(code: str) -> list[float]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "0"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return [float(x) for x in out.stdout.split()]


def cold_import() -> dict[str, Any]:
    results: dict[str, Any] = {}
    _run(BASELINE_SNIPPET)  # warm the OS file cache and bytecode once
    for name, path in FUNCTIONS.items():
        snippet = FUNCTION_SNIPPET.format(shared=str(ROOT / "shared"), path=str(path))
        _run(snippet)
        ratios, import_ratios, base_times, fn_times = [], [], [], []
        for i in range(PAIRS):
            if i % 2:
                fn, imp = _run(snippet)
                (base,) = _run(BASELINE_SNIPPET)
            else:
                (base,) = _run(BASELINE_SNIPPET)
                fn, imp = _run(snippet)
            ratios.append(fn / base)
            import_ratios.append(imp / base)
            base_times.append(base)
            fn_times.append(fn)
        results[name] = {
            # The measure: import the handler module and build its resolver (the DynamoDB
            # client is created on the first request that needs it).
            "ratio": round(statistics.median(import_ratios), 3),
            # The same plus creating that DynamoDB client: the whole cold start before the first call.
            "with_dynamodb_client_ratio": round(statistics.median(ratios), 3),
            "baseline_ms": round(statistics.median(base_times) * 1000, 1),
            "function_ms": round(statistics.median(fn_times) * 1000, 1),
            "pairs": PAIRS,
        }
    return results


# ---------------------------------------------------------------- warm, in-process


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Context:
    function_name = "bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def event(
    method: str, resource: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    params = None
    if "{attemptId}" in resource:
        params = {"attemptId": path.split("/")[2]}
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": hdrs,
        "multiValueHeaders": {k: [v] for k, v in hdrs.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": params,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/v1{path}",
            "stage": "v1",
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "127.0.0.1"},
            "accountId": "123456789012",
            "apiId": "bench",
        },
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


def _p50(fn: Callable[[], Any], n: int) -> float:
    for _ in range(min(20, n)):
        fn()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _p50_each(make: Callable[[int], Callable[[], Any]], n: int) -> float:
    """p50 where every call needs its own fresh state (prepared outside the timing)."""
    calls = [make(i) for i in range(n)]
    times = []
    for call in calls:
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _paired(hello: Callable[[], Any], fn: Callable[[], Any], n: int) -> tuple[float, float]:
    """p50 of ``fn`` and of the hello route measured around it (see ``_paired_each``)."""
    return _paired_each(hello, lambda _: fn, n, warmup=min(20, n))


def _paired_each(
    hello: Callable[[], Any], make: Callable[[int], Callable[[], Any]], n: int, warmup: int = 0
) -> tuple[float, float]:
    """p50 of the route (every call prepared outside the timing) and of the hello route, measured in
    blocks right before and right after it: both see the same machine load, and neither runs with the
    other's data in the caches (alternating call by call made hello look slower after heavy routes)."""
    calls = [make(i) for i in range(n + warmup)]
    for call in calls[:warmup]:
        call()

    def block(fns: list[Callable[[], Any]]) -> list[float]:
        times = []
        for fn in fns:
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return times

    for _ in range(20):
        hello()
    before = block([hello] * n)
    route_times = block(calls[warmup:])
    after = block([hello] * n)
    return statistics.median(route_times), statistics.median(before + after)


def _service_with_fake_store() -> Any:
    from exam_core.attempts import AttemptService
    from exam_core.bank_cache import BankCache
    from exam_core.bank_files import read_exam_dir
    from exam_core.settings import Settings

    from tests.fakes import InMemoryStore

    store = InMemoryStore()
    bp, items = read_exam_dir(ROOT / "infra" / "bank" / "clf-c02")
    store.put_bank(
        bp.exam_id,
        bp.model_dump(mode="json", by_alias=True),
        [i.model_dump(mode="json", by_alias=True, exclude_none=True) for i in items],
    )
    return AttemptService(store, BankCache(store, refresh_seconds=3600), Settings())


def warm() -> dict[str, Any]:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

    hello_app = APIGatewayRestResolver(enable_validation=True)

    @hello_app.get("/hello")
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    ctx = _Context()
    hello_event = event("GET", "/hello", "/hello")

    def hello_call() -> Any:
        return hello_app.resolve(hello_event, ctx)

    module = _load(FUNCTIONS["exam_api"], "bench_exam_api")
    service = _service_with_fake_store()
    module.attempt_service = lambda: service  # the real handler over an in-memory store
    handler = module.lambda_handler

    def call(ev: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = handler(ev, ctx)
        assert out["statusCode"] < 300, out
        return out

    start_ev = event("POST", "/attempts", "/attempts", {"examId": "clf-c02", "mode": "full"})
    routes: dict[str, tuple[float, float]] = {}
    routes["list_exams"] = _paired(hello_call, lambda: call(event("GET", "/exams", "/exams")), WARM_CALLS)
    routes["start_attempt"] = _paired(hello_call, lambda: call(start_ev), WARM_CALLS)

    def new_attempt() -> dict[str, Any]:
        return json.loads(call(start_ev)["body"])

    a = new_attempt()
    aid, tok = a["attemptId"], {"X-Attempt-Token": a["attemptToken"]}
    rng = random.Random(1)
    answers = [
        {"questionId": q["questionId"], "selected": sorted(rng.sample("abcd", q["selectCount"])), "flagged": False}
        for q in a["questions"]
    ]
    save_one = event(
        "PUT", "/attempts/{attemptId}/responses", f"/attempts/{aid}/responses", {"responses": answers[:1]}, tok
    )
    save_all = event(
        "PUT", "/attempts/{attemptId}/responses", f"/attempts/{aid}/responses", {"responses": answers}, tok
    )
    routes["save_responses_1"] = _paired(hello_call, lambda: call(save_one), WARM_CALLS)
    routes["save_responses_65"] = _paired(hello_call, lambda: call(save_all), WARM_CALLS)
    routes["get_attempt"] = _paired(
        hello_call, lambda: call(event("GET", "/attempts/{attemptId}", f"/attempts/{aid}", None, tok)), WARM_CALLS
    )

    def prepared_submit(_: int) -> Callable[[], Any]:
        b = new_attempt()
        h = {"X-Attempt-Token": b["attemptToken"]}
        ans = [{"questionId": q["questionId"], "selected": ["a"]} for q in b["questions"]]
        call(
            event(
                "PUT",
                "/attempts/{attemptId}/responses",
                f"/attempts/{b['attemptId']}/responses",
                {"responses": ans[:60]},
                h,
            )
        )
        ev = event("POST", "/attempts/{attemptId}/submit", f"/attempts/{b['attemptId']}/submit", None, h)
        return lambda: call(ev)

    routes["submit_attempt"] = _paired_each(hello_call, prepared_submit, max(50, WARM_CALLS // 3))
    call(event("POST", "/attempts/{attemptId}/submit", f"/attempts/{aid}/submit", None, tok))
    routes["review_attempt"] = _paired(
        hello_call,
        lambda: call(event("GET", "/attempts/{attemptId}/review", f"/attempts/{aid}/review", None, tok)),
        WARM_CALLS,
    )
    return {
        "hello_p50_us": round(statistics.median(h for _, h in routes.values()) * 1e6, 1),
        **{
            name: {"p50_us": round(t * 1e6, 1), "hello_p50_us": round(h * 1e6, 1), "ratio_to_hello": round(t / h, 2)}
            for name, (t, h) in routes.items()
        },
    }


# ---------------------------------------------------------------- DynamoDB calls, through moto


def dynamodb_calls() -> dict[str, Any]:
    import boto3
    from exam_core import runtime
    from exam_core.attempts import FULL, AttemptService, candidate_access, diagnostic_access
    from exam_core.bank_cache import BankCache
    from exam_core.bank_files import load_exam_dir
    from exam_core.candidates import CandidateService
    from exam_core.idempotency import start_once
    from exam_core.models.api import ResponseIn, StartAttemptRequest
    from exam_core.settings import Settings
    from exam_core.store import DynamoStore
    from moto import mock_aws

    from infra.local.gateway import Template, create_tables

    os.environ.pop("AWS_ENDPOINT_URL", None)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_tables(Template(ROOT / "template.yaml"), client)
        store = DynamoStore("ItemsTable", "AttemptsTable", client)
        load_exam_dir(store, ROOT / "infra" / "bank" / "clf-c02")
        service = AttemptService(store, BankCache(store, refresh_seconds=60), Settings())
        calls: list[str] = []
        client.meta.events.register("before-call.dynamodb.*", lambda event_name, **_: calls.append(event_name))

        def count(fn: Callable[[], Any]) -> int:
            calls.clear()
            fn()
            return len(calls)

        out: dict[str, int] = {}
        out["start_attempt_cold_bank"] = count(lambda: service.start("clf-c02"))
        created = service.start("clf-c02")
        out["start_attempt"] = count(lambda: service.start("clf-c02"))
        q = created.questions
        out["save_responses"] = count(
            lambda: service.save(
                created.attempt_id, created.attempt_token, [ResponseIn(question_id=q[0].question_id, selected=["a"])]
            )
        )
        out["get_attempt"] = count(lambda: service.get(created.attempt_id, created.attempt_token))
        out["submit_attempt"] = count(lambda: service.submit(created.attempt_id, created.attempt_token))
        out["submit_attempt_again"] = count(lambda: service.submit(created.attempt_id, created.attempt_token))
        out["review_attempt"] = count(lambda: service.review(created.attempt_id, created.attempt_token))
        out["list_exams"] = count(service.list_exams)

        diag = service.start("clf-c02", "diagnostic", partner_id="bench-partner")
        out["start_diagnostic"] = count(lambda: service.start("clf-c02", "diagnostic", partner_id="bench-partner"))
        out["submit_diagnostic"] = count(
            lambda: service.submit(diag.attempt_id, diag.attempt_token, access=diagnostic_access("bench-partner"))
        )
        # The adaptive diagnostic: its start, and the next stage (one read, one transaction).
        out["start_adaptive_diagnostic"] = count(
            lambda: service.start("clf-c02", "diagnostic", partner_id="bench-partner", adaptive=True)
        )
        staged = service.start("clf-c02", "diagnostic", partner_id="bench-partner", adaptive=True)
        stage_answers = [ResponseIn(question_id=x.question_id, selected=["a"]) for x in staged.questions]
        out["next_diagnostic_stage"] = count(
            lambda: service.next_stage(
                staged.attempt_id, staged.attempt_token, stage_answers, diagnostic_access("bench-partner")
            )
        )

        candidates = CandidateService(store, service)
        for _ in range(2):
            mine = candidates.start("bench-candidate", "clf-c02")
            service.submit(mine.attempt_id, mine.attempt_token)
        out["start_attempt_signed_in"] = count(lambda: candidates.start("bench-candidate", "clf-c02"))
        out["readiness"] = count(lambda: candidates.readiness("bench-candidate", "clf-c02"))
        # Study mode: check one answer of a practice set (the attempt's read; the bank from the warm cache).
        practice = candidates.start("bench-candidate", "clf-c02", "domain", "cloud-concepts", 10)
        checked = practice.questions[0].question_id
        owner = candidate_access("bench-candidate")
        out["check_practice_answer"] = count(lambda: service.check(practice.attempt_id, checked, ["a"], owner))

        # With an Idempotency-Key (Powertools idempotency, DynamoDB-backed): the record's extra calls.
        os.environ.update({"ITEMS_TABLE": "ItemsTable", "ATTEMPTS_TABLE": "AttemptsTable"})
        os.environ["IDEMPOTENCY_TABLE"] = "IdempotencyTable"
        runtime.reset()
        runtime.store()._client = client
        key = uuid.uuid4().hex

        def keyed() -> Any:
            return start_once(
                key,
                route="POST /attempts",
                caller=None,
                body=StartAttemptRequest(exam_id="clf-c02"),
                start=lambda: runtime.attempt_service().start("clf-c02"),
                access=FULL,
            )

        runtime.attempt_service().start("clf-c02")  # warm that service's bank cache
        out["start_attempt_with_idempotency_key"] = count(keyed)
        out["start_attempt_idempotent_replay"] = count(keyed)
        runtime.reset()
        out["_journey"] = journey_storage(client, service)  # sizes and write units, same tables
    return out


# ---------------------------------------------------------------- item sizes, write units and cost


def item_bytes(item: dict[str, Any]) -> int:
    """An item's size by DynamoDB's rules: attribute names plus values (maps and lists: 3 + 1 per element)."""
    return sum(len(name.encode()) + _value_bytes(v) for name, v in item.items())


def _value_bytes(v: dict[str, Any]) -> int:
    ((kind, value),) = v.items()
    if kind == "S":
        return len(value.encode())
    if kind == "N":
        digits = len(value.lstrip("-").replace(".", "").strip("0")) or 1
        return (digits + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(x.encode()) for x in value)
    if kind == "NS":
        return sum(_value_bytes({"N": x}) for x in value)
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_bytes(x) + 1 for k, x in value.items())
    if kind == "L":
        return 3 + sum(_value_bytes(x) + 1 for x in value)
    raise ValueError(kind)


def _kb(n: int) -> int:
    return -(-n // 1024)


def journey_storage(client: Any, service: Any) -> dict[str, Any]:
    """A full anonymous journey (start, ten autosaves, submit, review) and what each write costs.

    Write units follow DynamoDB's rules: a write costs one unit per started KB of the larger of the
    item's sizes before and after; a transactional write costs twice that. Reads: a strongly
    consistent Query costs one unit per started 4 KB of everything it returns.
    """
    from exam_core.models.api import ResponseIn

    def sizes(attempt_id: str) -> dict[str, int]:
        out = client.query(
            TableName="AttemptsTable",
            KeyConditionExpression="pk = :a",
            ExpressionAttributeValues={":a": {"S": attempt_id}},
        )
        return {it["sk"]["S"]: item_bytes(it) for it in out["Items"]}

    created = service.start("clf-c02")
    aid, tok = created.attempt_id, created.attempt_token
    after_start = sizes(aid)
    writes = {"start (transaction: META + FORM)": 2 * (_kb(after_start["META"]) + _kb(after_start["FORM"]))}
    rng = random.Random(7)
    questions = created.questions
    per_save = -(-len(questions) // 10)
    autosave_wcu = []
    for n in range(10):
        before = sizes(aid)["META"]
        batch = questions[n * per_save : (n + 1) * per_save]
        service.save(
            aid,
            tok,
            [ResponseIn(question_id=q.question_id, selected=sorted(rng.sample("abcd", q.select_count))) for q in batch],
        )
        autosave_wcu.append(_kb(max(before, sizes(aid)["META"])))
    writes["ten autosaves (UpdateItem on META)"] = sum(autosave_wcu)
    before_submit = sizes(aid)
    service.submit(aid, tok)
    final = sizes(aid)
    writes["submit (UpdateItem on META)"] = _kb(max(before_submit["META"], final["META"]))
    reads = {
        "submit's read (strongly consistent Query)": -(-(before_submit["META"] + before_submit["FORM"]) // 4096),
        "review's read (strongly consistent Query)": -(-(final["META"] + final["FORM"]) // 4096),
    }
    return {
        "full_attempt_bytes": final["META"] + final["FORM"],
        "item_bytes": {"META_before_submit": before_submit["META"], "META": final["META"], "FORM": final["FORM"]},
        "autosave_wcu_each": autosave_wcu,
        "wcu": writes,
        "wcu_total": sum(writes.values()),
        "rru": reads,
        "rru_total": sum(reads.values()),
        "requests": {"start": 1, "save": 10, "submit": 1, "review": 1},
    }


# On-demand prices, us-east-1, as published in November 2026 (named so they are easy to update).
API_GATEWAY_REST_USD_PER_MILLION = 3.50  # first 333 million requests a month
LAMBDA_ARM_USD_PER_GB_SECOND = 0.0000133334
LAMBDA_USD_PER_MILLION_REQUESTS = 0.20
DYNAMODB_USD_PER_MILLION_WRITE_UNITS = 0.625
DYNAMODB_USD_PER_MILLION_READ_UNITS = 0.125
DYNAMODB_USD_PER_GB_MONTH = 0.25
# Billed Lambda time per request = the handler's measured warm p50 + this per DynamoDB call (in-Region
# round trip, a few ms) , rounded up to the millisecond.
DYNAMODB_ROUND_TRIP_MS = 6.0


def cost(journey: dict[str, Any], calls: dict[str, int], warm_report: dict[str, Any]) -> dict[str, Any]:
    from infra.local.gateway import Template

    memory_mb = Template(ROOT / "template.yaml").functions["ExamApiFunction"].memory
    route_of = {
        "start": "start_attempt",
        "save": "save_responses_65",
        "submit": "submit_attempt",
        "review": "review_attempt",
    }
    call_of = {
        "start": "start_attempt",
        "save": "save_responses",
        "submit": "submit_attempt",
        "review": "review_attempt",
    }
    requests = journey["requests"]
    n_requests = sum(requests.values())
    lambda_ms = 0.0
    for kind, n in requests.items():
        handler_ms = warm_report[route_of[kind]]["p50_us"] / 1000
        billed = math.ceil(handler_ms + calls[call_of[kind]] * DYNAMODB_ROUND_TRIP_MS)
        lambda_ms += n * billed
    per_attempt = {
        "api_gateway": n_requests * API_GATEWAY_REST_USD_PER_MILLION / 1e6,
        "lambda": n_requests * LAMBDA_USD_PER_MILLION_REQUESTS / 1e6
        + lambda_ms / 1000 * memory_mb / 1024 * LAMBDA_ARM_USD_PER_GB_SECOND,
        "dynamodb": journey["wcu_total"] * DYNAMODB_USD_PER_MILLION_WRITE_UNITS / 1e6
        + journey["rru_total"] * DYNAMODB_USD_PER_MILLION_READ_UNITS / 1e6,
    }
    per_1000 = {k: round(v * 1000, 5) for k, v in per_attempt.items()}
    return {
        "per_1000_full_attempts_usd": round(sum(per_attempt.values()) * 1000, 5),
        "per_1000_by_service_usd": per_1000,
        "dynamodb_share_below_api_gateway": per_1000["dynamodb"] < per_1000["api_gateway"],
        "storage_usd_per_1000_attempts_month": round(
            1000 * journey["full_attempt_bytes"] / 1024**3 * DYNAMODB_USD_PER_GB_MONTH, 6
        ),
        "assumptions": {
            "requests_per_attempt": requests,
            "lambda_memory_mb": memory_mb,
            "lambda_billed_ms_per_attempt": lambda_ms,
            "dynamodb_round_trip_ms": DYNAMODB_ROUND_TRIP_MS,
            "prices": {
                "api_gateway_rest_per_million": API_GATEWAY_REST_USD_PER_MILLION,
                "lambda_arm_per_gb_second": LAMBDA_ARM_USD_PER_GB_SECOND,
                "lambda_per_million_requests": LAMBDA_USD_PER_MILLION_REQUESTS,
                "dynamodb_per_million_write_units": DYNAMODB_USD_PER_MILLION_WRITE_UNITS,
                "dynamodb_per_million_read_units": DYNAMODB_USD_PER_MILLION_READ_UNITS,
            },
        },
    }


# ---------------------------------------------------------------- scaling


def _synthetic_bank(size: int) -> Any:
    """The real blueprint with ``size`` items: the real items cloned under new ids, difficulties spread."""
    from exam_core.bank import Bank
    from exam_core.bank_files import read_exam_dir

    bp, items = read_exam_dir(ROOT / "infra" / "bank" / "clf-c02")
    rng = random.Random(size)
    clones = []
    for n in range(size):
        base = items[n % len(items)]
        clones.append(base.model_copy(update={"id": f"{base.id}-s{n}", "b": round(rng.gauss(0, 1), 3)}))
    return Bank.build(bp, clones)


def scaling() -> dict[str, Any]:
    from exam_core.assembly import assemble
    from exam_core.attempts import ANY_DIAGNOSTIC, FULL
    from exam_core.models.api import ResponseIn

    times = {}
    for size in (1_000, 10_000):
        bank = _synthetic_bank(size)
        rng = random.Random(3)
        times[size] = _p50(lambda bank=bank, rng=rng: assemble(bank, "full", rng), 200)  # type: ignore[misc]
    service = _service_with_fake_store()
    submit = {}
    for mode in ("full", "diagnostic"):

        def prepared(_: int, mode: str = mode) -> Callable[[], Any]:
            c = service.start("clf-c02", mode)
            access = ANY_DIAGNOSTIC if mode == "diagnostic" else FULL
            answers = [ResponseIn(question_id=q.question_id, selected=["a"]) for q in c.questions]
            service.save(c.attempt_id, c.attempt_token, answers, access)
            return lambda: service.submit(c.attempt_id, c.attempt_token, access=access)

        submit[mode] = _p50_each(prepared, 150)
    return {
        "assembly_1k_p50_us": round(times[1_000] * 1e6, 1),
        "assembly_10k_p50_us": round(times[10_000] * 1e6, 1),
        "assembly_10k_over_1k": round(times[10_000] / times[1_000], 3),
        "submit_65_p50_us": round(submit["full"] * 1e6, 1),
        "submit_10_p50_us": round(submit["diagnostic"] * 1e6, 1),
        "submit_65_over_10": round(submit["full"] / submit["diagnostic"], 2),
    }


def _memory() -> dict[str, Any]:
    from tests.bench.memory import peak_rss

    return peak_rss()


def main() -> None:
    report: dict[str, Any] = {"python": sys.version.split()[0], "machine": os.uname().machine}
    t0 = time.perf_counter()
    calls = dynamodb_calls()
    journey = calls.pop("_journey")
    report["calls"] = calls
    report["warm"] = warm()
    report["scaling"] = scaling()
    report["storage"] = {
        "full_attempt_bytes": journey["full_attempt_bytes"],
        "item_bytes": journey["item_bytes"],
        "journey_write_units": journey["wcu"],
        "journey_write_units_total": journey["wcu_total"],
        "autosave_write_units_each": journey["autosave_wcu_each"],
        "journey_read_units": journey["rru"],
    }
    report["cost"] = cost(journey, calls, report["warm"])
    report["memory"] = _memory()
    # What a candidate waits for on a new container (tests/bench/cold.py): first, at the shipped bank;
    # then at synthetic banks of 1,100 and 5,000 items, and 1,100 without its snapshot (the Query path)
    # for the step's effect (BENCH_COLD_SIZES, "" to skip).
    from tests.bench import cold

    first = cold.run("shipped")
    report["cold_first_request"] = first
    report["cold_first_request_by_bank_size"] = {"shipped": cold.summary(first)}
    for size in [x for x in os.environ.get("BENCH_COLD_SIZES", "1100,1100:query,5000").split(",") if x.strip()]:
        report["cold_first_request_by_bank_size"][size.strip()] = cold.summary(cold.run(size.strip()))
    report["cold_import"] = cold_import()
    report["seconds"] = round(time.perf_counter() - t0, 1)
    out = ROOT / "reports" / "bench.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")

    print(
        "cold start to the first response (ratio to a fresh process: import boto3, create a DynamoDB client, "
        f"one GetItem; median of {cold.PAIRS} pairs)"
    )
    for size, routes in report["cold_first_request_by_bank_size"].items():
        print(f"  bank {size}: " + ", ".join(f"{k} {v['ratio']:.2f}x" for k, v in routes.items()))
    print(f"cold import only (ratio to `import boto3; boto3.client('dynamodb')`, median of {PAIRS} pairs)")
    for name, r in report["cold_import"].items():
        print(
            f"  {name:<16} {r['ratio']:>5.2f}x  (plus creating the DynamoDB client "
            f"{r['with_dynamodb_client_ratio']:.2f}x; {r['function_ms']} ms vs {r['baseline_ms']} ms)"
        )
    w = report["warm"]
    print(
        f"warm p50 per route, in-process, in-memory store (ratio to a Powertools hello route: {w['hello_p50_us']} us)"
    )
    for name, r in w.items():
        if isinstance(r, dict):
            print(f"  {name:<20} {r['ratio_to_hello']:>7.2f}x  {r['p50_us']:>9.1f} us")
    print("DynamoDB calls per request (botocore event hooks, real store, moto)")
    for name, n in report["calls"].items():
        print(f"  {name:<24} {n}")
    print("scaling", json.dumps(report["scaling"]))
    print("storage", json.dumps(report["storage"]))
    print("cost", json.dumps({k: v for k, v in report["cost"].items() if k != "assumptions"}))
    print("memory (peak MiB after a journey)")
    for name, m in report["memory"].items():
        if isinstance(m, dict) and "peak_mib" in m:
            print(f"  {name:<16} {m['peak_mib']:>7.1f}")
    print(f"wrote {out.relative_to(ROOT)} in {report['seconds']} s")


if __name__ == "__main__":
    main()
