"""Logs keep no secrets: a whole journey against a local server whose every log line is captured.

The server runs every function in one process and writes all their logs to its stdout: the
Powertools structured logs at DEBUG (``POWERTOOLS_LOG_LEVEL``), Powertools' own package debug logs
(``POWERTOOLS_DEBUG``: route arguments, middleware, batch processing), the local gateway's access log
(``LOCAL_ACCESS_LOG``: every request line) and the stream consumer's logs. A journey goes through
every kind of caller: a full attempt (start, saves, submit, review, a problem report), diagnostics
with both partner keys, a signed-in candidate's practice set and full attempt, a claim, admin reads
of an item with its key and explanations, and refused requests. A second server injects DynamoDB
faults so the error paths (503 warnings, retries, stream retries) log too.

After the server stops, everything it logged after startup is scanned: no attempt token (nor a
16-character piece of one), partner key, candidate bearer token, admin token or raw Idempotency-Key
(whoever holds one can replay the start and get its token), no answer key in a
recognisable form (``"key": [``, ``key=[``), no option explanation from the bank files, no logged
headers or API Gateway events. The scanner's detectors are tested on strings that contain each
secret, and the capture is shown to hold every request's access-log line and Powertools' debug lines.

Finding fixed on the way (``exam_core.http``): with ``POWERTOOLS_DEBUG`` Powertools logged every route's
arguments, among them the raw ``Idempotency-Key`` (which replays a start and hands back its token)
and admin bodies with answer keys; that debug line now keeps its text and drops the arguments.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from cfnlint.decode import cfn_yaml

from tests.e2e.conftest import Api, Reply, _free_port, bank_by_stem

ROOT = Path(__file__).resolve().parents[2]
EXAM = "clf-c02"
PARTNER_KEYS = {"demo-partner-key": "demo-partner", "second-partner-key": "second-partner"}
ADMIN_TOKEN = "demo-admin-token"  # nosec B105 - the local server's demo admin token
KEY = {"X-Api-Key": "demo-partner-key"}
OTHER_KEY = {"X-Api-Key": "second-partner-key"}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
CANDIDATE = "log-secrecy-cand"
IDEMPOTENCY_KEY = f"log-secrecy-{uuid.uuid4().hex}"  # whoever holds it within the hour can replay the start

# The server as ``make run`` builds it, with every log switch on (the template sets INFO; DEBUG here).
LAUNCH = """
import os, threading
from infra.local import server
server.start(port=int(os.environ["PORT"]), env_overrides={"POWERTOOLS_LOG_LEVEL": "DEBUG"})
from exam_core.http import logger
print("functions' log level:", logger.log_level)
print("Press Ctrl+C to stop.", flush=True)
threading.Event().wait()
"""


# ---------------------------------------------------------------- the scanner


@lru_cache(maxsize=1)
def explanations() -> tuple[str, ...]:
    """Every option explanation in the bank files, whitespace-normalised."""
    out = []
    for path in sorted((ROOT / "infra/bank/clf-c02/items").glob("*.yaml")):
        for item in yaml.safe_load(path.read_text())["items"]:
            out += [" ".join(o["explanation"].split()) for o in item["options"] if o.get("explanation")]
    return tuple(out)


def _fingerprint(explanation: str) -> str:
    """A distinctive piece of an explanation: its first 40 characters after "Correct." / "Incorrect."."""
    body = re.sub(r"^(In)?correct\.\s*", "", explanation)
    return body[:40] if len(body) >= 24 else explanation


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def corpus(text: str) -> list[str]:
    """The log lines, plus the decoded string values of every JSON line (undoing JSON escapes)."""
    out = []
    for line in text.splitlines():
        out.append(line)
        start = line.find("{")
        if start >= 0:
            with contextlib.suppress(ValueError):
                out += list(_strings(json.loads(line[start:])))
    return [" ".join(s.split()) for s in out]


KEY_PATTERNS = [
    re.compile(r"""["']key["']\s*:\s*\["""),  # JSON or a dict's repr
    re.compile(r"\bkey\s*=\s*\["),  # a model's repr
    re.compile(r"""["']correct["']\s*:\s*(true|false)""", re.IGNORECASE),  # a review's marks
]
DUMP_PATTERNS = [
    re.compile(r"""(?i)["']?\b(x-attempt-token|x-api-key|authorization)["']?\s*[:=]\s*\S"""),  # headers
    re.compile(r"""["'](multiValueHeaders|requestContext|apiKey)["']\s*:"""),  # an API Gateway event
]


