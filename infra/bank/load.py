"""Load exam folders into an items table: ``python -m infra.bank.load --items-table NAME [exam_dir ...]``.

Works against real DynamoDB (your AWS credentials) or any endpoint in ``AWS_ENDPOINT_URL``.
Validates every file first and writes nothing if one item is wrong; loading again is idempotent
(same items, bank version + 1, so running functions reload their cache within a minute).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from exam_core.bank import BankValidationError
from exam_core.bank_files import load_exam_dir
from exam_core.store import DynamoStore, make_client

BANK_ROOT = Path(__file__).resolve().parent


def exam_dirs(root: Path = BANK_ROOT) -> list[Path]:
    """Every exam folder under ``root``: each folder with an ``exam.yaml`` (an exam is its folder, no list)."""
    return sorted(p.parent for p in root.glob("*/exam.yaml"))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items-table", required=True, help="the stack's ItemsTableName output")
    parser.add_argument("exam_dirs", nargs="*", type=Path, help="default: every folder with an exam.yaml")
    args = parser.parse_args(argv)
    dirs = args.exam_dirs or exam_dirs()
    store = DynamoStore(args.items_table, "unused", make_client())
    for exam_dir in dirs:
        try:
            version = load_exam_dir(store, exam_dir)
        except BankValidationError as exc:
            print(f"{exam_dir}: not loaded, {len(exc.errors)} error(s):", file=sys.stderr)
            for e in exc.errors:
                print(f"  {e.item_id}: {e.field}: {e.message}", file=sys.stderr)
            return 1
        print(f"{exam_dir.name}: loaded, bank version {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
