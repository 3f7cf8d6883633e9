"""Attempt tokens: random enough, stored only as a hash, compared in constant time, gone with their attempt.

The tokens come from the local server's HTTP API (full attempts, diagnostics, practice sets); what
is stored is read straight from the server's DynamoDB (moto) with boto3; the constant-time comparison
is checked in the source, since timing cannot be measured reliably in a test.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import re
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Api, Reply

ROOT = Path(__file__).resolve().parents[2]
EXAM = "clf-c02"
KEY = {"X-Api-Key": "demo-partner-key"}
ME = {"Authorization": "Bearer dev:token-props"}
URLSAFE = re.compile(r"^[A-Za-z0-9_-]+$")
IDEMPOTENCY_KEYS = {route: uuid.uuid4().hex for route in ("/attempts", "/diagnostics", "/me/attempts")}


def _created(reply: Reply) -> dict[str, Any]:
    assert reply.status == 201, reply.raw[:300]
    body: dict[str, Any] = reply.body
    return body


@pytest.fixture(scope="module")
def started(api: Api) -> list[dict[str, Any]]:
    """Attempts of every kind, each with answers saved, a report filed or a submission."""
    out = []
    for _ in range(8):
        out.append(_created(api.post("/attempts", {"examId": EXAM, "mode": "full"})))
    for _ in range(8):
        out.append(_created(api.post("/diagnostics", {"examId": EXAM}, headers=KEY)))
    practice = {"mode": "domain", "domainId": "cloud-concepts", "size": 3}
    out.append(_created(api.post("/me/attempts", practice, headers=ME)))
    for route, headers in [("/attempts", {}), ("/diagnostics", KEY), ("/me/attempts", ME)]:  # idempotent starts
        keyed = {**headers, "Idempotency-Key": IDEMPOTENCY_KEYS[route]}
        first = _created(api.post(route, {"examId": EXAM}, headers=keyed))
        again = _created(api.post(route, {"examId": EXAM}, headers=keyed))
        assert again["attemptToken"] == first["attemptToken"]  # a replay hands the same token back
        out.append(first)
    full, diagnostic = out[0], out[8]
    q = full["questions"][0]["questionId"]
    tok = {"X-Attempt-Token": full["attemptToken"]}
    answer = {"responses": [{"questionId": q, "selected": ["a"], "flagged": True}]}
    assert api.put(f"/attempts/{full['attemptId']}/responses", answer, headers=tok).status == 200
    assert (
        api.post(f"/attempts/{full['attemptId']}/questions/{q}/report", {"reason": "typo"}, headers=tok).status == 201
    )
    assert api.post(f"/attempts/{full['attemptId']}/submit", headers=tok).status == 200
    dtok = {**KEY, "X-Attempt-Token": diagnostic["attemptToken"]}
    dq = diagnostic["questions"][0]["questionId"]
    submit = {"responses": [{"questionId": dq, "selected": ["a"]}]}
    assert api.post(f"/diagnostics/{diagnostic['attemptId']}/submit", submit, headers=dtok).status == 200
    return out


# ---------------------------------------------------------------- randomness


def test_tokens_carry_at_least_128_random_bits_and_never_repeat(started: list[dict[str, Any]]) -> None:
    tokens = [a["attemptToken"] for a in started]
    assert len(set(tokens)) == len(tokens)
    raw = []
    for t in tokens:
        assert URLSAFE.match(t), t  # safe in a header and a URL, no padding
        decoded = base64.urlsafe_b64decode(t + "=" * (-len(t) % 4))
        assert len(decoded) * 8 >= 128, (t, len(decoded))
        raw.append(decoded)
    bits = "".join(f"{byte:08b}" for r in raw for byte in r)
    ones = bits.count("1") / len(bits)
    assert 0.45 < ones < 0.55, ones  # 20 x 256 bits: a fair source leaves 0.45-0.55 all but never (7 sd)
    # no byte position is constant across tokens (a counter or timestamp would be)
    width = min(len(r) for r in raw)
    assert all(len({r[i] for r in raw}) > 1 for i in range(width))


def _calls(path: Path, module: str, name: str) -> list[ast.Call]:
    tree = ast.parse(path.read_text())
    return [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr == name
        and isinstance(n.func.value, ast.Name)
        and n.func.value.id == module
    ]


def test_tokens_come_from_the_secrets_module_with_at_least_16_bytes() -> None:
    source = ROOT / "shared/exam_core/attempts.py"
    calls = _calls(source, "secrets", "token_urlsafe")
    assert calls, "attempt tokens are no longer made by secrets.token_urlsafe"
    for call in calls:
        assert call.args and isinstance(call.args[0], ast.Constant), ast.unparse(call)
        assert int(call.args[0].value) >= 16, ast.unparse(call)


# ---------------------------------------------------------------- storage


def _values(item: Any) -> list[str]:
    """Every scalar in a DynamoDB item (attribute values, recursively, and map keys)."""
    if isinstance(item, dict):
        return [str(k) for k in item] + [v for x in item.values() for v in _values(x)]
    if isinstance(item, list):
        return [v for x in item for v in _values(x)]
    return [str(item)]


def _partition(dynamodb: Any, attempt_id: str) -> list[dict[str, Any]]:
    pages = dynamodb.get_paginator("query").paginate(
        TableName="AttemptsTable",
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": attempt_id}},
    )
    return [item for page in pages for item in page["Items"]]


def test_only_the_sha256_of_a_token_is_stored(dynamodb: Any, started: list[dict[str, Any]]) -> None:
    for attempt in started:
        token = attempt["attemptToken"]
        items = _partition(dynamodb, attempt["attemptId"])
        kinds = {i["sk"]["S"].split("#")[0] for i in items}
        assert {"META", "FORM"} <= kinds, kinds
        for value in (v for item in items for v in _values(item)):
            assert token not in value, "the attempt token is stored in clear"
        meta = next(i for i in items if i["sk"]["S"] == "META")
        digest = hashlib.sha256(token.encode()).hexdigest()
        hashed = [name for name, v in meta.items() if v.get("S") == digest]
        assert len(hashed) == 1, "the META item does not hold exactly one SHA-256 of the token"
    reported = started[0]["attemptToken"]
    items_table = dynamodb.get_paginator("scan").paginate(TableName="ItemsTable")
    for page in items_table:  # problem reports and statistics live in the items table
        assert not any(reported in v for item in page["Items"] for v in _values(item))


def test_idempotency_records_hold_neither_the_token_nor_the_raw_key(
    dynamodb: Any, started: list[dict[str, Any]]
) -> None:
    """A retried start returns the token, so the record must not let a reader of the table get it."""
    tokens = [a["attemptToken"] for a in started]
    ids = {a["attemptId"] for a in started}
    pages = dynamodb.get_paginator("scan").paginate(TableName="IdempotencyTable")
    records = [i for page in pages for i in page["Items"]]
    ours = [r for r in records if any(attempt_id in v for v in _values(r) for attempt_id in ids)]
    assert len(ours) == len(IDEMPOTENCY_KEYS), "the keyed starts left no idempotency record to check"
    for record in records:
        for value in _values(record):
            assert not any(t in value for t in tokens), "an attempt token is stored in clear in an idempotency record"
            assert not any(k in value for k in IDEMPOTENCY_KEYS.values()), "a raw Idempotency-Key is stored"


# ---------------------------------------------------------------- comparison


TOKENISH = re.compile(r"(^|_)(token|token_hash|attempt_token|th)$")


def _names(node: ast.AST) -> set[str]:
    out = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name):
            out.add(n.id)
        elif isinstance(n, ast.Attribute):
            out.add(n.attr)
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Name):
            out.add(n.func.id)
    return out


# Comparisons with == that involve a token but verify nothing, each with the reason it is safe.
NOT_A_VERIFICATION = {
    ("shared/exam_core/idempotency.py", "_b64(raw) == token"): "is the caller's own token canonical base64?",
}


def test_tokens_are_compared_in_constant_time_and_nowhere_with_equals() -> None:
    verifying = []
    for path in sorted([*(ROOT / "shared/exam_core").rglob("*.py"), *(ROOT / "functions").glob("*/app.py")]):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Compare) and any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
                operands = [node.left, *node.comparators]
                if (str(path.relative_to(ROOT)), ast.unparse(node)) in NOT_A_VERIFICATION:
                    continue
                if any(n == "hash_token" or TOKENISH.search(n) for o in operands for n in _names(o)):
                    pytest.fail(
                        f"{path.relative_to(ROOT)}:{node.lineno}: a token compared with ==: {ast.unparse(node)}"
                    )
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "hmac.compare_digest":
                verifying.append(ast.unparse(node))
    assert any("hash_token(" in v and "token_hash" in v for v in verifying), verifying


def test_the_comparison_check_would_see_an_equals() -> None:
    bad = ast.parse("if record is None or hash_token(token) != record.meta.token_hash:\n    pass")
    compare = next(n for n in ast.walk(bad) if isinstance(n, ast.Compare) and isinstance(n.ops[0], ast.NotEq))
    assert any(TOKENISH.search(n) for o in [compare.left, *compare.comparators] for n in _names(o))
    fine = ast.parse("if next_token_page == 2 or tokenizer == 1:\n    pass")
    compares = [n for n in ast.walk(fine) if isinstance(n, ast.Compare)]
    assert not any(TOKENISH.search(n) for c in compares for o in [c.left, *c.comparators] for n in _names(o))


# ---------------------------------------------------------------- expiry


def _expire(dynamodb: Any, attempt_id: str, seconds_ago: int = 60) -> None:
    """Move the record's time-to-live into the past: the clock passed it, DynamoDB has not deleted it yet."""
    dynamodb.update_item(
        TableName="AttemptsTable",
        Key={"pk": {"S": attempt_id}, "sk": {"S": "META"}},
        UpdateExpression="SET #t = :t",
        ConditionExpression="attribute_exists(#t)",
        ExpressionAttributeNames={"#t": "ttl"},
        ExpressionAttributeValues={":t": {"N": str(int(time.time()) - seconds_ago)}},
    )