@dataclass
class Scanner:
    literals: dict[str, str]  # label -> secret value
    tokens: list[str] = field(default_factory=list)  # attempt tokens: also looked for in 16-character pieces
    explained: tuple[str, ...] = field(default_factory=explanations)

    def scan(self, text: str) -> list[str]:
        lines = corpus(text)
        joined = "\n".join(lines) + "\n" + " ".join(text.split())  # and across line breaks
        findings = []
        secrets = dict(self.literals)
        for n, t in enumerate(self.tokens):
            secrets[f"attempt token {n}"] = t
            secrets[f"attempt token {n} (start)"] = t[:16]
            secrets[f"attempt token {n} (end)"] = t[-16:]
        findings += [f"{label}: {value!r}" for label, value in secrets.items() if value and value in joined]
        for e in self.explained:
            if _fingerprint(e) in joined:
                findings.append(f"explanation: {e[:60]!r}")
        for pattern in KEY_PATTERNS + DUMP_PATTERNS:
            findings += [f"{pattern.pattern}: {line[:160]!r}" for line in lines if pattern.search(line)]
        return findings


def _scanner(tokens: list[str]) -> Scanner:
    literals = {f"partner key {k}": k for k in PARTNER_KEYS} | {"admin token": ADMIN_TOKEN}
    literals["Idempotency-Key"] = IDEMPOTENCY_KEY
    literals |= {"candidate bearer token": f"dev:{CANDIDATE}", "other candidate bearer token": "dev:log-thief"}
    return Scanner(literals, tokens)


def test_the_scanner_finds_each_kind_of_secret_and_nothing_in_clean_logs() -> None:
    token = "Zq3" + uuid.uuid4().hex + "-_x"
    scanner = _scanner([token])
    quoted = 'Correct. The "shared responsibility" model \u2014 the customer\u2019s part \u2014 covers data.'
    scanner.explained += (quoted, next(e for e in scanner.explained if "'" in e))
    clean = "\n".join(
        [
            '127.0.0.1 - - [25/Nov/2026 18:15:35] "PUT /attempts/60a6950f63674ff1bb53eecebb1d0b0d/responses" 200 -',
            '{"level":"INFO","message":"item statistics","service":"exam-scoring-api","examId":"clf-c02","attempts":1}',
            "aws_lambda_powertools.event_handler.api_gateway [DEBUG] Calling API Route Handler: {'attemptId': 'ab'}",
            '{"level":"WARNING","message":"service unavailable","code":"database_busy","partner":"demo-partner"}',
        ]
    )
    assert scanner.scan(clean) == []
    leaks = {
        "attempt token": f'{{"level":"DEBUG","message":"saved","attemptToken":"{token}"}}',
        "a piece of a token": f"checking {token[:20]}...",
        "the end of a token": f"hash of ...{token[-18:]}",
        "partner key": "api key demo-partner-key accepted",
        "second partner key": '{"k": "second-partner-key"}',
        "admin token": "Bearer demo-admin-token",
        "candidate token": "token dev:log-secrecy-cand",
        "idempotency key": f"record for {IDEMPOTENCY_KEY}",
        "JSON key": '{"questions": [{"questionId": "q1", "key": ["b"]}]}',
        "repr key": "ItemPatch(exam_id='clf-c02', key=['b', 'd'], b=None)",
        "review marks": '{"correct": true}',
        "explanation, JSON-escaped": json.dumps({"message": quoted}, ensure_ascii=True),
        "explanation, re-wrapped": "explanation:\n" + scanner.explained[-1].replace(" ", "\n", 3),
        "explanation, quoted": repr(scanner.explained[-1]),
        "headers": "{'Content-Type': 'application/json', 'X-Attempt-Token': 'whatever'}",
        "an event": '{"resource": "/attempts/{attemptId}", "multiValueHeaders": {}}',
    }
    for what, line in leaks.items():
        assert scanner.scan(clean + "\n" + line), f"the scanner missed {what}: {line[:100]}"


# ---------------------------------------------------------------- a server whose logs are kept


