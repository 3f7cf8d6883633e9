"""``make fuzz``: property-based fuzzing of the served OpenAPI document with schemathesis.

Starts the local server exactly as ``make run`` does (with one extra token, ``dev:fuzzer``, that is both
a candidate sign-in and an admin token, so one Authorization header opens every protected route) and
runs ``st run`` over every operation with the partner key, in all of schemathesis' phases:
examples, coverage, fuzzing (``FUZZ_CASES`` cases per operation and mode) and the stateful phase, which
follows the document's OpenAPI links (``infra/local/openapi_links.py``): start an attempt or a
diagnostic, then read, save, submit, review, report or claim it with the id and ``X-Attempt-Token`` the
start returned.

Checks: every schemathesis check except ``positive_data_acceptance`` (rules the schema cannot express,
such as a partner summary's 366-day limit, reject schema-valid requests on purpose) and
``unsupported_method`` (like API Gateway, an undeclared method gets the JSON "no such route" 404, not
405), plus ``error_body_shape`` (``tests/fuzz/hooks.py``): every 4xx carries the JSON error body.

The run's events (schemathesis' NDJSON report) are read back to count cases per operation and phase,
chained stateful steps and the links they followed, status codes, and failures by check. Output goes
to ``reports/fuzz.txt`` and a summary to the ``fuzz`` section of ``reports/hardening.md``; the exit
code is non-zero when anything failed.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exam_core.http import TOKEN_HEADER

from tests.e2e.conftest import start_server
from tests.fuzz.hooks import error_body_problem
from tests.hardening_report import update_section

# CPython 3.11 before 3.11.8 (gh-106905) can raise this from ast.parse deep in a stack; hypothesis
# parses source to describe a lambda and schemathesis reports it as a runtime error of the operation
# it was generating for. Nothing was sent to the API; the operation's other phases still ran.
TOOL_BUGS = ("AST constructor recursion depth mismatch",)


def _tool_bug_count(output: str) -> int:
    """How many of schemathesis' runtime errors were raised by one of TOOL_BUGS (by the exception line)."""
    return sum(output.count(f"SystemError: {bug}") for bug in TOOL_BUGS)


ROOT = Path(__file__).resolve().parents[2]
EXCLUDED_CHECKS = "positive_data_acceptance,unsupported_method"
SERVER_ENV = {"LOCAL_ADMIN_TOKENS": "demo-admin-token=demo-admin,dev:fuzzer=fuzz-admin"}
PHASES = ("examples", "coverage", "fuzzing", "stateful")


@dataclass
class Summary:
    """What one schemathesis run did and found, read from its own event stream."""

    operations: list[str] = field(default_factory=list)  # what the document declares
    phases: tuple[str, ...] = PHASES
    cases: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))  # operation -> phase -> n
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))  # operation -> status
    failures: Counter[str] = field(default_factory=Counter)  # check -> failing cases
    failure_examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    stateful_steps: int = 0
    chained_steps: int = 0  # stateful steps whose inputs came from an earlier response through a link
    links: Counter[str] = field(default_factory=Counter)  # link followed -> times
    chained_ok: Counter[str] = field(default_factory=Counter)  # operation -> chained calls answered 2xx
    longest_chain: int = 0
    server_errors: int = 0  # responses with a 5xx status, whatever the checks said
    bad_error_bodies: int = 0  # 4xx without the JSON error body (recounted here from the raw responses)
    gateway_refusals: int = 0  # API Gateway's own {"message": ...} 401/403/429
    errors: list[str] = field(default_factory=list)  # schemathesis errors (not API failures)
    # Errors inside the tool that say nothing about the API (see TOOL_BUGS), reported but not failing.
    tool_errors: list[str] = field(default_factory=list)
    exit_code: int = 0
    duration: float = 0.0
    output: str = ""

    @property
    def total_cases(self) -> int:
        return sum(sum(c.values()) for c in self.cases.values())

    @property
    def ok(self) -> bool:
        # schemathesis exits non-zero on its own errors too; with only known tool bugs left, the API passed.
        failed_run = self.exit_code and not (self.tool_errors and not self.errors)
        return not (self.failures or self.errors or self.server_errors or self.bad_error_bodies or failed_run)

    def per_operation(self, operation: str) -> int:
        return sum(self.cases[operation].values())


def _body(interaction: dict[str, Any]) -> bytes:
    content = interaction.get("response", {}).get("content") or {}
    if "$base64" in content:
        return base64.b64decode(content["$base64"])
    return str(content.get("string", "")).encode()


