"""The adaptive diagnostic's domain logic: stage split from the blueprint, selection by information, exposure."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest
from exam_core.adaptive import (
    AdaptiveBankTooSmall,
    final_table,
    first_stage,
    information,
    next_stage,
    pool_size,
    provisional,
    run_diagnostic,
    select_stage,
    stage_plan,
)
from exam_core.attempts import AttemptService, diagnostic_access
from exam_core.bank import Bank
from exam_core.blueprint import form_plan
from exam_core.errors import Conflict, Forbidden, InvalidInput
from exam_core.models.api import QuestionOut, ResponseIn, Result
from exam_core.models.bank import Blueprint, Item

from tests.fakes import InMemoryStore
from tests.unit.helpers import make_item, tiny_blueprint
from tests.unit.test_attempt_service import FakeClock, load_bank, make_service


def _domain_counts(bank: Bank, items: list[Item]) -> dict[str, int]:
    counts = Counter(bank.domain_of_item[i.id] for i in items)
    return {d.id: counts.get(d.id, 0) for d in bank.blueprint.domains}


def test_given_the_clf_blueprint_when_split_into_4_and_6_then_the_stages_add_up_to_the_diagnostic_split(
    bank: Bank,
) -> None:
    plan = stage_plan(bank.blueprint, (4, 6))
    expected = {p.domain_id: p.scored for p in form_plan(bank.blueprint, "diagnostic")}
    assert [sum(s.values()) for s in plan.stages] == [4, 6]
    assert {d: sum(s[d] for s in plan.stages) for d in expected} == expected
    assert list(expected.values()) == [2, 3, 4, 1]  # CLF-C02's weights, read from the blueprint
    # Stage 1 follows the weights as closely as four whole items allow (largest remainder on 2/3/4/1).
    assert list(plan.stages[0].values()) == [1, 1, 2, 0]


def test_given_stage_sizes_that_do_not_add_up_to_the_diagnostic_then_the_plan_is_refused(bank: Bank) -> None:
    with pytest.raises(ValueError, match="add up to 10"):
        stage_plan(bank.blueprint, (4, 5))
    with pytest.raises(ValueError):
        stage_plan(bank.blueprint, (0, 10))


def test_given_a_provisional_estimate_when_a_stage_is_selected_then_each_item_is_among_the_most_informative(
    bank: Bank,
) -> None:
    plan = stage_plan(bank.blueprint)
    for theta in (-1.5, 0.0, 0.6, 2.0):
        chosen = select_stage(bank, plan.stages[1], theta, random.Random(7))
        assert _domain_counts(bank, chosen) == dict(plan.stages[1])
        for item in chosen:
            domain = bank.domain_of_item[item.id]
            ranked = sorted(bank.operational[domain], key=lambda i: -information(theta, i.b))
            k = pool_size(plan.stages[1][domain])
            assert information(theta, item.b) >= information(theta, ranked[k - 1].b) - 1e-12


def test_given_answers_when_the_next_stage_is_chosen_then_it_targets_the_provisional_eap_and_repeats_nothing(
    bank: Bank,
) -> None:
    rng = random.Random(3)
    stage1 = first_stage(bank, rng)
    right = next_stage(bank, [(i, True) for i in stage1], rng)
    wrong = next_stage(bank, [(i, False) for i in stage1], rng)
    served = {i.id for i in stage1}
    assert served.isdisjoint(i.id for i in right) and served.isdisjoint(i.id for i in wrong)
    hi = provisional([(i.b, True) for i in stage1], bank).theta
    lo = provisional([(i.b, False) for i in stage1], bank).theta
    assert hi > 0.5 > -0.5 > lo
    # All right: a harder second stage than all wrong, each close to its own estimate.
    assert sum(i.b for i in right) / len(right) > sum(i.b for i in wrong) / len(wrong)
    assert next_stage(bank, [(i, True) for i in stage1 + right], rng) == []


def test_given_a_count_that_does_not_end_a_stage_then_next_stage_refuses(bank: Bank) -> None:
    stage1 = first_stage(bank, random.Random(1))
    with pytest.raises(ValueError, match="does not end a stage"):
        next_stage(bank, [(i, True) for i in stage1[:3]], random.Random(1))


def test_given_a_whole_diagnostic_then_the_result_is_the_served_items_table_at_the_raw_score(bank: Bank) -> None:
    theta = 0.8
    answers = random.Random(11)
    done = run_diagnostic(bank, lambda i: answers.random() < 1 / (1 + math.exp(i.b - theta)), random.Random(5))
    assert len(done.items) == 10 and len({i.id for i in done.items}) == 10
    expected = {p.domain_id: p.scored for p in form_plan(bank.blueprint, "diagnostic")}
    assert _domain_counts(bank, done.items) == expected
    assert all(i.status == "operational" for i in done.items)
    assert done.row == final_table(bank, done.items)[sum(done.correct)]
    assert done.row.score_theta is None  # under 30 items: the EAP's score, as on the fixed diagnostic


def test_given_many_diagnostics_then_no_item_is_served_to_more_than_30_percent(bank: Bank) -> None:
    rng, people = random.Random(21), random.Random(22)
    n = 600
    seen: Counter[str] = Counter()
    for _ in range(n):
        theta = people.gauss(0.0, 1.0)

        def answer(item: Item, t: float = theta) -> bool:
            return people.random() < 1 / (1 + math.exp(item.b - t))

        done = run_diagnostic(bank, answer, rng)
        seen.update(i.id for i in done.items)
    assert max(seen.values()) / n <= 0.30


def test_given_too_few_items_in_a_domain_then_the_stage_is_a_503_domain_error() -> None:
    blueprint = tiny_blueprint()
    items = [make_item("a-1", "1.1"), make_item("b-1", "2.1")]
    bank = Bank.build(blueprint, items)
    with pytest.raises(AdaptiveBankTooSmall) as caught:
        select_stage(bank, {"alpha": 2}, 0.0, random.Random(0))
    assert caught.value.status == 503


# ---------------------------------------------------------------- the staged diagnostic through AttemptService


@pytest.fixture
def service(bank_files: tuple[Blueprint, list[Item]]) -> tuple[AttemptService, InMemoryStore]:
    store = InMemoryStore()
    load_bank(store, bank_files)
    return make_service(store, FakeClock()), store


def _first_option(questions: list[dict[str, object]] | list[QuestionOut]) -> list[ResponseIn]:
    out = []
    for q in questions:
        qid = q.question_id if isinstance(q, QuestionOut) else str(q["questionId"])
        out.append(ResponseIn(question_id=qid, selected=["a"]))
    return out


def test_given_an_adaptive_start_when_each_stage_is_answered_then_the_next_comes_in_one_read_and_one_write(
    service: tuple[AttemptService, InMemoryStore],
) -> None:
    svc, store = service
    access = diagnostic_access("partner-1")
    started = svc.start("clf-c02", "diagnostic", partner_id="partner-1", adaptive=True)
    assert started.question_count == 4 and [q.number for q in started.questions] == [1, 2, 3, 4]
    store.calls.clear()
    stage = svc.next_stage(started.attempt_id, started.attempt_token, _first_option(started.questions), access)
    assert store.calls == ["load_attempt", "extend_form"]
    assert stage["stage"] == 2 and stage["stageCount"] == 2 and stage["last"] is True
    assert stage["questionCount"] == 10 and [q["number"] for q in stage["questions"]] == list(range(5, 11))
    served = {q.question_id for q in started.questions}
    assert served.isdisjoint(q["questionId"] for q in stage["questions"])
    for q in stage["questions"]:
        assert {"key", "b", "itemId", "scored", "explanation"}.isdisjoint(q)
    doc = svc.get_doc(started.attempt_id, started.attempt_token, access)
    assert doc["questionCount"] == 10 and len(doc["responses"]) == 4  # stage 1's answers are kept

    with pytest.raises(Conflict) as again:
        svc.next_stage(started.attempt_id, started.attempt_token, [], access)
    assert again.value.code == "stages_complete"
    result = svc.submit(started.attempt_id, started.attempt_token, _first_option(stage["questions"]), access)
    assert isinstance(result, Result) and result.scored.total == 10
    rec = store.load_attempt(started.attempt_id)
    assert rec is not None and len(rec.form.table) == 11  # the ten served items' conversion table


def test_given_an_adaptive_diagnostic_with_a_stage_pending_then_submission_is_a_409(
    service: tuple[AttemptService, InMemoryStore],
) -> None:
    svc, _ = service
    access = diagnostic_access("p")
    started = svc.start("clf-c02", "diagnostic", partner_id="p", adaptive=True)
    with pytest.raises(Conflict) as caught:
        svc.submit(started.attempt_id, started.attempt_token, [], access)
    assert caught.value.code == "stages_pending"


def test_given_responses_outside_the_served_stage_or_a_fixed_diagnostic_then_next_is_refused(
    service: tuple[AttemptService, InMemoryStore],
) -> None:
    svc, store = service
    access = diagnostic_access("p")
    started = svc.start("clf-c02", "diagnostic", partner_id="p", adaptive=True)
    with pytest.raises(InvalidInput) as unknown:
        svc.next_stage(started.attempt_id, started.attempt_token, [ResponseIn(question_id="q0000000041")], access)
    assert unknown.value.details[0]["code"] == "unknown_question"
    stage = svc.next_stage(started.attempt_id, started.attempt_token, [], access)  # unanswered: all wrong
    assert len(stage["questions"]) == 6
    fixed = svc.start("clf-c02", "diagnostic", partner_id="p")
    assert fixed.question_count == 10
    with pytest.raises(Conflict) as whole:
        svc.next_stage(fixed.attempt_id, fixed.attempt_token, [], access)
    assert whole.value.code == "not_adaptive"
    with pytest.raises(Forbidden):
        svc.next_stage(started.attempt_id, "wrong-token", [], access)
    assert "extend_form" not in store.calls[-1:]
