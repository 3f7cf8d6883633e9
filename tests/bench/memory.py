"""Peak memory of each function after a realistic journey (``python -m tests.bench.memory``).

The DynamoDB emulator must not count, so the parent starts the local stack (moto's server, the tables,
the bank, the gateway) and seeds it over HTTP; then each function runs in a FRESH child process that
imports only that function's handler module and calls ``lambda_handler(event, context)`` directly with
the events API Gateway (REST proxy, payload 1.0) or the DynamoDB stream would deliver, against the
parent's DynamoDB endpoint. The child reports its ``VmHWM`` (see ``_peak_kib`` for why not ``ru_maxrss``):
the peak resident set of a process that imported the function, created its DynamoDB client, and served
the journey. A child that only does ``import boto3; boto3.client("dynamodb")`` through the same entry
point is the reference. ``peak_rss()`` returns the numbers; ``MEMORY_VERBOSE=1`` narrates the run.

Knobs: ``MEMORY_SEED_ATTEMPTS`` (50: submitted attempts seeded over HTTP, one full item_stats batch) and
``MEMORY_IMPORT_ITEMS`` (500: the admin journey ends with an import that large; 0 skips it) and
``MEMORY_CALIBRATION_ROWS`` (3000: the calibration run is measured again over that many rows, the real
ones copied under new attempt ids; 0 skips it).

What it does not include: the Lambda runtime's own bootstrap (``awslambdaric``), which Lambda counts in
"Max Memory Used"; and it runs on this machine's CPython (x86-64), not python3.13 on arm64.

This module's top-level imports are the standard library only: the children import it too.
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EXAM = "clf-c02"
FUNCTIONS = ("exam_api", "diagnostic_api", "candidate_api", "admin_api", "item_stats", "calibration", "embed")
RESULT_PREFIX = "MEMORY_RESULT "
PARTNER_KEY, PARTNER_ID = "demo-partner-key", "demo-partner"  # the local server's demo usage-plan key
ADMIN_TOKEN, ADMIN_USER = "demo-admin-token", "demo-admin"
SEED_ATTEMPTS = int(os.environ.get("MEMORY_SEED_ATTEMPTS", "50"))  # one full stream batch (BatchSize 50)
IMPORT_ITEMS = int(os.environ.get("MEMORY_IMPORT_ITEMS", "500"))  # the admin journey's import (MAX_IMPORT_ITEMS)
CALIBRATION_ROWS = int(os.environ.get("MEMORY_CALIBRATION_ROWS", "3000"))  # the at-scale calibration run


# ====================================================================== child side (stdlib + the handler)


class _Context:
    """The Lambda context, as infra/local/gateway.py's LambdaContext builds it."""

    def __init__(self, name: str, memory: int, timeout: int) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def api_event(
    method: str,
    resource_path: str,
    path: str,
    *,
    body: Any = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    api_key: str | None = None,
    api_key_id: str | None = None,
    claims: dict[str, str] | None = None,
    iam_user: str | None = None,
    stage: str = "v1",
) -> dict[str, Any]:
    """A REST proxy event shaped exactly like infra/local/gateway.py's ``Gateway.event`` (which mirrors API
    Gateway): path parameters from the resource template, the authorised identity in ``requestContext``."""
    text = json.dumps(body) if body is not None else None
    hdrs = {"Host": "127.0.0.1:3000", "User-Agent": "memory-bench", "Accept": "*/*", **(headers or {})}
    if text is not None:
        hdrs.update({"Content-Type": "application/json", "Content-Length": str(len(text.encode()))})
    params = {}
    for template_part, part in zip(resource_path.split("/"), path.split("/"), strict=True):
        if template_part.startswith("{") and template_part.endswith("}"):
            params[template_part[1:-1]] = part
    return {
        "resource": resource_path,
        "path": path,
        "httpMethod": method,
        "headers": hdrs,
        "multiValueHeaders": {k: [v] for k, v in hdrs.items()},
        "queryStringParameters": dict(query) if query else None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "resourceId": "local",
            "resourcePath": resource_path,
            "httpMethod": method,
            "path": f"/{stage}{path}",
            "stage": stage,
            "protocol": "HTTP/1.1",
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "domainName": hdrs["Host"],
            "identity": {
                "sourceIp": "127.0.0.1",
                "userAgent": hdrs["User-Agent"],
                "apiKey": api_key,
                "apiKeyId": api_key_id,
                "user": iam_user,
                "userArn": f"arn:aws:iam::123456789012:user/{iam_user}" if iam_user else None,
            },
            "authorizer": {"claims": claims} if claims is not None else None,
        },
        "body": text,
        "isBase64Encoded": False,
    }


