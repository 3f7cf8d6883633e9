"""Blueprint arithmetic: Hamilton (largest-remainder) apportionment of a form's items to domains."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest
from exam_core.blueprint import DomainPlan, duration_seconds, form_plan, largest_remainder
from exam_core.models.bank import Blueprint

CLF_WEIGHTS = [0.24, 0.30, 0.34, 0.12]


def exact_hamilton(weights: list[float], total: int) -> list[int]:
    """Oracle: Hamilton's method in exact decimal arithmetic, remainder ties to the heavier weight."""
    exact = [Fraction(str(w)) for w in weights]
    s = sum(exact)
    quotas = [w / s * total for w in exact]
    seats = [math.floor(q) for q in quotas]
    order = sorted(range(len(weights)), key=lambda i: (-(quotas[i] - seats[i]), -exact[i], i))
    for i in order[: total - sum(seats)]:
        seats[i] += 1
    return seats


def _random_weight_sets(count: int, seed: int) -> list[list[float]]:
    rng = random.Random(seed)
    sets = []
    for _ in range(count):
        n = rng.randint(1, 8)
        raw = [rng.randint(1, 100) for _ in range(n)]
        sets.append([r / sum(raw) for r in raw])
    return sets


WEIGHT_SETS = [
    CLF_WEIGHTS,
    [1.0],
    [0.5, 0.5],
    [1 / 3, 1 / 3, 1 / 3],
    [0.1, 0.2, 0.3, 0.4],
    [0.05, 0.95],
    [0.01, 0.01, 0.98],
    [0.125] * 8,
    [3.0, 1.0, 1.0],  # weights need not sum to 1
    *_random_weight_sets(40, seed=7),
]
TOTALS = [0, 1, 2, 3, 5, 7, 10, 13, 15, 33, 50, 65, 97, 100, 200]


# ---------------------------------------------------------------- the real blueprint


def test_given_clf_blueprint_when_planning_full_form_then_scored_split_is_12_15_17_6(blueprint: Blueprint) -> None:
    plan = form_plan(blueprint, "full")
    assert [p.domain_id for p in plan] == [d.id for d in blueprint.domains]
    assert [p.scored for p in plan] == [12, 15, 17, 6]


def test_given_clf_blueprint_when_planning_full_form_then_pretest_split_is_4_4_5_2(blueprint: Blueprint) -> None:
    # Quotas 3.6/4.5/5.1/1.8: floors 3/4/5/1 and the two spare seats go to .8 and .6.
    assert [p.pretest for p in form_plan(blueprint, "full")] == [4, 4, 5, 2]


def test_given_clf_blueprint_when_planning_diagnostic_then_tie_goes_to_heavier_domain(blueprint: Blueprint) -> None:
    # Quotas 2.4/3.0/3.4/1.2: cloud-concepts (0.24) and technology (0.34) tie on .4; the heavier one wins.
    plan = form_plan(blueprint, "diagnostic")
    assert [p.scored for p in plan] == [2, 3, 4, 1]
    assert [p.pretest for p in plan] == [0, 0, 0, 0]


def test_given_clf_blueprint_then_plans_add_up_to_form_spec(blueprint: Blueprint) -> None:
    for kind, spec in blueprint.forms.items():
        plan = form_plan(blueprint, kind)
        assert all(isinstance(p, DomainPlan) for p in plan)
        assert sum(p.scored for p in plan) == spec.scored
        assert sum(p.pretest for p in plan) == spec.pretest


def test_duration_is_minutes_times_sixty_and_none_for_untimed_forms(blueprint: Blueprint) -> None:
    assert duration_seconds(blueprint, "full") == 90 * 60
    assert duration_seconds(blueprint, "diagnostic") is None


# ---------------------------------------------------------------- largest_remainder in general


@pytest.mark.parametrize("total", TOTALS)
@pytest.mark.parametrize("weights", WEIGHT_SETS, ids=lambda w: "w" + "-".join(f"{x:.3g}" for x in w))
def test_given_any_weights_when_splitting_then_seats_sum_to_total_and_each_is_floor_or_ceil_of_quota(
    weights: list[float], total: int
) -> None:
    seats = largest_remainder(weights, total)
    assert len(seats) == len(weights)
    assert sum(seats) == total
    s = sum(weights)
    for w, n in zip(weights, seats, strict=True):
        quota = w / s * total
        assert n >= 0
        assert math.floor(quota + 1e-9) - 1e-9 <= n <= math.ceil(quota - 1e-9) + 1e-9


