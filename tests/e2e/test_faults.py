"""Full journeys against a local server whose DynamoDB client fails a share of its calls.

``LOCAL_DYNAMODB_FAULT_RATE`` makes the server fail that share of the functions' DynamoDB attempts
before they are sent (throttles, internal errors, read and connect timeouts; see
``infra/local/faults.py``), so botocore's real retries run and an unacknowledged write never reaches
the table. Clients here behave like a mobile app: on a 503 they retry, sometimes with the same answer,
sometimes with a changed one, sometimes not at all, and they remember what the API acknowledged.

Every answer must be 2xx, a 409 where one is expected, or a 503 with ``Retry-After`` and the JSON
error body; never a 500. After submission the review must show exactly the last acknowledged value of
every question (an unacknowledged save changed nothing), and a second submission returns the same
result. Everything goes through the HTTP API only.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from exam_core.http import TOKEN_HEADER

from tests.e2e.conftest import Api, Reply, start_server
from tests.hardening_report import update_section

EXAM = "clf-c02"
KEY = {"X-Api-Key": "demo-partner-key"}
BUSY_CODES = {"database_busy", "database_timeout"}
MAX_TRIES = 40  # a client's patience for one request; at the rates here it is never used up
CLIENT_PAUSE = 0.02  # a real client waits Retry-After; the test only needs the retry, not the wait

Answer = tuple[tuple[str, ...], bool]  # (sorted selection, flagged)


@dataclass
class Tally:
    """What the clients saw, across the journeys on one server (threads add to it under the lock)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter[int] = field(default_factory=Counter)
    busy: Counter[str] = field(default_factory=Counter)  # 503 error codes
    requests: int = 0
    journeys: int = 0
    saves_sent: int = 0
    saves_acked: int = 0
    saves_unacked: int = 0
    retried_same: int = 0
    retried_changed: int = 0
    abandoned: int = 0
    answers_checked: int = 0  # acknowledged answers compared with the review
    only_unacked_checked: int = 0  # questions whose every save was refused: must show nothing
    resumes_checked: int = 0
    submits_repeated: int = 0
    idempotency_waits: int = 0  # 409 idempotency_in_progress on a keyed start, waited out

    def add(self, **counts: int) -> None:
        with self.lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)


def check(reply: Reply, what: str, tally: Tally, conflict_ok: bool = False) -> str:
    """Classify one answer: ``ok`` (2xx), ``busy`` (a proper 503) or ``conflict`` (an expected 409)."""
    with tally.lock:
        tally.requests += 1
        tally.statuses[reply.status] += 1
    if 200 <= reply.status < 300:
        return "ok"
    if reply.status == 503:
        retry_after = reply.headers.get("Retry-After", "")
        assert retry_after.isdigit() and int(retry_after) >= 1, (what, reply.headers)
        error = (reply.body or {}).get("error", {})
        assert error.get("code") in BUSY_CODES, (what, reply.raw[:300])
        assert isinstance(error.get("message"), str) and error["details"] == [], (what, reply.raw[:300])
        with tally.lock:
            tally.busy[error["code"]] += 1
        return "busy"
    if reply.status == 409 and conflict_ok:
        return "conflict"
    pytest.fail(f"{what}: {reply.status} {reply.raw[:400]!r}")


def until_ok(call: Callable[[], Reply], what: str, tally: Tally, conflict_ok: bool = False) -> Reply:
    """Repeat a request through 503s, as a client honouring Retry-After would."""
    for _ in range(MAX_TRIES):
        reply = call()
        if check(reply, what, tally, conflict_ok) != "busy":
            return reply
        time.sleep(CLIENT_PAUSE)
    pytest.fail(f"{what}: still 503 after {MAX_TRIES} tries")


def _pick(q: dict[str, Any], rng: random.Random) -> list[str]:
    ids = [o["id"] for o in q["options"]]
    return [] if rng.random() < 0.1 else rng.sample(ids, q["selectCount"])


def _answer(r: dict[str, Any]) -> Answer:
    return tuple(sorted(r["selected"])), bool(r.get("flagged", False))


@dataclass
class Paths:
    start: str
    base: str  # the attempt routes' prefix: /attempts or /me/attempts
    auth: dict[str, str]


