"""From a form and saved responses to a result: raw/scaled score, domains, weakest domain, study plan."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable

import pytest
from exam_core.assembly import assemble
from exam_core.bank import Bank
from exam_core.models.api import DomainResult, Result
from exam_core.models.records import Form, FormQuestion, StoredResponse
from exam_core.results import build_result, grade, is_correct, weakest_domain
from exam_core.scoring import rasch_probability

from tests.unit.helpers import make_item, tiny_blueprint

STUDY_HOURS = 20.0


def served_answer(bank: Bank, q: FormQuestion, correct: bool) -> list[str]:
    """Served option ids that answer ``q`` right, or wrong with the same number of selections."""
    item = bank.items[q.item_id]
    key = q.to_served(list(item.key))
    if correct:
        return key
    served = [chr(ord("a") + i) for i in range(len(q.order))]
    wrong = [s for s in served if s not in key]
    return sorted([*key[1:], wrong[0]])


def responses_where(bank: Bank, form: Form, right: Callable[[FormQuestion], bool]) -> dict[str, StoredResponse]:
    return {
        q.question_id: StoredResponse(q.question_id, served_answer(bank, q, right(q)), False, 1_700_000_000)
        for q in form.questions
    }


def result_for(bank: Bank, form: Form, responses: dict[str, StoredResponse], hours: float = STUDY_HOURS) -> Result:
    return build_result(
        bank,
        form,
        responses,
        attempt_id="a1",
        exam_id=bank.blueprint.exam_id,
        mode=form.kind,
        submitted_at=1_700_000_000,
        timed_out=False,
        study_hours=hours,
    )


def domain_of(bank: Bank) -> Callable[[FormQuestion], str]:
    return lambda q: bank.domain_of_item[q.item_id]


@pytest.fixture(scope="module")
def form(bank: Bank) -> Form:
    return assemble(bank, "full", random.Random(42))


@pytest.fixture(scope="module")
def all_right(bank: Bank, form: Form) -> Result:
    return result_for(bank, form, responses_where(bank, form, lambda q: True))


@pytest.fixture(scope="module")
def all_wrong(bank: Bank, form: Form) -> Result:
    return result_for(bank, form, responses_where(bank, form, lambda q: False))


# ---------------------------------------------------------------- the score


def test_answer_helper_really_produces_right_and_wrong_answers(bank: Bank, form: Form) -> None:
    for q in form.questions:
        item = bank.items[q.item_id]
        right = StoredResponse(q.question_id, served_answer(bank, q, True), False, 0)
        wrong = StoredResponse(q.question_id, served_answer(bank, q, False), False, 0)
        assert is_correct(q, item, right)
        assert not is_correct(q, item, wrong)
        assert len(wrong.selected) == item.select_count


def test_given_all_answers_correct_then_top_of_table_and_passed(form: Form, all_right: Result) -> None:
    assert all_right.scored.correct == all_right.scored.total == 50
    assert all_right.scaled_score == form.table[50].scaled
    assert all_right.scaled_score >= 850
    assert all_right.passed is True
    assert all_right.pass_probability > 0.99
    assert all_right.answered == 65
    assert all(d.rating == "meets" for d in all_right.domains)


def test_given_all_answers_wrong_then_bottom_of_table_and_failed(form: Form, all_wrong: Result) -> None:
    assert all_wrong.scored.correct == 0
    assert all_wrong.scaled_score == form.table[0].scaled
    assert all_wrong.scaled_score < 500
    assert all_wrong.passed is False
    assert all_wrong.pass_probability < 0.01
    assert all(d.rating == "needs_improvement" for d in all_wrong.domains)


def test_given_no_responses_then_same_score_as_all_wrong_and_nothing_answered(
    bank: Bank, form: Form, all_wrong: Result
) -> None:
    blank = result_for(bank, form, {})
    assert blank.answered == 0
    assert blank.scaled_score == all_wrong.scaled_score
    assert blank.scored.correct == 0


def test_only_responses_with_a_selection_count_as_answered(bank: Bank, form: Form) -> None:
    q1, q2, q3 = form.questions[:3]
    responses = {
        q1.question_id: StoredResponse(q1.question_id, served_answer(bank, q1, True), False, 0),
        q2.question_id: StoredResponse(q2.question_id, [], True, 0),  # flagged, then cleared
        q3.question_id: StoredResponse(q3.question_id, served_answer(bank, q3, False), True, 0),
    }
    assert result_for(bank, form, responses).answered == 2


def test_result_reports_scale_band_and_passing_score_from_the_form_table(
    bank: Bank, form: Form, all_right: Result
) -> None:
    row = form.table[50]
    assert (all_right.score_band.low, all_right.score_band.high) == (row.band_low, row.band_high)
    assert all_right.pass_probability == row.pass_probability
    assert (all_right.passing_score, all_right.scale_min, all_right.scale_max) == (700, 100, 1000)


@pytest.mark.parametrize("n_right", [0, 13, 25, 37, 50])
def test_given_n_scored_items_right_then_raw_score_is_n_and_scaled_score_comes_from_row_n(
    bank: Bank, form: Form, n_right: int
) -> None:
    right_ids = {q.question_id for q in [q for q in form.questions if q.scored][:n_right]}
    result = result_for(bank, form, responses_where(bank, form, lambda q: q.question_id in right_ids))
    assert result.scored.correct == n_right
    assert result.scaled_score == form.table[n_right].scaled
    assert result.passed is (form.table[n_right].scaled >= 700)


# ---------------------------------------------------------------- domains


def test_domain_totals_and_correct_counts_match_the_form(bank: Bank, form: Form) -> None:
    rng = random.Random(1)
    pattern = {q.question_id: rng.random() < 0.6 for q in form.questions}
    result = result_for(bank, form, responses_where(bank, form, lambda q: pattern[q.question_id]))
    dom = domain_of(bank)
    assert [d.domain_id for d in result.domains] == [d.id for d in bank.blueprint.domains]
    for d in result.domains:
        mine = [q for q in form.questions if q.scored and dom(q) == d.domain_id]
        assert d.total == len(mine)
        assert d.correct == sum(pattern[q.question_id] for q in mine)
        assert d.percent == round(100 * d.correct / d.total, 1)
    assert [d.total for d in result.domains] == [12, 15, 17, 6]
    assert sum(d.correct for d in result.domains) == result.scored.correct


def test_expected_percent_at_cut_is_mean_rasch_probability_of_the_domains_scored_items(
    bank: Bank, form: Form, all_right: Result
) -> None:
    cut = bank.blueprint.scale.theta_cut
    dom = domain_of(bank)
    for d in all_right.domains:
        bs = [bank.items[q.item_id].b for q in form.questions if q.scored and dom(q) == d.domain_id]
        expected = 100 * sum(rasch_probability(cut, b) for b in bs) / len(bs)
        assert d.expected_percent_at_cut == pytest.approx(expected, abs=0.05)
        assert 0 < d.expected_percent_at_cut < 100


def test_given_one_domain_all_wrong_and_the_rest_right_then_ratings_and_weakest_domain_follow(
    bank: Bank, form: Form
) -> None:
    dom = domain_of(bank)
    result = result_for(bank, form, responses_where(bank, form, lambda q: dom(q) != "security-and-compliance"))
    ratings = {d.domain_id: d.rating for d in result.domains}
    assert ratings == {
        "cloud-concepts": "meets",
        "security-and-compliance": "needs_improvement",
        "cloud-technology-and-services": "meets",
        "billing-pricing-and-support": "meets",
    }
    assert result.weakest_domain == "security-and-compliance"


def test_rating_is_meets_exactly_when_percent_reaches_expectation(bank: Bank, form: Form) -> None:
    rng = random.Random(8)
    for _ in range(10):
        pattern = {q.question_id: rng.random() < 0.7 for q in form.questions}
        result = result_for(bank, form, responses_where(bank, form, lambda q, p=pattern: p[q.question_id]))
        for d in result.domains:
            assert d.rating == ("meets" if d.percent >= d.expected_percent_at_cut else "needs_improvement")


def test_given_percent_exactly_at_expectation_then_rating_is_meets() -> None:
    items = [make_item(f"a-{k}", "1.1", b=0.0) for k in range(4)] + [make_item(f"b-{k}", "2.1") for k in range(4)]
    tiny = Bank.build(tiny_blueprint(), items)  # theta_cut 0.0 = every b: a borderline candidate expects 50%
    form = assemble(tiny, "full", random.Random(0))
    alpha = [q for q in form.questions if q.scored and q.item_id.startswith("a-")]
    assert len(alpha) == 2
    result = result_for(tiny, form, responses_where(tiny, form, lambda q: q.question_id != alpha[0].question_id))
    by_id = {d.domain_id: d for d in result.domains}
    assert (by_id["alpha"].percent, by_id["alpha"].expected_percent_at_cut) == (50.0, 50.0)
    assert by_id["alpha"].rating == "meets"


def test_weakest_domain_is_the_one_furthest_below_expectation(bank: Bank, form: Form) -> None:
    dom = domain_of(bank)
    # Billing all wrong (deficit = its whole expectation), security half wrong: billing is further below.
    security = [q.question_id for q in form.questions if q.scored and dom(q) == "security-and-compliance"]
    half_wrong = set(security[: len(security) // 2])
    result = result_for(
        bank,
        form,
        responses_where(
            bank, form, lambda q: dom(q) != "billing-pricing-and-support" and q.question_id not in half_wrong
        ),
    )
    gaps = {d.domain_id: d.expected_percent_at_cut - d.percent for d in result.domains}
    assert result.weakest_domain == max(gaps, key=lambda k: gaps[k]) == "billing-pricing-and-support"


def _domain(domain_id: str, weight: float, percent: float, expected: float, total: int = 10) -> DomainResult:
    return DomainResult(
        domain_id=domain_id,
        name=domain_id.title(),
        weight=weight,
        correct=round(percent * total / 100),
        total=total,
        percent=percent,
        expected_percent_at_cut=expected,
        rating="meets" if percent >= expected else "needs_improvement",
    )


def test_given_two_domains_equally_far_below_expectation_then_heavier_domain_is_weakest() -> None:
    domains = [
        _domain("light", 0.2, 40.0, 60.0),
        _domain("heavy", 0.5, 50.0, 70.0),
        _domain("fine", 0.3, 80.0, 60.0),
    ]
    assert weakest_domain(domains) == "heavy"
    assert weakest_domain(list(reversed(domains))) == "heavy"


def test_given_float_noise_in_the_gap_then_a_tie_is_still_a_tie() -> None:
    # 44.3 - 24.3 evaluates to 19.999999999999996 and 30.0 - 10.0 to 20.0: both are 20 points.
    assert 44.3 - 24.3 < 30.0 - 10.0
    domains = [_domain("light", 0.2, 10.0, 30.0), _domain("heavy", 0.8, 24.3, 44.3)]
    assert weakest_domain(domains) == "heavy"


def test_given_every_domain_meets_then_weakest_is_the_one_with_smallest_margin() -> None:
    domains = [_domain("a", 0.5, 90.0, 60.0), _domain("b", 0.5, 65.0, 60.0)]
    assert weakest_domain(domains) == "b"


def test_given_domain_without_scored_items_then_it_is_never_the_weakest() -> None:
    domains = [_domain("empty", 0.9, 0.0, 0.0, total=0), _domain("b", 0.1, 90.0, 60.0)]
    assert weakest_domain(domains) == "b"


# ---------------------------------------------------------------- study plan


def test_study_plan_shares_sum_to_one_and_hours_are_half_hours_summing_to_study_hours(bank: Bank, form: Form) -> None:
    rng = random.Random(5)
    for hours in (20.0, 7.0, 33.5):
        pattern = {q.question_id: rng.random() < 0.55 for q in form.questions}
        result = result_for(bank, form, responses_where(bank, form, lambda q, p=pattern: p[q.question_id]), hours)
        plan = result.study_plan
        assert {e.domain_id for e in plan} == {d.id for d in bank.blueprint.domains}
        assert sum(e.share for e in plan) == pytest.approx(1.0, abs=1e-3)
        assert all((e.hours * 2).is_integer() for e in plan)
        assert abs(sum(e.hours for e in plan) - hours) <= 0.25 * len(plan)
        for e in plan:
            # Largest remainders keep each domain within one half-hour step; half a step is not always reachable.
            assert e.hours == pytest.approx(e.share * hours, abs=0.5)
        assert [e.share for e in plan] == sorted((e.share for e in plan), reverse=True)


def test_given_everything_right_then_study_shares_equal_domain_weights(bank: Bank, all_right: Result) -> None:
    weights = {d.id: d.weight for d in bank.blueprint.domains}
    for e in all_right.study_plan:
        assert e.share == pytest.approx(weights[e.domain_id], abs=1e-4)
        assert e.task_statements == []


def test_given_one_domain_needs_improvement_then_it_gets_more_than_its_weight(bank: Bank, form: Form) -> None:
    dom = domain_of(bank)
    result = result_for(bank, form, responses_where(bank, form, lambda q: dom(q) != "billing-pricing-and-support"))
    plan = {e.domain_id: e for e in result.study_plan}
    weights = {d.id: d.weight for d in bank.blueprint.domains}
    assert plan["billing-pricing-and-support"].share > weights["billing-pricing-and-support"] * 1.5
    for d in ("cloud-concepts", "security-and-compliance", "cloud-technology-and-services"):
        assert plan[d].share < weights[d]


def test_study_share_is_weight_times_boost_times_deficit_renormalised(bank: Bank, form: Form) -> None:
    rng = random.Random(21)
    pattern = {q.question_id: rng.random() < 0.5 for q in form.questions}
    result = result_for(bank, form, responses_where(bank, form, lambda q: pattern[q.question_id]))
    raw = {
        d.domain_id: d.weight
        * (1.5 if d.rating == "needs_improvement" else 1.0)
        * (1 + max(0.0, d.expected_percent_at_cut - d.percent) / 100)
        for d in result.domains
    }
    assert {d.rating for d in result.domains} == {"meets", "needs_improvement"}
    for e in result.study_plan:
        assert e.share == pytest.approx(raw[e.domain_id] / sum(raw.values()), abs=1e-4)


def test_study_plan_lists_task_statements_of_missed_scored_items_most_missed_first(bank: Bank, form: Form) -> None:
    rng = random.Random(12)
    pattern = {q.question_id: rng.random() < 0.5 for q in form.questions}
    result = result_for(bank, form, responses_where(bank, form, lambda q: pattern[q.question_id]))
    graded = grade(bank, form, responses_where(bank, form, lambda q: pattern[q.question_id]))
    missed = Counter(g.item.task for g in graded if g.question.scored and not g.correct)
    texts = bank.blueprint.task_text()
    for entry in result.study_plan:
        listed = [(t.id, t.missed) for t in entry.task_statements]
        mine = {t.id for d in bank.blueprint.domains if d.id == entry.domain_id for t in d.task_statements}
        assert listed == sorted(((t, n) for t, n in missed.items() if t in mine), key=lambda x: (-x[1], x[0]))
        assert [t.missed for t in entry.task_statements] == sorted(
            (t.missed for t in entry.task_statements), reverse=True
        )
        assert all(t.text == texts[t.id] for t in entry.task_statements)
    assert sum(t.missed for e in result.study_plan for t in e.task_statements) == 50 - result.scored.correct


def test_missed_unscored_items_do_not_appear_in_the_study_plan(bank: Bank, form: Form) -> None:
    result = result_for(bank, form, responses_where(bank, form, lambda q: q.scored))
    assert all(e.task_statements == [] for e in result.study_plan)


# ---------------------------------------------------------------- pretest items and multiple response


def test_given_unscored_items_all_wrong_or_all_right_then_the_result_is_identical(bank: Bank, form: Form) -> None:
    rng = random.Random(99)
    pattern = {q.question_id: rng.random() < 0.6 for q in form.questions if q.scored}
    unscored_right = result_for(
        bank, form, responses_where(bank, form, lambda q: pattern[q.question_id] if q.scored else True)
    )
    unscored_wrong = result_for(
        bank, form, responses_where(bank, form, lambda q: pattern[q.question_id] if q.scored else False)
    )
    assert unscored_right.model_dump() == unscored_wrong.model_dump()
    assert unscored_right.scored.correct == sum(pattern.values())


def test_given_unscored_items_left_blank_then_only_the_answered_count_changes(bank: Bank, form: Form) -> None:
    full = responses_where(bank, form, lambda q: True)
    scored_only = {q.question_id: full[q.question_id] for q in form.questions if q.scored}
    a, b = result_for(bank, form, full), result_for(bank, form, scored_only)
    assert (a.answered, b.answered) == (65, 50)
    assert a.model_dump(exclude={"answered"}) == b.model_dump(exclude={"answered"})


def _multiple_scored(bank: Bank, form: Form) -> tuple[FormQuestion, list[str]]:
    for q in form.questions:
        item = bank.items[q.item_id]
        if q.scored and item.type == "multiple":
            return q, q.to_served(list(item.key))
    raise AssertionError("the form has no scored multiple-response item")


def test_multiple_response_is_all_or_nothing(bank: Bank, form: Form) -> None:
    q, key = _multiple_scored(bank, form)
    item = bank.items[q.item_id]
    others = [chr(ord("a") + i) for i in range(len(q.order)) if chr(ord("a") + i) not in key]

    def check(selected: list[str]) -> bool:
        return is_correct(q, item, StoredResponse(q.question_id, selected, False, 0))

    assert check(key)
    assert check(list(reversed(key)))
    assert not check(key[:-1])  # a proper subset of the key earns nothing
    assert not check(key[:1])
    assert not check([*key, others[0]])  # a superset is wrong too
    assert not check([*key[:-1], others[0]])
    assert not check([])


def test_given_multiple_response_subset_then_raw_score_drops_by_exactly_one(bank: Bank, form: Form) -> None:
    q, key = _multiple_scored(bank, form)
    responses = responses_where(bank, form, lambda _: True)
    responses[q.question_id] = StoredResponse(q.question_id, key[:-1], False, 0)
    assert result_for(bank, form, responses).scored.correct == 49


def test_is_correct_maps_served_option_ids_back_through_the_shuffle(bank: Bank) -> None:
    item = next(i for i in bank.items.values() if i.type == "single" and i.key == ["a"] and len(i.options) == 4)
    q = FormQuestion("q0123456789", item.id, "bcda", True)
    # Served "d" is original "a" (order "bcda"): the served id, not the original letter, must be sent.
    assert is_correct(q, item, StoredResponse(q.question_id, ["d"], False, 0))
    assert not is_correct(q, item, StoredResponse(q.question_id, ["a"], False, 0))
    assert not is_correct(q, item, None)
