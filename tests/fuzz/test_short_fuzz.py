"""A short schema fuzz inside ``make test``: the same code as ``make fuzz`` with fewer cases.

Its own local server; every documented operation is fuzzed (8 cases each) and the stateful phase
follows the document's links for 20 scenarios. The acceptance counts are the long run's: no 5xx, no
response outside its declared schema or status codes, every 4xx with the JSON error body, no
schemathesis errors; and the stateful phase really chains calls (an id and attempt token taken from
one response open the next call, which succeeds). About 45 s on two cores.
"""

from __future__ import annotations

from tests.fuzz.run import fuzz_server, markdown, run_schemathesis
from tests.hardening_report import update_section

CASES = 8
STATEFUL = 20
TOKEN_ROUTES = ("/attempts/{attemptId}", "/diagnostics/{attemptId}", "/me/diagnostics/{attemptId}")


def test_short_fuzz_meets_the_acceptance_counts_and_chains_calls() -> None:
    with fuzz_server() as base:
        summary = run_schemathesis(base, CASES, STATEFUL, phases=("fuzzing", "stateful"))
    update_section("fuzz-short", "Schema fuzzing, short run (make test)", markdown(summary, CASES, STATEFUL))
    tail = summary.output[-4000:]

    assert summary.errors == [], summary.errors
    assert summary.server_errors == 0, tail
    assert dict(summary.failures) == {}, dict(summary.failure_examples)
    assert summary.bad_error_bodies == 0, tail
    assert summary.exit_code == 0, tail

    assert len(summary.operations) >= 30
    untested = [op for op in summary.operations if summary.per_operation(op) == 0]
    assert untested == []
    # Operations with inputs get their full share; only input-less ones (GET /exams, the embed) get fewer.
    assert sum(summary.cases[op]["fuzzing"] >= CASES for op in summary.operations) >= len(summary.operations) - 3

    assert summary.stateful_steps >= STATEFUL
    assert summary.chained_steps >= 5
    # A chained call on an attempt-token route succeeded: the link carried both the id and the token.
    token_ok = sum(n for op, n in summary.chained_ok.items() if op.split(" ", 1)[1].startswith(TOKEN_ROUTES))
    assert token_ok >= 1, (summary.links, summary.chained_ok)
