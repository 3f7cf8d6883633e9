"""CandidateService over the in-memory store and the real CLF-C02 bank, with a fake clock.

The fake's history paging, page tokens and claim rule are the store's (pinned in tests/contract).
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable

import pytest
from exam_core.attempts import AttemptService, candidate_access
from exam_core.bank_cache import BankCache
from exam_core.candidates import PAGE_MAX, CandidateService
from exam_core.errors import Conflict, Forbidden, InvalidInput
from exam_core.models.api import AttemptCreated, ResponseIn
from exam_core.models.bank import Blueprint, Item
from exam_core.models.records import FormQuestion
from exam_core.settings import Settings

from tests.fakes import InMemoryStore

EXAM = "clf-c02"
T0 = 1_700_000_000
BILLING = "billing-pricing-and-support"


class Clock:
    def __init__(self) -> None:
        self.now = float(T0)

    def __call__(self) -> float:
        return self.now


class World:
    """The candidate service and the attempt service it uses, on one fake store and clock."""

    def __init__(self, bank_files: tuple[Blueprint, list[Item]]) -> None:
        blueprint, items = bank_files
        self.store = InMemoryStore()
        self.store.put_bank(
            EXAM,
            blueprint.model_dump(mode="json", by_alias=True),
            [i.model_dump(mode="json", by_alias=True, exclude_none=True) for i in items],
        )
        self.clock = Clock()
        seeds = itertools.count(1)
        settings = Settings(exam_ids=EXAM, submit_grace_seconds=30, duration_override_seconds=None)
        self.attempts = AttemptService(
            self.store,
            BankCache(self.store),
            settings,
            clock=self.clock,
            rng_factory=lambda: random.Random(next(seeds)),
        )
        self.candidates = CandidateService(self.store, self.attempts)

    def tick(self, seconds: int = 1000) -> None:
        self.clock.now += seconds

    def questions(self, attempt_id: str) -> list[FormQuestion]:
        rec = self.store.load_attempt(attempt_id)
        assert rec is not None
        return rec.form.questions

    def answers(self, attempt_id: str, right: Callable[[FormQuestion], bool]) -> list[ResponseIn]:
        """An answer to every question: the key where ``right(question)``, else a wrong option set."""
        bank = self.attempts.bank_for(EXAM)
        out = []
        for q in self.questions(attempt_id):
            key = q.to_served(list(bank.items[q.item_id].key))
            if not right(q):
                wrong = [chr(ord("a") + i) for i in range(len(q.order)) if chr(ord("a") + i) not in key]
                key = sorted([*key[1:], wrong[0]])
            out.append(ResponseIn(question_id=q.question_id, selected=key, flagged=False))
        return out

    def full(self, candidate: str, right: Callable[[FormQuestion], bool] | None = None) -> AttemptCreated:
        """A full timed attempt of ``candidate``, submitted at once unless ``right`` is None."""
        self.tick()
        created = self.candidates.start(candidate, EXAM, "full")
        if right is not None:
            self.attempts.submit(
                created.attempt_id, None, self.answers(created.attempt_id, right), candidate_access(candidate)
            )
        return created

    def in_domain(self, domain_id: str) -> Callable[[FormQuestion], bool]:
        bank = self.attempts.bank_for(EXAM)
        return lambda q: bank.domain_of_item[q.item_id] == domain_id


def everything(_: FormQuestion) -> bool:
    return True


def nothing(_: FormQuestion) -> bool:
    return False


@pytest.fixture
def world(bank_files: tuple[Blueprint, list[Item]]) -> World:
    return World(bank_files)


# ---------------------------------------------------------------- history


def test_given_three_attempts_when_paging_history_by_two_then_newest_first_across_pages(world: World) -> None:
    # Given three attempts of cand-1 (two submitted) and one of cand-2
    first = world.full("cand-1", everything)
    second = world.full("cand-1", nothing)
    third = world.full("cand-1")  # still in progress
    world.full("cand-2", everything)
    # When cand-1 reads the history two at a time
    page1 = world.candidates.history("cand-1", 2, None)
    assert page1.next_token is not None
    page2 = world.candidates.history("cand-1", 2, page1.next_token)
    # Then the attempts come newest first, each once, with what the summary says
    assert [e.attempt_id for e in page1.attempts] == [third.attempt_id, second.attempt_id]
    assert [e.attempt_id for e in page2.attempts] == [first.attempt_id]
    assert page2.next_token is None
    newest, failed = page1.attempts
    assert newest.status == "in_progress" and newest.scaled_score is None and newest.passed is None
    assert failed.status == "submitted" and failed.passed is False and failed.scaled_score is not None
    assert failed.weakest_domain is not None and len(failed.domains) == 4
    best = page2.attempts[0]
    assert best.passed is True and {d.rating for d in best.domains} == {"meets"}


def test_given_a_status_filter_when_reading_history_then_only_that_status_is_listed(world: World) -> None:
    world.full("cand-1", everything)
    open_one = world.full("cand-1")
    resumable = world.candidates.history("cand-1", 10, None, "in_progress")
    assert [e.attempt_id for e in resumable.attempts] == [open_one.attempt_id]
    assert all(e.status == "submitted" for e in world.candidates.history("cand-1", 10, None, "submitted").attempts)


@pytest.mark.parametrize(
    "token",
    [
        "not base64 at all!",
        "eyJwayI6IHsiUyI6ICJ4In19",  # {"pk": {"S": "x"}}: not a key this API gives out
        "bnVsbA==",  # null
    ],
)
def test_given_a_forged_next_token_when_reading_history_then_a_422(world: World, token: str) -> None:
    with pytest.raises(InvalidInput) as info:
        world.candidates.history("cand-1", 10, token)
    assert info.value.code == "invalid_next_token"


def test_given_another_candidates_token_when_reading_history_then_a_422(world: World) -> None:
    world.full("cand-1")
    world.full("cand-1")
    token = world.candidates.history("cand-1", 1, None).next_token
    with pytest.raises(InvalidInput):
        world.candidates.history("cand-2", 1, token)


def test_given_a_huge_limit_when_reading_history_then_the_page_is_capped(world: World) -> None:
    calls: list[int] = []
    original = world.store.candidate_attempts

    def spy(candidate_id: str, limit: int, after: str | None, status: str | None = None):  # type: ignore[no-untyped-def]
        calls.append(limit)
        return original(candidate_id, limit, after, status)

    world.store.candidate_attempts = spy  # type: ignore[method-assign]
    world.candidates.history("cand-1", 10_000, None)
    assert calls == [PAGE_MAX]


# ---------------------------------------------------------------- readiness


def test_given_too_few_full_attempts_when_asking_readiness_then_not_ready_and_how_many_more(world: World) -> None:
    # Given two strong full attempts (readiness looks at the last five)
    for _ in range(2):
        world.full("cand-1", everything)
    # When readiness is asked
    verdict = world.candidates.readiness("cand-1", EXAM)
    # Then it is not ready, says why, and asks for three more
    assert verdict.ready is False
    assert verdict.reasons[0] == "You have 2 full timed attempt(s); readiness looks at your last 5."
    assert len(verdict.attempts_considered) == 2
    assert verdict.next_step is not None and verdict.next_step.more_attempts_needed == 3
    assert verdict.rule == {"attempts": 5, "minScore": 750, "maxDomainGap": 15.0}


def test_given_a_domain_far_behind_when_asking_readiness_then_not_ready_and_that_domain_is_next(world: World) -> None:
    # Given five full attempts, right everywhere except billing, pricing and support
    for _ in range(5):
        world.full("cand-1", lambda q: not world.in_domain(BILLING)(q))
    # When readiness is asked
    verdict = world.candidates.readiness("cand-1", EXAM)
    # Then the scores are high enough but the lagging domain keeps it from ready, and is the next step
    assert verdict.ready is False
    assert all(p.scaled_score >= 750 for p in verdict.attempts_considered)
    assert any("Billing" in r and "5 of those attempts" in r for r in verdict.reasons)
    assert verdict.next_step is not None and verdict.next_step.domain_id == BILLING
    assert verdict.next_step.task_statements[0].missed > 0


def test_given_low_scores_when_asking_readiness_then_the_reason_counts_them(world: World) -> None:
    for _ in range(5):
        world.full("cand-1", nothing)
    verdict = world.candidates.readiness("cand-1", EXAM)
    assert verdict.ready is False
    assert "5 of your last 5 full attempts scored below 750." in verdict.reasons
    assert verdict.next_step is not None and verdict.next_step.more_attempts_needed == 5


def test_given_five_strong_attempts_when_asking_readiness_then_ready_with_a_pooled_estimate(world: World) -> None:
    # Given five full attempts answered right throughout, and an open sixth that does not count
    for _ in range(5):
        world.full("cand-1", everything)
    world.full("cand-1")
    # When readiness is asked
    verdict = world.candidates.readiness("cand-1", EXAM)
    # Then the candidate is ready, with no next step, on a pooled estimate of all 250 scored items
    assert verdict.ready is True and verdict.next_step is None
    assert verdict.reasons[-1].startswith("Your last 5 full timed attempts all scored 750 or more")
    assert verdict.pooled is not None and verdict.pooled.items == 250
    assert verdict.pooled.scaled_score >= 750


# ---------------------------------------------------------------- progress


def test_given_attempts_when_reading_progress_then_trends_are_chronological_per_domain(world: World) -> None:
    # Given a weak then a strong full attempt, and a practice set
    weak = world.full("cand-1", nothing)
    strong = world.full("cand-1", everything)
    world.tick()
    world.candidates.start("cand-1", EXAM, "domain", BILLING, 5)
    # When progress is read
    progress = world.candidates.progress("cand-1", EXAM)
    # Then scores and every domain's points are oldest first, and the items seen are counted
    assert [p.attempt_id for p in progress.scores] == [weak.attempt_id, strong.attempt_id]
    assert progress.scores[0].scaled_score < progress.scores[1].scaled_score
    assert [t.domain_id for t in progress.domains][-1] == BILLING
    for trend in progress.domains:
        assert [p.attempt_id for p in trend.points] == [weak.attempt_id, strong.attempt_id]
        assert trend.points[0].percent == 0.0 and trend.points[1].percent == 100.0
    served = {q.item_id for a in (weak, strong) for q in world.questions(a.attempt_id)}
    assert progress.items_seen == len(served)
    assert progress.bank_items == len(world.attempts.bank_for(EXAM).items)
    assert progress.readiness.ready is False


# ---------------------------------------------------------------- claim


def _diagnostic(world: World, partner: str = "p-1") -> AttemptCreated:
    world.tick()
    return world.attempts.start(EXAM, "diagnostic", partner_id=partner)


def test_given_an_anonymous_diagnostic_when_its_token_holder_claims_it_then_it_is_theirs_once(world: World) -> None:
    # Given an anonymous diagnostic (it would expire)
    diag = _diagnostic(world)
    assert world.store.attempts[diag.attempt_id].meta.ttl is not None
    # When the candidate holding its token claims it, twice
    first = world.candidates.claim_diagnostic("cand-1", diag.attempt_id, diag.attempt_token)
    again = world.candidates.claim_diagnostic("cand-1", diag.attempt_id, diag.attempt_token)
    # Then it is theirs, kept, and in their history
    assert first.claimed and again.claimed and first.mode == "diagnostic"
    meta = world.store.attempts[diag.attempt_id].meta
    assert meta.candidate_id == "cand-1" and meta.ttl is None
    assert [e.attempt_id for e in world.candidates.history("cand-1", 10, None).attempts] == [diag.attempt_id]


def test_given_a_diagnostic_claimed_by_another_when_claiming_then_a_409(world: World) -> None:
    diag = _diagnostic(world)
    world.candidates.claim_diagnostic("cand-1", diag.attempt_id, diag.attempt_token)
    with pytest.raises(Conflict) as info:
        world.candidates.claim_diagnostic("cand-2", diag.attempt_id, diag.attempt_token)
    assert info.value.code == "attempt_claimed"
    assert world.store.attempts[diag.attempt_id].meta.candidate_id == "cand-1"


@pytest.mark.parametrize("case", ["wrong_token", "no_token", "a_full_attempt"])
def test_given_no_proof_when_claiming_then_the_same_403(world: World, case: str) -> None:
    # Given a diagnostic, and a full attempt, neither the candidate's
    diag = _diagnostic(world)
    world.tick()
    full = world.attempts.start(EXAM, "full")
    attempt_id, token = {
        "wrong_token": (diag.attempt_id, "x" * 43),
        "no_token": (diag.attempt_id, None),
        "a_full_attempt": (full.attempt_id, full.attempt_token),
    }[case]
    # When it is claimed without the diagnostic's token
    with pytest.raises(Forbidden) as info:
        world.candidates.claim_diagnostic("cand-1", attempt_id, token)
    # Then the answer says nothing about what exists, and nothing changed
    assert info.value.code == "attempt_forbidden"
    assert world.store.attempts[attempt_id].meta.candidate_id is None


# ---------------------------------------------------------------- starts


def test_given_recent_full_attempts_when_starting_another_then_it_avoids_their_items(world: World) -> None:
    earlier = world.full("cand-1", everything)
    later = world.full("cand-1")
    before = {q.item_id for q in world.questions(earlier.attempt_id)}
    after = {q.item_id for q in world.questions(later.attempt_id)}
    assert len(before & after) < len(before) // 4  # only where a domain ran short of other items


def test_given_a_domain_practice_set_when_started_then_its_items_are_from_that_domain(world: World) -> None:
    created = world.candidates.start("cand-1", EXAM, "domain", BILLING, 5)
    assert created.question_count == 5 and created.expires_at is None
    assert all(world.in_domain(BILLING)(q) for q in world.questions(created.attempt_id))


@pytest.mark.parametrize(
    ("mode", "domain", "error", "code"),
    [
        ("domain", "no-such-domain", InvalidInput, "unknown_domain"),
        ("domain", None, InvalidInput, "unknown_domain"),
        ("missed", None, Conflict, "nothing_to_practice"),
    ],
)
def test_given_a_practice_set_that_cannot_be_drawn_when_starting_then_a_4xx(
    world: World, mode: str, domain: str | None, error: type[Exception], code: str
) -> None:
    with pytest.raises(error) as info:
        world.candidates.start("cand-1", EXAM, mode, domain, 5)
    assert getattr(info.value, "code", None) == code


def test_given_missed_items_when_starting_a_missed_set_then_it_draws_only_those(world: World) -> None:
    # Given a full attempt with every billing question wrong
    done = world.full("cand-1", lambda q: not world.in_domain(BILLING)(q))
    summary = json.loads(world.store.attempts[done.attempt_id].meta.summary_json or "{}")
    missed = {i[0] for i in summary["i"] if not i[1] or i[2]}
    # When a missed set is started
    created = world.candidates.start("cand-1", EXAM, "missed", None, 50)
    # Then it serves exactly the missed items
    assert {q.item_id for q in world.questions(created.attempt_id)} == missed
