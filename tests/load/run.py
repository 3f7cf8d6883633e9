"""``make load``: a bounded load run against a local server of its own, then an audit of what was stored.

The run starts the local server exactly as ``make run`` does (a subprocess on a free 127.0.0.1 port, its own
embedded DynamoDB), plays ``LOAD_CANDIDATES`` full-exam journeys and ``LOAD_DIAGNOSTICS`` partner diagnostics
with ``LOAD_CONCURRENCY`` journeys in flight, and stops by itself (every journey is a fixed list of requests;
``LOAD_TIMEOUT_SECONDS`` bounds the whole run).

A full journey: ``POST /attempts``; ``LOAD_SAVES`` autosaves through ``PUT /attempts/{id}/responses``, each with a
few new answers and from the second on one or two changed earlier answers (some cleared, some flagged); a resume
read half way (``GET /attempts/{id}`` must show exactly the saves acknowledged so far); submit (half of them
with final responses in the body); submit again (must return the same result); one save after submission (must
be refused with 409 ``attempt_submitted``, the only non-2xx the run expects); the review. A diagnostic journey:
``POST /diagnostics`` with one of two partner keys, submit with the answers, submit again, the review.

Then the audit, after the load: every attempt's review again (through the public API, so it does not depend on
how responses are stored), a scan of the attempts table over the embedded DynamoDB endpoint for the attempts
(``sk == "META"``) and their stored results, and each partner's summary. Checks: attempts in the store = attempts
the clients saw created (201), every acknowledged (2xx) answer and flag is what the review shows for its question
(the last acknowledged write per question wins; a refused write never shows), every submission scored exactly
once (a second submit returns the same result, the review shows it, the store holds one result per submitted
attempt and none for others), partner counts equal to what their clients did. Acceptance: no unexpected
response, no lost and no duplicated record. Writes ``reports/load.json`` and the "load" section of
``reports/hardening.md``; exits 1 when the acceptance fails.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import random
import re
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter, defaultdict, deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[2]
REPORT_JSON = ROOT / "reports" / "load.json"
TOKEN_HEADER = "X-Attempt-Token"  # the documented wire header (exam_core.http.TOKEN_HEADER)
EXAM_ID = "clf-c02"
PARTNERS = {"demo-partner-key": "demo-partner", "second-partner-key": "second-partner"}
PARTNER_KEYS = ",".join(f"{key}={pid}" for key, pid in PARTNERS.items())
EXAMPLES = 20  # problems kept verbatim per kind in the report (all are counted)

START, SAVE, RESUME, SUBMIT, REVIEW = (
    "POST /attempts",
    "PUT /attempts/{id}/responses",
    "GET /attempts/{id}",
    "POST /attempts/{id}/submit",
    "GET /attempts/{id}/review",
)
D_START, D_SUBMIT, D_REVIEW, SUMMARY = (
    "POST /diagnostics",
    "POST /diagnostics/{id}/submit",
    "GET /diagnostics/{id}/review",
    "GET /partner/summary",
)


@dataclass(frozen=True)
class Config:
    candidates: int = 200
    diagnostics: int = 100
    concurrency: int = 16
    saves: int = 10
    seed: int = 20261125
    timeout_seconds: float = 600.0
    ramp_seconds: float = 2.0

    @classmethod
    def from_env(cls) -> Config:
        env = os.environ
        return cls(
            candidates=int(env.get("LOAD_CANDIDATES", cls.candidates)),
            diagnostics=int(env.get("LOAD_DIAGNOSTICS", cls.diagnostics)),
            concurrency=int(env.get("LOAD_CONCURRENCY", cls.concurrency)),
            saves=int(env.get("LOAD_SAVES", cls.saves)),
            seed=int(env.get("LOAD_SEED", cls.seed)),
            timeout_seconds=float(env.get("LOAD_TIMEOUT_SECONDS", cls.timeout_seconds)),
            ramp_seconds=float(env.get("LOAD_RAMP_SECONDS", cls.ramp_seconds)),
        )


# ---------------------------------------------------------------- the client and what it saw


@dataclass
class Sample:
    phase: str  # "load" or "audit"
    route: str
    status: int  # 0 = no HTTP answer (connection error or timeout)
    seconds: float
    ok: bool  # the status (and error code) this call expected
    code: str | None  # the JSON error body's code, if any
    at: float  # seconds since the client was created, when the request started
    detail: str = ""


class Client:
    """http.client with one connection per thread, kept alive when the server allows it (the local server
    answers HTTP/1.0 and closes after each response, so http.client reconnects). No retries: every failure
    is a sample."""

    def __init__(self, base: str, timeout: float = 30.0) -> None:
        split = urlsplit(base)
        self.host, self.port = split.hostname or "127.0.0.1", split.port or 80
        self.timeout = timeout
        self.samples: list[Sample] = []
        self._lock = threading.Lock()
        self._local = threading.local()
        self.phase = "load"
        self.origin = time.perf_counter()

    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._local.conn = conn
        return conn

    def call(
        self,
        route: str,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        expect: int = 200,
        expect_code: str | None = None,
    ) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        conn = self._connection()
        started = time.perf_counter()
        try:
            conn.request(method, path, body=data, headers=hdrs)
            reply = conn.getresponse()
            raw = reply.read()
            status = reply.status
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            status, raw = 0, f"{type(exc).__name__}: {exc}".encode()
        seconds = time.perf_counter() - started
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        code = None
        if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
            code = parsed["error"].get("code")
        ok = status == expect and (expect_code is None or code == expect_code)
        detail = "" if ok else raw[:300].decode(errors="replace")
        with self._lock:
            self.samples.append(Sample(self.phase, route, status, seconds, ok, code, started - self.origin, detail))
        return status, parsed


@dataclass
class Ledger:
    """What one client saw of one attempt: the only source of truth the audit compares the server with."""

    kind: str  # "full" or "diagnostic"
    attempt_id: str
    token: str
    partner_key: str | None
    options: dict[str, tuple[list[str], int]]  # served question id -> (served option ids, selectCount)
    acked: dict[str, tuple[tuple[str, ...], bool]] = field(default_factory=dict)  # last acknowledged write
    # Writes with an unknown outcome (no HTTP answer, or a 5xx: the server gave up waiting for DynamoDB, whose
    # write may still have landed): question id -> the values such a write may have left. A later acknowledged
    # write supersedes them (saves and submits are conditional on the revision they read).
    uncertain: dict[str, set[tuple[tuple[str, ...], bool]]] = field(default_factory=dict)
    submit_uncertain: bool = False  # a submit with an unknown outcome (it may have scored)
    refused: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # writes refused after submission
    results: list[dict[str, Any]] = field(default_factory=list)  # every 200 answer to a submit
    journey_review: dict[str, Any] | None = None
    saves: int = 0  # saves answered 200
    resumes: int = 0  # resume reads answered 200
    resume_mismatches: int = 0  # questions whose resumed state differed from the acknowledged saves
    save_mismatches: int = 0  # save answers whose saved/answeredCount disagreed with the client's count
    finished: bool = False

    def headers(self) -> dict[str, str]:
        out = {TOKEN_HEADER: self.token}
        if self.partner_key:
            out["X-Api-Key"] = self.partner_key
        return out

    def answered(self) -> int:
        return sum(1 for selected, _ in self.acked.values() if selected)

    def apply(self, responses: list[dict[str, Any]]) -> None:
        for r in responses:
            self.acked[r["questionId"]] = _value(r)
            self.uncertain.pop(r["questionId"], None)

    def maybe(self, responses: list[dict[str, Any]]) -> None:
        for r in responses:
            self.uncertain.setdefault(r["questionId"], set()).add(_value(r))

    def allowed(self, qid: str) -> set[tuple[tuple[str, ...], bool]]:
        """What the server may show for ``qid``: the last acknowledged value, or a write of unknown outcome."""
        return {self.acked.get(qid, BLANK), *self.uncertain.get(qid, ())}

    def record(self, status: int, responses: list[dict[str, Any]]) -> None:
        """A write's outcome: applied (2xx), unknown (no answer or 5xx), or not applied (4xx)."""
        if 200 <= status < 300:
            self.apply(responses)
        elif status == 0 or status >= 500:
            self.maybe(responses)


