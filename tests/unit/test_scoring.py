"""Rasch EAP scoring: the conversion table checked against brute-force oracles over the same grid."""

from __future__ import annotations

import itertools
import math
import random

import pytest
from exam_core.assembly import assemble
from exam_core.bank import Bank
from exam_core.models.bank import Blueprint, Scale
from exam_core.scoring import (
    NODES,
    ScoreRow,
    conversion_table,
    expected_percent,
    lord_wingersky,
    rasch_probability,
    to_scaled,
)
from exam_core.scoring import (
    test_information as information_at,
)

SCALE = Scale(min=100, max=1000, passing=700, theta_cut=0.6, slope=100)
STEP = NODES[1] - NODES[0]

SMALL_FORMS = {
    "six-spread": [-1.5, -0.7, 0.0, 0.4, 1.1, 2.0],
    "six-equal": [0.3] * 6,
    "six-extreme": [-5.0, -4.0, -0.2, 0.6, 4.0, 5.0],
    "five-random": [round(random.Random(3).uniform(-3, 3), 2) for _ in range(5)],
    "one-item": [0.6],
}
FIFTY = [round(-2.0 + 4.0 * k / 49, 3) for k in range(50)]


def brute_force_raw_distribution(theta: float, difficulties: list[float]) -> list[float]:
    """P(raw = r | theta) by enumerating every response pattern (the 2^n oracle)."""
    probs = [rasch_probability(theta, b) for b in difficulties]
    dist = [0.0] * (len(difficulties) + 1)
    for pattern in itertools.product((0, 1), repeat=len(difficulties)):
        p = 1.0
        for x, pj in zip(pattern, probs, strict=True):
            p *= pj if x else 1.0 - pj
        dist[sum(pattern)] += p
    return dist


def brute_force_eap(difficulties: list[float], cut: float) -> list[tuple[float, float, float]]:
    """(theta, sd, P(theta > cut)) per raw score from prior x brute-force likelihood on NODES."""
    per_node = [brute_force_raw_distribution(t, difficulties) for t in NODES]
    out = []
    for r in range(len(difficulties) + 1):
        weights = [math.exp(-0.5 * t * t) * per_node[k][r] for k, t in enumerate(NODES)]
        total = sum(weights)
        mean = sum(w * t for w, t in zip(weights, NODES, strict=True)) / total
        var = sum(w * (t - mean) ** 2 for w, t in zip(weights, NODES, strict=True)) / total
        above = [min(1.0, max(0.0, (t + STEP / 2 - cut) / STEP)) for t in NODES]
        p_pass = sum(w * a for w, a in zip(weights, above, strict=True)) / total
        out.append((mean, math.sqrt(var), p_pass))
    return out


# ---------------------------------------------------------------- primitives


def test_rasch_probability_is_one_half_at_the_difficulty_and_logistic_elsewhere() -> None:
    assert rasch_probability(0.7, 0.7) == pytest.approx(0.5)
    assert rasch_probability(1.0, 0.0) == pytest.approx(1 / (1 + math.exp(-1)))
    assert rasch_probability(-3.0, 2.0) < 0.01 < 0.99 < rasch_probability(3.0, -2.0)


def test_test_information_is_the_sum_of_p_times_one_minus_p() -> None:
    bs = [-1.0, 0.0, 0.6, 2.5]
    expected = sum(rasch_probability(0.6, b) * (1 - rasch_probability(0.6, b)) for b in bs)
    assert information_at(0.6, bs) == pytest.approx(expected)
    assert information_at(0.6, [0.6]) == pytest.approx(0.25)  # the maximum of one Rasch item
    assert information_at(0.6, []) == 0.0


def test_expected_percent_is_mean_probability_times_100_and_zero_for_no_items() -> None:
    bs = [-1.0, 0.6, 2.0]
    assert expected_percent(0.6, bs) == pytest.approx(100 * sum(rasch_probability(0.6, b) for b in bs) / 3)
    assert expected_percent(0.6, []) == 0.0