def _read_events(path: Path, summary: Summary) -> None:
    depth: dict[str, int] = {}  # case id -> steps in its chain
    seen: set[str] = set()
    with path.open() as lines:
        events = [json.loads(line) for line in lines if '"ScenarioFinished"' in line[:40]]
    for event in events:
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        recorder = finished.get("recorder", {})
        phase = finished.get("phase", "")
        interactions = recorder.get("interactions", {})
        checks = recorder.get("checks", {})
        for case_id, node in recorder.get("cases", {}).items():
            if case_id in seen:  # a case replayed (shrinking, a final report) is counted once
                continue
            seen.add(case_id)
            case = node["value"]
            operation = f"{case['method']} {case['path']}"
            summary.cases[operation][phase] += 1
            if phase == "stateful":
                summary.stateful_steps += 1
                parent = node.get("parent_id")
                depth[case_id] = depth.get(parent, 0) + 1 if parent else 1
                summary.longest_chain = max(summary.longest_chain, depth[case_id])
                if node.get("is_transition_applied"):
                    summary.chained_steps += 1
                    summary.links[node["transition"]["id"]] += 1
            interaction = interactions.get(case_id)
            if interaction and interaction.get("response"):
                status = int(interaction["response"]["status_code"])
                summary.statuses[operation][status] += 1
                if phase == "stateful" and node.get("is_transition_applied") and 200 <= status < 300:
                    summary.chained_ok[operation] += 1
                if status >= 500:
                    summary.server_errors += 1
                elif status >= 400:
                    body = _body(interaction)
                    if error_body_problem(status, body) is not None:
                        summary.bad_error_bodies += 1
                    elif b'"error"' not in body:
                        summary.gateway_refusals += 1
            for result in checks.get(case_id, []):
                if result.get("status") == "failure":
                    summary.failures[result["name"]] += 1
                    examples = summary.failure_examples[result["name"]]
                    if len(examples) < 5:
                        examples.append(f"{operation} [{phase}] case {case_id}")


def documented_operations(base: str) -> list[str]:
    """``METHOD /path`` of every operation the served document declares."""
    with urllib.request.urlopen(f"{base}/openapi.json", timeout=30) as reply:
        doc = json.load(reply)
    return [f"{method.upper()} {path}" for path, ops in doc["paths"].items() for method in ops]