def start_attempt(
    api: Api, path: str, body: dict[str, Any], headers: dict[str, str], tally: Tally, key: str | None
) -> Reply:
    """Start through 503s. With an ``Idempotency-Key`` (what a mobile client sends) every retry reuses it, and a
    ``409 idempotency_in_progress`` (a failed try whose record could not be cleared yet) is waited out."""
    if key is not None:
        headers = {**headers, "Idempotency-Key": key}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        reply = api.post(path, body, headers=headers)
        kind = check(reply, f"start {path}", tally, conflict_ok=key is not None)
        if kind == "ok":
            assert reply.status == 201, reply.raw[:300]
            return reply
        if kind == "conflict":
            assert reply.body["error"]["code"] == "idempotency_in_progress", reply.raw[:300]
            tally.add(idempotency_waits=1)
            time.sleep(0.5)
        else:
            time.sleep(CLIENT_PAUSE)
    pytest.fail(f"start {path}: no attempt after 30 s")


def exam_journey(
    api: Api, paths: Paths, tally: Tally, seed: int, saves: int, final_in_submit: bool, keyed: bool
) -> None:
    """Start, many saves (with retries as a client would), resumes, submit twice, a late save, review."""
    rng = random.Random(seed)
    key = f"{rng.getrandbits(128):032x}" if keyed else None
    start = start_attempt(api, paths.start, {"examId": EXAM, "mode": "full"}, paths.auth, tally, key)
    assert start.status == 201, start.raw[:300]
    attempt_id = start.body["attemptId"]
    headers = {**paths.auth, TOKEN_HEADER: start.body["attemptToken"]}
    questions = start.body["questions"]
    acked: dict[str, Answer] = {}
    touched: set[str] = set()
    url = f"{paths.base}/{attempt_id}"

    def resume_matches() -> None:
        now = until_ok(lambda: api.get(url, headers=headers), "resume", tally)
        seen = {r["questionId"]: _answer(r) for r in now.body["responses"]}
        assert seen == acked, "the stored answers differ from the acknowledged ones"
        tally.add(resumes_checked=1)

    for n in range(saves):
        batch = rng.sample(questions, rng.choice([1, 1, 1, 2, 3]))
        payload = [
            {"questionId": q["questionId"], "selected": _pick(q, rng), "flagged": rng.random() < 0.2} for q in batch
        ]
        for _ in range(MAX_TRIES):
            touched.update(r["questionId"] for r in payload)
            reply = api.put(f"{url}/responses", {"responses": payload}, headers=headers)
            tally.add(saves_sent=1)
            if check(reply, "save", tally) == "ok":
                assert reply.body["saved"] == len(payload), reply.body
                acked.update({r["questionId"]: _answer(r) for r in payload})
                tally.add(saves_acked=1)
                break
            tally.add(saves_unacked=1)
            choice = rng.random()
            if choice < 0.2:  # the candidate moved on: this answer was never acknowledged
                tally.add(abandoned=1)
                break
            if choice < 0.6:  # changed their mind before the retry
                payload = [{**r, "selected": _pick(q, rng)} for r, q in zip(payload, batch, strict=True)]
                tally.add(retried_changed=1)
            else:
                tally.add(retried_same=1)
            time.sleep(CLIENT_PAUSE)
        if n % 10 == 9:
            resume_matches()

    final: list[dict[str, Any]] = []
    if final_in_submit:  # the last answers travel with the submission (all or nothing with it)
        final = [{"questionId": q["questionId"], "selected": _pick(q, rng)} for q in rng.sample(questions, 3)]
        touched.update(r["questionId"] for r in final)
    body = {"responses": final} if final else None
    first = until_ok(lambda: api.post(f"{url}/submit", body, headers=headers), "submit", tally)
    assert first.status == 200, first.raw[:300]
    acked.update({r["questionId"]: _answer(r) for r in final})
    again = until_ok(lambda: api.post(f"{url}/submit", headers=headers), "second submit", tally)
    assert again.body == first.body, "a second submission changed the result"
    tally.add(submits_repeated=1)

    late_q = questions[0]
    late = until_ok(
        lambda: api.put(
            f"{url}/responses", {"responses": [{"questionId": late_q["questionId"], "selected": []}]}, headers=headers
        ),
        "save after submit",
        tally,
        conflict_ok=True,
    )
    assert late.status == 409 and late.body["error"]["code"] == "attempt_submitted", late.raw[:300]

    review = until_ok(lambda: api.get(f"{url}/review", headers=headers), "review", tally)
    assert review.body["result"] == first.body
    shown = {q["questionId"]: (tuple(sorted(q["selected"])), bool(q["flagged"])) for q in review.body["questions"]}
    assert set(shown) == {q["questionId"] for q in questions}
    for qid, answer in shown.items():
        # flagged is kept only through saves; answers sent with the submission carry no flag
        expected = acked.get(qid, ((), False))
        assert answer == expected, f"question {qid}: review shows {answer}, last acknowledged {acked.get(qid)}"
    tally.add(
        answers_checked=len(acked),
        only_unacked_checked=len(touched - set(acked)),
        journeys=1,
    )