BLANK: tuple[tuple[str, ...], bool] = ((), False)


def _value(response: dict[str, Any]) -> tuple[tuple[str, ...], bool]:
    return tuple(sorted(response["selected"])), bool(response.get("flagged", False))


def unknown_outcome(status: int) -> bool:
    return status == 0 or status >= 500


class Aborted(Exception):
    """The run's time bound passed: the journey stops before its next request."""


@dataclass
class Run:
    cfg: Config
    client: Client
    stop: threading.Event = field(default_factory=threading.Event)
    ledgers: list[Ledger] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)
    failed_creates: list[tuple[str, str | None, int, str | None]] = field(default_factory=list)  # kind, key, status
    lock: threading.Lock = field(default_factory=threading.Lock)
    load_average_at_start: float = field(default_factory=lambda: os.getloadavg()[0])

    def call(self, *args: Any, **kwargs: Any) -> tuple[int, Any]:
        if self.stop.is_set():
            raise Aborted
        return self.client.call(*args, **kwargs)

    def failed_create(self, kind: str, key: str | None, status: int, body: Any) -> None:
        code = body["error"].get("code") if isinstance(body, dict) and isinstance(body.get("error"), dict) else None
        with self.lock:
            self.failed_creates.append((kind, key, status, code))

    def keep(self, ledger: Ledger) -> None:
        with self.lock:
            self.ledgers.append(ledger)


def _selection(rng: random.Random, options: tuple[list[str], int], allow_clear: bool) -> list[str]:
    ids, count = options
    if allow_clear and rng.random() < 0.1:
        return []
    return sorted(rng.sample(ids, count))


def _changed(rng: random.Random, ledger: Ledger, qid: str, allow_clear: bool) -> dict[str, Any]:
    """A response for ``qid`` whose selection differs from the last acknowledged one."""
    current = ledger.acked.get(qid, ((), False))[0]
    selected = _selection(rng, ledger.options[qid], allow_clear)
    for _ in range(100):
        if tuple(selected) != current:
            break
        selected = _selection(rng, ledger.options[qid], allow_clear)
    return {"questionId": qid, "selected": selected, "flagged": rng.random() < 0.15}


