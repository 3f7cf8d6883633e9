"""`make package`: validate and lint the template, build it without a container, import every built handler.

The template targets python3.13 on arm64; a build machine may have another Python and architecture, and
`sam build` without a container can only build (and this check can only import) for the machine it runs
on. So the build uses a copy of the template with Runtime, CompatibleRuntimes, BuildMethod and the
architectures set to this interpreter's Python and machine (the deployed build, `sam build` on the real
template, resolves wheels for python3.13/arm64 the same way). Each handler is then imported in a fresh
interpreter with only the function's build directory and its layer laid out as Lambda lays it out
(the layer's build directory copied to /opt/python -> here a temporary directory on PYTHONPATH after it).
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess  # nosec B404 - runs sam and python, fixed argument lists
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
LOCAL_TEMPLATE = ROOT / ".package-check.template.yaml"
BUILD_DIR = ROOT / ".aws-sam" / "package-check"
SAM = Path(os.environ.get("SAM", ROOT / ".venv-sam" / "bin" / "sam"))
ENV = {"AWS_DEFAULT_REGION": "us-east-1", "SAM_CLI_TELEMETRY": "0"}


def machine() -> tuple[str, str]:
    runtime = f"python{sys.version_info.major}.{sys.version_info.minor}"
    arch = "arm64" if platform.machine().lower() in {"aarch64", "arm64"} else "x86_64"
    return runtime, arch


def local_template(runtime: str, arch: str) -> str:
    text = TEMPLATE.read_text()
    text = re.sub(r"\bpython3\.\d+\b", runtime, text)
    return re.sub(r"\barm64\b", arch, text)


def sam(*args: str) -> None:
    cmd = [str(SAM), *args]
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT, env={**os.environ, **ENV})  # nosec B603 - our own commands


def handlers(built_template: Path) -> tuple[dict[str, tuple[Path, str]], list[Path]]:
    import yaml  # dev dependency; never on the request path

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda _loader, _suffix, _node: None)
    doc = yaml.load(built_template.read_text(), Loader=Loader)  # noqa: S506  # nosec B506 - SafeLoader subclass
    base = built_template.parent
    functions: dict[str, tuple[Path, str]] = {}
    layers: list[Path] = []
    for name, res in doc["Resources"].items():
        props = res.get("Properties") or {}
        if res["Type"] == "AWS::Serverless::Function":
            functions[name] = (base / props["CodeUri"], props["Handler"])
        elif res["Type"] == "AWS::Serverless::LayerVersion":
            layers.append(base / props["ContentUri"])
    return functions, layers


def import_check(functions: dict[str, tuple[Path, str]], layers: list[Path]) -> None:
    with tempfile.TemporaryDirectory(prefix="opt-") as opt:
        python = Path(opt) / "python"  # Lambda extracts a layer to /opt; python/ there is on sys.path
        python.mkdir()
        for layer in layers:
            src = layer / "python" if (layer / "python").is_dir() else layer
            shutil.copytree(src, python, dirs_exist_ok=True)
        for name, (code, handler) in sorted(functions.items()):
            module, func = handler.rsplit(".", 1)
            probe = f"import {module} as m; assert callable(m.{func}), 'no handler'"
            env = {
                "PATH": os.environ.get("PATH", ""),
                "PYTHONPATH": f"{code}{os.pathsep}{python}",
                "PYTHONNOUSERSITE": "1",
                "AWS_DEFAULT_REGION": "us-east-1",
                "ITEMS_TABLE": "items",
                "ATTEMPTS_TABLE": "attempts",
                "IDEMPOTENCY_TABLE": "idempotency",
                "POWERTOOLS_SERVICE_NAME": "package-check",
                "POWERTOOLS_METRICS_NAMESPACE": "ExamScoring",
            }
            t0 = time.perf_counter()
            # -S: no site-packages of the build machine, only the function and its layer (boto3 aside,
            # which the Lambda runtime provides: it is allowed from the base interpreter's stdlib path only
            # if the layer lacks it, so it is added explicitly below).
            subprocess.run([sys.executable, "-S", "-c", _with_boto3(probe)], check=True, cwd=code, env=env)  # nosec B603
            print(f"  {name}: {handler} imports ({(time.perf_counter() - t0) * 1000:.0f} ms)", flush=True)


def _with_boto3(probe: str) -> str:
    """boto3/botocore ship with the Lambda runtime, not the layer: expose only those from this venv."""
    import boto3
    import botocore

    paths = sorted({str(Path(boto3.__file__).parent.parent), str(Path(botocore.__file__).parent.parent)})
    # Appended after the function and layer, like the runtime's own boto3 (lower priority than the layer).
    return f"import sys; sys.path.extend({paths!r}); {probe}"


def main() -> int:
    if not SAM.exists():
        print(f"{SAM} not found: run make package (it installs aws-sam-cli into .venv-sam)", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    sam("validate", "--lint", "--template-file", str(TEMPLATE))
    runtime, arch = machine()
    print(f"building for this machine: {runtime} {arch} (the template deploys python3.13 arm64)", flush=True)
    LOCAL_TEMPLATE.write_text(local_template(runtime, arch))
    try:
        sam("build", "--template-file", str(LOCAL_TEMPLATE), "--build-dir", str(BUILD_DIR), "--parallel", "--cached")
    finally:
        LOCAL_TEMPLATE.unlink(missing_ok=True)
    functions, layers = handlers(BUILD_DIR / "template.yaml")
    import_check(functions, layers)
    print(f"package check passed: {len(functions)} functions in {time.perf_counter() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