@pytest.mark.parametrize("weights", WEIGHT_SETS[:9], ids=lambda w: "w" + "-".join(f"{x:.3g}" for x in w))
def test_given_any_weights_when_splitting_every_total_up_to_120_then_sum_is_exact(weights: list[float]) -> None:
    for total in range(121):
        assert sum(largest_remainder(weights, total)) == total


def test_given_whole_quotas_then_split_is_exactly_proportional() -> None:
    assert largest_remainder([0.25, 0.25, 0.5], 8) == [2, 2, 4]
    assert largest_remainder(CLF_WEIGHTS, 100) == [24, 30, 34, 12]


def test_given_largest_remainders_then_they_win_the_spare_seats() -> None:
    # Quotas 1.4/2.1/1.5: floors 1/2/1, the one spare seat goes to .5 (not .4, not .1).
    assert largest_remainder([0.28, 0.42, 0.30], 5) == [1, 2, 2]
    # Quotas 2.8/4.2/3.0 with 10 seats: floors 2/4/3, the spare seat goes to .8.
    assert largest_remainder([0.28, 0.42, 0.30], 10) == [3, 4, 3]


def test_given_tied_remainders_then_heavier_weight_wins_even_when_listed_later() -> None:
    # Quotas 0.5/1.5/3.0: the .5 tie goes to the 0.3 weight, not to the first-listed 0.1.
    assert largest_remainder([0.1, 0.3, 0.6], 5) == [0, 2, 3]


def test_given_equal_weights_and_tied_remainders_then_lower_index_wins() -> None:
    assert largest_remainder([1, 1, 1], 10) == [4, 3, 3]
    assert largest_remainder([1, 1, 1], 11) == [4, 4, 3]


def test_given_zero_total_then_every_domain_gets_zero() -> None:
    assert largest_remainder(CLF_WEIGHTS, 0) == [0, 0, 0, 0]


def test_given_negative_total_then_value_error() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        largest_remainder(CLF_WEIGHTS, -1)


@pytest.mark.parametrize(
    ("weights", "total"),
    [
        (CLF_WEIGHTS, 20),
        (CLF_WEIGHTS, 50),
        (CLF_WEIGHTS, 15),
        (CLF_WEIGHTS, 10),
        ([0.1, 0.3, 0.6], 5),
        ([0.28, 0.42, 0.30], 5),
        ([1, 1, 1], 11),
    ],
)
def test_given_simple_cases_then_split_matches_exact_rational_oracle(weights: list[float], total: int) -> None:
    assert largest_remainder(weights, total) == exact_hamilton(weights, total)


def test_given_clf_weights_and_60_seats_when_remainders_tie_then_heavier_domain_gets_the_seat() -> None:
    # Regression: quotas 14.4/18/20.4/7.2; 20.4 - 20 evaluates to 0.3999999999999986 < 14.4 - 14 = 0.4000000000000004,
    # so float noise once gave the seat to the lighter cloud-concepts domain ([15, 18, 20, 7]).
    assert largest_remainder(CLF_WEIGHTS, 60) == [14, 18, 21, 7]


def test_given_tied_remainders_on_quotas_of_different_size_then_heavier_weight_still_wins() -> None:
    # Regression: quotas 0.2/0.4/19.4 tie on .4, but 19.4 - 19 < 0.4 in floating point.
    assert largest_remainder([0.01, 0.02, 0.97], 20) == [0, 0, 20]


def _two_decimal_weight_sets(n_domains: int, count: int, seed: int) -> list[list[float]]:
    rng = random.Random(seed)
    sets = []
    while len(sets) < count:
        cuts = sorted(rng.sample(range(1, 100), n_domains - 1))
        parts = [b - a for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]
        sets.append([p / 100 for p in parts])
    return sets


@pytest.mark.parametrize("n_domains", [2, 3, 4, 5])
def test_given_two_decimal_weights_then_every_split_matches_the_exact_oracle_ties_included(n_domains: int) -> None:
    for weights in _two_decimal_weight_sets(n_domains, 60, seed=n_domains):
        for total in range(1, 81):
            assert largest_remainder(weights, total) == exact_hamilton(weights, total), (weights, total)