def _served(body: dict[str, Any]) -> dict[str, tuple[list[str], int]]:
    return {q["questionId"]: ([o["id"] for o in q["options"]], int(q["selectCount"])) for q in body["questions"]}


def _state(responses: list[dict[str, Any]]) -> dict[str, tuple[tuple[str, ...], bool]]:
    return {r["questionId"]: (tuple(sorted(r["selected"])), bool(r["flagged"])) for r in responses}


def _chunks(items: list[str], parts: int) -> list[list[str]]:
    size, extra = divmod(len(items), parts)
    out, at = [], 0
    for i in range(parts):
        n = size + (1 if i < extra else 0)
        out.append(items[at : at + n])
        at += n
    return [c for c in out if c]


def full_journey(run: Run, index: int) -> None:
    rng = random.Random(f"{run.cfg.seed}:full:{index}")
    status, body = run.call(START, "POST", "/attempts", {"examId": EXAM_ID, "mode": "full"}, expect=201)
    if status != 201:
        run.failed_create("full", None, status, body)
        return
    ledger = Ledger("full", body["attemptId"], body["attemptToken"], None, _served(body))
    run.keep(ledger)
    base = f"/attempts/{ledger.attempt_id}"
    order = list(ledger.options)
    rng.shuffle(order)
    to_answer = order[: len(order) - rng.randint(0, 4)]  # a few candidates leave some questions blank
    chunks = _chunks(to_answer, run.cfg.saves)
    for n, chunk in enumerate(chunks):
        batch = [_changed(rng, ledger, q, False) for q in chunk]
        earlier = [q for q in ledger.acked if q not in chunk]
        for q in rng.sample(earlier, min(len(earlier), rng.randint(1, 2))):
            batch.append(_changed(rng, ledger, q, True))  # a changed mind, sometimes a cleared answer
        status, reply = run.call(SAVE, "PUT", base + "/responses", {"responses": batch}, ledger.headers())
        ledger.record(status, batch)
        if status == 200:
            ledger.saves += 1
            counted = reply.get("saved") == len(batch) and (
                reply.get("answeredCount") == ledger.answered() or bool(ledger.uncertain)  # then it may differ
            )
            ledger.save_mismatches += not counted
        if n == len(chunks) // 2:
            status, reply = run.call(RESUME, "GET", base, headers=ledger.headers())
            if status == 200:
                ledger.resumes += 1
                seen = _state(reply["responses"])
                ledger.resume_mismatches += len(
                    [q for q in set(ledger.acked) | set(seen) if seen.get(q, BLANK) not in ledger.allowed(q)]
                )
    final: list[dict[str, Any]] = []
    if rng.random() < 0.5:
        final = [_changed(rng, ledger, q, True) for q in rng.sample(order, rng.randint(1, 3))]
    status, result = run.call(
        SUBMIT, "POST", base + "/submit", {"responses": final} if final else None, ledger.headers()
    )
    ledger.record(status, final)
    if status == 200:
        ledger.results.append(result)
    ledger.submit_uncertain |= unknown_outcome(status)
    status, again = run.call(SUBMIT, "POST", base + "/submit", headers=ledger.headers())
    if status == 200:
        ledger.results.append(again)
    ledger.submit_uncertain |= unknown_outcome(status)
    late = _changed(rng, ledger, rng.choice(order), False)
    status, _ = run.call(
        SAVE, "PUT", base + "/responses", {"responses": [late]}, ledger.headers(), 409, "attempt_submitted"
    )
    ledger.record(status, [late])  # if acknowledged, the audit must find it (it is already an error)
    if 400 <= status < 500:
        ledger.refused.append((late["questionId"], tuple(late["selected"])))
    status, review = run.call(REVIEW, "GET", base + "/review", headers=ledger.headers())
    if status == 200:
        ledger.journey_review = review
    ledger.finished = True


def diagnostic_journey(run: Run, index: int) -> None:
    rng = random.Random(f"{run.cfg.seed}:diagnostic:{index}")
    key = list(PARTNERS)[index % len(PARTNERS)]
    status, body = run.call(D_START, "POST", "/diagnostics", {"examId": EXAM_ID}, {"X-Api-Key": key}, expect=201)
    if status != 201:
        run.failed_create("diagnostic", key, status, body)
        return
    ledger = Ledger("diagnostic", body["attemptId"], body["attemptToken"], key, _served(body))
    run.keep(ledger)
    base = f"/diagnostics/{ledger.attempt_id}"
    questions = list(ledger.options)
    rng.shuffle(questions)
    answers = [_changed(rng, ledger, q, False) for q in questions[: len(questions) - rng.randint(0, 1)]]
    status, result = run.call(D_SUBMIT, "POST", base + "/submit", {"responses": answers}, ledger.headers())
    ledger.record(status, answers)
    if status == 200:
        ledger.results.append(result)
    ledger.submit_uncertain |= unknown_outcome(status)
    status, again = run.call(D_SUBMIT, "POST", base + "/submit", headers=ledger.headers())
    if status == 200:
        ledger.results.append(again)
    ledger.submit_uncertain |= unknown_outcome(status)
    status, review = run.call(D_REVIEW, "GET", base + "/review", headers=ledger.headers())
    if status == 200:
        ledger.journey_review = review
    ledger.finished = True


