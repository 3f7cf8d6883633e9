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
            "ratio": round(statistics.median(ratios), 3),
            "handler_import_only_ratio": round(statistics.median(import_ratios), 3),
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
    hello_p50 = _p50(lambda: hello_app.resolve(hello_event, ctx), WARM_CALLS)

    module = _load(FUNCTIONS["exam_api"], "bench_exam_api")
    service = _service_with_fake_store()
    module.attempt_service = lambda: service  # the real handler over an in-memory store
    handler = module.lambda_handler

    def call(ev: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = handler(ev, ctx)
        assert out["statusCode"] < 300, out
        return out

    start_ev = event("POST", "/attempts", "/attempts", {"examId": "clf-c02", "mode": "full"})
    routes: dict[str, float] = {}
    routes["list_exams"] = _p50(lambda: call(event("GET", "/exams", "/exams")), WARM_CALLS)
    routes["start_attempt"] = _p50(lambda: call(start_ev), WARM_CALLS)

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
    routes["save_responses_1"] = _p50(lambda: call(save_one), WARM_CALLS)
    routes["save_responses_65"] = _p50(lambda: call(save_all), WARM_CALLS)
    routes["get_attempt"] = _p50(
        lambda: call(event("GET", "/attempts/{attemptId}", f"/attempts/{aid}", None, tok)), WARM_CALLS
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

    routes["submit_attempt"] = _p50_each(prepared_submit, max(50, WARM_CALLS // 3))
    call(event("POST", "/attempts/{attemptId}/submit", f"/attempts/{aid}/submit", None, tok))
    routes["review_attempt"] = _p50(
        lambda: call(event("GET", "/attempts/{attemptId}/review", f"/attempts/{aid}/review", None, tok)), WARM_CALLS
    )
    return {
        "hello_p50_us": round(hello_p50 * 1e6, 1),
        **{
            name: {"p50_us": round(t * 1e6, 1), "ratio_to_hello": round(t / hello_p50, 2)} for name, t in routes.items()
        },
    }


# ---------------------------------------------------------------- DynamoDB calls, through moto


def dynamodb_calls() -> dict[str, Any]:
    import boto3
    from exam_core.attempts import AttemptService
    from exam_core.bank_cache import BankCache
    from exam_core.bank_files import load_exam_dir
    from exam_core.models.api import ResponseIn
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
    return out


def main() -> None:
    report: dict[str, Any] = {"python": sys.version.split()[0], "machine": os.uname().machine}
    t0 = time.perf_counter()
    report["calls"] = dynamodb_calls()
    report["warm"] = warm()
    report["cold_import"] = cold_import()
    report["seconds"] = round(time.perf_counter() - t0, 1)
    out = ROOT / "reports" / "bench.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")

    print(f"cold import (ratio to `import boto3; boto3.client('dynamodb')`, median of {PAIRS} pairs)")
    for name, r in report["cold_import"].items():
        print(
            f"  {name:<16} {r['ratio']:>5.2f}x  (handler import only {r['handler_import_only_ratio']:.2f}x; "
            f"{r['function_ms']} ms vs {r['baseline_ms']} ms)"
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
    print(f"wrote {out.relative_to(ROOT)} in {report['seconds']} s")


if __name__ == "__main__":
    main()
