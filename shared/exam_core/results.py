"""From a form and its saved responses to a result: raw score, scaled score, domains, study plan."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from exam_core.bank import Bank
from exam_core.blueprint import largest_remainder
from exam_core.models.api import (
    DomainResult,
    PracticeResult,
    Result,
    ScoreBand,
    ScoredCount,
    StudyPlanEntry,
    StudyTask,
    TaskResult,
)
from exam_core.models.bank import Item
from exam_core.models.records import Form, FormQuestion, StoredResponse
from exam_core.scoring import expected_percent

# Study-time multiplier for a domain rated "needs improvement", before the deficit adds to it.
NEEDS_IMPROVEMENT_BOOST = 1.5


def is_correct(question: FormQuestion, item: Item, response: StoredResponse | None) -> bool:
    """All or nothing: the selected set must equal the key (multiple response has no partial credit)."""
    if response is None or not response.selected:
        return False
    return set(question.to_original(response.selected)) == set(item.key)


@dataclass(frozen=True, slots=True)
class Graded:
    question: FormQuestion
    item: Item
    domain_id: str
    correct: bool


def grade(bank: Bank, form: Form, responses: Mapping[str, StoredResponse]) -> list[Graded]:
    out = []
    for q in form.questions:
        item = bank.items[q.item_id]
        out.append(Graded(q, item, bank.domain_of_item[q.item_id], is_correct(q, item, responses.get(q.question_id))))
    return out


def build_result(
    bank: Bank,
    form: Form,
    responses: Mapping[str, StoredResponse],
    *,
    attempt_id: str,
    exam_id: str,
    mode: str,
    submitted_at: int,
    timed_out: bool,
    study_hours: float,
    graded: list[Graded] | None = None,
) -> Result:
    graded = graded if graded is not None else grade(bank, form, responses)
    scored = [g for g in graded if g.question.scored]
    raw = sum(g.correct for g in scored)
    row = form.table[raw]
    scale = bank.blueprint.scale
    cut = scale.theta_cut

    domains: list[DomainResult] = []
    for d in bank.blueprint.domains:
        mine = [g for g in scored if g.domain_id == d.id]
        correct = sum(g.correct for g in mine)
        percent = round(100.0 * correct / len(mine), 1) if mine else 0.0
        expected = round(expected_percent(cut, [g.item.b for g in mine]), 1) if mine else 0.0
        domains.append(
            DomainResult(
                domain_id=d.id,
                name=d.name,
                weight=d.weight,
                correct=correct,
                total=len(mine),
                percent=percent,
                expected_percent_at_cut=expected,
                rating="meets" if percent >= expected else "needs_improvement",
            )
        )
    weakest = weakest_domain(domains)
    plan = study_plan(bank, domains, scored, study_hours)
    return Result(
        attempt_id=attempt_id,
        exam_id=exam_id,
        mode=mode,
        submitted_at=datetime.fromtimestamp(submitted_at, UTC),
        timed_out=timed_out,
        scaled_score=row.scaled,
        passed=row.scaled >= scale.passing,
        passing_score=scale.passing,
        scale_min=scale.min,
        scale_max=scale.max,
        score_band=ScoreBand(low=row.band_low, high=row.band_high),
        pass_probability=row.pass_probability,
        scored=ScoredCount(correct=raw, total=len(scored)),
        answered=sum(1 for q in form.questions if responses.get(q.question_id) and responses[q.question_id].selected),
        domains=domains,
        weakest_domain=weakest,
        study_plan=plan,
        note=precision_note(len(scored), row.band_low, row.band_high, None if mode == "full" else full_form_band(bank)),
    )


SHORT_FORM_ITEMS = 30


def full_form_band(bank: Bank) -> tuple[int, int]:
    """This exam's full form: its question count, and its band's width at the cut to the nearest 10 points
    (two posterior SDs, 2 x slope / sqrt(1 + information): the N(0, 1) prior counts as one unit)."""
    spec, scale = bank.blueprint.forms["full"], bank.blueprint.scale
    width = 2 * scale.slope / math.sqrt(1.0 + bank.target_info.get("full", 0.0))
    return spec.scored + spec.pretest, int(round(width, -1))


def precision_note(scored_items: int, low: int, high: int, full: tuple[int, int] | None = None) -> str | None:
    """Say plainly how wide the band is when a form is too short for a precise score, and, on a shorter
    form than the exam's full one, how much its full form (``full``: questions, band width) narrows it."""
    if scored_items >= SHORT_FORM_ITEMS:
        return None
    note = (
        f"Based on {scored_items} scored questions this is a rough estimate: your score is likely between "
        f"{low} and {high} (a band of {high - low} points)."
    )
    if full is not None:
        note += f" A full {full[0]}-question practice exam narrows it to about {full[1]} points."
    return note


