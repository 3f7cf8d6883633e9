"""The rooms of the code and what each may import (README, "Architecture").

Two checks. A static one walks every module's imports with ``ast`` (imports inside functions and
``TYPE_CHECKING`` blocks count too): functions -> services -> store, nothing above the store touches
boto3 or botocore, numpy and PyYAML each stay in the one module that needs them. A dynamic one imports
each API function's handler the way Lambda does (``app`` with its CodeUri on the path) in a fresh
process, then wires the services a request uses, and looks at ``sys.modules``: the request path loads
no numpy and no PyYAML, and ``cryptography`` only arrives with an Idempotency-Key.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "shared"
CORE = SHARED / "exam_core"
FUNCTIONS = ROOT / "functions"

# Rooms inside exam_core, by the module's first name below ``exam_core``; anything not named is a service
# (the use cases and the pure domain code they call: blueprint, bank, assembly, scoring, results, ...).
EDGE = {"http", "idempotency"}  # the HTTP edge the functions share: resolver, error mapping, Idempotency-Key
WIRING = {"runtime"}  # builds the store and the services once per container
BASE = {"errors", "settings", "log", "metrics"}  # what every room may use
# The store, a module or a package: the only code that talks to DynamoDB. bank_snapshot is the store's
# encoding of a bank version into compressed chunks (pure Python; only the store uses it).
STORE = {"store", "bank_snapshot"}
MODELS = {"models"}

# Which rooms each room may import (its own included where listed).
ALLOWED: dict[str, set[str]] = {
    "functions": {"edge", "wiring", "services", "models", "base"},
    "edge": {"edge", "services", "models", "base"},
    "wiring": {"services", "store", "base"},
    "services": {"services", "store", "models", "base"},
    "store": {"store", "models", "base"},
    "models": {"models", "base"},
    "base": {"base"},
}

# Imports that cross the rules on purpose, each with its reason. Keep this list short.
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("exam_core.idempotency", "exam_core.runtime"): (
        "a replayed start opens the attempt again through the container's services (imported inside start_once)"
    ),
    ("exam_core.idempotency", "exam_core.store"): (
        "Powertools' persistence layer and the retryable-error test come from the store, so the boto3 client "
        "and DynamoDB's error codes stay inside it"
    ),
    ("exam_core.models.records", "exam_core.scoring"): (
        "ScoreRow, the stored conversion-table row, is defined beside the code that computes it "
        "(scoring imports only models.bank: no cycle)"
    ),
}

AWS_SDK = ("boto3", "botocore", "mypy_boto3_dynamodb")
# Modules above the store allowed to import the AWS SDK, with the reason. The runtime wiring builds
# DynamoStore, which creates its own client.
AWS_SDK_EXCEPTIONS: dict[str, str] = {
    "exam_core.invoker": (
        "the adapter to Lambda (not DynamoDB): a job's asynchronous invoke of its own function, its client and "
        "errors inside it as the store keeps DynamoDB's; imported inside its methods"
    ),
}
NUMPY_HOME = {"exam_core.calibration"}  # the calibration job's estimation, imported inside its functions
YAML_HOME = {"exam_core.bank_files"}  # reads bank files for infra/bank and the tests, never for a function

API_FUNCTIONS = ["exam_api", "diagnostic_api", "candidate_api", "admin_api", "embed"]


def _module_name(path: Path) -> str:
    if path.is_relative_to(FUNCTIONS):
        return "functions." + ".".join(path.relative_to(FUNCTIONS).with_suffix("").parts)
    parts = list(path.relative_to(SHARED).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name: str) -> bool:
    base = SHARED.joinpath(*name.split("."))
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def _imports(path: Path) -> list[tuple[str, int]]:
    """Every module ``path`` imports, anywhere in the file, as absolute dotted names."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    out: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, node.module] if node.module else anchor)
            else:
                base = node.module or ""
            for alias in node.names:  # ``from exam_core import metrics`` imports the module exam_core.metrics
                sub = f"{base}.{alias.name}"
                out.append((sub if _is_module(sub) else base, node.lineno))
    return out


