"""Anchored Rasch calibration: recovery of known difficulties, decisions, anchors held, lazy numpy."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")

from exam_core.calibration import AttemptResponses, CalibrationReport, calibrate  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
N_ANCHORS = 200
N_PRETEST = 60
RESPONSES_PER_ITEM = 500
ANCHORS_PER_ATTEMPT = 50
PRETEST_PER_ATTEMPT = 15


def simulate(
    seed: int,
    *,
    theta_mean: float = 0.0,
    theta_sd: float = 1.0,
    extra: dict[str, object] | None = None,
) -> tuple[dict[str, float], dict[str, float], list[AttemptResponses], set[str]]:
    """Attempts of 50 random anchors + 15 random pretest items, Rasch responses with known difficulties.

    ``extra`` adds items that every attempt sees: a callable theta -> P(correct) (a non-Rasch item).
    """
    rng = np.random.default_rng(seed)
    anchors = {f"op-{k:03d}": round(float(b), 2) for k, b in enumerate(rng.normal(0.0, 1.0, N_ANCHORS))}
    true_b = {f"pre-{k:03d}": round(float(b), 2) for k, b in enumerate(rng.uniform(-2.0, 2.0, N_PRETEST))}
    anchor_ids, pre_ids = list(anchors), list(true_b)
    b_anchor = np.array([anchors[i] for i in anchor_ids])
    b_pre = np.array([true_b[i] for i in pre_ids])
    persons = N_PRETEST * RESPONSES_PER_ITEM // PRETEST_PER_ATTEMPT
    thetas = rng.normal(theta_mean, theta_sd, persons)
    attempts = []
    for theta in thetas:
        a = rng.choice(N_ANCHORS, ANCHORS_PER_ATTEMPT, replace=False)
        p = rng.choice(N_PRETEST, PRETEST_PER_ATTEMPT, replace=False)
        b = np.concatenate([b_anchor[a], b_pre[p]])
        x = (rng.random(b.size) < 1.0 / (1.0 + np.exp(-(theta - b)))).tolist()
        ids = [anchor_ids[k] for k in a] + [pre_ids[k] for k in p]
        for item_id, prob in (extra or {}).items():
            ids.append(item_id)
            x.append(bool(rng.random() < prob(theta)))  # type: ignore[operator]
        attempts.append(AttemptResponses(ids, x))
    return anchors, true_b, attempts, set(true_b) | set(extra or {})


def recovery(report: CalibrationReport, true_b: dict[str, float]) -> tuple[float, float]:
    est = report.by_id()
    ids = sorted(true_b)
    b_hat = np.array([est[i].b for i in ids])
    b_true = np.array([true_b[i] for i in ids])
    return float(np.sqrt(np.mean((b_hat - b_true) ** 2))), float(np.corrcoef(b_hat, b_true)[0, 1])


@pytest.fixture(scope="module")
def standard() -> tuple[dict[str, float], dict[str, float], CalibrationReport, dict[str, float]]:
    extra = {
        "guess": lambda theta: 0.25,  # random guessing: b is irrelevant, no discrimination
        "sharp": lambda theta: 1.0 / (1.0 + math.exp(-4.0 * (theta - 0.5))),  # far steeper than Rasch
    }
    anchors, true_b, attempts, pretest = simulate(11, extra=extra)
    # Every attempt sees "guess" and "sharp" (2,000 responses); "rare" is seen by the first 50 attempts only.
    rare = [
        AttemptResponses([*a.item_ids, "rare"], [*a.correct, a.correct[0]]) if n < 50 else a
        for n, a in enumerate(attempts)
    ]
    snapshot = dict(anchors)
    return anchors, true_b, calibrate(anchors, pretest | {"rare"}, rare), snapshot


def test_given_500_responses_per_item_then_difficulties_are_recovered(standard) -> None:
    _, true_b, report, _ = standard
    rmse, corr = recovery(report, true_b)
    assert rmse < 0.2
    assert corr > 0.95


def test_given_500_responses_then_standard_errors_match_the_actual_error(standard) -> None:
    _, true_b, report, _ = standard
    rmse, _ = recovery(report, true_b)
    mean_se = float(np.mean([report.by_id()[i].se for i in true_b]))
    assert 0.05 < mean_se < 0.2
    assert 0.7 < rmse / mean_se < 1.4


def test_given_rasch_items_with_enough_responses_then_they_fit_and_are_promoted(standard) -> None:
    _, true_b, report, _ = standard
    items = [report.by_id()[i] for i in true_b]
    assert all(i.n >= 300 for i in items)
    assert sum(i.decision == "promote" for i in items) >= 0.9 * len(items)
    assert 0.95 < float(np.mean([i.infit for i in items])) < 1.1
    assert float(np.mean([i.point_biserial for i in items])) > 0.25


def test_given_a_random_guessing_item_then_it_is_flagged_for_discrimination_or_misfit(standard) -> None:
    guess = standard[2].by_id()["guess"]
    assert guess.n == 2000
    assert guess.decision == "flag"
    assert guess.point_biserial < 0.15 or not 0.7 <= guess.outfit <= 1.3
    assert "point-biserial" in guess.reason


def test_given_an_item_much_steeper_than_rasch_then_it_is_flagged_as_overfitting(standard) -> None:
    sharp = standard[2].by_id()["sharp"]
    assert sharp.decision == "flag"
    assert sharp.infit < 0.7 or sharp.outfit < 0.7
    assert sharp.point_biserial > 0.15


def test_given_50_responses_then_the_item_stays_in_pretest(standard) -> None:
    rare = standard[2].by_id()["rare"]
    assert rare.n == 50
    assert rare.decision == "keep_pretest"
    assert "50 responses" in rare.reason


def test_given_calibration_then_anchors_are_unchanged_and_not_reported(standard) -> None:
    anchors, true_b, report, before = standard
    assert anchors == before
    reported = {i.item_id for i in report.items}
    assert reported == set(true_b) | {"guess", "sharp", "rare"}
    assert not reported & set(anchors)
    assert report.anchors == N_ANCHORS
    assert report.persons == N_PRETEST * RESPONSES_PER_ITEM // PRETEST_PER_ATTEMPT


def test_given_a_shifted_population_then_recovery_holds_and_the_population_is_estimated() -> None:
    anchors, true_b, attempts, pretest = simulate(12, theta_mean=0.8, theta_sd=1.2)
    report = calibrate(dict(anchors), pretest, attempts)
    rmse, corr = recovery(report, true_b)
    assert rmse < 0.2
    assert corr > 0.95
    assert report.settings["population_mean"] == pytest.approx(0.8, abs=0.1)
    assert report.settings["population_sd"] == pytest.approx(1.2, abs=0.1)


def test_given_an_item_both_anchor_and_pretest_then_it_is_rejected() -> None:
    with pytest.raises(ValueError, match="both anchors and pretest"):
        calibrate({"x": 0.0}, {"x"}, [])


def test_given_a_pretest_item_nobody_saw_then_it_is_kept_without_an_estimate() -> None:
    attempts = [AttemptResponses(["a", "p"], [True, False]), AttemptResponses(["a", "p"], [False, True])]
    report = calibrate({"a": 0.0}, {"p", "unseen"}, attempts)
    unseen = report.by_id()["unseen"]
    assert unseen.n == 0
    assert unseen.decision == "keep_pretest"
    assert math.isnan(unseen.b)


def test_given_mismatched_lengths_then_attempt_responses_refuse() -> None:
    with pytest.raises(ValueError, match="correctness"):
        AttemptResponses(["a", "b"], [True])


def test_importing_calibration_does_not_import_numpy() -> None:
    env = {**os.environ, "PYTHONPATH": "shared"}
    out = subprocess.run(
        [sys.executable, "-c", "import exam_core.calibration, sys; print('numpy' in sys.modules)"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"


def test_given_300_items_with_1000_responses_each_then_calibration_takes_seconds() -> None:
    rng = np.random.default_rng(13)
    n_pre, n_anchor, persons = 300, 250, 300 * 1000 // PRETEST_PER_ATTEMPT
    b_anchor, b_pre = rng.normal(0.0, 1.0, n_anchor), rng.uniform(-2.0, 2.0, n_pre)
    which_a = np.argsort(rng.random((persons, n_anchor)), axis=1)[:, :ANCHORS_PER_ATTEMPT]
    which_p = np.argsort(rng.random((persons, n_pre)), axis=1)[:, :PRETEST_PER_ATTEMPT]
    b = np.concatenate([b_anchor[which_a], b_pre[which_p]], axis=1)
    theta = rng.normal(0.0, 1.0, (persons, 1))
    x = rng.random(b.shape) < 1.0 / (1.0 + np.exp(-(theta - b)))
    names = np.array([f"op-{k}" for k in range(n_anchor)] + [f"pre-{k}" for k in range(n_pre)])
    ids = names[np.concatenate([which_a, which_p + n_anchor], axis=1)].tolist()
    attempts = [AttemptResponses(i, c) for i, c in zip(ids, x.tolist(), strict=True)]
    start = time.perf_counter()
    report = calibrate(
        {f"op-{k}": float(v) for k, v in enumerate(b_anchor)}, {f"pre-{k}" for k in range(n_pre)}, attempts
    )
    elapsed = time.perf_counter() - start
    assert elapsed < 15.0  # about 1.5 s on 2 cores; the bound only catches an accidental slow path
    est = report.by_id()
    rmse = float(np.sqrt(np.mean([(est[f"pre-{k}"].b - v) ** 2 for k, v in enumerate(b_pre)])))
    assert rmse < 0.12
    assert all(i.n > 800 for i in report.items)
