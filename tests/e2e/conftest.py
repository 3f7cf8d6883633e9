"""End-to-end fixtures: the local server started exactly as ``make run`` starts it, in a subprocess."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]
    raw: bytes


class Api:
    """A tiny HTTP client over urllib: real sockets, no test-client shortcuts."""

    def __init__(self, base: str) -> None:
        self.base = base

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Reply:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                content = r.read()
                status, h = r.status, dict(r.headers)
        except urllib.error.HTTPError as e:
            content = e.read()
            status, h = e.code, dict(e.headers)
        try:
            parsed = json.loads(content) if content else None
        except ValueError:
            parsed = None
        return Reply(status, parsed, h, content)

    def get(self, path: str, **kw: Any) -> Reply:
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.call("POST", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.call("PUT", path, body, **kw)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _drain(stream: Any, lines: list[str], keep: int = 5000) -> None:
    for line in stream:
        lines.append(line.rstrip())
        if len(lines) > keep:
            del lines[: len(lines) - keep]


def start_server(extra_env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str, list[str]]:
    port = _free_port()
    env = {**os.environ, "PORT": str(port), **(extra_env or {})}
    env.pop("AWS_ENDPOINT_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.local.server"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 60
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if line.startswith("Press Ctrl+C"):
            # Keep reading what the server prints, or a chatty server fills the pipe and blocks.
            threading.Thread(target=_drain, args=(proc.stdout, lines), daemon=True).start()
            return proc, f"http://127.0.0.1:{port}", lines
    proc.kill()
    raise RuntimeError("local server did not start:\n" + "\n".join(lines))


@contextmanager
def running_server(extra_env: dict[str, str] | None = None) -> Iterator[Api]:
    """A local server of its own (settings that differ from the session server's), stopped afterwards."""
    proc, base, _ = start_server(extra_env)
    try:
        yield Api(base)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


PARTNER_KEYS = "demo-partner-key=demo-partner,second-partner-key=second-partner"


@pytest.fixture(scope="session")
def server() -> Iterator[tuple[Api, list[str]]]:
    proc, base, lines = start_server({"LOCAL_PARTNER_KEYS": PARTNER_KEYS})
    try:
        yield Api(base), lines
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def api(server: tuple[Api, list[str]]) -> Api:
    return server[0]


@pytest.fixture(scope="session")
def dynamodb(server: tuple[Api, list[str]]) -> Any:
    """A client on the session server's embedded DynamoDB (its endpoint is the first line it prints)."""
    import boto3

    endpoint = re.search(r"DynamoDB: (http://[0-9.:]+)", "\n".join(server[1]))
    assert endpoint, server[1]
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint.group(1),
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def bank_by_stem() -> dict[str, dict[str, Any]]:
    """Normalised stem -> item, from the files: tests that play candidates who know the keys use it."""
    import yaml

    out = {}
    for path in sorted((ROOT / "infra/bank/clf-c02/items").glob("*.yaml")):
        for item in yaml.safe_load(path.read_text())["items"]:
            out[" ".join(item["stem"].split())] = item
    return out