def _guarded(run: Run, journey: Any, index: int, delay: float) -> None:
    try:
        if delay:
            time.sleep(delay)
        journey(run, index)
    except Aborted:
        pass
    except Exception:  # a journey that crashes on an answer it did not expect is counted, never hidden
        with run.lock:
            run.crashes.append(traceback.format_exc(limit=3))


def load(cfg: Config, client: Client) -> tuple[Run, float]:
    """Every journey, interleaved (a diagnostic after every second candidate), ``cfg.concurrency`` at a time.

    The first ``cfg.concurrency`` journeys start spread over ``cfg.ramp_seconds``: the local server listens
    with http.server's backlog of 5, and a burst of simultaneous connections beyond it is reset by the kernel
    (measured: 40 at once, about 24 resets), which API Gateway would not do. After the ramp each worker
    reconnects as its previous request ends, so connection attempts stay spread out; any reset is an error.
    """
    run = Run(cfg, client)
    jobs: list[tuple[Any, int]] = [(full_journey, i) for i in range(cfg.candidates)]
    for i in range(cfg.diagnostics):
        jobs.insert(min(len(jobs), 3 * i + 2), (diagnostic_journey, i))
    client.phase = "load"
    client.origin = started = time.perf_counter()
    step = cfg.ramp_seconds / max(1, cfg.concurrency)
    with ThreadPoolExecutor(max_workers=max(1, cfg.concurrency), thread_name_prefix="load") as pool:
        futures = [
            pool.submit(_guarded, run, journey, i, n * step if n < cfg.concurrency else 0.0)
            for n, (journey, i) in enumerate(jobs)
        ]
        _, pending = wait(futures, timeout=cfg.timeout_seconds)
        if pending:
            run.stop.set()
            for f in pending:
                f.cancel()
    return run, time.perf_counter() - started


# ---------------------------------------------------------------- the audit


class Problems:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.examples: dict[str, list[str]] = defaultdict(list)

    def add(self, kind: str, example: str, n: int = 1) -> None:
        if n <= 0:
            return
        self.counts[kind] += n
        if len(self.examples[kind]) < EXAMPLES:
            self.examples[kind].append(example)


LOST = (
    "attempt_lost",
    "result_missing_in_store",
    "response_lost_or_changed",
    "flag_lost_or_changed",
    "question_missing_in_review",
    "review_unavailable",
)
DUPLICATED = (
    "attempt_id_seen_twice",
    "attempt_unknown_to_clients",
    "result_without_acknowledged_submit",
    "question_duplicated_in_review",
    "question_unknown_in_review",
    "refused_write_visible",
)


def scan_attempts(endpoint: str, table: str) -> list[dict[str, Any]]:
    import boto3

    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",  # the embedded moto server takes any credentials
    )
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table}
    while True:
        page = client.scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _attr(item: dict[str, Any], *names: str) -> Any:
    for name in names:
        if name in item:
            return next(iter(item[name].values()))
    return None


