"""PartnerService over the in-memory store and the real CLF-C02 bank, with a fake clock.

The fake's partner index (range inclusive, newest first, truncation) is the store's (tests/contract).
"""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta

import pytest
from exam_core.attempts import AttemptService, diagnostic_access
from exam_core.bank_cache import BankCache
from exam_core.errors import InvalidInput, NotFound
from exam_core.models.api import ResponseIn
from exam_core.models.bank import Blueprint, Item
from exam_core.partners import PartnerService
from exam_core.settings import Settings

from tests.fakes import InMemoryStore

EXAM = "clf-c02"
TODAY = date(2026, 3, 31)
NOON = datetime(2026, 3, 31, 12, tzinfo=UTC).timestamp()
DAY = 86_400


class Clock:
    def __init__(self) -> None:
        self.now = NOON

    def __call__(self) -> float:
        return self.now


class World:
    def __init__(self, bank_files: tuple[Blueprint, list[Item]]) -> None:
        blueprint, items = bank_files
        self.store = InMemoryStore()
        self.store.put_bank(
            EXAM,
            blueprint.model_dump(mode="json", by_alias=True),
            [i.model_dump(mode="json", by_alias=True, exclude_none=True) for i in items],
        )
        self.clock = Clock()
        settings = Settings(exam_ids=EXAM)
        banks = BankCache(self.store)
        self.attempts = AttemptService(
            self.store, banks, settings, clock=self.clock, rng_factory=lambda: random.Random(3)
        )
        self.partners = PartnerService(self.store, banks, settings, self.clock)

    def diagnostic(self, partner: str, days_ago: int, right: int | None = None) -> str:
        """A diagnostic started ``days_ago`` days before today's noon; submitted with ``right`` of its
        questions answered with the key (the rest wrong) unless ``right`` is None."""
        self.clock.now = NOON - days_ago * DAY
        created = self.attempts.start(EXAM, "diagnostic", partner_id=partner)
        if right is not None:
            bank = self.attempts.bank_for(EXAM)
            rec = self.store.load_attempt(created.attempt_id)
            assert rec is not None
            responses = []
            for n, q in enumerate(rec.form.questions):
                key = q.to_served(list(bank.items[q.item_id].key))
                if n >= right:
                    key = sorted({"a", "b", "c", "d"} - set(key))[: len(key)]
                responses.append(ResponseIn(question_id=q.question_id, selected=key))
            self.attempts.submit(created.attempt_id, created.attempt_token, responses, diagnostic_access(partner))
        self.clock.now = NOON
        return created.attempt_id


@pytest.fixture
def world(bank_files: tuple[Blueprint, list[Item]]) -> World:
    return World(bank_files)


def test_given_a_partners_diagnostics_when_summarised_by_default_then_the_last_30_days_are_counted(
    world: World,
) -> None:
    # Given p-1's diagnostics: one 40 days ago, two submitted and one open within 30 days; and p-2's
    world.diagnostic("p-1", 40, right=10)
    strong = world.diagnostic("p-1", 10, right=10)
    weak = world.diagnostic("p-1", 5, right=2)
    world.diagnostic("p-1", 0)
    world.diagnostic("p-2", 3, right=10)
    # When p-1 asks for its summary with no range
    summary = world.partners.summary("p-1", EXAM, None, None)
    # Then it covers the 30 days ending today and only p-1's diagnostics in them
    assert (summary.from_date, summary.to_date) == ((TODAY - timedelta(days=29)).isoformat(), TODAY.isoformat())
    assert summary.partner_id == "p-1" and summary.exam_id == EXAM and summary.truncated is False
    assert (summary.started, summary.submitted, summary.completion_rate) == (3, 2, 0.667)
    scores = [json.loads(world.store.attempts[a].meta.summary_json or "{}")["s"] for a in (strong, weak)]
    assert summary.mean_scaled_score == round(sum(scores) / 2, 1)
    assert summary.pass_rate == 0.5
    assert sum(b.count for b in summary.score_distribution) == 2
    assert summary.score_distribution[0].low == 100 and summary.score_distribution[-1].high == 1000
    assert sum(w.count for w in summary.weakest_domains) == 2
    assert [d.domain_id for d in summary.domains] == [w.domain_id for w in summary.weakest_domains]
    assert all(d.mean_percent is not None for d in summary.domains)


def test_given_an_explicit_range_when_summarised_then_both_ends_are_whole_days(world: World) -> None:
    # Given diagnostics at noon 40 and 35 days ago
    world.diagnostic("p-1", 40, right=5)
    world.diagnostic("p-1", 35)
    # When the range is exactly the day 40 days ago, or those two days inclusive
    one_day = TODAY - timedelta(days=40)
    only_first = world.partners.summary("p-1", EXAM, one_day, one_day)
    both = world.partners.summary("p-1", EXAM, one_day, TODAY - timedelta(days=35))
    # Then each counts what started within its days
    assert (only_first.started, only_first.submitted) == (1, 1)
    assert (both.started, both.submitted) == (2, 1)


def test_given_no_diagnostics_when_summarised_then_counts_are_zero_and_rates_are_null(world: World) -> None:
    summary = world.partners.summary("p-9", EXAM, None, None)
    assert (summary.started, summary.submitted) == (0, 0)
    assert summary.completion_rate is None and summary.mean_scaled_score is None and summary.pass_rate is None
    assert all(b.count == 0 for b in summary.score_distribution)
    assert all(w.share == 0.0 for w in summary.weakest_domains)


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (TODAY, TODAY - timedelta(days=1), "from"),  # from after to
        (TODAY - timedelta(days=366), TODAY, "to"),  # 367 days: over PARTNER_SUMMARY_MAX_DAYS
    ],
    ids=["reversed", "too_long"],
)
def test_given_a_bad_range_when_summarised_then_a_422_naming_the_field(
    world: World, start: date, end: date, field: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        world.partners.summary("p-1", EXAM, start, end)
    assert info.value.code == "invalid_range"
    assert info.value.details == [{"field": field}]


def test_given_the_longest_range_or_only_an_end_when_summarised_then_it_is_accepted(world: World) -> None:
    world.diagnostic("p-1", 365)
    longest = world.partners.summary("p-1", EXAM, TODAY - timedelta(days=365), TODAY)
    assert longest.started == 1 and longest.from_date == (TODAY - timedelta(days=365)).isoformat()
    end_only = world.partners.summary("p-1", EXAM, None, TODAY - timedelta(days=360))
    assert end_only.from_date == (TODAY - timedelta(days=389)).isoformat() and end_only.started == 1


def test_given_an_unknown_exam_when_summarised_then_a_404(world: World) -> None:
    with pytest.raises(NotFound) as info:
        world.partners.summary("p-1", "nope", None, None)
    assert info.value.code == "exam_not_found"