def test_nodes_are_81_evenly_spaced_points_from_minus_6_to_6() -> None:
    assert len(NODES) == 81
    assert NODES[0] == -6.0
    assert NODES[-1] == pytest.approx(6.0)
    assert all(b - a == pytest.approx(0.15) for a, b in itertools.pairwise(NODES))


# ---------------------------------------------------------------- Lord-Wingersky


@pytest.mark.parametrize("seed", range(6))
def test_lord_wingersky_sums_to_one_and_matches_brute_force_enumeration(seed: int) -> None:
    rng = random.Random(seed)
    difficulties = [rng.uniform(-3, 3) for _ in range(rng.randint(1, 8))]
    theta = rng.uniform(-2, 2)
    dist = lord_wingersky([rasch_probability(theta, b) for b in difficulties])
    assert len(dist) == len(difficulties) + 1
    assert sum(dist) == pytest.approx(1.0, abs=1e-12)
    assert dist == pytest.approx(brute_force_raw_distribution(theta, difficulties), abs=1e-12)


def test_lord_wingersky_of_no_items_is_certain_zero_and_of_equal_items_is_binomial() -> None:
    assert lord_wingersky([]) == [1.0]
    dist = lord_wingersky([0.3] * 4)
    assert dist == pytest.approx([math.comb(4, r) * 0.3**r * 0.7 ** (4 - r) for r in range(5)])


# ---------------------------------------------------------------- the conversion table vs oracles


@pytest.mark.parametrize("name", SMALL_FORMS)
def test_given_small_form_when_building_table_then_eap_theta_sd_and_pass_probability_match_brute_force(
    name: str,
) -> None:
    difficulties = SMALL_FORMS[name]
    table = conversion_table(difficulties, SCALE)
    oracle = brute_force_eap(difficulties, SCALE.theta_cut)
    assert [row.raw for row in table] == list(range(len(difficulties) + 1))
    for row, (theta, sd, p_pass) in zip(table, oracle, strict=True):
        assert row.theta == pytest.approx(theta, abs=6e-5), f"raw {row.raw}"
        assert row.sd == pytest.approx(sd, abs=6e-5), f"raw {row.raw}"
        assert row.pass_probability == pytest.approx(p_pass, abs=6e-5), f"raw {row.raw}"
        assert row.scaled == to_scaled(theta, SCALE)


def lord_wingersky_eap(difficulties: list[float], cut: float) -> list[tuple[float, float, float]]:
    """(theta, sd, P(theta > cut)) per raw score from prior x Lord-Wingersky likelihood on NODES."""
    per_node = [lord_wingersky([rasch_probability(t, b) for b in difficulties]) for t in NODES]
    above = [min(1.0, max(0.0, (t + STEP / 2 - cut) / STEP)) for t in NODES]
    out = []
    for r in range(len(difficulties) + 1):
        weights = [math.exp(-0.5 * t * t) * per_node[k][r] for k, t in enumerate(NODES)]
        total = sum(weights)
        mean = sum(w * t for w, t in zip(weights, NODES, strict=True)) / total
        var = sum(w * (t - mean) ** 2 for w, t in zip(weights, NODES, strict=True)) / total
        out.append((mean, math.sqrt(var), sum(w * a for w, a in zip(weights, above, strict=True)) / total))
    return out


@pytest.mark.parametrize(
    "difficulties",
    [
        FIFTY,
        [1.2] * 50,
        [-4.5 + 9.0 * k / 49 for k in range(50)],
        [round(random.Random(11).gauss(0.6, 1), 2) for _ in range(65)],
    ],
    ids=["spread", "equal", "wide", "random-65"],
)
def test_given_full_length_form_then_table_matches_lord_wingersky_posterior(difficulties: list[float]) -> None:
    table = conversion_table(difficulties, SCALE)
    for row, (theta, sd, p_pass) in zip(table, lord_wingersky_eap(difficulties, SCALE.theta_cut), strict=True):
        assert row.theta == pytest.approx(theta, abs=6e-5), f"raw {row.raw}"
        assert row.sd == pytest.approx(sd, abs=6e-5), f"raw {row.raw}"
        assert row.pass_probability == pytest.approx(p_pass, abs=6e-5), f"raw {row.raw}"