def weakest_domain(domains: list[DomainResult]) -> str:
    """The domain furthest below the borderline expectation; ties go to the heavier domain."""
    scored = [d for d in domains if d.total]
    best = max(scored or domains, key=lambda d: (round(d.expected_percent_at_cut - d.percent, 6), d.weight))
    return best.domain_id


def study_plan(
    bank: Bank, domains: list[DomainResult], scored: list[Graded], total_hours: float
) -> list[StudyPlanEntry]:
    """Split study time by domain weight, raised for domains below the borderline expectation.

    A domain's raw share is weight x (1.5 if it needs improvement, else 1) x (1 + deficit/100), where
    deficit is how many percentage points it falls short of the borderline expectation. Within a
    domain, the task statements of missed scored items come first, most missed first.
    """
    raw: dict[str, float] = {}
    for r in domains:
        deficit = max(0.0, r.expected_percent_at_cut - r.percent)
        boost = NEEDS_IMPROVEMENT_BOOST if r.rating == "needs_improvement" else 1.0
        raw[r.domain_id] = r.weight * boost * (1.0 + deficit / 100.0)
    total = sum(raw.values())
    # Hours in half-hour steps that add up to the budget exactly (largest remainders, like the blueprint).
    halves = largest_remainder([raw[d.id] for d in bank.blueprint.domains], round(total_hours * 2))
    texts = bank.blueprint.task_text()
    missed = Counter(g.item.task for g in scored if not g.correct)
    plan: list[StudyPlanEntry] = []
    for d, half_hours in zip(bank.blueprint.domains, halves, strict=True):
        share = raw[d.id] / total
        tasks = sorted((t for t in d.task_statements if missed[t.id]), key=lambda t: (-missed[t.id], t.id))
        plan.append(
            StudyPlanEntry(
                domain_id=d.id,
                name=d.name,
                share=round(share, 4),
                hours=half_hours / 2,
                task_statements=[StudyTask(id=t.id, text=texts[t.id], missed=missed[t.id]) for t in tasks],
            )
        )
    plan.sort(key=lambda e: -e.share)
    return plan


def build_practice_result(
    bank: Bank,
    form: Form,
    responses: Mapping[str, StoredResponse],
    *,
    attempt_id: str,
    exam_id: str,
    mode: str,
    submitted_at: int,
    graded: list[Graded] | None = None,
) -> PracticeResult:
    graded = graded if graded is not None else grade(bank, form, responses)
    texts = bank.blueprint.task_text()
    tasks: dict[str, list[bool]] = {}
    for g in graded:
        tasks.setdefault(g.item.task, []).append(g.correct)
    correct = sum(g.correct for g in graded)
    return PracticeResult(
        attempt_id=attempt_id,
        exam_id=exam_id,
        mode=mode,
        submitted_at=datetime.fromtimestamp(submitted_at, UTC),
        correct=correct,
        total=len(graded),
        percent=round(100.0 * correct / len(graded), 1) if graded else 0.0,
        task_statements=[
            TaskResult(id=t, text=texts[t], correct=sum(v), total=len(v), percent=round(100.0 * sum(v) / len(v), 1))
            for t, v in sorted(tasks.items())
        ],
    )
