"""The memory bench measures what it says: events shaped like the local gateway's, and a child's own peak."""

from __future__ import annotations

import json
import resource
from pathlib import Path
from typing import Any

import pytest

from infra.local.gateway import Gateway, Identity, Template
from tests.bench import memory

ROOT = Path(__file__).resolve().parents[2]
VOLATILE = ("requestId", "requestTimeEpoch")


@pytest.fixture(scope="module")
def gateway() -> Gateway:
    return Gateway(Template(ROOT / "template.yaml"), api_keys={memory.PARTNER_KEY: memory.PARTNER_ID})


def _gateway_event(
    gw: Gateway,
    method: str,
    path: str,
    headers: dict[str, str],
    query: dict[str, str],
    body: Any,
    identity: Identity,
) -> dict[str, Any]:
    route, params = next((r, p) for r in gw.template.routes if r.method == method and (p := r.match(path)) is not None)
    text = json.dumps(body).encode() if body is not None else b""
    if body is not None:
        headers = {**headers, "Content-Type": "application/json", "Content-Length": str(len(text))}
    event = gw.event(route, path, params, {k: [v] for k, v in query.items()}, headers, text, "127.0.0.1", identity)
    for key in VOLATILE:
        event["requestContext"].pop(key)
    return event


BASE = {"Host": "127.0.0.1:3000", "User-Agent": "memory-bench", "Accept": "*/*"}
CASES: list[tuple[str, str, str, dict[str, Any], Identity]] = [
    (
        "POST",
        "/diagnostics",
        "/diagnostics",
        {
            "body": {"examId": "clf-c02"},
            "api_key": memory.PARTNER_KEY,
            "api_key_id": memory.PARTNER_ID,
            "headers": {"X-Api-Key": memory.PARTNER_KEY},
        },
        Identity(api_key=memory.PARTNER_KEY, api_key_id=memory.PARTNER_ID),
    ),
    (
        "GET",
        "/me/attempts/{attemptId}/review",
        "/me/attempts/" + "a" * 32 + "/review",
        {"claims": {"sub": "c1", "cognito:username": "c1", "token_use": "id"}, "headers": {"Authorization": "x"}},
        Identity(claims={"sub": "c1", "cognito:username": "c1", "token_use": "id"}),
    ),
    (
        "GET",
        "/admin/items/{itemId}/stats",
        "/admin/items/clf-1.1-001/stats",
        {"query": {"examId": "clf-c02"}, "iam_user": memory.ADMIN_USER},
        Identity(iam_user=memory.ADMIN_USER),
    ),
]


@pytest.mark.parametrize(("method", "resource_path", "path", "kw", "identity"), CASES, ids=lambda c: str(c)[:30])
def test_the_bench_builds_the_same_event_as_the_local_gateway(
    gateway: Gateway, method: str, resource_path: str, path: str, kw: dict[str, Any], identity: Identity
) -> None:
    ours = memory.api_event(method, resource_path, path, **kw)
    for key in VOLATILE:
        ours["requestContext"].pop(key)
    theirs = _gateway_event(
        gateway, method, path, {**BASE, **kw.get("headers", {})}, kw.get("query", {}), kw.get("body"), identity
    )
    assert ours == theirs


def test_a_child_reports_its_own_peak_not_the_parent_it_was_forked_from() -> None:
    ballast = bytearray(160 * 1024 * 1024)  # a parent far bigger than a Python process that imports boto3
    ballast[::4096] = b"x" * len(ballast[::4096])  # touch every page: resident, not just reserved
    parent_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    base = memory._run_child("baseline", {})
    embed = memory._run_child("embed", {"function_name": "EmbedFunction", "memory": 256, "timeout": 20})
    del ballast
    # ru_maxrss survives execve on Linux: the child "peaks" at the parent's size before importing anything
    assert base["ru_maxrss_kib"] >= 150 * 1024
    assert base["peak_kib"] < parent_kib and base["peak_kib"] < 150 * 1024
    assert base["peak_kib"] > 15 * 1024  # an interpreter with boto3 loaded is tens of MiB
    assert embed["requests"] == 2
    assert embed["peak_kib"] < base["peak_kib"]  # the embed function never imports boto3
