"""The bank check: ``python -m infra.bank.check [exam_dir ...]`` (``make check-bank``, part of ``make test``).

Fails on schema errors, duplicate ids, duplicate or near-duplicate stems, a key whose size differs from
selectCount, duplicate options, a missing explanation, an unknown task statement, a domain short of
its minimum, a pretest share outside 10-30%, a service name not in the exam's ``services.yaml``, and an
item that states a fact of ``dated-facts.yaml`` past its date. Warns on items not verified in the last
12 months and on dated facts that fall due within 60 days. Prints a table per domain and task statement.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from difflib import SequenceMatcher
from pathlib import Path

from exam_core.bank import BankValidationError
from exam_core.bank_files import read_exam_dir
from exam_core.blueprint import form_plan
from exam_core.models.bank import Blueprint, Item

BANK_ROOT = Path(__file__).resolve().parent
NEAR_DUPLICATE_RATIO = 0.85
PRETEST_SHARE = (0.10, 0.30)
# Content-word overlap (Jaccard) of two stems above which they are near-duplicates when their keys say
# the same thing, and above which they are near-duplicates whatever their keys. Measured on the planted
# paraphrases in tests/unit/data/paraphrased_stems.yaml (lowest 0.42, all 20 caught) against the shipped
# bank (highest pair with a different key 0.73; no distinct pair with the same key above 0.30).
STEM_OVERLAP_SAME_KEY = 0.40
STEM_OVERLAP_ANY_KEY = 0.80
KEY_OVERLAP = 0.60
VERIFY_WITHIN_DAYS = 365
DATED_FACT_NOTICE_DAYS = 60
_STOP_WORDS = (
    "a an the of to in on for and or is are be by with that this which what who how its it as at from into can does do"
    " their them they not no must should would will has have had was were use uses using used than then so such each"
    " any all own same only more most very want wants need needs needed company team"
)
_STOP = frozenset(_STOP_WORDS.split(" "))


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", text.lower()).split())


def content_words(text: str) -> frozenset[str]:
    """Lower-cased words less stop words, with plural and tense endings cut (a crude stemmer is enough here)."""
    out = set()
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        if word in _STOP:
            continue
        w = word
        if len(w) > 4 and w.endswith("ing"):
            w = w[:-3]
        elif len(w) > 3 and w.endswith(("ed", "es")):
            w = w[:-2]
        elif len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        out.add(w)
    return frozenset(out)


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / (len(a | b) or 1)


def near_duplicates(items: list[Item], ratio: float = NEAR_DUPLICATE_RATIO) -> list[tuple[str, str, float]]:
    """Pairs of items that ask the same question: stems nearly the same character for character (difflib), or
    sharing most content words while their keys say the same thing (a paraphrase), or sharing almost all of them.
    The similarity reported is the stems' content-word overlap, or difflib's ratio where that rule fired."""
    rows = []
    for i in items:
        key = " ".join(o.text for o in i.options if o.id in i.key)
        rows.append((i.id, _norm(i.stem), content_words(i.stem), content_words(key)))
    pairs = []
    for a in range(len(rows)):
        id_a, norm_a, words_a, key_a = rows[a]
        for b in range(a + 1, len(rows)):
            id_b, norm_b, words_b, key_b = rows[b]
            overlap = _jaccard(words_a, words_b)
            if overlap < STEM_OVERLAP_SAME_KEY:
                continue
            if overlap >= STEM_OVERLAP_ANY_KEY or _jaccard(key_a, key_b) >= KEY_OVERLAP:
                pairs.append((id_a, id_b, round(overlap, 3)))
                continue
            r = SequenceMatcher(None, norm_a, norm_b).ratio()
            if r >= ratio:
                pairs.append((id_a, id_b, round(r, 3)))
    return pairs


@dataclass(frozen=True)
class DatedFact:
    """A fact that changes on a date (``dated-facts.yaml``): from ``on`` an item matching ``pattern`` is wrong."""

    id: str
    on: date
    pattern: re.Pattern[str]
    allow: re.Pattern[str] | None
    message: str


@dataclass(frozen=True)
class Freshness:
    """An exam folder's freshness rules: the service-name vocabulary and the dated facts (both optional)."""

    services: frozenset[str] | None = None
    facts: tuple[DatedFact, ...] = ()


