"""``make fuzz``: property-based fuzzing of the served OpenAPI document with schemathesis.

Starts the local server exactly as ``make run`` does (with one extra token, ``dev:fuzzer``, that is both
a candidate sign-in and an admin token, so one Authorization header opens every protected route),
creates an attempt for the attempt-token header, and runs ``st run`` over every operation with the
partner key. Checks: no server errors, responses that conform to their declared schemas and status
codes, and the stateful links. Excluded, with reasons: ``positive_data_acceptance`` (rules the schema
cannot express, such as a partner summary's 366-day limit, reject schema-valid requests on purpose)
and ``unsupported_method`` (like API Gateway, an undeclared method gets the JSON "no such route" 404,
not 405). Output goes to ``reports/fuzz.txt``; the exit code is schemathesis's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.e2e.conftest import start_server

ROOT = Path(__file__).resolve().parents[2]
CASES = os.environ.get("FUZZ_CASES", "100")


def main() -> int:
    proc, base, _ = start_server({"LOCAL_ADMIN_TOKENS": "demo-admin-token=demo-admin,dev:fuzzer=fuzz-admin"})
    try:
        request = urllib.request.Request(
            base + "/attempts", data=b'{"examId":"clf-c02"}', headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as reply:
            token = json.load(reply)["attemptToken"]
        st = Path(sys.executable).with_name("st")
        command = [
            str(st), "run", f"{base}/openapi.json", "--url", base,
            "-H", "X-Api-Key: demo-partner-key", "-H", f"X-Attempt-Token: {token}",
            "-H", "Authorization: Bearer dev:fuzzer",
            "-n", CASES, "--checks", "all",
            "--exclude-checks", "positive_data_acceptance,unsupported_method",
            "--workers", "2", "--seed", os.environ.get("FUZZ_SEED", "20261125"),
        ]  # fmt: skip
        out = subprocess.run(command, capture_output=True, text=True, check=False)
        report = ROOT / "reports" / "fuzz.txt"
        report.write_text(out.stdout + out.stderr)
        print(out.stdout[-4000:])
        print(f"full output: {report.relative_to(ROOT)}")
        return out.returncode
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