def audit(
    ledgers: list[Ledger],
    client: Client,
    endpoint: str,
    table: str,
    days: tuple[str, str],
    failed_creates: list[tuple[str, str | None, int, str | None]] | None = None,
) -> dict[str, Any]:
    """Compare what the clients saw with the reviews, the partner summaries and the store, and count everything.

    A write whose outcome the client could not know (no HTTP answer, or a 5xx) may or may not have landed: the
    audit accepts either its value or the last acknowledged one and counts how often it landed. A create that
    failed may still have left an attempt no client holds: counted as an orphan (a problem of its own).
    """
    failed_creates = failed_creates or []
    client.phase = "audit"
    first_sample = len(client.samples)
    problems = Problems()
    counts: Counter[str] = Counter()

    ids = [led.attempt_id for led in ledgers]
    for attempt_id, n in Counter(ids).items():
        problems.add("attempt_id_seen_twice", attempt_id, n - 1)
    counts["attempts_created_seen_by_clients"] = len(ids)
    counts["full_attempts_created"] = sum(1 for led in ledgers if led.kind == "full")
    counts["diagnostics_created"] = sum(1 for led in ledgers if led.kind == "diagnostic")

    # The store: attempts are the META items of the attempts table, results the submitted ones with a result.
    items = scan_attempts(endpoint, table)
    counts["store_items_scanned"] = len(items)
    metas: dict[str, list[dict[str, Any]]] = defaultdict(list)
    kinds: Counter[str] = Counter()
    for item in items:
        sk = _attr(item, "sk")
        kinds[str(sk).split("#", 1)[0]] += 1
        if sk == "META":
            metas[_attr(item, "pk")].append(item)
    counts["store_attempts"] = sum(len(v) for v in metas.values())
    for attempt_id, found in metas.items():
        problems.add("attempt_id_seen_twice", f"{attempt_id}: {len(found)} META items", len(found) - 1)
    for attempt_id in sorted(set(ids) - set(metas)):
        problems.add("attempt_lost", attempt_id)
    counts["failed_creates"] = len(failed_creates)
    for kind, _, status, code in failed_creates:
        counts[f"failed_creates_{kind}_{status}_{code or 'none'}"] += 1
    unknown = sorted(set(metas) - set(ids))
    for n, attempt_id in enumerate(unknown):
        if n < len(failed_creates):  # a create the client saw fail, whose write landed anyway
            kind, _, status, code = failed_creates[n]
            problems.add("orphan_after_failed_create", f"{attempt_id} (creates that failed: {status} {code}, ...)")
        else:
            problems.add("attempt_unknown_to_clients", attempt_id)

    def stored_result(attempt_id: str) -> Any:
        found = metas.get(attempt_id) or [{}]
        meta = found[0]
        status = _attr(meta, "st", "status")
        return _attr(meta, "result") if status == "submitted" else None

    counts["store_results"] = sum(1 for attempt_id in metas if stored_result(attempt_id) is not None)
    by_ledger = {led.attempt_id: led for led in ledgers}

    for attempt_id in metas:
        led_of = by_ledger.get(attempt_id)
        if stored_result(attempt_id) is not None and led_of is not None and not led_of.results:
            if led_of.submit_uncertain:
                counts["submits_with_unknown_outcome_that_scored"] += 1
            else:
                problems.add("result_without_acknowledged_submit", attempt_id)

    for led in ledgers:
        counts["journeys_finished"] += led.finished
        counts["saves_acknowledged"] += led.saves
        counts["save_answers_disagreeing"] += led.save_mismatches
        counts["resume_reads"] += led.resumes
        counts["resume_reads_disagreeing"] += led.resume_mismatches
        problems.add("save_answer_disagrees_with_client", led.attempt_id, led.save_mismatches)
        problems.add("resume_disagrees_with_acknowledged_saves", led.attempt_id, led.resume_mismatches)
        if not led.results:
            counts["attempts_without_acknowledged_submit"] += 1
            continue
        counts["attempts_submitted_seen_by_clients"] += 1
        counts["submits_acknowledged"] += len(led.results)
        stored = stored_result(led.attempt_id)
        if stored is None:
            problems.add("result_missing_in_store", led.attempt_id)
        else:
            first = led.results[0]
            try:
                stored_doc = json.loads(stored) if isinstance(stored, str) else None
            except ValueError:
                stored_doc = None
            score = (
                stored_doc.get("scaledScore", stored_doc.get("scaled_score")) if isinstance(stored_doc, dict) else None
            )
            if score is not None:
                counts["stored_results_compared"] += 1
                if score != first.get("scaledScore"):
                    problems.add("stored_result_differs", f"{led.attempt_id}: {score} != {first.get('scaledScore')}")
        for later in led.results[1:]:
            counts["repeat_submits_compared"] += 1
            if later != led.results[0]:
                problems.add("repeat_submit_differs", led.attempt_id)

        route = REVIEW if led.kind == "full" else D_REVIEW
        prefix = "/attempts" if led.kind == "full" else "/diagnostics"
        status, review = client.call(route, "GET", f"{prefix}/{led.attempt_id}/review", headers=led.headers())
        if status != 200:
            problems.add("review_unavailable", f"{led.attempt_id}: {status}")
            continue
        counts["reviews_read"] += 1
        if review.get("result") != led.results[0]:
            problems.add("review_result_differs_from_submit", led.attempt_id)
        questions = review["questions"]
        qids = [q["questionId"] for q in questions]
        for qid, n in Counter(qids).items():
            problems.add("question_duplicated_in_review", f"{led.attempt_id}/{qid}", n - 1)
        for qid in set(led.options) - set(qids):
            problems.add("question_missing_in_review", f"{led.attempt_id}/{qid}")
        for qid in set(qids) - set(led.options):
            problems.add("question_unknown_in_review", f"{led.attempt_id}/{qid}")
        seen = {q["questionId"]: (tuple(sorted(q["selected"])), bool(q["flagged"])) for q in questions}
        counts["questions_reviewed"] += len(questions)
        for qid, got in seen.items():
            allowed = led.allowed(qid)
            expected = led.acked.get(qid, BLANK)
            if qid in led.uncertain:
                counts["answers_with_unknown_outcome_checked"] += 1
                counts["answers_with_unknown_outcome_that_landed"] += got != expected and got in allowed
            elif qid in led.acked:
                counts["acknowledged_answers_checked"] += 1
            else:
                counts["unanswered_questions_checked"] += 1
            if got in allowed:
                continue
            what = f"saved {expected}" if qid in led.acked else "never saved"
            if got[0] in {value[0] for value in allowed}:
                problems.add("flag_lost_or_changed", f"{led.attempt_id}/{qid}: {what}, review {got}")
            else:
                problems.add("response_lost_or_changed", f"{led.attempt_id}/{qid}: {what}, review {got}")
        for qid, selected in led.refused:
            counts["refused_writes_checked"] += 1
            if seen.get(qid, BLANK)[0] == selected:
                problems.add("refused_write_visible", f"{led.attempt_id}/{qid}")
        if led.journey_review is not None:
            counts["journey_reviews_compared"] += 1
            then = {
                q["questionId"]: (tuple(sorted(q["selected"])), q["flagged"]) for q in led.journey_review["questions"]
            }
            if then != seen or led.journey_review.get("result") != review.get("result"):
                problems.add("review_changed_after_submission", led.attempt_id)

    # Each partner's own summary counts exactly the diagnostics its clients started and submitted.
    for key, partner_id in PARTNERS.items():
        mine = [led for led in ledgers if led.partner_key == key]
        query = urlencode({"examId": EXAM_ID, "from": days[0], "to": days[1]})
        status, summary = client.call(SUMMARY, "GET", f"/partner/summary?{query}", headers={"X-Api-Key": key})
        if status != 200:
            problems.add("partner_summary_unavailable", f"{partner_id}: {status}")
            continue
        started, submitted = len(mine), sum(1 for led in mine if led.results)
        may_start = sum(1 for _, k, _, _ in failed_creates if k == key)  # failed creates that may have landed
        may_submit = sum(1 for led in mine if not led.results and led.submit_uncertain)
        counts[f"partner_{partner_id}_started"] = summary["started"]
        counts[f"partner_{partner_id}_submitted"] = summary["submitted"]
        ok_started = started <= summary["started"] <= started + may_start
        ok_submitted = submitted <= summary["submitted"] <= submitted + may_submit
        if not (ok_started and ok_submitted):
            problems.add(
                "partner_summary_differs",
                f"{partner_id}: summary {summary['started']}/{summary['submitted']}, clients {started}/{submitted}"
                f" (+{may_start}/+{may_submit} of unknown outcome)",
            )

    audit_samples = client.samples[first_sample:]
    for s in audit_samples:
        if not s.ok:
            problems.add("audit_request_failed", f"{s.route}: {s.status} {s.detail[:120]}")
    lost = sum(problems.counts[k] for k in LOST)
    duplicated = sum(problems.counts[k] for k in DUPLICATED)
    orphaned = problems.counts["orphan_after_failed_create"]
    return {
        "counts": dict(sorted(counts.items())),
        "store_items_by_sort_key_prefix": dict(sorted(kinds.items())),
        "problems": dict(sorted(problems.counts.items())),
        "examples": dict(sorted(problems.examples.items())),
        "lost": lost,
        "duplicated": duplicated,
        "orphaned": orphaned,
        "problem_total": sum(problems.counts.values()),
        "audit_requests": len(audit_samples),
    }