class _Journey:
    def __init__(self, handler: Any, name: str, memory: int, timeout: int) -> None:
        self.handler, self.name, self.memory, self.timeout = handler, name, memory, timeout
        self.requests = 0
        self.rng = random.Random(f"memory-{name}")

    def invoke(self, event: dict[str, Any]) -> Any:
        self.requests += 1
        t0 = time.perf_counter()
        out = self.handler(event, _Context(self.name, self.memory, self.timeout))
        what = f"{event.get('httpMethod', 'stream')} {event.get('path', '')}"
        _say(f"  {self.name} {what}: {time.perf_counter() - t0:.2f} s")
        return out

    def call(self, method: str, resource_path: str, path: str, **kw: Any) -> Any:
        out = self.invoke(api_event(method, resource_path, path, **kw))
        status = int(out.get("statusCode", 0))
        if status >= 300:
            raise RuntimeError(f"{self.name}: {method} {path} answered {status}: {out.get('body')}")
        headers = {k.lower(): v for k, v in (out.get("headers") or {}).items()}
        headers.update({k.lower(): ", ".join(v) for k, v in (out.get("multiValueHeaders") or {}).items()})
        ctype = headers.get("content-type", "")
        body = out.get("body") or ""
        return json.loads(body) if "json" in ctype and body else body

    def answers(self, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {
                "questionId": q["questionId"],
                "selected": sorted(self.rng.sample([o["id"] for o in q["options"]], q["selectCount"])),
                "flagged": self.rng.random() < 0.1,
            }
            for q in questions
        ]