def _start(base: str, path: str, headers: dict[str, str]) -> tuple[str, str, list[str]]:
    """Start an attempt or diagnostic: its id, token and question ids."""
    body = json.dumps({"examId": "clf-c02"}).encode()
    request = urllib.request.Request(
        base + path, data=body, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    with urllib.request.urlopen(request, timeout=60) as reply:
        created = json.load(reply)
    return created["attemptId"], created["attemptToken"], [q["questionId"] for q in created["questions"]]


# Which real object each attempt-scoped operation is pointed at (when the dictionary draw picks it).
# "open" stays in progress (saves, reports), "done" is there to be submitted and then reviewed.
_TARGETS = {
    "GET /attempts/{attemptId}": "open",
    "PUT /attempts/{attemptId}/responses": "open",
    "POST /attempts/{attemptId}/questions/{questionId}/report": "open",
    "POST /attempts/{attemptId}/submit": "done",
    "GET /attempts/{attemptId}/review": "done",
    "GET /diagnostics/{attemptId}": "diag",
    "POST /diagnostics/{attemptId}/submit": "diag",
    "POST /diagnostics/{attemptId}/next": "diag",
    "GET /diagnostics/{attemptId}/review": "diag",
    "POST /me/diagnostics/{attemptId}/claim": "diag",
    "GET /me/attempts/{attemptId}": "mine-open",
    "PUT /me/attempts/{attemptId}/responses": "mine-open",
    "POST /me/attempts/{attemptId}/submit": "mine-done",
    "GET /me/attempts/{attemptId}/review": "mine-done",
}
_DRAW = 0.8  # how often a draw takes the real object rather than a generated value


def real_objects_config(base: str) -> str:
    """schemathesis config pointing attempt-scoped operations at real attempts, part of the time.

    Random 32-hex attempt ids and tokens only ever reach the 403/404 branch. So five real objects are
    started first, and each attempt-scoped operation gets dictionaries (schemathesis' value pools, drawn
    with probability ``_DRAW``, otherwise generated as usual) for its path id, its attempt token and the
    question ids in its body: fuzzed saves, submits and reports then reach the answer validation and
    the state rules (409s) of a real attempt. Links in the stateful phase still override these values.
    """
    partner = {"X-Api-Key": "demo-partner-key"}
    me = {"Authorization": "Bearer dev:fuzzer"}
    objects = {
        "open": _start(base, "/attempts", {}),
        "done": _start(base, "/attempts", {}),
        "diag": _start(base, "/diagnostics", partner),
        "mine-open": _start(base, "/me/attempts", me),
        "mine-done": _start(base, "/me/attempts", me),
    }
    lines: list[str] = []
    for name, (attempt_id, token, questions) in objects.items():
        for kind, values in (("id", [attempt_id]), ("token", [token]), ("questions", questions)):
            lines += [f"[dictionaries.{name}-{kind}]", f"values = {json.dumps(values)}", ""]
    for operation, name in _TARGETS.items():
        bindings = {"path.attemptId": f"{name}-id"}
        if not operation.split(" ", 1)[1].startswith("/me/attempts"):
            bindings[f"header.{TOKEN_HEADER}"] = f"{name}-token"
        if operation.startswith(("PUT", "POST")) and not operation.endswith(("/claim", "/report")):
            bindings["body.responses[*].questionId"] = f"{name}-questions"
        if "{questionId}" in operation:
            bindings["path.questionId"] = f"{name}-questions"
        pairs = ", ".join(f'"{key}" = {{ dictionary = "{d}", probability = {_DRAW} }}' for key, d in bindings.items())
        lines += ["[[operations]]", f"include-name = {json.dumps(operation)}", f"parameters = {{ {pairs} }}", ""]
    # The admin routes' SigV4 scheme is declared as API Gateway declares it (an apiKey in Authorization), and
    # API Gateway answers a request with no signature 403 MissingAuthenticationToken, as the local gateway
    # does; schemathesis' missing_required_header expects 401 whenever Authorization is missing.
    lines += ["[[operations]]", 'include-path-regex = "^/admin/"', "checks.missing_required_header.enabled = false", ""]
    return "\n".join(lines)


def run_schemathesis(
    base: str,
    cases: int,
    stateful_cases: int,
    *,
    phases: tuple[str, ...] = PHASES,
    seed: int = 20261125,
    workers: int = 2,
) -> Summary:
    """Fuzz the server at ``base`` and read back what happened: ``cases`` examples per operation in the
    fuzzing phase, ``stateful_cases`` scenarios (each a chain of calls) in the stateful phase."""
    summary = Summary(operations=documented_operations(base), phases=phases)
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        keep = os.environ.get("FUZZ_EVENTS_DIR")  # keep schemathesis' event stream there, for debugging
        folder = Path(keep) if keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        ndjson, report, config = folder / "events.ndjson", folder / "run.json", folder / "schemathesis.toml"
        # Every check (the default) but EXCLUDED_CHECKS, set in the file rather than with --checks/--exclude-checks:
        # options on the command line override every operation's own [[operations]] checks.
        excluded = "".join(f"{name}.enabled = false\n" for name in EXCLUDED_CHECKS.split(","))
        config.write_text(
            f"[checks]\n{excluded}\n"
            f"[phases.fuzzing.generation]\nmax-examples = {cases}\n\n"
            f"[phases.stateful.generation]\nmax-examples = {stateful_cases}\n\n" + real_objects_config(base)
        )
        st = Path(sys.executable).with_name("st")
        command = [
            str(st), "--config-file", str(config), "--no-color", "run", f"{base}/openapi.json", "--url", base,
            "-H", "X-Api-Key: demo-partner-key", "-H", "Authorization: Bearer dev:fuzzer",
            "--phases", ",".join(phases), "--workers", str(workers), "--seed", str(seed),
            "--report", "ndjson,json", "--report-ndjson-path", str(ndjson), "--report-json-path", str(report),
            "--output-sanitize", "false" if keep else "true",
        ]  # fmt: skip
        env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz.hooks"}
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "shared"), env.get("PYTHONPATH", "")])
        started = time.monotonic()
        out = subprocess.run(command, capture_output=True, text=True, check=False, env=env, cwd=folder)
        summary.duration = time.monotonic() - started
        summary.output = out.stdout + out.stderr
        summary.exit_code = out.returncode
        if ndjson.exists():
            _read_events(ndjson, summary)
        if report.exists():
            run = json.loads(report.read_text())
            errors = [json.dumps(e)[:2000] for e in run.get("errors", [])]
            runtime = sum(int(e.get("count", 1)) for e in run.get("errors", []) if e.get("title") == "Runtime Error")
            if errors and runtime == len(errors) and _tool_bug_count(summary.output) >= runtime:
                summary.tool_errors = errors  # every error is a known tool bug, none an API result
            else:
                summary.errors = errors
    return summary


@contextmanager
def fuzz_server() -> Iterator[str]:
    """A local server of its own (as ``make run`` starts it), its output drained so it never blocks."""
    proc, base, _ = start_server(SERVER_ENV)
    assert proc.stdout is not None
    stdout = proc.stdout
    threading.Thread(target=lambda: [None for _ in stdout], daemon=True).start()
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _link_label(transition: str) -> str:
    """``POST /attempts -> [201] name -> GET /attempts/{attemptId}`` as ``POST /attempts → GET ...``."""
    parts = transition.split(" -> ")
    answering = " (answering the first question)" if "answering_first_question" in transition else ""
    return f"{parts[0]} → {parts[-1]}{answering}"


