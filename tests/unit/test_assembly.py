"""Form assembly: blueprint counts, no repeats, shuffled options, and parallel forms at the cut."""

from __future__ import annotations

import random
import re
import statistics
from collections import Counter

import pytest
from exam_core.assembly import DEFAULT_TOLERANCE, BankTooSmall, assemble
from exam_core.bank import Bank
from exam_core.blueprint import form_plan
from exam_core.models.bank import Blueprint, Item
from exam_core.models.records import Form
from exam_core.scoring import conversion_table

from tests.unit.helpers import make_item, tiny_blueprint

QUESTION_ID = re.compile(r"^q[0-9a-f]{10}$")
N_FORMS = 200


def scored_info(bank: Bank, form: Form) -> float:
    return sum(bank.info_at_cut[q.item_id] for q in form.questions if q.scored)


def per_domain(bank: Bank, form: Form, scored: bool) -> dict[str, int]:
    counts = Counter(bank.domain_of_item[q.item_id] for q in form.questions if q.scored is scored)
    return {d.id: counts.get(d.id, 0) for d in bank.blueprint.domains}


@pytest.fixture(scope="module")
def full_form(bank: Bank) -> Form:
    return assemble(bank, "full", random.Random(2024))


@pytest.fixture(scope="module")
def many_forms(bank: Bank) -> list[Form]:
    return [assemble(bank, "full", random.Random(seed)) for seed in range(N_FORMS)]


# ---------------------------------------------------------------- blueprint counts


def test_given_real_bank_when_assembling_full_form_then_65_questions_of_which_50_scored(full_form: Form) -> None:
    assert full_form.kind == "full"
    assert len(full_form.questions) == 65
    assert full_form.scored_count == 50


def test_given_full_form_then_scored_per_domain_is_12_15_17_6_and_unscored_4_4_5_2(bank: Bank, many_forms) -> None:
    for form in many_forms[:25]:
        assert list(per_domain(bank, form, scored=True).values()) == [12, 15, 17, 6]
        assert list(per_domain(bank, form, scored=False).values()) == [4, 4, 5, 2]


def test_given_full_form_then_no_item_appears_twice(many_forms: list[Form]) -> None:
    for form in many_forms:
        ids = [q.item_id for q in form.questions]
        assert len(set(ids)) == len(ids)


def test_given_pretest_pools_large_enough_then_scored_are_operational_and_unscored_are_pretest(
    bank: Bank, many_forms: list[Form]
) -> None:
    for form in many_forms[:50]:
        for q in form.questions:
            assert bank.items[q.item_id].status == ("operational" if q.scored else "pretest")


def test_given_diagnostic_form_then_ten_scored_questions_split_2_3_4_1_and_nothing_unscored(bank: Bank) -> None:
    form = assemble(bank, "diagnostic", random.Random(5))
    assert len(form.questions) == 10
    assert form.scored_count == 10
    assert list(per_domain(bank, form, scored=True).values()) == [2, 3, 4, 1]
    assert len(form.table) == 11


# ---------------------------------------------------------------- the served form


def test_given_any_question_then_option_order_is_a_permutation_of_the_items_options(
    bank: Bank, full_form: Form
) -> None:
    for q in full_form.questions:
        item = bank.items[q.item_id]
        assert sorted(q.order) == sorted(o.id for o in item.options)


def test_options_are_actually_shuffled_across_the_form(full_form: Form) -> None:
    assert any(q.order != "".join(sorted(q.order)) for q in full_form.questions)


def test_question_ids_are_unique_opaque_hex_ids(many_forms: list[Form]) -> None:
    for form in many_forms[:50]:
        qids = [q.question_id for q in form.questions]
        assert len(set(qids)) == len(qids)
        assert all(QUESTION_ID.match(qid) for qid in qids)
        assert not any(q.item_id in q.question_id for q in form.questions)


def test_given_scored_and_unscored_items_then_they_are_interleaved_not_grouped(full_form: Form) -> None:
    flags = [q.scored for q in full_form.questions]
    assert flags != sorted(flags)
    assert flags != sorted(flags, reverse=True)


def test_given_different_seeds_then_forms_differ(bank: Bank) -> None:
    a = assemble(bank, "full", random.Random(1))
    b = assemble(bank, "full", random.Random(2))
    assert {q.item_id for q in a.questions} != {q.item_id for q in b.questions}
    assert [q.question_id for q in a.questions] != [q.question_id for q in b.questions]


