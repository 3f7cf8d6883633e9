"""Form assembly: random within each domain, held to the blueprint and to a target test information.

Random selection alone can give one form much harder than the next. Each form's scored items are
drawn at random per domain, then single in-domain swaps (each to a random candidate) are accepted
only when they bring the form's information at the cut closer to the bank's target, until it is
within ``tolerance``. The result stays random within domains while forms stay parallel.
"""

from __future__ import annotations

import random
from collections.abc import Collection

from exam_core.bank import Bank
from exam_core.blueprint import form_plan
from exam_core.errors import DomainError
from exam_core.models.bank import FormKind, Item
from exam_core.models.records import Form, FormQuestion
from exam_core.scoring import conversion_table

DEFAULT_TOLERANCE = 0.02
MAX_SWAP_TRIES = 600


class BankTooSmall(DomainError):
    status = 503
    code = "bank_too_small"


def _sample(rng: random.Random, pool: list[Item], k: int, avoid: Collection[str]) -> list[Item]:
    """k items from pool, preferring items not in ``avoid`` (recently seen), never repeating one."""
    if not avoid:
        return rng.sample(pool, k)
    fresh = [i for i in pool if i.id not in avoid]
    if len(fresh) >= k:
        return rng.sample(fresh, k)
    stale = [i for i in pool if i.id in avoid]
    return fresh + rng.sample(stale, k - len(fresh))


def assemble(
    bank: Bank,
    kind: FormKind,
    rng: random.Random,
    *,
    avoid: Collection[str] = (),
    tolerance: float = DEFAULT_TOLERANCE,
) -> Form:
    scored: dict[str, list[Item]] = {}
    unscored: list[Item] = []
    used: set[str] = set()
    for plan in form_plan(bank.blueprint, kind):
        pool = bank.operational[plan.domain_id]
        if len(pool) < plan.scored + max(0, plan.pretest - len(bank.pretest[plan.domain_id])):
            raise BankTooSmall(
                f"the bank has too few operational items in domain {plan.domain_id} for a {kind} form",
                details=[{"domainId": plan.domain_id, "operational": len(pool), "needed": plan.scored}],
            )
        chosen = _sample(rng, pool, plan.scored, avoid)
        scored[plan.domain_id] = chosen
        used.update(i.id for i in chosen)
        if plan.pretest:
            pre_pool = bank.pretest[plan.domain_id]
            pre = _sample(rng, pre_pool, min(plan.pretest, len(pre_pool)), avoid)
            if len(pre) < plan.pretest:  # too few pretest items: operational items fill the unscored slots
                spare = [i for i in pool if i.id not in used]
                pre += _sample(rng, spare, plan.pretest - len(pre), avoid)
            unscored += pre
            used.update(i.id for i in pre)

    _hold_information(bank, kind, rng, scored, used, tolerance, frozenset(avoid))

    entries = [(item, True) for items in scored.values() for item in items] + [(i, False) for i in unscored]
    rng.shuffle(entries)
    question_ids: set[str] = set()
    questions = [_question(item, is_scored, rng, question_ids) for item, is_scored in entries]
    table = conversion_table([item.b for item, s in entries if s], bank.blueprint.scale)
    return Form(kind=kind, questions=questions, table=table)


def _hold_information(
    bank: Bank,
    kind: FormKind,
    rng: random.Random,
    scored: dict[str, list[Item]],
    used: set[str],
    tolerance: float,
    avoid: frozenset[str] = frozenset(),
) -> None:
    target = bank.target_info.get(kind, 0.0)
    if target <= 0:
        return
    info = bank.info_at_cut
    current = sum(info[i.id] for items in scored.values() for i in items)
    domains = [d for d, items in scored.items() if items]
    weights = [len(scored[d]) for d in domains]
    for _ in range(MAX_SWAP_TRIES):
        gap = current - target
        if abs(gap) <= tolerance * target:
            return
        domain = rng.choices(domains, weights)[0]
        slot = rng.randrange(len(scored[domain]))
        out = scored[domain][slot]
        candidate = rng.choice(bank.operational[domain])
        if candidate.id in used or candidate.id in avoid:  # never swap a recently seen item back in
            continue
        new_gap = gap - info[out.id] + info[candidate.id]
        if abs(new_gap) < abs(gap):
            scored[domain][slot] = candidate
            used.discard(out.id)
            used.add(candidate.id)
            current += new_gap - gap


def practice_form(items: list[Item], rng: random.Random) -> Form:
    """An untimed practice set of the given items: every one counts toward a percent, no scale table."""
    order = list(items)
    rng.shuffle(order)
    seen: set[str] = set()
    return Form(kind="practice", questions=[_question(item, True, rng, seen) for item in order], table=[])


def _question(item: Item, scored: bool, rng: random.Random, taken: set[str]) -> FormQuestion:
    """A served question: an opaque id unique in the form, and the item's options in a shuffled order."""
    order = [o.id for o in item.options]
    shape = f"{len(order):x}{item.select_count:x}"  # see records.question_shape
    qid = f"q{rng.getrandbits(32):08x}{shape}"
    while qid in taken:
        qid = f"q{rng.getrandbits(32):08x}{shape}"
    taken.add(qid)
    rng.shuffle(order)
    return FormQuestion(qid, item.id, "".join(order), scored)