@pytest.mark.parametrize("state", ["abandoned", "submitted"])
def test_a_diagnostic_past_its_time_to_live_refuses_its_token_like_a_missing_one(
    api: Api, dynamodb: Any, state: str
) -> None:
    d = _created(api.post("/diagnostics", {"examId": EXAM}, headers=KEY))
    headers = {**KEY, "X-Attempt-Token": d["attemptToken"]}
    path = f"/diagnostics/{d['attemptId']}"
    answers = {"responses": [{"questionId": q["questionId"], "selected": ["a"]} for q in d["questions"][:3]]}
    if state == "submitted":
        assert api.post(f"{path}/submit", answers, headers=headers).status == 200
        assert api.get(f"{path}/review", headers=headers).status == 200
    assert api.get(path, headers=headers).status == 200  # alive until its time-to-live
    _expire(dynamodb, d["attemptId"])
    nowhere = f"/diagnostics/{uuid.uuid4().hex}"
    claim = {**ME, "X-Attempt-Token": d["attemptToken"]}
    for method, suffix, body, hdrs, route in [
        ("GET", "", None, headers, path),
        ("POST", "/submit", answers, headers, path),
        ("GET", "/review", None, headers, path),
        ("POST", "/claim", None, claim, f"/me{path}"),
    ]:
        gone = api.call(method, route + suffix, body, headers=hdrs)
        missing = api.call(method, route.replace(path, nowhere) + suffix, body, headers=hdrs)
        assert gone.status == 403 and gone.body["error"]["code"] == "attempt_forbidden", (suffix, gone.raw[:200])
        assert (gone.status, gone.raw) == (missing.status, missing.raw)
    meta = dynamodb.get_item(TableName="AttemptsTable", Key={"pk": {"S": d["attemptId"]}, "sk": {"S": "META"}})
    assert "candidateId" not in meta["Item"]  # the refused claim claimed nothing