# ---------------------------------------------------------------- statistics and the report


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _route_stats(samples: list[Sample]) -> dict[str, Any]:
    ms = [s.seconds * 1000 for s in samples]
    return {
        "requests": len(samples),
        "p50_ms": round(percentile(ms, 50), 1),
        "p95_ms": round(percentile(ms, 95), 1),
        "max_ms": round(max(ms), 1),
        "statuses": dict(sorted(Counter(str(s.status) for s in samples).items())),
        "errors": sum(1 for s in samples if not s.ok),
        "expected_refusals": sum(1 for s in samples if s.ok and not 200 <= s.status < 300),
    }


def summarise(cfg: Config, run: Run, seconds: float, audited: dict[str, Any]) -> dict[str, Any]:
    samples = [s for s in run.client.samples if s.phase == "load"]
    routes: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        routes[s.route].append(s)
    errors = [s for s in samples if not s.ok]
    error_kinds = Counter(f"{s.route} -> {s.status} {s.code or ''}".strip() for s in errors)
    unfinished = cfg.candidates + cfg.diagnostics - audited["counts"].get("journeys_finished", 0)
    error_count = len(errors) + len(run.crashes)
    accepted = (
        error_count == 0
        and audited["lost"] == 0
        and audited["duplicated"] == 0
        and audited["problem_total"] == 0
        and unfinished == 0
        and not run.stop.is_set()
    )
    return {
        "config": {
            "candidates": cfg.candidates,
            "diagnostics": cfg.diagnostics,
            "concurrency": cfg.concurrency,
            "saves_per_attempt": cfg.saves,
            "seed": cfg.seed,
            "timeout_seconds": cfg.timeout_seconds,
            "ramp_seconds": cfg.ramp_seconds,
        },
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_1m_at_start": round(run.load_average_at_start, 2),
            "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        },
        "load_seconds": round(seconds, 2),
        "requests": len(samples),
        "requests_per_second": round(len(samples) / seconds, 1) if seconds else None,
        "overall": _route_stats(samples) if samples else {},
        "routes": {route: _route_stats(routes[route]) for route in sorted(routes)},
        "errors": error_count,
        "error_kinds": dict(error_kinds),
        "error_examples": [
            f"{s.route} -> {s.status} at {s.at:.2f} s after {s.seconds * 1000:.0f} ms: {s.detail}"
            for s in errors[:EXAMPLES]
        ],
        "journey_crashes": run.crashes[:EXAMPLES],
        "journeys_unfinished": unfinished,
        "timed_out": run.stop.is_set(),
        "audit": audited,
        "accepted": accepted,
    }


