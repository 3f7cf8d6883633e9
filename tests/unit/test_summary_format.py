"""The stored attempt summary (META's ``sum``), pinned as bytes: today's writer produces them, today's readers
read every field of them. A refactor of how summaries are typed must keep both tests passing unchanged.

The summary is what the indexes project (byCandidate, byPartner): history, readiness, progress, practice
sets and partner summaries read it, never the result. Its keys are short on purpose:
``s`` scaled score, ``p`` passed (0/1), ``w`` weakest domain, ``c`` [correct, total] of the scored items,
``d`` {domain: [percent, needs improvement, expected percent at the cut]}, ``i`` one row per served item
[item id, correct 0/1, flagged 0/1, scored 0/1, b]; a practice set stores ``pct`` and ``i`` only.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

import pytest
from exam_core.attempts import AttemptService, candidate_access
from exam_core.bank_cache import BankCache
from exam_core.candidates import CandidateService
from exam_core.errors import Conflict
from exam_core.models.api import DomainRating, ResponseIn
from exam_core.models.records import AttemptMeta, Completion, Form, IndexedAttempt
from exam_core.partners import summarize_partner
from exam_core.scoring import pooled_estimate
from exam_core.settings import Settings

from tests.fakes import InMemoryStore
from tests.unit.helpers import TINY_BLUEPRINT, raw_item

EXAM = "tiny"
T0 = 1_700_000_000

# One row per served item, as the writer emits it.
ROWS = {
    "beta-1": b'["beta-1",0,1,1,0.5]',
    "alpha-p": b'["alpha-p",0,1,0,0.0]',
    "alpha-1": b'["alpha-1",1,0,1,-0.5]',
    "alpha-2": b'["alpha-2",1,0,1,0.25]',
    "beta-p": b'["beta-p",0,0,0,-1.0]',
    "beta-2": b'["beta-2",0,0,1,1.125]',
}
HEAD = b'{"s":716,"p":1,"w":"beta","c":[2,4],"d":{"alpha":[100.0,false,53.0],"beta":[0.0,true,31.1]},"i":['
# A full attempt's summary as today's code stores it (the rows in that attempt's serving order).
PINNED = HEAD + b",".join(ROWS[i] for i in ("beta-1", "alpha-p", "alpha-1", "alpha-2", "beta-p", "beta-2")) + b"]}"
PINNED_PRACTICE = b'{"pct":50.0,"i":[["alpha-1",1,0,1,-0.5],["alpha-2",0,1,1,0.25]]}'

# How the attempt behind PINNED was answered: item -> (right? None for blank, flagged?)
PLAN = {
    "alpha-1": (True, False),
    "alpha-2": (True, False),
    "beta-1": (False, True),
    "beta-2": (False, False),
    "alpha-p": (False, True),
    "beta-p": (None, False),
}


def _store() -> InMemoryStore:
    store = InMemoryStore()
    items = [
        raw_item("alpha-1", "1.1", b=-0.5),
        raw_item("alpha-2", "1.1", b=0.25),
        raw_item("alpha-p", "1.1", status="pretest", b=0.0),
        raw_item("beta-1", "2.1", b=0.5),
        raw_item("beta-2", "2.1", b=1.125),
        raw_item("beta-p", "2.1", status="pretest", b=-1.0),
    ]
    store.put_bank(EXAM, TINY_BLUEPRINT, items)
    return store


def _services(store: InMemoryStore, **settings: object) -> tuple[AttemptService, CandidateService]:
    attempts = AttemptService(
        store,
        BankCache(store),
        Settings(exam_ids=EXAM, **settings),  # type: ignore[arg-type]
        clock=lambda: T0,
        rng_factory=lambda: random.Random(1),
    )
    return attempts, CandidateService(store, attempts)


def _wrong(key: list[str]) -> list[str]:
    return [x for x in "abcd" if x not in key][:1]


# ---------------------------------------------------------------- today's writer


def test_given_todays_code_when_a_full_attempt_is_submitted_then_it_stores_exactly_the_pinned_bytes() -> None:
    # Given the tiny bank (every item is served) and an attempt answered as PLAN says
    store = _store()
    attempts, _ = _services(store)
    created = attempts.start(EXAM, "full")
    rec = store.load_attempt(created.attempt_id)
    assert rec is not None
    responses = []
    for q in rec.form.questions:
        right, flagged = PLAN[q.item_id]
        key = q.to_served(["a"])
        selected = [] if right is None else key if right else _wrong(key)
        responses.append(ResponseIn(question_id=q.question_id, selected=selected, flagged=flagged))
    # When it is submitted
    attempts.submit(created.attempt_id, created.attempt_token, responses)
    # Then the stored summary is byte for byte the pinned one (rows in this attempt's serving order)
    stored = store.attempts[created.attempt_id].meta.summary_json
    assert stored is not None
    expected = HEAD + b",".join(ROWS[q.item_id] for q in rec.form.questions) + b"]}"
    assert stored.encode() == expected


def test_given_todays_code_when_a_practice_set_is_submitted_then_it_stores_exactly_the_pinned_bytes() -> None:
    store = _store()
    attempts, candidates = _services(store)
    created = candidates.start("cand-1", EXAM, "domain", "alpha", 5)
    rec = store.load_attempt(created.attempt_id)
    assert rec is not None and [q.item_id for q in rec.form.questions] == ["alpha-1", "alpha-2"]
    responses = [
        ResponseIn(
            question_id=q.question_id,
            selected=q.to_served(["a"]) if q.item_id == "alpha-1" else _wrong(q.to_served(["a"])),
            flagged=q.item_id == "alpha-2",
        )
        for q in rec.form.questions
    ]
    attempts.submit(created.attempt_id, None, responses, candidate_access("cand-1"))
    assert (store.attempts[created.attempt_id].meta.summary_json or "").encode() == PINNED_PRACTICE


# ---------------------------------------------------------------- today's readers


def _stored(store: InMemoryStore, n: int, mode: str, summary: bytes, candidate: str | None = "cand-1") -> str:
    """An attempt whose META carries ``summary`` as its ``sum`` attribute, as a submission leaves it."""
    attempt_id = f"{n:032x}"
    meta = AttemptMeta(attempt_id, EXAM, mode, "in_progress", "th", T0 + n, None, None, 1, candidate_id=candidate)
    store.create_attempt(meta, Form(mode, [], []))
    store.finish_attempt(attempt_id, 0, Completion(T0 + n + 60, False, "{}", summary.decode()))
    return attempt_id


def test_given_the_pinned_summary_when_history_reads_it_then_every_field_is_as_written() -> None:
    store = _store()
    _, candidates = _services(store)
    full = _stored(store, 1, "full", PINNED)
    practice = _stored(store, 2, "domain", PINNED_PRACTICE)
    newest, oldest = candidates.history("cand-1", 10, None).attempts
    assert newest.attempt_id == practice and newest.mode == "domain" and newest.status == "submitted"
    assert (newest.scaled_score, newest.passed, newest.weakest_domain, newest.percent) == (None, None, None, 50.0)
    assert newest.domains == []
    assert oldest.attempt_id == full and oldest.exam_id == EXAM and oldest.mode == "full"
    assert oldest.started_at == datetime.fromtimestamp(T0 + 1, UTC) and oldest.status == "submitted"
    assert (oldest.scaled_score, oldest.passed, oldest.weakest_domain, oldest.percent) == (716, True, "beta", None)
    assert oldest.domains == [
        DomainRating(domain_id="alpha", percent=100.0, rating="meets"),
        DomainRating(domain_id="beta", percent=0.0, rating="needs_improvement"),
    ]


def test_given_the_pinned_summary_when_readiness_and_progress_read_it_then_every_field_counts() -> None:
    store = _store()
    _, candidates = _services(store, readiness_attempts=1, readiness_score=700)
    attempt_id = _stored(store, 1, "full", PINNED)
    # readiness: s and p, c (overall 50%) against d's percents, i's scored rows (b, correct) pooled
    verdict = candidates.readiness("cand-1", EXAM)
    assert verdict.ready is False
    assert verdict.reasons == ["Beta was more than 15 points below your overall percent in 1 of those attempts."]
    (point,) = verdict.attempts_considered
    assert (point.attempt_id, point.scaled_score, point.passed) == (attempt_id, 716, True)
    assert verdict.pooled is not None and verdict.pooled.items == 4
    row = pooled_estimate(
        [(0.5, False), (-0.5, True), (0.25, True), (1.125, False)], candidates.attempts.bank_for(EXAM).blueprint.scale
    )
    assert verdict.pooled.scaled_score == row.scaled
    # next step: d's expected percent at the cut (deficit 31.1 vs -47.0), i's missed scored rows by task
    step = verdict.next_step
    assert step is not None and step.domain_id == "beta" and step.more_attempts_needed == 0
    assert [(t.id, t.missed) for t in step.task_statements] == [("2.1", 2)]
    # progress: d's percent and expected percent per domain, i's item ids for items seen
    progress = candidates.progress("cand-1", EXAM)
    assert [(t.domain_id, [(p.percent, p.expected_percent_at_cut) for p in t.points]) for t in progress.domains] == [
        ("alpha", [(100.0, 53.0)]),
        ("beta", [(0.0, 31.1)]),
    ]
    assert progress.items_seen == 6


def test_given_the_pinned_summary_when_a_missed_set_reads_it_then_wrong_or_flagged_items_are_drawn() -> None:
    store = _store()
    _, candidates = _services(store)
    _stored(store, 1, "full", PINNED)
    created = candidates.start("cand-1", EXAM, "missed", None, 10)
    rec = store.load_attempt(created.attempt_id)
    assert rec is not None
    assert sorted(q.item_id for q in rec.form.questions) == ["alpha-p", "beta-1", "beta-2", "beta-p"]
    with pytest.raises(Conflict):
        candidates.start("cand-1", EXAM, "unseen", None, 10)  # i names every item: none is unseen


def test_given_the_pinned_summary_when_a_partner_summary_reads_it_then_score_pass_weakest_and_domains_count() -> None:
    store = _store()
    attempts, _ = _services(store)
    record = IndexedAttempt(f"{1:032x}", EXAM, "diagnostic", "submitted", T0, PINNED.decode())
    day = date(2023, 11, 14)
    summary = summarize_partner(attempts.bank_for(EXAM), "p-1", [record], day, day, False)
    assert (summary.started, summary.submitted, summary.mean_scaled_score, summary.pass_rate) == (1, 1, 716.0, 1.0)
    assert [(b.low, b.count) for b in summary.score_distribution if b.count] == [(700, 1)]
    assert [(w.domain_id, w.count, w.share) for w in summary.weakest_domains] == [("alpha", 0, 0.0), ("beta", 1, 1.0)]
    assert [(d.domain_id, d.mean_percent, d.needs_improvement_rate) for d in summary.domains] == [
        ("alpha", 100.0, 0.0),
        ("beta", 0.0, 1.0),
    ]