def test_given_same_seed_then_form_is_reproducible(bank: Bank) -> None:
    assert assemble(bank, "full", random.Random(77)) == assemble(bank, "full", random.Random(77))


def test_given_form_then_conversion_table_is_the_one_for_its_scored_items(bank: Bank, full_form: Form) -> None:
    scored_b = [bank.items[q.item_id].b for q in full_form.questions if q.scored]
    assert len(full_form.table) == 51
    assert full_form.table == conversion_table(scored_b, bank.blueprint.scale)


def test_given_form_then_it_survives_a_json_round_trip(full_form: Form) -> None:
    assert Form.from_json(full_form.to_json()) == full_form


def test_given_recently_seen_items_to_avoid_then_fresh_items_are_chosen_when_the_pool_allows(bank: Bank) -> None:
    first = assemble(bank, "full", random.Random(10))
    seen = {q.item_id for q in first.questions if not q.scored}
    second = assemble(bank, "full", random.Random(11), avoid=seen)
    unscored = {q.item_id for q in second.questions if not q.scored}
    assert not unscored & seen


# ---------------------------------------------------------------- parallel forms


def _random_draw_info(bank: Bank, seed: int) -> float:
    """Scored information of a purely random, blueprint-conforming draw (no information control)."""
    rng = random.Random(seed)
    total = 0.0
    for plan in form_plan(bank.blueprint, "full"):
        total += sum(bank.info_at_cut[i.id] for i in rng.sample(bank.operational[plan.domain_id], plan.scored))
    return total


def test_given_200_forms_then_at_least_99_percent_have_information_within_tolerance_of_target(
    bank: Bank, many_forms: list[Form]
) -> None:
    target = bank.target_info["full"]
    assert target > 0
    within = sum(abs(scored_info(bank, f) - target) <= DEFAULT_TOLERANCE * target for f in many_forms)
    assert within >= 0.99 * N_FORMS


def test_given_200_forms_then_information_spread_is_much_narrower_than_for_random_draws(
    bank: Bank, many_forms: list[Form]
) -> None:
    target = bank.target_info["full"]
    held = [scored_info(bank, f) for f in many_forms]
    random_draws = [_random_draw_info(bank, 10_000 + s) for s in range(N_FORMS)]
    # Random draws are centred on the target (that is how the target is defined) but spread widely.
    assert statistics.fmean(random_draws) == pytest.approx(target, rel=0.02)
    assert statistics.pstdev(held) < 0.5 * statistics.pstdev(random_draws)
    assert max(held) - min(held) < 0.5 * (max(random_draws) - min(random_draws))
    random_within = sum(abs(x - target) <= DEFAULT_TOLERANCE * target for x in random_draws)
    held_within = sum(abs(x - target) <= DEFAULT_TOLERANCE * target for x in held)
    assert held_within > random_within + 0.3 * N_FORMS


def test_given_200_forms_then_selection_stays_random_within_domains(bank: Bank, many_forms: list[Form]) -> None:
    used = {q.item_id for f in many_forms for q in f.questions if q.scored}
    operational = sum(len(pool) for pool in bank.operational.values())
    assert len(used) > 0.8 * operational


# ---------------------------------------------------------------- small banks


def _tiny_bank(alpha_operational: int, alpha_pretest: int, beta_operational: int = 6, beta_pretest: int = 3) -> Bank:
    items: list[Item] = []
    rng = random.Random(0)
    for prefix, task, n_op, n_pre in (
        ("a", "1.1", alpha_operational, alpha_pretest),
        ("b", "2.1", beta_operational, beta_pretest),
    ):
        items += [make_item(f"{prefix}-op-{k}", task, "operational", round(rng.uniform(-2, 2), 2)) for k in range(n_op)]
        items += [make_item(f"{prefix}-pre-{k}", task, "pretest", 0.0) for k in range(n_pre)]
    return Bank.build(tiny_blueprint(), items)