def _exam_api(j: _Journey, spec: dict[str, Any]) -> None:
    j.call("GET", "/exams", "/exams")
    a = j.call("POST", "/attempts", "/attempts", body={"examId": EXAM, "mode": "full"})
    aid, tok = a["attemptId"], {"X-Attempt-Token": a["attemptToken"]}
    answers = j.answers(a["questions"])
    chunk = -(-len(answers) // 10)
    for i in range(10):  # autosaves, as the exam page sends them
        part = answers[i * chunk : (i + 1) * chunk]
        body = {"responses": part}
        j.call("PUT", "/attempts/{attemptId}/responses", f"/attempts/{aid}/responses", body=body, headers=tok)
    j.call("GET", "/attempts/{attemptId}", f"/attempts/{aid}", headers=tok)
    result = j.call("POST", "/attempts/{attemptId}/submit", f"/attempts/{aid}/submit", headers=tok)
    assert result["attemptId"] == aid, result
    j.call("GET", "/attempts/{attemptId}/review", f"/attempts/{aid}/review", headers=tok)


def _diagnostic_api(j: _Journey, spec: dict[str, Any]) -> None:
    key = {"api_key": PARTNER_KEY, "api_key_id": PARTNER_ID, "headers": {"X-Api-Key": PARTNER_KEY}}
    d = j.call("POST", "/diagnostics", "/diagnostics", body={"examId": EXAM}, **key)
    did = d["attemptId"]
    hdrs = {"X-Api-Key": PARTNER_KEY, "X-Attempt-Token": d["attemptToken"]}
    with_token = {**key, "headers": hdrs}
    j.call("GET", "/diagnostics/{attemptId}", f"/diagnostics/{did}", **with_token)
    body = {"responses": j.answers(d["questions"])}
    j.call("POST", "/diagnostics/{attemptId}/submit", f"/diagnostics/{did}/submit", body=body, **with_token)
    j.call("GET", "/diagnostics/{attemptId}/review", f"/diagnostics/{did}/review", **with_token)
    summary = j.call("GET", "/partner/summary", "/partner/summary", query={"examId": EXAM}, **key)
    assert summary, summary


def _candidate_api(j: _Journey, spec: dict[str, Any]) -> None:
    sub = f"memory-{uuid.uuid4().hex[:12]}"
    me = {
        "claims": {"sub": sub, "cognito:username": sub, "token_use": "id"},
        "headers": {"Authorization": f"Bearer dev:{sub}"},
    }
    aid = ""
    for _ in range(3):  # progress and readiness look at the last few full attempts
        a = j.call("POST", "/me/attempts", "/me/attempts", body={"examId": EXAM, "mode": "full"}, **me)
        aid = a["attemptId"]
        body = {"responses": j.answers(a["questions"])}
        j.call("PUT", "/me/attempts/{attemptId}/responses", f"/me/attempts/{aid}/responses", body=body, **me)
        j.call("POST", "/me/attempts/{attemptId}/submit", f"/me/attempts/{aid}/submit", **me)
    j.call("GET", "/me/attempts/{attemptId}/review", f"/me/attempts/{aid}/review", **me)
    history = j.call("GET", "/me/attempts", "/me/attempts", **me)
    assert len(history["attempts"]) == 3, history
    j.call("GET", "/me/progress", "/me/progress", query={"examId": EXAM}, **me)
    j.call("GET", "/me/readiness", "/me/readiness", query={"examId": EXAM}, **me)


def _admin_api(j: _Journey, spec: dict[str, Any]) -> None:
    admin = {"iam_user": ADMIN_USER, "headers": {"Authorization": f"Bearer {ADMIN_TOKEN}"}}
    query: dict[str, str] = {"examId": EXAM, "limit": "100"}
    items: list[dict[str, Any]] = []
    while True:  # every page of the bank, as the admin console lists it
        page = j.call("GET", "/admin/items", "/admin/items", query=query, **admin)
        items += page["items"]
        if not page.get("nextToken"):
            break
        query = {**query, "nextToken": page["nextToken"]}
    item_id = items[0]["itemId"] if "itemId" in items[0] else items[0]["id"]
    q = {"examId": EXAM}
    j.call("GET", "/admin/items/{itemId}", f"/admin/items/{item_id}", query=q, **admin)
    j.call("GET", "/admin/items/{itemId}/stats", f"/admin/items/{item_id}/stats", query=q, **admin)
    j.call("GET", "/admin/reports/items", "/admin/reports/items", query={**q, "limit": "200"}, **admin)
    if spec.get("import_items"):  # an operator's largest import (MAX_IMPORT_ITEMS), validated and written
        body = {"examId": EXAM, "items": spec["import_items"]}
        result = j.call("PUT", "/admin/items", "/admin/items", body=body, **admin)
        if result["imported"] != len(spec["import_items"]):
            raise RuntimeError(f"admin import: {result}")


def _item_stats(j: _Journey, spec: dict[str, Any]) -> None:
    out = j.invoke(spec["stream_event"])
    failures = (out or {}).get("batchItemFailures")
    if failures:
        raise RuntimeError(f"item_stats: records failed: {failures}")


def _calibration(j: _Journey, spec: dict[str, Any]) -> None:
    admin = {"iam_user": ADMIN_USER, "headers": {"Authorization": f"Bearer {ADMIN_TOKEN}"}}
    q = {"examId": EXAM, "dryRun": "true"}
    # 202: the run is queued; it executes on the invoker's thread in this process (LOCAL_ASYNC=thread, as the
    # local server sets it), so its peak memory and CPU are this journey's. Wait for it, then read the report.
    run = j.call("POST", "/admin/calibrations", "/admin/calibrations", query=q, **admin)
    import threading

    for thread in threading.enumerate():
        if thread.name == "local-async-invoke":
            thread.join()
    path = f"/admin/calibrations/{run['calibrationId']}"
    report = j.call("GET", "/admin/calibrations/{calibrationId}", path, query={"examId": EXAM}, **admin)
    if report.get("status") != "done" or report["attempts"] != spec["expect_rows"]:
        raise RuntimeError(f"calibration read {report['attempts']} rows, expected {spec['expect_rows']}")


def _embed(j: _Journey, spec: dict[str, Any]) -> None:
    script = j.call("GET", "/embed/diagnostic.js", "/embed/diagnostic.js")
    page = j.call("GET", "/embed/demo", "/embed/demo")
    assert script and "<html" in page.lower(), page[:200]


JOURNEYS = {
    "exam_api": _exam_api,
    "diagnostic_api": _diagnostic_api,
    "candidate_api": _candidate_api,
    "admin_api": _admin_api,
    "item_stats": _item_stats,
    "calibration": _calibration,
    "embed": _embed,
}


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _child(name: str) -> None:
    spec = json.loads(sys.stdin.read() or "{}")
    requests, import_kib, journey_cpu = 0, 0, 0.0
    if name == "baseline":
        import boto3

        boto3.client("dynamodb", region_name="us-east-1")
    else:
        import importlib.util

        sys.path[:0] = [str(ROOT / "shared")]  # the layer, as /opt/python is on Lambda
        t0 = time.perf_counter()
        loader = importlib.util.spec_from_file_location("app", ROOT / "functions" / name / "app.py")
        assert loader is not None and loader.loader is not None
        module = importlib.util.module_from_spec(loader)
        loader.loader.exec_module(module)
        _say(f"  {name}: imported in {time.perf_counter() - t0:.2f} s")
        import_kib = _peak_kib()[0]
        journey = _Journey(module.lambda_handler, spec.get("function_name", name), spec["memory"], spec["timeout"])
        cpu0 = _cpu_seconds()
        JOURNEYS[name](journey, spec)
        journey_cpu = _cpu_seconds() - cpu0
        requests = journey.requests
    peak_kib, rusage_kib = _peak_kib()
    out = {
        "peak_kib": peak_kib,
        "import_kib": import_kib,
        "ru_maxrss_kib": rusage_kib,
        "requests": requests,
        "journey_cpu_ms": round(journey_cpu * 1000, 1),
    }
    print(RESULT_PREFIX + json.dumps(out))


def _peak_kib() -> tuple[int, int]:
    """This process's peak resident set in KiB: ``VmHWM``, the high-water mark of its own address space.

    Not ``ru_maxrss`` alone: Linux carries it across ``execve`` from the forked copy of the parent, so a
    child of a big parent (this one holds moto and every function) reports the parent's size.
    """
    rusage_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]), rusage_kib
    except OSError:
        pass
    return rusage_kib, rusage_kib