def test_given_items_at_zero_and_symmetric_raw_scores_then_thetas_are_mirror_images() -> None:
    table = conversion_table([0.0] * 6, SCALE)
    for r in range(7):
        assert table[r].theta == pytest.approx(-table[6 - r].theta, abs=1e-4)
        assert table[r].sd == pytest.approx(table[6 - r].sd, abs=1e-4)
    assert table[3].theta == pytest.approx(0.0, abs=1e-4)


# ---------------------------------------------------------------- properties of the table


@pytest.fixture(scope="module")
def fifty_table() -> list[ScoreRow]:
    return conversion_table(FIFTY, SCALE)


def test_given_fifty_items_then_table_has_one_row_per_raw_score(fifty_table: list[ScoreRow]) -> None:
    assert [r.raw for r in fifty_table] == list(range(51))


def test_scaled_score_and_theta_never_decrease_as_raw_score_rises(fifty_table: list[ScoreRow]) -> None:
    for lo, hi in itertools.pairwise(fifty_table):
        assert hi.theta > lo.theta
        assert hi.scaled >= lo.scaled
    assert fifty_table[-1].scaled > fifty_table[0].scaled


def test_pass_probability_is_in_unit_interval_and_never_decreases_with_raw_score(
    fifty_table: list[ScoreRow],
) -> None:
    probs = [r.pass_probability for r in fifty_table]
    assert all(0.0 <= p <= 1.0 for p in probs)
    assert all(b >= a for a, b in itertools.pairwise(probs))
    assert probs[0] < 0.01
    assert probs[-1] > 0.99


def test_band_is_eap_plus_minus_one_sd_and_contains_the_scaled_score() -> None:
    for row in conversion_table(FIFTY, SCALE, scoring="eap"):
        assert row.band_low <= row.scaled <= row.band_high
        assert row.sd > 0
        assert row.band_low == pytest.approx(to_scaled(row.theta - row.sd, SCALE), abs=1)
        assert row.band_high == pytest.approx(to_scaled(row.theta + row.sd, SCALE), abs=1)


def test_given_harder_form_then_same_raw_score_earns_higher_or_equal_scaled_score(
    fifty_table: list[ScoreRow],
) -> None:
    harder = conversion_table([b + 0.5 for b in FIFTY], SCALE)
    for easy_row, hard_row in zip(fifty_table, harder, strict=True):
        assert hard_row.theta > easy_row.theta
        assert hard_row.scaled >= easy_row.scaled
        assert hard_row.pass_probability >= easy_row.pass_probability
    for r in range(10, 41):  # the middle of the raw-score range: strictly higher
        assert harder[r].scaled > fifty_table[r].scaled, f"raw {r}"


def test_given_steep_slope_then_scaled_scores_are_clamped_to_scale_bounds() -> None:
    steep = Scale(min=100, max=1000, passing=700, theta_cut=0.6, slope=400)
    table = conversion_table(FIFTY, steep)
    assert table[0].scaled == 100
    assert table[0].band_low == 100
    assert table[-1].scaled == 1000
    assert table[-1].band_high == 1000
    for row in table:
        assert 100 <= row.band_low <= row.scaled <= row.band_high <= 1000


def test_to_scaled_maps_cut_to_passing_score_and_clamps_extremes() -> None:
    assert to_scaled(SCALE.theta_cut, SCALE) == 700
    assert to_scaled(SCALE.theta_cut + 1.0, SCALE) == 800
    assert to_scaled(SCALE.theta_cut - 2.5, SCALE) == 450
    assert to_scaled(-50.0, SCALE) == 100
    assert to_scaled(50.0, SCALE) == 1000