class LoggedServer:
    """The local server in a subprocess; a thread keeps every line it writes after startup."""

    def __init__(self, extra_env: dict[str, str]) -> None:
        port = _free_port()
        env = {
            **os.environ,
            "PORT": str(port),
            "LOCAL_PARTNER_KEYS": ",".join(f"{k}={v}" for k, v in PARTNER_KEYS.items()),
            "POWERTOOLS_LOG_LEVEL": "DEBUG",  # before the functions' logger is built, wherever that happens
            "POWERTOOLS_DEBUG": "true",
            "LOCAL_ACCESS_LOG": "1",
            "PYTHONUNBUFFERED": "1",
            **extra_env,
        }
        env.pop("AWS_ENDPOINT_URL", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCH],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.proc.stdout is not None
        startup = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            startup.append(line)
            if line.startswith("Press Ctrl+C"):
                break
        else:
            self.proc.kill()
        if not startup or not startup[-1].startswith("Press Ctrl+C"):
            self.proc.kill()
            raise RuntimeError("local server did not start:\n" + "".join(startup))
        assert "functions' log level: 10\n" in startup, "the functions do not log at DEBUG: " + "".join(startup)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.api = Api(f"http://127.0.0.1:{port}")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def wait_for(self, text: str, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in list(self.lines)):
                return
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never logged")

    def stop(self) -> str:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._reader.join(timeout=10)
        return "".join(self.lines)


def _ok(reply: Reply, status: int = 200) -> Any:
    assert reply.status == status, (reply.status, reply.raw[:300])
    return reply.body


def _answers(created: dict[str, Any], flag: bool = False) -> dict[str, Any]:
    return {
        "responses": [
            {"questionId": q["questionId"], "selected": list("ab"[: q["selectCount"]]), "flagged": flag}
            for q in created["questions"]
        ]
    }


@dataclass
class Run:
    log: str
    tokens: list[str]
    ids: list[str] = field(default_factory=list)  # attempt ids: in the access log's request lines
    busy: int = 0  # answers that were 503


def _journey() -> Run:
    """Every kind of caller through every kind of route, including refusals."""
    server = LoggedServer({})
    api, tokens = server.api, []
    me = {"Authorization": f"Bearer dev:{CANDIDATE}"}
    try:
        # a full anonymous attempt: start, two saves, report, submit, review; refusals on the way
        keyed = {"Idempotency-Key": IDEMPOTENCY_KEY}  # a retried start hands the same token back
        a = _ok(api.post("/attempts", {"examId": EXAM, "mode": "full"}, headers=keyed), 201)
        assert _ok(api.post("/attempts", {"examId": EXAM, "mode": "full"}, headers=keyed), 201) == a
        tokens.append(a["attemptToken"])
        path, tok = f"/attempts/{a['attemptId']}", {"X-Attempt-Token": a["attemptToken"]}
        first, rest = _answers(a), _answers(a, flag=True)
        _ok(api.put(f"{path}/responses", {"responses": first["responses"][:10]}, headers=tok))
        _ok(api.put(f"{path}/responses", {"responses": rest["responses"][10:40]}, headers=tok))
        q = a["questions"][0]["questionId"]
        report = {"reason": "typo", "comment": "the stem has a typo"}
        _ok(api.post(f"{path}/questions/{q}/report", report, headers=tok), 201)
        _ok(api.get(path, headers=tok))
        assert api.get(path, headers={"X-Attempt-Token": a["attemptToken"][::-1]}).status == 403
        assert api.put(f"{path}/responses", {"responses": a["attemptToken"]}, headers=tok).status == 422
        assert api.get(f"{path}/review", headers=tok).status == 409
        _ok(api.post(f"{path}/submit", headers=tok))
        assert _ok(api.get(f"{path}/review", headers=tok))["questions"][0]["key"]

        # diagnostics with both partner keys: start, read, submit, review, summary; another partner refused
        d = _ok(api.post("/diagnostics", {"examId": EXAM}, headers={**KEY, "Idempotency-Key": IDEMPOTENCY_KEY}), 201)
        tokens.append(d["attemptToken"])
        dpath, dtok = f"/diagnostics/{d['attemptId']}", {**KEY, "X-Attempt-Token": d["attemptToken"]}
        _ok(api.get(dpath, headers=dtok))
        assert api.get(dpath, headers={**OTHER_KEY, "X-Attempt-Token": d["attemptToken"]}).status == 403
        assert api.get(dpath, headers={"X-Attempt-Token": d["attemptToken"]}).status == 403  # no key
        _ok(api.post(f"{dpath}/submit", _answers(d), headers=dtok))
        _ok(api.get(f"{dpath}/review", headers=dtok))
        _ok(api.get("/partner/summary", headers=KEY))
        d2 = _ok(api.post("/diagnostics", {"examId": EXAM}, headers=OTHER_KEY), 201)
        tokens.append(d2["attemptToken"])
        _ok(api.get(f"/diagnostics/{d2['attemptId']}", headers={**OTHER_KEY, "X-Attempt-Token": d2["attemptToken"]}))

        # a signed-in candidate: a practice set and a full attempt, claims the diagnostic, history, progress
        p = _ok(api.post("/me/attempts", {"mode": "domain", "domainId": "cloud-concepts", "size": 5}, headers=me), 201)
        tokens.append(p["attemptToken"])
        ppath = f"/me/attempts/{p['attemptId']}"
        _ok(api.put(f"{ppath}/responses", _answers(p), headers=me))
        _ok(api.post(f"{ppath}/submit", headers=me))
        _ok(api.get(f"{ppath}/review", headers=me))
        f = _ok(api.post("/me/attempts", {"examId": EXAM, "mode": "full"}, headers=me), 201)
        tokens.append(f["attemptToken"])
        _ok(api.post(f"/me/attempts/{f['attemptId']}/submit", _answers(f), headers=me))
        thief = {"Authorization": "Bearer dev:log-thief"}
        assert api.get(f"/me/attempts/{f['attemptId']}", headers=thief).status == 404
        claim = {**me, "X-Attempt-Token": d["attemptToken"]}
        _ok(api.post(f"/me/diagnostics/{d['attemptId']}/claim", headers=claim))
        for route in ("/me/attempts", "/me/progress", "/me/readiness"):
            _ok(api.get(route, headers=me))

        # an operator reads the reported item (key, explanations, the report) and its statistics
        item = bank_by_stem()[" ".join(a["questions"][0]["stem"].split())]["id"]
        detail = _ok(api.get(f"/admin/items/{item}", headers=ADMIN))
        assert detail["options"][0]["explanation"] and any(r["attemptId"] == a["attemptId"] for r in detail["reports"])
        _ok(api.get(f"/admin/items/{item}/stats", headers=ADMIN))
        assert api.get(f"/admin/items/{item}", headers=thief).status == 403

        server.wait_for('"message":"item statistics"')  # the stream consumer ran on the submissions
        server.wait_for(f'/admin/items/{item} HTTP/1.1" 403')  # the last request's access log line
    finally:
        log = server.stop()
    return Run(log, tokens, [x["attemptId"] for x in (a, d, d2, p, f)])


