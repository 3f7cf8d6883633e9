"""Cold starts measured to the first response (``make bench``'s ``cold_first_request*``).

A candidate's first request on a new container waits for the interpreter, the imports, the DynamoDB
client, the bank and the first validation, so that is what this times. The local DynamoDB (moto's
server, as ``make run`` starts it) runs in a process of its own with the tables and the bank loaded.
Then, for each route, fresh processes in alternating pairs:

- the function: a new interpreter that imports the handler module (the layer on ``sys.path`` as
  ``/opt/python`` is on Lambda) and serves ONE real event: an API Gateway REST proxy event (as
  ``infra/local/gateway.py`` builds it) or one stream batch;
- the baseline: a new interpreter that imports boto3, creates a DynamoDB client and makes one GetItem
  (the bank's META) against the same endpoint.

Each time runs from just before the parent starts the process to the moment the child has the response
in hand (``time.monotonic`` is system-wide on Linux), so both include the interpreter's own start; exit
is not counted. The child also reports the import alone and its peak RSS (``VmHWM``).

``python -m tests.bench.cold [SIZE ...]`` runs it (``shipped``, or a synthetic bank of SIZE items: the
shipped items copied under new ids with their words shuffled, so they compress like real text and not
like copies; ``SIZE:query`` removes the bank's snapshot so the first request pages a Query over every
item, as before snapshots); ``COLD_PAIRS`` (11), ``COLD_ROUTES`` (comma-separated keys, default all).

This module's top-level imports are the standard library only: the parent imports nothing else.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EXAM = "clf-c02"
PAIRS = int(os.environ.get("COLD_PAIRS", os.environ.get("BENCH_PAIRS", "11")))
PARTNER_ID = "demo-partner"
ADMIN_USER = "demo-admin"
CANDIDATE = "cold-bench-candidate"
STREAM_BATCH = 5  # submitted attempts per stream batch (fresh ones for every run)

# (function, route label): how the event is built is in _event().
ROUTES: list[tuple[str, str]] = [
    ("exam_api", "POST /attempts"),
    ("exam_api", "GET /exams"),
    ("diagnostic_api", "POST /diagnostics"),
    ("candidate_api", "POST /me/attempts"),
    ("candidate_api", "GET /me/readiness"),
    ("admin_api", "GET /admin/items"),
    ("embed", "GET /embed/diagnostic.js"),
    ("item_stats", "stream batch"),
    ("calibration", "POST /admin/calibrations (dry run)"),
]

# ---------------------------------------------------------------- the children (run with python -c)

FUNCTION_CHILD = r"""
import time, sys
t0 = time.monotonic()
import json, importlib.util
spec = json.loads(sys.stdin.read())
sys.path[:0] = [spec["shared"]]
loader = importlib.util.spec_from_file_location("app", spec["app"])
module = importlib.util.module_from_spec(loader)
loader.loader.exec_module(module)
t1 = time.monotonic()

class Context:
    function_name = spec["function_name"]
    function_version = "$LATEST"
    memory_limit_in_mb = spec["memory"]
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + spec["function_name"]
    aws_request_id = "cold-bench"
    log_group_name = "/aws/lambda/" + spec["function_name"]
    log_stream_name = "local"
    def get_remaining_time_in_millis(self):
        return 20000

out = module.lambda_handler(spec["event"], Context())
t2 = time.monotonic()
status = out.get("statusCode", 200) if isinstance(out, dict) else 200
failed = (out or {}).get("batchItemFailures") if isinstance(out, dict) else None
hwm = 0
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        hwm = int(line.split()[1])
print(json.dumps({"t_response": t2, "t_start": t0, "import_s": t1 - t0, "request_s": t2 - t1,
                  "status": status, "failed": failed, "body": (out.get("body") or "")[:300] if status >= 300 else "",
                  "peak_kib": hwm}), flush=True)