def _room(module: str) -> str | None:
    if module.startswith("functions."):
        return "functions"
    parts = module.split(".")
    if parts[0] != "exam_core":
        return None  # a third-party or standard-library module: checked by the rules below, not by room
    top = parts[1] if len(parts) > 1 else ""
    for room, names in (("edge", EDGE), ("wiring", WIRING), ("base", BASE), ("store", STORE), ("models", MODELS)):
        if top in names:
            return room
    return "services"


def _sources() -> list[Path]:
    return sorted(CORE.rglob("*.py")) + sorted(FUNCTIONS.glob("*/app.py"))


@lru_cache(maxsize=1)
def _edges() -> list[tuple[str, str, int]]:
    return [(_module_name(path), imported, line) for path in _sources() for imported, line in _imports(path)]


def _excepted(src: str, dst: str) -> bool:
    return any(src == s and (dst == d or dst.startswith(d + ".")) for s, d in EXCEPTIONS)


def test_given_the_import_walk_then_it_sees_the_imports_the_layering_rests_on() -> None:
    edges = {(src, dst) for src, dst, _ in _edges()}
    assert ("functions.exam_api.app", "exam_core.runtime") in edges
    assert ("exam_core.attempts", "exam_core.store") in edges or any(
        src.startswith("exam_core.attempts.") and dst.startswith("exam_core.store") for src, dst in edges
    )
    assert any(src.startswith("exam_core.store") and dst == "boto3" for src, dst in edges)  # lazy import seen
    assert ("exam_core.http", "exam_core.errors") in edges


def test_given_every_module_then_each_room_imports_only_the_rooms_below_it() -> None:
    wrong: set[str] = set()
    for src, dst, line in _edges():
        src_room, dst_room = _room(src), _room(dst)
        if src_room is None or dst_room is None or dst_room in ALLOWED[src_room]:
            continue
        if _excepted(src, dst):
            continue
        wrong.add(f"{src}:{line} ({src_room}) imports {dst} ({dst_room})")
    assert sorted(wrong) == []


def test_given_the_listed_exceptions_then_each_still_exists() -> None:
    edges = {(src, dst) for src, dst, _ in _edges()}
    stale = [(s, d) for s, d in EXCEPTIONS if not any(src == s and dst.startswith(d) for src, dst in edges)]
    assert stale == []  # an exception nobody needs any more is removed from the list


def test_given_every_module_above_the_store_then_none_imports_boto3_or_botocore() -> None:
    wrong = [
        f"{src}:{line} imports {dst}"
        for src, dst, line in _edges()
        if dst.split(".")[0] in AWS_SDK and _room(src) != "store" and src not in AWS_SDK_EXCEPTIONS
    ]
    assert wrong == []


def test_given_every_module_then_numpy_and_pyyaml_stay_in_their_one_home() -> None:
    numpy = {src for src, dst, _ in _edges() if dst.split(".")[0] == "numpy"}
    yaml = {src for src, dst, _ in _edges() if dst.split(".")[0] == "yaml"}
    assert numpy <= NUMPY_HOME, numpy - NUMPY_HOME
    assert yaml <= YAML_HOME, yaml - YAML_HOME


# What a request loads past the handler's import: the services runtime builds lazily, and the DynamoDB
# client the store creates on the first call (no call is made).
_PROBE = """
import json, sys
import app  # the handler module, as Lambda imports it (Handler: app.lambda_handler)
seen = {"import": sorted({m.split(".")[0] for m in sys.modules})}
if sys.argv[1] != "embed":
    from exam_core import runtime
    for factory in ("attempt_service", "partner_service", "candidate_service", "admin_service", "bank_cache"):
        getattr(runtime, factory)()
    runtime.store().client
seen["request"] = sorted({m.split(".")[0] for m in sys.modules})
print(json.dumps(seen))
"""


@pytest.mark.parametrize("function", API_FUNCTIONS)
def test_given_an_api_function_then_its_request_path_imports_no_numpy_no_pyyaml_and_no_cryptography(
    function: str,
) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(FUNCTIONS / function), str(SHARED)]),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, function],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert "app" in seen["import"]
    for stage in ("import", "request"):
        assert {"numpy", "yaml"}.isdisjoint(seen[stage]), (stage, function)
        assert "cryptography" not in seen[stage], (stage, function)  # only with an Idempotency-Key
    if function != "embed":
        assert "boto3" in seen["request"]  # the probe did reach the store's client