def _faulty_journey() -> Run:
    """A server whose DynamoDB client fails half its calls: retries, 503s and their warnings get logged."""
    server = LoggedServer({"LOCAL_DYNAMODB_FAULT_RATE": "0.5", "LOCAL_DYNAMODB_FAULT_SEED": "7"})
    api, tokens, busy = server.api, [], 0

    def patient(method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Reply:
        nonlocal busy
        for _ in range(40):
            reply = api.call(method, path, body, headers=headers)
            if reply.status != 503:
                return reply
            assert reply.body["error"]["code"] in ("database_busy", "database_timeout"), reply.raw[:300]
            busy += 1
        raise AssertionError(f"{method} {path} stayed 503")

    try:
        a = _ok(patient("POST", "/attempts", {"examId": EXAM, "mode": "full"}), 201)
        tokens.append(a["attemptToken"])
        path, tok = f"/attempts/{a['attemptId']}", {"X-Attempt-Token": a["attemptToken"]}
        _ok(patient("PUT", f"{path}/responses", {"responses": _answers(a)["responses"][:5]}, tok))
        for _ in range(30):  # reads until a request met a 503
            if busy:
                break
            _ok(patient("GET", path, None, tok))
        _ok(patient("POST", f"{path}/submit", None, tok))
        d = _ok(patient("POST", "/diagnostics", {"examId": EXAM}, KEY), 201)
        tokens.append(d["attemptToken"])
        dtok = {**KEY, "X-Attempt-Token": d["attemptToken"]}
        _ok(patient("POST", f"/diagnostics/{d['attemptId']}/submit", _answers(d), dtok))
        me = {"Authorization": f"Bearer dev:{CANDIDATE}", "X-Attempt-Token": d["attemptToken"]}
        _ok(patient("POST", f"/me/diagnostics/{d['attemptId']}/claim", None, me))
        if busy:
            server.wait_for('"message":"service unavailable"')
    finally:
        log = server.stop()
    return Run(log, tokens, busy=busy)


@pytest.fixture(scope="module")
def runs() -> dict[str, Run]:
    """Both servers at once (most of their time is startup and botocore's retry back-off)."""
    with ThreadPoolExecutor(2) as pool:
        plain, faulty = pool.submit(_journey), pool.submit(_faulty_journey)
        return {"plain": plain.result(), "faulty": faulty.result()}


@pytest.fixture(scope="module")
def journey(runs: dict[str, Run]) -> Run:
    return runs["plain"]


# ---------------------------------------------------------------- the scans


def _after_startup_only(log: str) -> None:
    assert "Press Ctrl+C" not in log and "Partner API key" not in log  # the banner is not part of the scan


def test_the_journey_was_logged_so_the_scan_below_is_not_vacuous(journey: Run) -> None:
    _after_startup_only(journey.log)
    log = journey.log
    for request in ("POST /attempts ", "/submit", "/review", "/report", "POST /diagnostics ", "/claim", "/me/progress"):
        assert request in log, f"the access log lacks {request!r}"
    structured = [json.loads(line) for line in log.splitlines() if line.startswith('{"level"')]
    assert any(r["service"] == "exam-scoring-api" for r in structured)
    assert all(attempt_id in log for attempt_id in journey.ids), "requests are missing from the captured log"
    assert log.count("Calling API Route Handler") >= 30  # Powertools' debug line for each routed request
    assert "Calling API Route Handler: {" not in log  # ... without the route's arguments (exam_core.http)


def test_the_journeys_logs_hold_no_secret(journey: Run) -> None:
    assert len(journey.tokens) == 5
    findings = _scanner(journey.tokens).scan(journey.log)
    assert findings == [], "secrets in the logs:\n" + "\n".join(findings)


def test_the_error_paths_logs_hold_no_secret(runs: dict[str, Run]) -> None:
    run = runs["faulty"]
    _after_startup_only(run.log)
    assert run.busy > 0, "no request met a 503: the error paths were not exercised"
    assert '"message":"service unavailable"' in run.log
    findings = _scanner(run.tokens).scan(run.log)
    assert findings == [], "secrets in the logs:\n" + "\n".join(findings)


# ---------------------------------------------------------------- what is deployed logs no more


def test_no_function_logs_its_event_and_the_template_turns_no_debug_log_on() -> None:
    for app in sorted((ROOT / "functions").glob("*/app.py")):
        for node in ast.walk(ast.parse(app.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "inject_lambda_context":
                kwargs = {k.arg: k.value for k in node.keywords}
                assert isinstance(kwargs.get("log_event"), ast.Constant), app
                assert kwargs["log_event"].value is False, app
    doc = cfn_yaml.loads((ROOT / "template.yaml").read_text(encoding="utf-8"))
    env: dict[str, Any] = dict(doc["Globals"]["Function"]["Environment"]["Variables"])
    for res in doc["Resources"].values():
        env |= ((res.get("Properties") or {}).get("Environment") or {}).get("Variables") or {}
    assert env.get("POWERTOOLS_LOG_LEVEL") in ("INFO", "WARNING", "ERROR")
    assert "POWERTOOLS_DEBUG" not in env and str(env.get("POWERTOOLS_LOGGER_LOG_EVENT", "false")).lower() == "false"


def test_api_gateway_access_logs_hold_no_key_token_or_request_content() -> None:
    doc = cfn_yaml.loads((ROOT / "template.yaml").read_text(encoding="utf-8"))
    formats = [
        r["Properties"]["AccessLogSetting"]["Format"]
        for r in doc["Resources"].values()
        if r.get("Type") == "AWS::Serverless::Api" and "AccessLogSetting" in r.get("Properties", {})
    ]
    assert formats, "the API has no access log"
    for fmt in formats:
        fields = set(re.findall(r"\$context\.[A-Za-z.]+", fmt))
        assert "$context.identity.apiKeyId" in fields  # the key's id, which is the partner
        forbidden = {"$context.identity.apiKey", "$context.authorizer.claims"}
        assert not fields & forbidden, fields & forbidden
        assert not any(f.startswith(("$context.authorizer", "$context.requestOverride")) for f in fields), fields
        assert "$input" not in fmt and "$method.request" not in fmt