"""

BASELINE_CHILD = r"""
import time, sys
t0 = time.monotonic()
import boto3
client = boto3.client("dynamodb", endpoint_url=sys.argv[1], region_name="us-east-1")
client.get_item(TableName=sys.argv[2], Key={"pk": {"S": sys.argv[3]}, "sk": {"S": "META"}})
t2 = time.monotonic()
hwm = 0
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        hwm = int(line.split()[1])
import json
print(json.dumps({"t_response": t2, "t_start": t0, "peak_kib": hwm}), flush=True)
"""


def _spawn(args: list[str], env: dict[str, str], stdin: str | None = None) -> dict[str, Any]:
    t_spawn = time.monotonic()
    out = subprocess.run(
        [sys.executable, *args], input=stdin, capture_output=True, text=True, env=env, cwd=ROOT, check=False
    )
    lines = [x for x in out.stdout.splitlines() if x.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"cold child failed ({out.returncode}):\n{out.stderr[-3000:]}\n{out.stdout[-1000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    result["total_s"] = result["t_response"] - t_spawn
    return result


# ---------------------------------------------------------------- the DynamoDB process


def _shuffled(text: str, rng: random.Random) -> str:
    words = text.split()
    rng.shuffle(words)
    return " ".join(words)


def synthetic_items(size: int, seed: int = 0) -> list[dict[str, Any]]:
    """``size`` valid items in the files' format: the shipped ones copied under new ids, each copy's stem and
    explanations with their words shuffled (unique text that compresses like text), difficulties spread."""
    from exam_core.bank_files import read_exam_dir

    _, items = read_exam_dir(ROOT / "infra" / "bank" / EXAM)
    rng = random.Random(seed or size)
    docs = []
    for n in range(size):
        doc = items[n % len(items)].model_dump(mode="json", by_alias=True, exclude_none=True)
        doc["id"] = f"{doc['id']}-s{n}"
        doc["b"] = round(max(-4.5, min(4.5, rng.gauss(0, 1))), 3)
        doc["stem"] = f"{_shuffled(doc['stem'], rng)} ({n})"
        for opt in doc["options"]:
            opt["explanation"] = _shuffled(opt["explanation"], rng)
        docs.append(doc)
    return docs


def _serve(size: str) -> None:
    """The DynamoDB process: moto's server, the tables, the bank and the data the routes read; prints one
    JSON line (endpoint, environment, the stream batches) and serves until its stdin closes."""
    sys.path[:0] = [str(ROOT / "shared"), str(ROOT)]
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "cold",
            "AWS_SECRET_ACCESS_KEY": "cold",
            "AWS_DEFAULT_REGION": "us-east-1",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "POWERTOOLS_METRICS_DISABLED": "true",  # its first stdout line is the protocol
            "DYNAMODB_READ_TIMEOUT": "30",  # loading 5,000 items into moto takes a while
        }
    )
    import boto3

    from infra.local.gateway import Template, create_tables
    from infra.local.server import start_dynamodb

    moto, endpoint = start_dynamodb()
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    template = Template(ROOT / "template.yaml")
    client = boto3.client("dynamodb", endpoint_url=endpoint)
    names = create_tables(template, client)
    env = template.environment(names)
    os.environ.update(env)

    from exam_core import runtime
    from exam_core.bank_files import load_exam_dir, read_blueprint
    from exam_core.models.api import ResponseIn

    runtime.reset()
    store = runtime.store()
    size, _, variant = size.partition(":")  # "1100:query": the same bank without its snapshot
    if size == "shipped":
        load_exam_dir(store, ROOT / "infra" / "bank" / EXAM)
    else:
        from exam_core.bank import parse_items

        blueprint = read_blueprint(ROOT / "infra" / "bank" / EXAM)
        items = parse_items(blueprint, synthetic_items(int(size)))  # validated as the loader validates
        store.put_bank(
            EXAM,
            blueprint.model_dump(mode="json", by_alias=True),
            [i.model_dump(mode="json", by_alias=True, exclude_none=True) for i in items],
        )
        store.publish_bank_snapshot(EXAM)  # as the loader does
    if variant == "query":  # as before snapshots: the first request pages a Query over every item
        client.update_item(
            TableName=names["ItemsTable"], Key={"pk": {"S": EXAM}, "sk": {"S": "META"}}, UpdateExpression="REMOVE snap"
        )
    service = runtime.attempt_service()
    rng = random.Random(5)

    def submitted(start: Any) -> str:
        a = start()
        answers = [ResponseIn(question_id=q.question_id, selected=["a"]) for q in a.questions]
        service.save(a.attempt_id, a.attempt_token, answers[: len(answers) - rng.randrange(3)])
        service.submit(a.attempt_id, a.attempt_token)
        return str(a.attempt_id)

    candidates = runtime.candidate_service()
    for _ in range(2):  # readiness reads the candidate's history
        submitted(lambda: candidates.start(CANDIDATE, EXAM))
    batches = []
    for _ in range(PAIRS + 2):  # a fresh batch for every stream run (a counted attempt is skipped)
        records = []
        for _ in range(STREAM_BATCH):
            aid = submitted(lambda: service.start(EXAM))
            meta = client.get_item(TableName=names["AttemptsTable"], Key={"pk": {"S": aid}, "sk": {"S": "META"}})
            new = meta["Item"]
            old = {**new, "st": {"S": "in_progress"}}
            old.pop("result", None)
            records.append(
                {
                    "eventID": uuid.uuid4().hex,
                    "eventName": "MODIFY",
                    "eventVersion": "1.1",
                    "eventSource": "aws:dynamodb",
                    "awsRegion": "us-east-1",
                    "dynamodb": {
                        "ApproximateCreationDateTime": int(time.time()),
                        "Keys": {"pk": {"S": aid}, "sk": {"S": "META"}},
                        "NewImage": new,
                        "OldImage": old,
                        "SequenceNumber": str(len(records) + 1),
                        "SizeBytes": 1000,
                        "StreamViewType": "NEW_AND_OLD_IMAGES",
                    },
                    "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/AttemptsTable/stream/x",
                }
            )
        batches.append({"Records": records})
    functions = {fn.code_uri.name: {"memory": fn.memory, "name": fn.logical_id} for fn in template.functions.values()}
    print(
        json.dumps(
            {
                "endpoint": endpoint,
                # LOCAL_ASYNC: the calibration run POST /admin/calibrations queues runs on a thread (no Lambda
                # service here); the child answers 202 and exits, which is what the admin waits for.
                "env": {**env, "AWS_ENDPOINT_URL": endpoint, "LOCAL_ASYNC": "thread"},
                "items_table": names["ItemsTable"],
                "stream_batches": batches,
                "functions": functions,
            }
        ),
        flush=True,
    )
    sys.stdin.read()
    moto.stop()


class Server:
    def __init__(self, size: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.bench.cold", "--serve", size],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            raise RuntimeError("the DynamoDB process did not start")
        self.info: dict[str, Any] = json.loads(line)

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


# ---------------------------------------------------------------- the events


def _event(function: str, route: str, server: Server, run: int) -> dict[str, Any]:
    from tests.bench.memory import api_event

    if function == "item_stats":
        batch: dict[str, Any] = server.info["stream_batches"][run]
        return batch
    admin = {"iam_user": ADMIN_USER}
    me = {"claims": {"sub": CANDIDATE, "cognito:username": CANDIDATE, "token_use": "id"}}
    key = {"api_key": "demo-partner-key", "api_key_id": PARTNER_ID, "headers": {"X-Api-Key": "demo-partner-key"}}
    events: dict[tuple[str, str], Any] = {
        ("exam_api", "POST /attempts"): lambda: api_event(
            "POST", "/attempts", "/attempts", body={"examId": EXAM, "mode": "full"}
        ),
        ("exam_api", "GET /exams"): lambda: api_event("GET", "/exams", "/exams"),
        ("diagnostic_api", "POST /diagnostics"): lambda: api_event(
            "POST", "/diagnostics", "/diagnostics", body={"examId": EXAM}, **key
        ),
        ("candidate_api", "POST /me/attempts"): lambda: api_event(
            "POST", "/me/attempts", "/me/attempts", body={"examId": EXAM, "mode": "full"}, **me
        ),
        ("candidate_api", "GET /me/readiness"): lambda: api_event(
            "GET", "/me/readiness", "/me/readiness", query={"examId": EXAM}, **me
        ),
        ("admin_api", "GET /admin/items"): lambda: api_event(
            "GET", "/admin/items", "/admin/items", query={"examId": EXAM, "limit": "100"}, **admin
        ),
        ("embed", "GET /embed/diagnostic.js"): lambda: api_event("GET", "/embed/diagnostic.js", "/embed/diagnostic.js"),
        ("calibration", "POST /admin/calibrations (dry run)"): lambda: api_event(
            "POST", "/admin/calibrations", "/admin/calibrations", query={"examId": EXAM, "dryRun": "true"}, **admin
        ),
    }
    made: dict[str, Any] = events[(function, route)]()
    return made


# ---------------------------------------------------------------- the measurement


def measure(server: Server, routes: list[tuple[str, str]], pairs: int = PAIRS) -> dict[str, Any]:
    """``{function: {route: {...}}}``: medians of ``pairs`` alternating pairs, ms beside the ratio."""
    info = server.info
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV")) or k in ("PYTHONHASHSEED",)
    }
    env.update(info["env"])
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "cold",
            "AWS_SECRET_ACCESS_KEY": "cold",
            "AWS_DEFAULT_REGION": "us-east-1",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "POWERTOOLS_METRICS_DISABLED": "false",  # as deployed: the first request prints its metrics
            # As make run: moto's server is slower than DynamoDB (a 2 MB BatchGetItem can pass 1 s on a busy
            # machine); only a timeout would change what is timed, and none is wanted here.
            "DYNAMODB_READ_TIMEOUT": "10",
        }
    )
    base_args = ["-c", BASELINE_CHILD, info["endpoint"], info["items_table"], EXAM]
    _spawn(base_args, env)  # the OS file cache and bytecode, once
    out: dict[str, Any] = {}
    run_of: dict[str, int] = {}
    for function, route in routes:
        fn = info["functions"][function]

        def child(function: str = function, route: str = route, fn: dict[str, Any] = fn) -> dict[str, Any]:
            n = run_of.get(function, 0)
            run_of[function] = n + 1
            spec = {
                "shared": str(ROOT / "shared"),
                "app": str(ROOT / "functions" / function / "app.py"),
                "function_name": fn["name"],
                "memory": fn["memory"],
                "event": _event(function, route, server, n),
            }
            r = _spawn(["-c", FUNCTION_CHILD], env, json.dumps(spec))
            if r["status"] >= 300 or r["failed"]:
                raise RuntimeError(f"{function} {route}: {r['status']} {r['failed']} {r['body']}")
            return r

        child()  # once unpaired: bytecode for the function's modules
        ratios, fn_ms, base_ms, import_ms, request_ms, peak = [], [], [], [], [], []
        for i in range(pairs):
            if i % 2:
                f = child()
                b = _spawn(base_args, env)
            else:
                b = _spawn(base_args, env)
                f = child()
            ratios.append(f["total_s"] / b["total_s"])
            fn_ms.append(f["total_s"] * 1000)
            base_ms.append(b["total_s"] * 1000)
            import_ms.append(f["import_s"] * 1000)
            request_ms.append(f["request_s"] * 1000)
            peak.append(f["peak_kib"] / 1024)
        out.setdefault(function, {})[route] = {
            "ratio": round(statistics.median(ratios), 3),
            "function_ms": round(statistics.median(fn_ms), 1),
            "baseline_ms": round(statistics.median(base_ms), 1),
            "import_ms": round(statistics.median(import_ms), 1),
            "first_request_ms": round(statistics.median(request_ms), 1),
            "peak_rss_mib": round(statistics.median(peak), 1),
            "pairs": pairs,
        }
        r = out[function][route]
        print(
            f"  {function:<15} {route:<36} {r['ratio']:>5.2f}x  {r['function_ms']:>6.1f} ms vs {r['baseline_ms']:>6.1f}"
            f" (import {r['import_ms']:.0f}, request {r['first_request_ms']:.0f}; {r['peak_rss_mib']:.1f} MiB)",
            file=sys.stderr,
            flush=True,
        )
    return out


def _selected() -> list[tuple[str, str]]:
    wanted = [w.strip() for w in os.environ.get("COLD_ROUTES", "").split(",") if w.strip()]
    if not wanted:
        return ROUTES
    return [(f, r) for f, r in ROUTES if f in wanted or f"{f}.{r}" in wanted]


def run(size: str = "shipped", routes: list[tuple[str, str]] | None = None, pairs: int = PAIRS) -> dict[str, Any]:
    print(f"cold first request, bank {size}", file=sys.stderr, flush=True)
    server = Server(size)
    try:
        return measure(server, routes or _selected(), pairs)
    finally:
        server.close()


def summary(result: dict[str, Any]) -> dict[str, dict[str, float]]:
    """``{"function.route": {ratio, function_ms, baseline_ms, peak_rss_mib}}``: one flat line per route."""
    return {
        f"{function}.{route}": {
            k: r[k] for k in ("ratio", "function_ms", "baseline_ms", "first_request_ms", "peak_rss_mib")
        }
        for function, routes in result.items()
        for route, r in routes.items()
    }


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        _serve(sys.argv[2])
        return
    sizes = sys.argv[1:] or ["shipped"]
    report = {size: run(size) for size in sizes}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