def checks_table(audited: dict[str, Any]) -> list[str]:
    """The audit's checks, each with what the clients saw against what the API and the store show."""
    c, p = audited["counts"], audited["problems"]

    def n(*kinds: str) -> int:
        return sum(p.get(k, 0) for k in kinds)

    partners = ", ".join(
        f"{pid} {c.get(f'partner_{pid}_started', '?')}/{c.get(f'partner_{pid}_submitted', '?')}"
        for pid in PARTNERS.values()
    )
    rows = [
        (
            "Attempts: store = 201s seen",
            f"{c['attempts_created_seen_by_clients']} created (201)",
            f"{c['store_attempts']} `META` items",
            n("attempt_lost", "attempt_unknown_to_clients", "attempt_id_seen_twice", "orphan_after_failed_create"),
        ),
        (
            "Scored exactly once",
            f"{c.get('attempts_submitted_seen_by_clients', 0)} submitted, {c.get('submits_acknowledged', 0)} submits",
            f"{c['store_results']} stored results, {c.get('stored_results_compared', 0)} scores equal to the client's",
            n("result_missing_in_store", "result_without_acknowledged_submit", "stored_result_differs"),
        ),
        (
            "A second submit returns the same result",
            f"{c.get('repeat_submits_compared', 0)} repeats",
            "identical bodies; the review shows the same result",
            n("repeat_submit_differs", "review_result_differs_from_submit"),
        ),
        (
            "Acknowledged answers = review (last write wins)",
            f"{c.get('acknowledged_answers_checked', 0)} answers and flags",
            f"{c.get('reviews_read', 0)} reviews, {c.get('questions_reviewed', 0)} questions",
            n(
                "response_lost_or_changed",
                "flag_lost_or_changed",
                "question_missing_in_review",
                "question_duplicated_in_review",
                "question_unknown_in_review",
                "review_unavailable",
            ),
        ),
        (
            "Never-answered questions stay blank",
            f"{c.get('unanswered_questions_checked', 0)} questions",
            "blank in the review",
            "(in the row above)",
        ),
        (
            "Refused late saves never stored",
            f"{c.get('refused_writes_checked', 0)} refused (409)",
            "not in the review",
            n("refused_write_visible"),
        ),
        (
            "Resume shows the saves acknowledged so far",
            f"{c.get('resume_reads', 0)} resumes half way, {c.get('saves_acknowledged', 0)} saves",
            "`GET /attempts/{id}` responses; each save's `saved` and `answeredCount`",
            n("resume_disagrees_with_acknowledged_saves", "save_answer_disagrees_with_client"),
        ),
        (
            "Writes with an unknown outcome (no answer or 5xx)",
            f"{c.get('answers_with_unknown_outcome_checked', 0)} answers, {c.get('failed_creates', 0)} failed creates",
            f"{c.get('answers_with_unknown_outcome_that_landed', 0)} answers landed anyway, "
            f"{p.get('orphan_after_failed_create', 0)} orphan attempts",
            n("orphan_after_failed_create"),
        ),
        (
            "Partner summaries (started/submitted)",
            f"{c.get('diagnostics_created', 0)} diagnostics",
            partners,
            n("partner_summary_differs", "partner_summary_unavailable"),
        ),
    ]
    out = ["| Check | Clients saw | API and store show | Problems |", "|---|---|---|---:|"]
    out += [f"| {a} | {b} | {d} | {e} |" for a, b, d, e in rows]
    return out


def markdown(summary: dict[str, Any]) -> str:
    cfg, audited, overall, machine = summary["config"], summary["audit"], summary["overall"], summary["machine"]
    lines = [
        f"{cfg['candidates']} full-exam candidates ({cfg['saves_per_attempt']} autosaves each, resume, submit twice, "
        f"a refused late save, review) and {cfg['diagnostics']} partner diagnostics (submit twice, review), "
        f"{cfg['concurrency']} journeys at a time, against a local server (`make run`'s, one process, moto "
        "serialising DynamoDB requests) on 127.0.0.1, "
        f"{machine['cpus']} CPUs shared with whatever else runs (1-minute load average "
        f"{machine['load_average_1m_at_start']} at the start, {machine['load_average_1m_at_end']} at the end).",
        "",
        f"**{'PASS' if summary['accepted'] else 'FAIL'}**: {summary['requests']} requests in "
        f"{summary['load_seconds']} s = **{summary['requests_per_second']} requests/s**; "
        f"p50 {overall.get('p50_ms')} ms, p95 {overall.get('p95_ms')} ms; **{summary['errors']} errors**; "
        f"**{audited['lost']} lost, {audited['duplicated']} duplicated** records, {audited['orphaned']} orphaned; "
        f"{audited['problem_total']} audit problems.",
        "",
        "| Route | Requests | p50 ms | p95 ms | max ms | Statuses | Errors |",
        "|---|---:|---:|---:|---:|---|---:|",
    ]
    for route, st in [*summary["routes"].items(), ("all", overall)]:
        statuses = ", ".join(f"{k}: {v}" for k, v in st.get("statuses", {}).items())
        lines.append(
            f"| `{route}` | {st.get('requests')} | {st.get('p50_ms')} | {st.get('p95_ms')} | {st.get('max_ms')} "
            f"| {statuses} | {st.get('errors')} |"
        )
    lines += ["", "The only non-2xx expected: the late save after submission, `409 attempt_submitted`.", ""]
    lines += [*checks_table(audited), "", "<details><summary>Every audit count</summary>", ""]
    lines += ["| Audit count | Value |", "|---|---:|"]
    lines += [f"| {k.replace('_', ' ')} | {v} |" for k, v in audited["counts"].items()]
    lines += [
        "",
        "Store items by sort-key prefix: "
        + ", ".join(f"`{k}` {v}" for k, v in audited["store_items_by_sort_key_prefix"].items())
        + ".",
    ]
    lines += ["", "</details>"]
    if audited["problems"]:
        lines += ["", "| Problem | Count | First example |", "|---|---:|---|"]
        for kind, n in audited["problems"].items():
            lines.append(f"| {kind} | {n} | `{audited['examples'][kind][0][:100]}` |")
    else:
        lines += ["", "Audit problems: none."]
    if summary["error_kinds"]:
        lines += ["", "Errors: " + "; ".join(f"{k}: {v}" for k, v in summary["error_kinds"].items())]
    return "\n".join(lines)