def read_freshness(exam_dir: Path) -> Freshness:
    import yaml

    services = None
    vocab = exam_dir / "services.yaml"
    if vocab.exists():
        services = frozenset(str(s) for s in (yaml.safe_load(vocab.read_text(encoding="utf-8")) or {})["services"])
    facts = []
    dated = exam_dir / "dated-facts.yaml"
    if dated.exists():
        for f in (yaml.safe_load(dated.read_text(encoding="utf-8")) or {}).get("facts", []):
            on = f["date"] if isinstance(f["date"], date) else date.fromisoformat(str(f["date"]))
            allow = re.compile(f["allow"], re.IGNORECASE) if f.get("allow") else None
            facts.append(DatedFact(str(f["id"]), on, re.compile(f["pattern"]), allow, str(f["message"])))
    return Freshness(services, tuple(facts))


def _texts(item: Item) -> list[str]:
    return [item.stem, *(o.text for o in item.options), *(o.explanation for o in item.options)]


def states_fact(item: Item, fact: DatedFact) -> bool:
    """True when some text of the item names the fact and does not speak of it as past (``allow``)."""
    for text in _texts(item):
        for sentence in re.split(r"(?<=[.!?])\s+", text):
            if fact.pattern.search(sentence) and not (fact.allow and fact.allow.search(sentence)):
                return True
    return False


def freshness(items: list[Item], rules: Freshness, today: date) -> tuple[list[str], list[str]]:
    """(problems, warnings) of the freshness rules: vocabulary, dated facts, age of the last verification."""
    problems: list[str] = []
    warnings: list[str] = []
    live = [i for i in items if i.status != "retired"]
    if rules.services is not None:
        for i in live:
            unknown = sorted(set(i.services) - rules.services)
            if unknown:
                problems.append(f"{i.id} names services not in services.yaml: {', '.join(unknown)}")
    for fact in rules.facts:
        stating = [i.id for i in live if states_fact(i, fact)]
        if not stating:
            continue
        if today >= fact.on:
            problems += [f"{i} states a fact past its date ({fact.id}, {fact.on}): {fact.message}" for i in stating]
        elif (fact.on - today).days <= DATED_FACT_NOTICE_DAYS:
            warnings.append(f"{len(stating)} item(s) state {fact.id}, which changes on {fact.on}: {', '.join(stating)}")
    # Every live item names the services it relies on (the vocabulary's names), so a renamed or retired
    # service finds every item it touches (GET /admin/reports/items?service=). Backfilled 2026-12-02.
    if rules.services is not None:
        problems += [f"{i.id} lists no services (name them from services.yaml)" for i in live if not i.services]
    stale = [i.id for i in live if i.last_verified is None or (today - i.last_verified).days > VERIFY_WITHIN_DAYS]
    if stale:
        shown = ", ".join(stale[:10]) + (f" and {len(stale) - 10} more" if len(stale) > 10 else "")
        warnings.append(f"{len(stale)} item(s) not verified in the last {VERIFY_WITHIN_DAYS} days: {shown}")
    return problems, warnings


def check(
    blueprint: Blueprint, items: list[Item], rules: Freshness | None = None, today: date | None = None
) -> list[str]:
    problems = [f"near-duplicate stems: {a} ~ {b} (similarity {r})" for a, b, r in near_duplicates(items)]
    if rules is not None:
        problems += freshness(items, rules, today or date.today())[0]
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
        rules = read_freshness(exam_dir)
        problems = check(blueprint, items, rules)
        for w in freshness(items, rules, date.today())[1]:
            print(f"  WARN {w}")
        for p in problems:
            print(f"  FAIL {p}")
        failed |= bool(problems)
        if not problems:
            print(f"{blueprint.exam_id}: bank check passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