def diagnostic_journey(api: Api, tally: Tally, seed: int, keyed: bool) -> None:
    """Start a diagnostic, submit (a refused submission may be retried with other answers), review."""
    rng = random.Random(seed)
    key = f"{rng.getrandbits(128):032x}" if keyed else None
    start = start_attempt(api, "/diagnostics", {"examId": EXAM}, KEY, tally, key)
    headers = {**KEY, TOKEN_HEADER: start.body["attemptToken"]}
    url = f"/diagnostics/{start.body['attemptId']}"
    questions = start.body["questions"]
    for _ in range(MAX_TRIES):
        answers = [{"questionId": q["questionId"], "selected": _pick(q, rng)} for q in questions]
        first = api.post(f"{url}/submit", {"responses": answers}, headers=headers)
        if check(first, "diagnostic submit", tally) == "ok":
            break
        tally.add(retried_changed=1)
        time.sleep(CLIENT_PAUSE)
    else:
        pytest.fail("diagnostic submit: still 503")
    again = until_ok(
        lambda: api.post(f"{url}/submit", {"responses": []}, headers=headers), "diagnostic resubmit", tally
    )
    assert again.body == first.body
    review = until_ok(lambda: api.get(f"{url}/review", headers=headers), "diagnostic review", tally)
    sent = {r["questionId"]: tuple(sorted(r["selected"])) for r in answers}
    assert {q["questionId"]: tuple(sorted(q["selected"])) for q in review.body["questions"]} == sent
    tally.add(answers_checked=len(sent), submits_repeated=1, journeys=1)


def _drain(stream: Any) -> None:
    for _ in stream:
        pass


@contextmanager
def fault_server(rate: float, seed: int) -> Iterator[Api]:
    """A local server injecting faults; its output is drained so a chatty log never blocks it."""
    proc, base, lines = start_server(
        {
            "LOCAL_DYNAMODB_FAULT_RATE": str(rate),
            "LOCAL_DYNAMODB_FAULT_SEED": str(seed),
            "LOCAL_PARTNER_KEYS": "demo-partner-key=demo-partner",
        }
    )
    assert any(line.startswith("Injecting DynamoDB faults: rate") for line in lines), lines
    threading.Thread(target=_drain, args=(proc.stdout,), daemon=True).start()
    try:
        yield Api(base)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def run_journeys(jobs: list[Callable[[], None]]) -> None:
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        for future in [pool.submit(job) for job in jobs]:
            future.result()


def _journeys(api: Api, tally: Tally, saves: int, full: int, diagnostics: int, keyed: bool) -> list[Callable[[], None]]:
    """Full attempts, anonymous and signed in (two functions), some submitting final answers; diagnostics."""
    anon = Paths("/attempts", "/attempts", {})
    jobs: list[Callable[[], None]] = []
    for i in range(full):
        me = Paths("/me/attempts", "/me/attempts", {"Authorization": f"Bearer dev:fault-candidate-{i}"})
        paths = anon if i % 2 == 0 else me
        jobs.append(lambda p=paths, s=i: exam_journey(api, p, tally, 1000 + s, saves, s % 3 == 1, keyed))
    jobs += [lambda s=i: diagnostic_journey(api, tally, 2000 + s, keyed) for i in range(diagnostics)]
    return jobs


@dataclass
class Run:
    rate: float
    tally: Tally
    faults: dict[str, Any]
    seconds: float
    error: BaseException | None


# rate -> (seed, saves per full journey, full journeys, diagnostics, starts with an Idempotency-Key). 0.2 is
# the realistic storm; 0.6 makes requests exhaust botocore's retries often, so the 503 path and refused saves
# are exercised for sure (without keys there: a start whose failure also failed to clear its idempotency
# record blocks that key for the invocation's remaining time, which would only make this test slower).
PLANS = {0.2: (20, 40, 4, 3, True), 0.6: (60, 12, 2, 2, False)}