# ---------------------------------------------------------------- the server and the whole run


@dataclass
class Server:
    base: str
    dynamodb_endpoint: str
    attempts_table: str
    output: deque[str]


def attempts_table_name() -> str:
    """The name the local server gives the attempts table, exactly as it computes its environment."""
    from infra.local.gateway import Template

    template = Template(ROOT / "template.yaml")
    names = {logical_id: logical_id for logical_id in template.tables()}  # infra.local.gateway.create_tables
    return template.environment(names)["ATTEMPTS_TABLE"]


@contextmanager
def local_server(extra_env: dict[str, str] | None = None) -> Iterator[Server]:
    """The local server as ``make run`` starts it, in a subprocess, with both partner keys."""
    from tests.e2e.conftest import start_server

    proc, base, lines = start_server({"LOCAL_PARTNER_KEYS": PARTNER_KEYS, **(extra_env or {})})
    found = re.search(r"DynamoDB: (http://[^)\s]+)", lines[0])
    output: deque[str] = deque(lines, maxlen=200)
    drain = threading.Thread(target=_drain, args=(proc, output), daemon=True)  # a full pipe would stall the server
    drain.start()
    try:
        if found is None:
            raise RuntimeError(f"no DynamoDB endpoint in the server's first line: {lines[0]!r}")
        yield Server(base, found.group(1), attempts_table_name(), output)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _drain(proc: subprocess.Popen[str], output: deque[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        output.append(line.rstrip())


def execute(cfg: Config, server: Server) -> tuple[dict[str, Any], list[Ledger], Client]:
    """The load, then the audit; returns the summary, the clients' ledgers and the client (to audit again)."""
    client = Client(server.base)
    first_day = datetime.now(UTC).date()
    run, seconds = load(cfg, client)
    last_day = datetime.now(UTC).date()
    audited = audit(
        run.ledgers,
        client,
        server.dynamodb_endpoint,
        server.attempts_table,
        (str(first_day), str(last_day)),
        run.failed_creates,
    )
    return summarise(cfg, run, seconds, audited), run.ledgers, client


def _print(summary: dict[str, Any]) -> None:
    print(f"{'route':<32} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'errors':>6}  statuses")
    for route, st in [*summary["routes"].items(), ("all", summary["overall"])]:
        print(
            f"{route:<32} {st['requests']:>8} {st['p50_ms']:>8} {st['p95_ms']:>8} {st['max_ms']:>8} "
            f"{st['errors']:>6}  {st['statuses']}"
        )
    audited = summary["audit"]
    print(
        f"\n{summary['requests']} requests in {summary['load_seconds']} s: {summary['requests_per_second']} requests/s"
    )
    print(f"errors: {summary['errors']} {summary['error_kinds'] or ''}")
    for example in summary["error_examples"][:5] + summary["journey_crashes"][:3]:
        print("  " + example.replace("\n", "\n  "))
    print("\nAUDIT")
    for k, v in audited["counts"].items():
        print(f"  {k:<44} {v}")
    print(f"  store items by sort-key prefix: {audited['store_items_by_sort_key_prefix']}")
    print(f"  problems: {audited['problems'] or 'none'}")
    for kind, examples in audited["examples"].items():
        print(f"    {kind}: {examples[:3]}")
    print(
        f"  lost records: {audited['lost']}   duplicated records: {audited['duplicated']}   "
        f"orphaned attempts: {audited['orphaned']}"
    )
    verdict = "PASS" if summary["accepted"] else "FAIL"
    print(f"\n{verdict}: 0 errors and 0 lost or duplicated records required")


def main() -> int:
    cfg = Config.from_env()
    print(
        f"load: {cfg.candidates} candidates, {cfg.diagnostics} diagnostics, concurrency {cfg.concurrency}, "
        f"{cfg.saves} saves per attempt, bound {cfg.timeout_seconds:.0f} s",
        flush=True,
    )
    with local_server() as server:
        summary, _, _ = execute(cfg, server)
        summary["server_output_tail"] = list(server.output)[-20:]
    _print(summary)
    REPORT_JSON.parent.mkdir(parents=True, exist_ok=True)
    REPORT_JSON.write_text(json.dumps(summary, indent=2) + "\n")
    from tests.hardening_report import update_section

    report = update_section("load", "Load and audit (make load)", markdown(summary))
    print(f"wrote {REPORT_JSON.relative_to(ROOT)} and {report.relative_to(ROOT)}")
    return 0 if summary["accepted"] else 1


if __name__ == "__main__":
    sys.exit(main())
