"""The adaptive diagnostic: ten scored questions in two stages (4 + 6) chosen by information at the provisional EAP.

Stage 1 is chosen at the prior mean (the provisional estimate before any answer); once its answers are in,
stage 2 is chosen at the provisional EAP of those answers. Each stage keeps its share of the blueprint's
domain split (for CLF-C02 the diagnostic's 2 / 3 / 4 / 1 becomes 1 / 1 / 2 / 0 then 1 / 2 / 2 / 1), so a
finished diagnostic has exactly the fixed form's split.

Within a domain, the Rasch information of an item at theta, P(1 - P), falls as |b - theta| grows, so the most
informative items are the nearest in difficulty. Exposure control is randomesque: a stage's n items of a domain
are drawn at random from the ceil(n / EXPOSURE_SHARE) most informative unused ones, so no item is served to more
than about EXPOSURE_SHARE of the candidates who share a provisional estimate (everyone shares it in stage 1).

Plain Python (no numpy): it runs on the request path. Scoring after the last stage is the same as a fixed
diagnostic's: the conversion table of the ten served items (EAP for forms under 30 items).
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from exam_core.assembly import _question as make_question
from exam_core.bank import Bank
from exam_core.blueprint import form_plan, largest_remainder
from exam_core.errors import DomainError
from exam_core.models.bank import Blueprint, Item
from exam_core.models.records import Form, FormQuestion
from exam_core.scoring import ScoreRow, conversion_table, pooled_estimate

STAGES: tuple[int, ...] = (4, 6)
# Randomesque pool: n items come from the ceil(n / share) best, so a stage-1 item reaches about 1/5 of candidates.
EXPOSURE_SHARE = 0.2


class AdaptiveBankTooSmall(DomainError):
    status = 503
    code = "bank_too_small"


@dataclass(frozen=True, slots=True)
class StagePlan:
    """Items per domain in each stage (domain id -> count, in blueprint order)."""

    stages: tuple[Mapping[str, int], ...]

    @property
    def total(self) -> int:
        return sum(sum(s.values()) for s in self.stages)


def stage_plan(blueprint: Blueprint, sizes: Sequence[int] = STAGES) -> StagePlan:
    """Split the diagnostic's per-domain counts over stages of the given sizes.

    Each stage but the last takes its size from what is left, by largest remainder on the counts left, so
    every stage is as close to the blueprint's proportions as whole items allow and the stages add up to the
    diagnostic's split exactly.
    """
    left = {p.domain_id: p.scored for p in form_plan(blueprint, "diagnostic")}
    if any(s < 1 for s in sizes) or sum(sizes) != sum(left.values()):
        raise ValueError(f"stage sizes {list(sizes)} must be positive and add up to {sum(left.values())}")
    stages: list[Mapping[str, int]] = []
    for size in sizes[:-1]:
        ids = list(left)
        seats = largest_remainder([float(left[d]) for d in ids], size)
        stages.append(dict(zip(ids, seats, strict=True)))
        for d, n in zip(ids, seats, strict=True):
            left[d] -= n
    stages.append(dict(left))
    return StagePlan(tuple(stages))


def information(theta: float, b: float) -> float:
    """Fisher information of a Rasch item of difficulty b at ability theta: P(1 - P)."""
    p = 1.0 / (1.0 + math.exp(b - theta))
    return p * (1.0 - p)


def pool_size(n: int) -> int:
    return max(n, math.ceil(n / EXPOSURE_SHARE - 1e-9))


def select_stage(
    bank: Bank,
    counts: Mapping[str, int],
    theta: float,
    rng: random.Random,
    exclude: Collection[str] = (),
) -> list[Item]:
    """For each domain, ``counts[domain]`` items at random among the most informative at ``theta``."""
    chosen: list[Item] = []
    for domain_id, n in counts.items():
        if n <= 0:
            continue
        pool = [i for i in bank.operational.get(domain_id, []) if i.id not in exclude]
        if len(pool) < n:
            raise AdaptiveBankTooSmall(
                f"the bank has too few operational items in domain {domain_id} for an adaptive stage",
                details=[{"domainId": domain_id, "operational": len(pool), "needed": n}],
            )
        # Highest information first: under Rasch that is the smallest |b - theta| (ties broken by id).
        best = heapq.nsmallest(pool_size(n), pool, key=lambda i: (abs(i.b - theta), i.id))
        chosen += rng.sample(best, n)
    return chosen


def provisional(answered: Sequence[tuple[float, bool]], bank: Bank) -> ScoreRow:
    """The EAP estimate (N(0, 1) prior) from the answers so far: (difficulty, correct) pairs."""
    return pooled_estimate(answered, bank.blueprint.scale)


def first_stage(bank: Bank, rng: random.Random, plan: StagePlan | None = None) -> list[Item]:
    plan = plan or stage_plan(bank.blueprint)
    return select_stage(bank, plan.stages[0], provisional([], bank).theta, rng)


def next_stage(
    bank: Bank,
    answered: Sequence[tuple[Item, bool]],
    rng: random.Random,
    plan: StagePlan | None = None,
) -> list[Item]:
    """The next stage after ``answered`` (every item served so far, with whether it was answered correctly).

    The stage is found from how many items were served: after stage 1's 4, stage 2. Empty when all are served.
    """
    plan = plan or stage_plan(bank.blueprint)
    served = 0
    for stage in plan.stages:
        if served == len(answered):
            theta = provisional([(item.b, correct) for item, correct in answered], bank).theta
            return select_stage(bank, stage, theta, rng, exclude={item.id for item, _ in answered})
        served += sum(stage.values())
    if served != len(answered):
        raise ValueError(
            f"{len(answered)} items served does not end a stage of {[sum(s.values()) for s in plan.stages]}"
        )
    return []


# ---------------------------------------------------------------- served forms (the API's adaptive diagnostic)

ADAPTIVE_KIND = "adaptive"  # Form.kind of a staged diagnostic; its table is empty until the last stage is served


def stage_ends(plan: StagePlan) -> list[int]:
    """How many questions are served once each stage is: [4, 10] for 4 + 6."""
    ends, total = [], 0
    for stage in plan.stages:
        total += sum(stage.values())
        ends.append(total)
    return ends


def served_stages(form: Form, plan: StagePlan) -> int:
    """How many stages ``form`` has served (its question count is always a stage end)."""
    ends = stage_ends(plan)
    if len(form.questions) not in ends:
        raise ValueError(f"an adaptive form of {len(form.questions)} questions does not end a stage of {ends}")
    return ends.index(len(form.questions)) + 1


def current_stage_ids(form: Form, plan: StagePlan) -> set[str]:
    """The question ids of the stage served last: the ones a call for the next stage answers."""
    ends = [0, *stage_ends(plan)]
    done = served_stages(form, plan)
    return {q.question_id for q in form.questions[ends[done - 1] : ends[done]]}


def _served(items: Sequence[Item], rng: random.Random, taken: set[str]) -> list[FormQuestion]:
    # Opaque question ids and shuffled options exactly as a fixed form's (assembly's own helper).
    return [make_question(item, True, rng, taken) for item in items]


def first_form(bank: Bank, rng: random.Random, plan: StagePlan | None = None) -> Form:
    """A new adaptive diagnostic: stage 1 served, no conversion table yet."""
    plan = plan or stage_plan(bank.blueprint)
    return Form(kind=ADAPTIVE_KIND, questions=_served(first_stage(bank, rng, plan), rng, set()), table=[])


def extend(bank: Bank, form: Form, correct: Sequence[bool], rng: random.Random, plan: StagePlan | None = None) -> Form:
    """``form`` with the next stage added, chosen from ``correct`` (one per served question, in order).

    Once the last stage is in, the form gets the conversion table of all its items, as a fixed form has.
    """
    plan = plan or stage_plan(bank.blueprint)
    items = [bank.items[q.item_id] for q in form.questions]
    if len(correct) != len(items):
        raise ValueError(f"{len(correct)} answers for {len(items)} served questions")
    new = next_stage(bank, list(zip(items, correct, strict=True)), rng, plan)
    if not new:
        raise ValueError("every stage has been served")
    questions = form.questions + _served(new, rng, {q.question_id for q in form.questions})
    complete = len(questions) == plan.total
    table = final_table(bank, [bank.items[q.item_id] for q in questions]) if complete else []
    return Form(kind=ADAPTIVE_KIND, questions=questions, table=table)


def final_table(bank: Bank, items: Sequence[Item]) -> list[ScoreRow]:
    """The served items' conversion table: the result is read from it by raw score, as on a fixed form."""
    return conversion_table([i.b for i in items], bank.blueprint.scale)


AnswerFn = Callable[[Item], bool]


@dataclass(frozen=True, slots=True)
class Diagnosed:
    """A finished diagnostic: the items in the order served, the answers, and the result row."""

    items: list[Item]
    correct: list[bool]
    row: ScoreRow


def run_diagnostic(bank: Bank, answer: AnswerFn, rng: random.Random, plan: StagePlan | None = None) -> Diagnosed:
    """A whole adaptive diagnostic with ``answer(item) -> correct`` standing in for the candidate."""
    plan = plan or stage_plan(bank.blueprint)
    answered: list[tuple[Item, bool]] = []
    stage = first_stage(bank, rng, plan)
    while stage:
        answered += [(item, answer(item)) for item in stage]
        stage = next_stage(bank, answered, rng, plan)
    items = [item for item, _ in answered]
    table = final_table(bank, items)
    return Diagnosed(items, [c for _, c in answered], table[sum(c for _, c in answered)])