def test_given_real_blueprint_scale_then_table_of_real_bank_difficulties_stays_in_range(
    blueprint: Blueprint, bank_files: tuple[Blueprint, list]
) -> None:
    difficulties = [i.b for i in bank_files[1] if i.status == "operational"][:50]
    table = conversion_table(difficulties, blueprint.scale)
    assert len(table) == 51
    for row in table:
        assert blueprint.scale.min <= row.scaled <= blueprint.scale.max


def test_score_row_survives_a_list_round_trip(fifty_table: list[ScoreRow]) -> None:
    for row in fifty_table:
        assert ScoreRow.from_list(row.to_list()) == row


def test_given_full_length_form_then_scaled_score_is_the_wle_and_band_is_it_plus_minus_posterior_sd(
    fifty_table: list[ScoreRow],
) -> None:
    for row in fifty_table:
        assert row.score_theta is not None
        assert row.scaled == to_scaled(row.score_theta, SCALE)
        assert row.band_low == to_scaled(row.score_theta - row.sd, SCALE)
        assert row.band_high == to_scaled(row.score_theta + row.sd, SCALE)
        # WLE solves r = sum P + I'/(2I): check the score equation by finite differences of log L + log sqrt(I)
        t, h = row.score_theta, 1e-5

        def penalised(x: float, r: int = row.raw) -> float:
            return r * x - sum(math.log1p(math.exp(x - b)) for b in FIFTY) + 0.5 * math.log(information_at(x, FIFTY))

        assert (penalised(t + h) - penalised(t - h)) / (2 * h) == pytest.approx(0.0, abs=1e-3), f"raw {row.raw}"


def test_given_items_symmetric_about_the_cut_then_the_wle_at_the_middle_raw_score_is_the_cut() -> None:
    table = conversion_table([SCALE.theta_cut + d for d in FIFTY], SCALE)
    assert table[25].score_theta == pytest.approx(SCALE.theta_cut, abs=1e-4)
    assert table[25].scaled == 700
    assert table[25].theta < SCALE.theta_cut  # the EAP posterior mean shrinks towards the prior mean 0


def test_given_short_form_then_auto_scoring_keeps_the_eap_and_old_seven_column_rows_read_back_unchanged() -> None:
    short = conversion_table([0.0] * 10, SCALE)
    assert all(r.score_theta is None and r.scaled == to_scaled(r.theta, SCALE) for r in short)
    stored = [3, -0.5, 0.4, 590, 550, 630, 0.01]  # a row of a table stored before WLE scoring
    row = ScoreRow.from_list(stored)
    assert row.scaled == 590 and row.reported_theta == -0.5 and row.to_list() == stored


def test_given_assembled_full_forms_when_a_candidate_is_exactly_at_the_cut_then_wle_is_fair_and_eap_was_not(
    bank: Bank,
) -> None:
    """Exact (Lord-Wingersky) pass rate and mean score at theta_cut over 20 forms, WLE against EAP."""
    scale = bank.blueprint.scale
    seeds = random.Random(20)
    wle_pass, wle_mean, eap_pass = [], [], []
    for _ in range(20):
        form = assemble(bank, "full", random.Random(seeds.getrandbits(64)))
        b = [bank.items[q.item_id].b for q in form.questions if q.scored]
        dist = lord_wingersky([rasch_probability(scale.theta_cut, x) for x in b])
        eap = conversion_table(b, scale, "eap")
        wle_pass.append(sum(p for p, row in zip(dist, form.table, strict=True) if row.scaled >= scale.passing))
        wle_mean.append(sum(p * row.scaled for p, row in zip(dist, form.table, strict=True)))
        eap_pass.append(sum(p for p, row in zip(dist, eap, strict=True) if row.scaled >= scale.passing))
    assert abs(sum(wle_pass) / 20 - 0.5) <= 0.04  # form-to-form SE of the mean is about 0.008
    assert abs(sum(wle_mean) / 20 - scale.passing) <= 1.0
    assert sum(eap_pass) / 20 < 0.47  # the posterior mean's shrinkage fails borderline candidates