def _run(rate: float) -> Run:
    seed, saves, full, diagnostics, keyed = PLANS[rate]
    tally = Tally()
    with fault_server(rate, seed) as api:
        began = time.monotonic()
        error: BaseException | None = None
        try:
            run_journeys(_journeys(api, tally, saves, full, diagnostics, keyed))
        except BaseException as exc:  # reported by the test for this rate
            error = exc
        seconds = time.monotonic() - began
        reply = api.get("/_local/faults")
        assert reply.status == 200, reply.raw[:200]
        return Run(rate, tally, dict(reply.body), seconds, error)


@pytest.fixture(scope="module")
def runs() -> dict[float, Run]:
    """Both fault rates, each on its own server, at the same time (the journeys mostly wait on backoff)."""
    with ThreadPoolExecutor(max_workers=len(PLANS)) as pool:
        futures = {rate: pool.submit(_run, rate) for rate in PLANS}
        return {rate: f.result() for rate, f in futures.items()}


def _ok(run: Run) -> Run:
    if run.error is not None:
        raise run.error
    assert not any(500 <= s < 600 and s != 503 for s in run.tally.statuses), run.tally.statuses
    return run


def test_journeys_at_a_20_percent_fault_rate_lose_nothing_acknowledged_and_never_500(runs: dict[float, Run]) -> None:
    run = _ok(runs[0.2])
    assert run.faults["injected"] > 50, run.faults
    assert set(run.faults["byKind"]) == {
        "provisioned_throughput",
        "throttling",
        "internal",
        "read_timeout",
        "connect_timeout",
    }
    assert run.tally.journeys == 7 and run.tally.submits_repeated == 7
    assert run.tally.answers_checked > 100 and run.tally.resumes_checked >= 8


def test_journeys_at_a_60_percent_fault_rate_get_503s_with_retry_after_and_still_lose_nothing(
    runs: dict[float, Run],
) -> None:
    run = _ok(runs[0.6])
    assert run.tally.statuses[503] > 0 and sum(run.tally.busy.values()) == run.tally.statuses[503]
    assert run.tally.saves_unacked > 0, "no save was refused: the unacknowledged path went untested"
    assert run.tally.journeys == 4 and run.tally.submits_repeated == 4


def _row(run: Run) -> str:
    t, f = run.tally, run.faults
    kinds = ", ".join(f"{k} {v}" for k, v in f["byKind"].items())
    statuses = ", ".join(f"{s}: {n}" for s, n in sorted(t.statuses.items()))
    busy = ", ".join(f"{k} {v}" for k, v in sorted(t.busy.items())) or "none"
    return (
        f"| {run.rate} | {t.journeys} | {f['attempts']} | {f['injected']} ({kinds}) | {t.requests} | {statuses} "
        f"| {t.statuses[503]} ({busy}) | {t.saves_sent} / {t.saves_acked} / {t.saves_unacked} "
        f"| {t.retried_same} / {t.retried_changed} / {t.abandoned} | {t.answers_checked} | {t.only_unacked_checked} "
        f"| {t.resumes_checked} | {run.seconds:.1f} s |"
    )


def test_write_the_hardening_report(runs: dict[float, Run]) -> None:
    for run in runs.values():
        _ok(run)
    body = (
        "Full journeys (start, saves, resumes, submit, a second submit, a late save, review; full attempts anonymous "
        "and signed in, and diagnostics) against the local server with `LOCAL_DYNAMODB_FAULT_RATE`: that share of the "
        "functions' DynamoDB HTTP attempts fails before it is sent (throttles, internal errors, read and connect "
        "timeouts), botocore retries (standard mode, 3 attempts), and past the retries the API answers 503 with "
        "`Retry-After`. Clients retry a refused save with the same or a changed answer, or give up on it.\n\n"
        "| Fault rate | Journeys | DynamoDB attempts | Faults injected | HTTP requests | Statuses | 503s (codes) "
        "| Saves sent / acknowledged / refused | Refused saves retried same / changed / abandoned "
        "| Acknowledged answers checked in the review | Questions with only refused saves (shown empty) "
        "| Resumes matching the acknowledged answers | Time |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
        + "\n".join(_row(runs[rate]) for rate in sorted(runs))
        + "\n\nEvery response was 2xx, 409 only for a save after submission, or 503 with `Retry-After` and the JSON "
        "error body: no 500. Every acknowledged answer (the last per question) was what the review showed, nothing "
        "refused was stored, and each second submission returned the identical result."
    )
    update_section("faults", "Fault injection (make test)", body)