def markdown(summary: Summary, cases: int, stateful_cases: int) -> str:
    """The hardening report's section: acceptance counts, cases per operation, chaining, failures."""
    verdict = "pass" if summary.ok else "FAIL"
    lines = [
        f"Verdict: **{verdict}**. schemathesis, {cases} fuzzing cases per operation and {stateful_cases} stateful "
        f"scenarios, phases "
        f"{', '.join(summary.phases)}; {summary.total_cases} cases in {summary.duration:.0f} s.",
        "",
        "| Acceptance | Count |",
        "|---|---|",
        f"| Server errors (5xx) | {summary.server_errors} |",
        f"| Responses that break their declared schema (`response_schema_conformance`) | "
        f"{summary.failures.get('response_schema_conformance', 0)} |",
        f"| Undocumented status codes (`status_code_conformance`) | "
        f"{summary.failures.get('status_code_conformance', 0)} |",
        f"| 4xx without the JSON error body (`error_body_shape`) | {summary.bad_error_bodies} |",
        f"| Failures of any check | {sum(summary.failures.values())} |",
        f"| schemathesis errors | {len(summary.errors)} |",
        f"| Known tool bugs hit (not API results; see below) | {len(summary.tool_errors)} |",
        "",
        *(
            [
                "Known tool bugs: CPython 3.11 before 3.11.8 (gh-106905) raised `SystemError: AST constructor "
                "recursion depth mismatch` inside hypothesis while it described a strategy, for "
                f"{len(summary.tool_errors)} operation(s); nothing was sent to the API for that step and the "
                "operation's other phases ran (cases per operation below). Full trace in `reports/fuzz.txt`.",
                "",
            ]
            if summary.tool_errors
            else []
        ),
        f"Stateful phase: {summary.stateful_steps} calls, {summary.chained_steps} of them chained through an "
        f"OpenAPI link (ids and attempt token from an earlier response), chains up to {summary.longest_chain} "
        f"calls long, {len(summary.links)} distinct links followed; chained calls answered 2xx: "
        f"{', '.join(f'`{op}` {n}' for op, n in summary.chained_ok.most_common()) or 'none'}. "
        f"API Gateway's own refusals "
        f'(`{{"message": ...}}` 401/403/429) seen: {summary.gateway_refusals}.',
        "",
    ]
    if summary.failures:
        lines += ["| Failing check | Cases | Examples |", "|---|---|---|"]
        for name, count in summary.failures.most_common():
            lines.append(f"| `{name}` | {count} | {'; '.join(summary.failure_examples[name])} |")
        lines.append("")
    phases = summary.phases
    lines += ["| Operation | " + " | ".join(phases) + " | Total | Statuses |", "|---" * (len(phases) + 3) + "|"]
    for operation in summary.operations:
        by_phase = summary.cases[operation]
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(summary.statuses[operation].items()))
        row = " | ".join(str(by_phase.get(p, 0)) for p in phases)
        lines.append(f"| `{operation}` | {row} | {summary.per_operation(operation)} | {statuses} |")
    probes = [op for op in summary.cases if op not in summary.operations]
    if probes:
        n = sum(summary.per_operation(op) for op in probes)
        codes = Counter[int]()
        for op in probes:
            codes.update(summary.statuses[op])
        statuses = ", ".join(f"{s}: {k}" for s, k in sorted(codes.items()))
        lines.append(f"\nUndeclared methods on declared paths (coverage probes): {n} cases, statuses {statuses}.")
    top = ", ".join(f"{_link_label(link)} ({n})" for link, n in summary.links.most_common(8))
    lines += ["", f"Most followed links: {top}."]
    return "\n".join(lines)


def main() -> int:
    cases = int(os.environ.get("FUZZ_CASES", "100"))
    stateful_cases = int(os.environ.get("FUZZ_STATEFUL", "100"))
    seed = int(os.environ.get("FUZZ_SEED", "20261125"))
    with fuzz_server() as base:
        summary = run_schemathesis(base, cases, stateful_cases, seed=seed)
    text = markdown(summary, cases, stateful_cases)
    report = ROOT / "reports" / "fuzz.txt"
    report.parent.mkdir(exist_ok=True)
    report.write_text(summary.output + "\n\n" + text + "\n" + "\n".join(summary.errors) + "\n")
    update_section("fuzz", "Schema fuzzing (make fuzz)", text)
    print(summary.output[-3000:])
    print(text)
    print(f"full output: {report.relative_to(ROOT)}; summary: reports/hardening.md")
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