def test_given_domain_without_pretest_items_then_operational_items_fill_its_unscored_slots() -> None:
    bank = _tiny_bank(alpha_operational=5, alpha_pretest=0)
    assert [(p.scored, p.pretest) for p in form_plan(bank.blueprint, "full")] == [(2, 1), (2, 1)]
    for seed in range(50):
        form = assemble(bank, "full", random.Random(seed))
        assert len(form.questions) == 6
        ids = [q.item_id for q in form.questions]
        assert len(set(ids)) == len(ids)
        alpha_unscored = [q for q in form.questions if not q.scored and bank.domain_of_item[q.item_id] == "alpha"]
        beta_unscored = [q for q in form.questions if not q.scored and bank.domain_of_item[q.item_id] == "beta"]
        assert len(alpha_unscored) == 1
        assert bank.items[alpha_unscored[0].item_id].status == "operational"
        assert len(beta_unscored) == 1
        assert bank.items[beta_unscored[0].item_id].status == "pretest"
        assert all(bank.items[q.item_id].status == "operational" for q in form.questions if q.scored)


def test_given_domain_with_some_pretest_items_then_they_are_used_before_operational_fillers() -> None:
    blueprint = tiny_blueprint().model_copy(
        update={"forms": {"full": tiny_blueprint().forms["full"].model_copy(update={"pretest": 6})}}
    )
    items = [make_item(f"a-op-{k}", "1.1", b=0.1 * k) for k in range(8)]
    items += [make_item("a-pre-0", "1.1", "pretest")]
    items += [make_item(f"b-op-{k}", "2.1", b=0.1 * k) for k in range(8)]
    items += [make_item(f"b-pre-{k}", "2.1", "pretest") for k in range(3)]
    bank = Bank.build(blueprint, items)
    form = assemble(bank, "full", random.Random(3))
    alpha_unscored = [q.item_id for q in form.questions if not q.scored and q.item_id.startswith("a-")]
    assert len(alpha_unscored) == 3
    assert "a-pre-0" in alpha_unscored
    assert sum(bank.items[i].status == "operational" for i in alpha_unscored) == 2
    assert len({q.item_id for q in form.questions}) == len(form.questions) == 10


def test_given_real_bank_without_billing_pretest_items_then_operational_items_fill_those_slots(
    bank_files: tuple[Blueprint, list[Item]],
) -> None:
    blueprint, items = bank_files
    billing_tasks = {"4.1", "4.2", "4.3"}
    edited = [
        i.model_copy(update={"status": "retired"}) if i.task in billing_tasks and i.status == "pretest" else i
        for i in items
    ]
    bank = Bank.build(blueprint, edited)
    assert bank.pretest["billing-pricing-and-support"] == []
    form = assemble(bank, "full", random.Random(9))
    assert len(form.questions) == 65
    billing_unscored = [
        q for q in form.questions if not q.scored and bank.domain_of_item[q.item_id] == "billing-pricing-and-support"
    ]
    assert len(billing_unscored) == 2
    assert all(bank.items[q.item_id].status == "operational" for q in billing_unscored)
    assert len({q.item_id for q in form.questions}) == 65


def test_given_too_few_operational_items_for_the_scored_slots_then_bank_too_small() -> None:
    bank = _tiny_bank(alpha_operational=1, alpha_pretest=3)
    with pytest.raises(BankTooSmall) as err:
        assemble(bank, "full", random.Random(0))
    assert err.value.status == 503
    assert err.value.code == "bank_too_small"
    assert err.value.details == [{"domainId": "alpha", "operational": 1, "needed": 2}]


def test_given_too_few_operational_items_to_also_fill_missing_pretest_slots_then_bank_too_small() -> None:
    # Two operational items cover the two scored slots but not the unscored slot that has no pretest item.
    bank = _tiny_bank(alpha_operational=2, alpha_pretest=0)
    with pytest.raises(BankTooSmall, match="alpha"):
        assemble(bank, "full", random.Random(0))


def test_given_exactly_enough_operational_items_then_the_form_is_assembled() -> None:
    bank = _tiny_bank(alpha_operational=3, alpha_pretest=0)
    form = assemble(bank, "full", random.Random(0))
    assert {q.item_id for q in form.questions if q.item_id.startswith("a-")} == {"a-op-0", "a-op-1", "a-op-2"}


def test_given_items_to_avoid_and_enough_fresh_items_then_information_swaps_do_not_bring_them_back(
    bank: Bank,
) -> None:
    # Regression: _hold_information once swapped random candidates from the whole pool back in (~0.6 per form).
    reintroduced = 0
    for seed in range(20):
        seen = {q.item_id for q in assemble(bank, "full", random.Random(seed)).questions}
        second = assemble(bank, "full", random.Random(1000 + seed), avoid=seen)
        reintroduced += len({q.item_id for q in second.questions} & seen)
    assert reintroduced == 0
