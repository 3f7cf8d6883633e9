"""The bank check: ``python -m infra.bank.check [exam_dir ...]`` (``make check-bank``, part of ``make test``).

Fails on schema errors, duplicate ids, duplicate or near-duplicate stems, a key whose size differs from
selectCount, duplicate options, a missing explanation, an unknown task statement, a domain short of
its minimum, and a pretest share outside 10-30%. Prints a table per domain and task statement.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from difflib import SequenceMatcher
from pathlib import Path

from exam_core.bank import BankValidationError
from exam_core.bank_files import read_exam_dir
from exam_core.blueprint import form_plan
from exam_core.models.bank import Blueprint, Item

BANK_ROOT = Path(__file__).resolve().parent
NEAR_DUPLICATE_RATIO = 0.85
PRETEST_SHARE = (0.10, 0.30)


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", text.lower()).split())


def near_duplicates(items: list[Item], ratio: float = NEAR_DUPLICATE_RATIO) -> list[tuple[str, str, float]]:
    """Pairs of items whose normalised stems are the same or nearly so (word overlap first, then difflib)."""
    stems = [(i.id, _norm(i.stem)) for i in items]
    words = [set(s.split()) for _, s in stems]
    pairs = []
    for a in range(len(stems)):
        for b in range(a + 1, len(stems)):
            union = len(words[a] | words[b]) or 1
            if len(words[a] & words[b]) / union < 0.5:
                continue
            r = SequenceMatcher(None, stems[a][1], stems[b][1]).ratio()
            if r >= ratio:
                pairs.append((stems[a][0], stems[b][0], round(r, 3)))
    return pairs


def check(blueprint: Blueprint, items: list[Item]) -> list[str]:
    problems = [f"near-duplicate stems: {a} ~ {b} (similarity {r})" for a, b, r in near_duplicates(items)]
    domain_of = blueprint.domain_of_task()
    live = [i for i in items if i.status != "retired"]
    per_domain: dict[str, int] = defaultdict(int)
    for i in live:
        per_domain[domain_of[i.task].id] += 1
    full = {p.domain_id: p for p in form_plan(blueprint, "full")}
    for d in blueprint.domains:
        minimum = blueprint.bank_minimums.get(d.id, 4 * (full[d.id].scored + full[d.id].pretest))
        if per_domain[d.id] < minimum:
            problems.append(f"domain {d.id} has {per_domain[d.id]} live items, below its minimum of {minimum}")
        covered = {i.task for i in live if domain_of[i.task].id == d.id}
        for t in d.task_statements:
            if t.id not in covered:
                problems.append(f"task statement {t.id} has no items")
    pretest = sum(1 for i in live if i.status == "pretest")
    share = pretest / len(live) if live else 0.0
    if not PRETEST_SHARE[0] <= share <= PRETEST_SHARE[1]:
        problems.append(f"pretest share {share:.0%} is outside {PRETEST_SHARE[0]:.0%}-{PRETEST_SHARE[1]:.0%}")
    return problems


def table(blueprint: Blueprint, items: list[Item]) -> str:
    lines = [f"{'domain / task':<44} {'items':>5} {'single':>6} {'multi':>5} {'pretest':>7} {'mean b':>7}"]
    for d in blueprint.domains:
        mine = [i for i in items if i.task in {t.id for t in d.task_statements}]
        lines.append(_row(d.name, mine))
        for t in d.task_statements:
            lines.append(_row(f"  {t.id}", [i for i in mine if i.task == t.id]))
    lines.append(_row("all", items))
    return "\n".join(lines)


def _row(label: str, items: list[Item]) -> str:
    n = len(items)
    multi = sum(1 for i in items if i.type == "multiple")
    pre = sum(1 for i in items if i.status == "pretest")
    mean_b = sum(i.b for i in items) / n if n else 0.0
    return f"{label:<44} {n:>5} {n - multi:>6} {multi:>5} {pre:>7} {mean_b:>7.2f}"


def main(argv: list[str]) -> int:
    dirs = [Path(a) for a in argv] or sorted(p.parent for p in BANK_ROOT.glob("*/exam.yaml"))
    failed = False
    for exam_dir in dirs:
        try:
            blueprint, items = read_exam_dir(exam_dir)
        except BankValidationError as exc:
            print(f"{exam_dir}: {len(exc.errors)} error(s)")
            for e in exc.errors:
                print(f"  {e.item_id}: {e.field}: {e.message}")
            failed = True
            continue
        print(f"{blueprint.exam_id}: {len(items)} items\n{table(blueprint, items)}")
        problems = check(blueprint, items)
        for p in problems:
            print(f"  FAIL {p}")
        failed |= bool(problems)
        if not problems:
            print(f"{blueprint.exam_id}: bank check passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
