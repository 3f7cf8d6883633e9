"""The calibration job as a local command: ``python -m infra.calibrate --items-table NAME [--dry-run]``.

The same code the scheduled function and ``POST /admin/calibrations`` run, against real DynamoDB (your
AWS credentials) or any endpoint in ``AWS_ENDPOINT_URL``. Prints the report as JSON.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time

from exam_core.calibration_job import CalibrationJob
from exam_core.settings import get_settings
from exam_core.store import DynamoStore, make_client


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items-table", required=True, help="the stack's ItemsTableName output")
    parser.add_argument("--exam-id", default="clf-c02")
    parser.add_argument("--dry-run", action="store_true", help="report what would change; change nothing")
    args = parser.parse_args(argv)
    store = DynamoStore(args.items_table, "unused", make_client())
    report = CalibrationJob(store, get_settings(), time.time).run(
        args.exam_id, dry_run=args.dry_run, who=f"cli:{getpass.getuser()}"
    )
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