# ====================================================================== parent side


def _run_child(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "tests.bench.memory", "--child", name],
        input=json.dumps(spec, default=_json_default),
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
        # The emulator serialises requests and is slow on a busy machine (thousands of calibration rows); this
        # run measures memory, not latency, so the children wait for it as long as the settings allow.
        env={**os.environ, "PYTHONPATH": str(ROOT), "DYNAMODB_READ_TIMEOUT": "30", "LOCAL_ASYNC": "thread"},
        timeout=120,
    )
    lines = [x for x in out.stdout.splitlines() if x.startswith(RESULT_PREFIX)]
    if os.environ.get("MEMORY_VERBOSE"):
        sys.stderr.write("".join(x + "\n" for x in out.stderr.splitlines() if x.startswith("[memory]")))
    if out.returncode != 0 or not lines:
        raise RuntimeError(
            f"memory child {name} failed ({out.returncode}):\n{out.stderr[-4000:]}\n{out.stdout[-2000:]}"
        )
    result: dict[str, Any] = json.loads(lines[-1][len(RESULT_PREFIX) :])
    return result


def _say(text: str) -> None:
    if os.environ.get("MEMORY_VERBOSE"):
        print(f"[memory] {text}", file=sys.stderr, flush=True)


def _json_default(value: Any) -> Any:
    if hasattr(value, "timestamp"):  # a stream record's ApproximateCreationDateTime: epoch seconds, as Lambda sends
        return int(value.timestamp())
    if hasattr(value, "isoformat"):  # an item's lastVerified date, as the files and the import body carry it
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _http(api_url: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    import urllib.request

    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{api_url}{path}", data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as reply:  # nosec B310: the local stack's own URL
        return json.loads(reply.read() or b"null")


def _bank_keys() -> dict[str, dict[str, Any]]:
    """Normalised stem -> item (key texts and difficulty), from the bank files: seeded candidates know the keys."""
    import yaml

    out = {}
    for path in sorted((ROOT / "infra" / "bank" / EXAM / "items").glob("*.yaml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8"))["items"]:
            texts = {o["id"]: o["text"] for o in item["options"]}
            out[" ".join(item["stem"].split())] = {"b": item["b"], "keys": {texts[k] for k in item["key"]}}
    return out


def _seed(api_url: str, count: int) -> list[str]:
    """Submitted full attempts over HTTP, answered like Rasch candidates of varied ability (for item_stats
    and calibration data that looks like a real exam's)."""
    import math

    bank, rng, ids = _bank_keys(), random.Random(9), []
    for _ in range(count):
        theta = rng.gauss(0, 1)
        a = _http(api_url, "POST", "/attempts", {"examId": EXAM, "mode": "full"})
        answers = []
        for q in a["questions"]:
            item = bank[" ".join(q["stem"].split())]
            right = [o["id"] for o in q["options"] if o["text"] in item["keys"]]
            wrong = [o["id"] for o in q["options"] if o["text"] not in item["keys"]]
            if rng.random() < 1 / (1 + math.exp(-(theta - item["b"]))):
                chosen = right
            else:
                chosen = rng.sample(wrong, min(len(wrong), q["selectCount"]))
            answers.append({"questionId": q["questionId"], "selected": sorted(chosen)})
        tok = {"X-Attempt-Token": a["attemptToken"]}
        _http(api_url, "POST", f"/attempts/{a['attemptId']}/submit", {"responses": answers}, tok)
        ids.append(a["attemptId"])
    return ids


def _import_batch(count: int) -> list[dict[str, Any]]:
    """``count`` new pretest items in the files' format: the bank's own items under new ids and stems."""
    import yaml

    files = sorted((ROOT / "infra" / "bank" / EXAM / "items").glob("*.yaml"))
    bank = [item for path in files for item in yaml.safe_load(path.read_text(encoding="utf-8"))["items"]]
    batch = []
    for n in range(count):
        item = dict(bank[n % len(bank)])
        item.update(id=f"mem-{n:04d}", status="pretest", stem=f"{item['stem']} (memory bench copy {n})")
        batch.append(item)
    return batch


def _stream_event(stack: Any, want: int) -> dict[str, Any]:
    """The attempts table's real stream records, filtered by the template's FilterCriteria, as one Lambda
    batch (the local stream pump's event shape). The pump is stopped, so nothing has counted them yet."""
    import boto3

    from infra.local.streams import matches

    (src,) = [s for s in stack.pump.sources if s.function.code_uri.name == "item_stats"]
    streams = boto3.client("dynamodbstreams", endpoint_url=stack.dynamodb_endpoint, region_name="us-east-1")
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=src.arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=src.arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            out = streams.get_records(ShardIterator=iterator, Limit=1000)
            records += [r for r in out.get("Records", []) if any(matches(f, r) for f in src.filters)]
            if not out.get("Records"):
                break
            iterator = out.get("NextShardIterator")
    batch = records[: min(want, src.batch_size)]
    if len(batch) < want:
        raise RuntimeError(f"the stream holds {len(records)} submitted META records, expected {want}")
    return {"Records": [{**r, "eventSource": "aws:dynamodb", "awsRegion": "us-east-1"} for r in batch]}


def _pad_calibration_rows(total: int) -> int:
    """Copy the real calibration rows (written by item_stats) under new attempt ids up to ``total`` rows,
    through the real store, so the calibration run reads a data set of realistic size."""
    from exam_core import runtime

    store = runtime.store()
    real = list(store.load_calibration_rows(EXAM))
    if not real:
        raise RuntimeError("item_stats wrote no calibration rows")
    rng = random.Random(3)
    extra = [(uuid.UUID(int=rng.getrandbits(128)).hex, real[i % len(real)]) for i in range(total - len(real))]
    for start in range(0, len(extra), 500):
        store.add_calibration_rows(EXAM, extra[start : start + 500])
    return max(total, len(real))


def peak_rss() -> dict[str, Any]:
    """Peak RSS (MiB) of each function in a fresh process after its journey, plus a boto3-only baseline."""
    saved_env = dict(os.environ)
    sys.path[:0] = [p for p in (str(ROOT / "shared"), str(ROOT)) if p not in sys.path]
    from infra.local.server import start

    stack = start(port=0)
    stack.pump.stop()  # item_stats runs in its child, on the batch the pump would have delivered
    try:
        functions = {fn.code_uri.name: fn for fn in stack.gateway.template.functions.values()}

        def spec(name: str, **extra: Any) -> dict[str, Any]:
            fn = functions[name]
            return {"function_name": fn.logical_id, "memory": fn.memory, "timeout": fn.timeout, **extra}

        def measure(name: str, run: dict[str, Any], **extra: Any) -> dict[str, Any]:
            t0 = time.perf_counter()
            out = _run_child(name, run)
            _say(f"{name}: {out['peak_kib'] / 1024:.1f} MiB in {time.perf_counter() - t0:.1f} s")
            return {
                "peak_mib": round(out["peak_kib"] / 1024, 1),
                "journey_requests": out["requests"],
                "after_import_mib": round(out["import_kib"] / 1024, 1),  # the handler module imported, no request
                "journey_cpu_ms": out["journey_cpu_ms"],  # this process's CPU during the journey (not DynamoDB's)
                "memory_size_mb": functions[name].memory,
                **extra,
            }

        from concurrent.futures import ThreadPoolExecutor

        from exam_core import runtime

        results: dict[str, Any] = {}
        independent = ("exam_api", "diagnostic_api", "candidate_api", "embed")
        with ThreadPoolExecutor(max_workers=1) as pool:  # these need no seeded data: run them while seeding
            baseline = pool.submit(_run_child, "baseline", {})
            background = {name: pool.submit(measure, name, spec(name)) for name in independent}
            t0 = time.perf_counter()
            seeded = _seed(stack.api_url, SEED_ATTEMPTS)
            _say(f"seeded {len(seeded)} submitted attempts in {time.perf_counter() - t0:.1f} s")
            event = _stream_event(stack, len(seeded))
            records = len(event["Records"])
            results["item_stats"] = measure("item_stats", spec("item_stats", stream_event=event), records=records)
            real_rows = sum(1 for _ in runtime.store().load_calibration_rows(EXAM))
            if real_rows != records:
                raise RuntimeError(f"item_stats counted {real_rows} of {records} submitted attempts")
            # The job over the rows item_stats just wrote, then over a data set of realistic size.
            results["calibration"] = measure(
                "calibration", spec("calibration", expect_rows=real_rows), calibration_rows=real_rows
            )
            if real_rows < CALIBRATION_ROWS:
                t0 = time.perf_counter()
                rows = _pad_calibration_rows(CALIBRATION_ROWS)
                _say(f"padded calibration data to {rows} rows in {time.perf_counter() - t0:.1f} s")
                results["calibration"]["at_scale"] = measure(
                    "calibration", spec("calibration", expect_rows=rows), calibration_rows=rows
                )  # not beside another child: reading thousands of rows holds moto's lock for seconds
            results["baseline_boto3_mib"] = round(baseline.result()["peak_kib"] / 1024, 1)
            results.update({name: future.result() for name, future in background.items()})
        # Last, alone: after item_stats (real statistics), and its import changes the bank.
        batch = _import_batch(IMPORT_ITEMS)
        results["admin_api"] = measure("admin_api", spec("admin_api", import_items=batch), imported_items=len(batch))
        return {k: results[k] for k in (*FUNCTIONS, "baseline_boto3_mib")}
    finally:
        stack.stop()
        os.environ.clear()
        os.environ.update(saved_env)  # start() pointed the environment at this stack's DynamoDB
        from exam_core import runtime

        runtime.reset()


def _table(results: dict[str, Any]) -> str:
    base = results["baseline_boto3_mib"]
    lines = [
        f"{'function':<16} {'peak MiB':>9} {'vs boto3':>9} {'imported':>9} {'requests':>9} {'CPU ms':>8}"
        f" {'MemorySize':>11}",
    ]
    for name in FUNCTIONS:
        r = results[name]
        rows = [(name, r)]
        if "at_scale" in r:
            rows.append((f"  {r['at_scale']['calibration_rows']} rows", r["at_scale"]))
        for label, x in rows:
            lines.append(
                f"{label:<16} {x['peak_mib']:>9.1f} {x['peak_mib'] - base:>+9.1f} {x['after_import_mib']:>9.1f}"
                f" {x['journey_requests']:>9} {x['journey_cpu_ms']:>8.0f} {x['memory_size_mb']:>11}"
            )
    lines.append(f"{'boto3 only':<16} {base:>9.1f}")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        _child(sys.argv[2])
        return
    t0 = time.perf_counter()
    results = peak_rss()
    print(_table(results))
    print(f"({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
