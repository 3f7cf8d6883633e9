"""Psychometric simulation of the product: ``python -m infra.sim.simulate [--seed N]`` (``make simulate``).

Every item's ``b`` in the bank is taken as its TRUE difficulty; candidates answer by the Rasch model.
Forms come from the product's own assembly (``exam_core.assembly.assemble``) and are scored with each
form's own conversion table; pretest items are calibrated with ``exam_core.calibration.calibrate``.

Sections (keys of reports/simulation.json):
1. equating: 20 full forms, candidates at theta_cut and from N(0, 1), scored by the product and by the
   prep-site baseline 100 + 900 x percent correct; parallelism of 1,000 assembled forms.
2. classification: pass/fail decisions against the truth theta > theta_cut (full and diagnostic forms).
3. calibration: anchored calibration of the bank's pretest items from simulated full-form attempts.
4. band: how often the reported band covers the candidate's true scaled score.
5. readiness: the rule "five full attempts in a row at 750 or more".
Writes reports/simulation.json, reports/simulation.md and PNG plots in reports/.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from exam_core.adaptive import EXPOSURE_SHARE, final_table, first_stage, next_stage, select_stage, stage_plan
from exam_core.assembly import assemble
from exam_core.bank import Bank
from exam_core.bank_files import read_exam_dir
from exam_core.calibration import AttemptResponses, calibrate
from exam_core.models.bank import FormKind, Scale
from exam_core.models.records import Form
from exam_core.scoring import WLE_BOUND, conversion_table, to_scaled
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parents[2]
EXAM_DIR = ROOT / "infra" / "bank" / "clf-c02"
REPORTS = ROOT / "reports"
DEFAULT_SEED = 20261125

EQUATING_FORMS = 20
CANDIDATES_PER_FORM = 10_000
PARALLEL_FORMS = 1_000
DIAGNOSTIC_FORMS = 20
CALIBRATION_LEVELS = (200, 500, 1000)
READINESS_POOL = 200
READINESS_POPULATION = 100_000
READINESS_AT_THETA = 20_000
READINESS_ATTEMPTS = 5
READINESS_SCORE = 750
READINESS_OFFSETS = (0.25, 0.5, 1.0)
CUT_FORMS = 200  # fresh full forms for the exact (Lord-Wingersky) figures at the cut
INFORMATION_FACTORS = (1.03, 1.06)  # assembly targets above today's information at the cut, for comparison
INFORMATION_FORMS = 100
CUT_GRID = np.linspace(-6.0, 6.0, 1201)  # the N(0, 1) population as quadrature
CUT_WEIGHTS = np.exp(-0.5 * CUT_GRID**2) / np.exp(-0.5 * CUT_GRID**2).sum()
ADAPTIVE_CANDIDATES = 10_000  # simulated adaptive diagnostics (pure Python, a few ms each)
ADAPTIVE_VARIANT_CANDIDATES = 2_000  # the variant that targets the cut instead of the provisional EAP
DIAGNOSTIC_GOAL = 0.88
IDEAL_ITEMS = 30  # the reference curve runs on to show how many ideal items the goal needs
PREP_SITE = (100, 900)  # baseline score = 100 + 900 x percent correct

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


# ---------------------------------------------------------------- helpers


@dataclass(frozen=True)
class FormData:
    """A form's scored difficulties and its conversion table as arrays indexed by raw score."""

    form: Form
    b: FloatArray
    scaled: IntArray
    band_low: IntArray
    band_high: IntArray
    # The same form's table as scored before WLE scoring (EAP score and band), for old-vs-new figures.
    scaled_eap: IntArray

    @classmethod
    def of(cls, bank: Bank, form: Form) -> FormData:
        b = [bank.items[q.item_id].b for q in form.questions if q.scored]
        return cls(
            form=form,
            b=np.array(b, dtype=np.float64),
            scaled=np.array([r.scaled for r in form.table], dtype=np.int64),
            band_low=np.array([r.band_low for r in form.table], dtype=np.int64),
            band_high=np.array([r.band_high for r in form.table], dtype=np.int64),
            scaled_eap=np.array([r.scaled for r in conversion_table(b, bank.blueprint.scale, "eap")], dtype=np.int64),
        )

    @property
    def n(self) -> int:
        return int(self.b.size)


def sigmoid(z: FloatArray) -> FloatArray:
    out: FloatArray = 1.0 / (1.0 + np.exp(-z))
    return out


def simulate_raw(rng: np.random.Generator, theta: FloatArray, b: FloatArray) -> IntArray:
    """Raw scores of candidates ``theta`` on items ``b``: a Rasch response matrix, summed by row."""
    correct: BoolArray = rng.random((theta.size, b.size)) < sigmoid(theta[:, None] - b[None, :])
    raw: IntArray = correct.sum(axis=1).astype(np.int64)
    return raw


def percent_baseline(raw: IntArray, n_items: int) -> IntArray:
    """The prep-site score: 100 + 900 x percent correct, percent rounded to a whole number."""
    percent = np.round(100.0 * raw / n_items)
    return (PREP_SITE[0] + PREP_SITE[1] * percent / 100.0).round().astype(np.int64)


def true_scaled(theta: FloatArray, scale: Scale) -> IntArray:
    """``exam_core.scoring.to_scaled`` vectorised (both round half to even)."""
    value = np.round(scale.passing + scale.slope * (theta - scale.theta_cut))
    return np.clip(value, scale.min, scale.max).astype(np.int64)


def raw_distribution(theta: FloatArray, b: FloatArray) -> FloatArray:
    """P(raw = r | theta) for each theta (rows) by the Lord-Wingersky recursion."""
    p = sigmoid(theta[:, None] - b[None, :])
    dist = np.zeros((theta.size, b.size + 1))
    dist[:, 0] = 1.0
    for j in range(b.size):
        shifted = dist[:, :-1] * p[:, j : j + 1]
        dist *= 1.0 - p[:, j : j + 1]
        dist[:, 1:] += shifted
    return dist


def spread(values: list[float]) -> float:
    return max(values) - min(values)


def rates(decision: BoolArray, truth: BoolArray) -> dict[str, float]:
    n = decision.size
    false_pass = int(np.sum(decision & ~truth))
    false_fail = int(np.sum(~decision & truth))
    return {
        "accuracy": round(1.0 - (false_pass + false_fail) / n, 4),
        "false_pass_rate": round(false_pass / n, 4),
        "false_fail_rate": round(false_fail / n, 4),
        "pass_rate_given_truly_below_cut": round(false_pass / max(1, int(np.sum(~truth))), 4),
        "fail_rate_given_truly_above_cut": round(false_fail / max(1, int(np.sum(truth))), 4),
        "decision_pass_rate": round(float(decision.mean()), 4),
        "true_pass_rate": round(float(truth.mean()), 4),
    }


def draw_forms(bank: Bank, kind: FormKind, count: int, seeds: random.Random, **kwargs: Any) -> list[Form]:
    forms = []
    for _ in range(count):
        rng = random.Random(seeds.getrandbits(64))  # noqa: S311 (simulation, not security)  # nosec B311
        forms.append(assemble(bank, kind, rng, **kwargs))
    return forms


# ---------------------------------------------------------------- 1. equating and parallel forms


def equating(bank: Bank, forms: list[FormData], rng: np.random.Generator) -> tuple[dict[str, Any], dict[str, Any]]:
    """Scores at theta_cut across forms (product vs percent baseline); also keeps N(0, 1) draws for later."""
    scale = bank.blueprint.scale
    cut = scale.theta_cut
    at_cut = np.full(CANDIDATES_PER_FORM, cut)
    out: dict[str, dict[str, list[float]]] = {
        name: {"mean": [], "var": [], "pass": [], "mean_exact": [], "pass_exact": [], "population_mean": []}
        for name in ("product", "eap", "percent_baseline")
    }
    population: dict[str, Any] = {"theta": [], "raw": []}
    for fd in forms:
        raw = simulate_raw(rng, at_cut, fd.b)
        exact = raw_distribution(np.array([cut]), fd.b)[0]
        raws = np.arange(fd.n + 1, dtype=np.int64)
        tables = (("product", fd.scaled), ("eap", fd.scaled_eap), ("percent_baseline", percent_baseline(raws, fd.n)))
        for name, table in tables:
            scores = table[raw]
            out[name]["mean"].append(float(scores.mean()))
            out[name]["var"].append(float(scores.var(ddof=1)))
            out[name]["pass"].append(float(np.mean(scores >= scale.passing)))
            out[name]["mean_exact"].append(float(exact @ table))
            out[name]["pass_exact"].append(float(exact @ (table >= scale.passing)))
        theta = rng.normal(0.0, 1.0, CANDIDATES_PER_FORM)
        pop_raw = simulate_raw(rng, theta, fd.b)
        population["theta"].append(theta)
        population["raw"].append(pop_raw)
        out["product"]["population_mean"].append(float(fd.scaled[pop_raw].mean()))
        out["eap"]["population_mean"].append(float(fd.scaled_eap[pop_raw].mean()))
        out["percent_baseline"]["population_mean"].append(float(percent_baseline(pop_raw, fd.n).mean()))

    result: dict[str, Any] = {
        "forms": len(forms),
        "candidates_per_form": CANDIDATES_PER_FORM,
        "theta_cut": cut,
    }
    for name, v in out.items():
        result[name] = {
            "cut_mean_score": round(float(np.mean(v["mean"])), 2),
            "cut_pass_rate": round(float(np.mean(v["pass"])), 4),
            "cut_score_spread": round(spread(v["mean"]), 2),
            # Standard errors given these forms (candidate sampling) and across forms (another 20 forms).
            "cut_mean_score_se": round(float(np.sqrt(np.mean(v["var"]) / (len(forms) * CANDIDATES_PER_FORM))), 2),
            "cut_pass_rate_se": round(
                float(np.sqrt(np.mean([p * (1 - p) for p in v["pass"]]) / (len(forms) * CANDIDATES_PER_FORM))), 4
            ),
            "cut_mean_score_se_forms": round(float(np.std(v["mean"], ddof=1) / np.sqrt(len(forms))), 2),
            "cut_pass_rate_se_forms": round(float(np.std(v["pass"], ddof=1) / np.sqrt(len(forms))), 4),
            "cut_pass_rate_spread": round(spread(v["pass"]), 4),
            "cut_score_spread_exact": round(spread(v["mean_exact"]), 2),
            "cut_pass_rate_spread_exact": round(spread(v["pass_exact"]), 4),
            "cut_mean_score_by_form": [round(x, 1) for x in v["mean"]],
            "cut_pass_rate_by_form": [round(x, 4) for x in v["pass"]],
            "population_mean_score_by_form": [round(x, 1) for x in v["population_mean"]],
            "population_mean_score_spread": round(spread(v["population_mean"]), 2),
        }
    cut_raw = [int(np.argmax(fd.scaled >= scale.passing)) for fd in forms]
    result["cut_raw_score_by_form"] = cut_raw
    steps = [float(fd.scaled[r + 1] - fd.scaled[r - 1]) / 2.0 for fd, r in zip(forms, cut_raw, strict=True)]
    result["scaled_points_per_raw_point_at_cut"] = round(float(np.mean(steps)), 1)
    return result, population


def parallel(bank: Bank, seeds: random.Random) -> tuple[dict[str, Any], dict[str, FloatArray]]:
    target = bank.target_info["full"]
    info: dict[str, FloatArray] = {}
    out: dict[str, Any] = {"forms": PARALLEL_FORMS}
    for name, kwargs in (("held", {}), ("random_within_domain", {"tolerance": 1e9})):
        forms = draw_forms(bank, "full", PARALLEL_FORMS, seeds, **kwargs)
        inf = np.array([sum(bank.info_at_cut[q.item_id] for q in f.questions if q.scored) for f in forms])
        mean_b = np.array([np.mean([bank.items[q.item_id].b for q in f.questions if q.scored]) for f in forms])
        info[name] = inf
        block = {
            "information": {
                "min": round(float(inf.min()), 3),
                "median": round(float(np.median(inf)), 3),
                "max": round(float(inf.max()), 3),
                "target": round(target, 3),
            },
            "mean_b": {
                "min": round(float(mean_b.min()), 3),
                "median": round(float(np.median(mean_b)), 3),
                "max": round(float(mean_b.max()), 3),
            },
            "within_5_percent": round(float(np.mean(np.abs(inf - target) <= 0.05 * target)), 4),
        }
        if name == "held":
            out.update(block)
        else:
            out["random_within_domain_no_information_hold"] = block
    return out, info


# ---------------------------------------------------------------- 2. classification and 4. band


def classification_and_band(
    bank: Bank,
    full: list[FormData],
    population: dict[str, Any],
    diagnostic: list[FormData],
    rng: np.random.Generator,
) -> tuple[dict[str, Any], dict[str, Any]]:
    scale = bank.blueprint.scale
    cut = scale.theta_cut
    theta = np.concatenate(population["theta"])
    raws = population["raw"]
    product = np.concatenate([fd.scaled[r] for fd, r in zip(full, raws, strict=True)])
    eap = np.concatenate([fd.scaled_eap[r] for fd, r in zip(full, raws, strict=True)])
    baseline = np.concatenate([percent_baseline(r, fd.n) for fd, r in zip(full, raws, strict=True)])
    low = np.concatenate([fd.band_low[r] for fd, r in zip(full, raws, strict=True)])
    high = np.concatenate([fd.band_high[r] for fd, r in zip(full, raws, strict=True)])
    truth = theta > cut

    d_theta_parts, d_scaled, d_low, d_high = [], [], [], []
    for fd in diagnostic:
        t = rng.normal(0.0, 1.0, CANDIDATES_PER_FORM)
        r = simulate_raw(rng, t, fd.b)
        d_theta_parts.append(t)
        d_scaled.append(fd.scaled[r])
        d_low.append(fd.band_low[r])
        d_high.append(fd.band_high[r])
    d_theta = np.concatenate(d_theta_parts)
    d_low_all, d_high_all = np.concatenate(d_low), np.concatenate(d_high)

    classification: dict[str, Any] = {
        "candidates": int(theta.size),
        "full": {**rates(product >= scale.passing, truth), "forms": len(full)},
        "full_eap": rates(eap >= scale.passing, truth),
        "full_percent_baseline": rates(baseline >= scale.passing, truth),
        "diagnostic": {
            **rates(np.concatenate(d_scaled) >= scale.passing, d_theta > cut),
            "forms": len(diagnostic),
            "mean_band_width": round(float(np.mean(d_high_all - d_low_all)), 1),
        },
    }
    classification["full"]["mean_band_width"] = round(float(np.mean(high - low)), 1)
    # Same candidates, same raw scores, two tables: the difference in accuracy and its standard error.
    new_ok = (product >= scale.passing) == truth
    old_ok = (eap >= scale.passing) == truth
    diff = new_ok.astype(np.float64) - old_ok.astype(np.float64)
    classification["full"]["accuracy_se"] = round(float(np.sqrt(new_ok.mean() * (1 - new_ok.mean()) / new_ok.size)), 4)
    classification["full_minus_eap_accuracy"] = {
        "difference": round(float(diff.mean()), 5),
        "se": round(float(diff.std(ddof=1) / np.sqrt(diff.size)), 5),
        "candidates_decided_differently": int(np.count_nonzero(diff)),
    }

    true_full = true_scaled(theta, scale)
    true_diag = true_scaled(d_theta, scale)
    inside = (low <= true_full) & (true_full <= high)
    band = {
        "coverage": round(float(inside.mean()), 4),
        "below_band": round(float(np.mean(true_full < low)), 4),
        "above_band": round(float(np.mean(true_full > high)), 4),
        "nominal": 0.6827,
        "diagnostic_coverage": round(float(np.mean((d_low_all <= true_diag) & (true_diag <= d_high_all))), 4),
    }
    return classification, band


# ---------------------------------------------------------------- 2b. fairness at the cut: WLE vs EAP vs TCC


def tcc_table(b: FloatArray, scale: Scale) -> IntArray:
    """True-score (test characteristic curve) scoring: the theta whose expected raw score is r.

    Under Rasch it is the maximum likelihood estimate; raw 0 and raw n have none, so they get the scale's ends.
    """
    raws = np.arange(b.size + 1, dtype=np.float64)
    lo, hi = np.full(raws.size, -WLE_BOUND), np.full(raws.size, WLE_BOUND)
    for _ in range(60):
        mid = (lo + hi) / 2
        below = sigmoid(mid[:, None] - b[None, :]).sum(axis=1) < raws
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return true_scaled((lo + hi) / 2, scale)


def exact_figures(table: IntArray, scale: Scale, dist: FloatArray, at_cut: FloatArray) -> tuple[float, float, float]:
    """Accuracy over the N(0, 1) population, pass rate and mean score at theta_cut, with no sampling noise."""
    passed = table >= scale.passing
    truth = scale.theta_cut < CUT_GRID
    p_pass = dist @ passed
    accuracy = float(CUT_WEIGHTS @ np.where(truth, p_pass, 1.0 - p_pass))
    return accuracy, float(at_cut @ passed), float(at_cut @ table)


def _mean_se(values: list[float], digits: int) -> dict[str, float]:
    arr = np.array(values)
    return {"mean": round(float(arr.mean()), digits), "se": round(float(arr.std(ddof=1) / np.sqrt(arr.size)), digits)}


def cut_study(bank: Bank, seeds: random.Random) -> tuple[dict[str, Any], dict[str, FloatArray]]:
    """Exact (Lord-Wingersky) figures for each scoring on CUT_FORMS fresh forms, and with more information.

    Each form's accuracy is the exact expectation over an N(0, 1) population (1,201-point quadrature), so the
    only noise left is which forms were drawn, and a standard error across forms measures it. The three
    scorings are compared on the same forms (paired differences).
    """
    scale = bank.blueprint.scale
    cut = np.array([scale.theta_cut])
    curve_theta = np.linspace(scale.theta_cut - 1.0, scale.theta_cut + 1.0, 101)
    names = ("wle", "eap", "tcc")
    figures: dict[str, dict[str, list[float]]] = {n: {"accuracy": [], "pass": [], "mean": []} for n in names}
    curves: dict[str, FloatArray] = {n: np.zeros(curve_theta.size) for n in names}
    bias: dict[str, FloatArray] = {n: np.zeros(curve_theta.size) for n in names}
    information: list[float] = []
    for form in draw_forms(bank, "full", CUT_FORMS, seeds):
        fd = FormData.of(bank, form)
        information.append(sum(bank.info_at_cut[q.item_id] for q in form.questions if q.scored))
        dist, at_cut = raw_distribution(CUT_GRID, fd.b), raw_distribution(cut, fd.b)[0]
        near = raw_distribution(curve_theta, fd.b)
        for name, table in (("wle", fd.scaled), ("eap", fd.scaled_eap), ("tcc", tcc_table(fd.b, scale))):
            accuracy, passed, mean = exact_figures(table, scale, dist, at_cut)
            figures[name]["accuracy"].append(accuracy)
            figures[name]["pass"].append(passed)
            figures[name]["mean"].append(mean)
            curves[name] += near @ (table >= scale.passing) / CUT_FORMS
            bias[name] += (near @ table - (scale.passing + scale.slope * (curve_theta - scale.theta_cut))) / CUT_FORMS
    out: dict[str, Any] = {
        "forms": CUT_FORMS,
        "population": "N(0, 1), 1,201-point quadrature",
        "information": _mean_se(information, 3),
    }
    for name in names:
        f = figures[name]
        out[name] = {
            "accuracy": _mean_se(f["accuracy"], 5),
            "pass_rate_at_cut": _mean_se(f["pass"], 4),
            "mean_score_at_cut": _mean_se(f["mean"], 2),
        }
    for name in ("wle", "tcc"):
        diff = [a - e for a, e in zip(figures[name]["accuracy"], figures["eap"]["accuracy"], strict=True)]
        out[f"{name}_minus_eap_accuracy"] = _mean_se(diff, 5)

    # More information at the cut raises every scoring's accuracy: forms assembled to a higher target.
    target = bank.target_info["full"]
    levels: dict[str, Any] = {}
    for factor in INFORMATION_FACTORS:
        richer = replace(bank, target_info={**bank.target_info, "full": target * factor})
        acc: dict[str, list[float]] = {"wle": [], "eap": [], "pass": [], "information": []}
        for form in draw_forms(richer, "full", INFORMATION_FORMS, seeds):
            fd = FormData.of(richer, form)
            dist, at_cut = raw_distribution(CUT_GRID, fd.b), raw_distribution(cut, fd.b)[0]
            wle_acc, wle_pass, _ = exact_figures(fd.scaled, scale, dist, at_cut)
            acc["wle"].append(wle_acc)
            acc["pass"].append(wle_pass)
            acc["eap"].append(exact_figures(fd.scaled_eap, scale, dist, at_cut)[0])
            acc["information"].append(sum(richer.info_at_cut[q.item_id] for q in form.questions if q.scored))
        levels[f"x{factor:.2f}"] = {
            "target_information": round(target * factor, 3),
            "information": _mean_se(acc["information"], 3),
            "wle_accuracy": _mean_se(acc["wle"], 5),
            "eap_accuracy": _mean_se(acc["eap"], 5),
            "wle_pass_rate_at_cut": _mean_se(acc["pass"], 4),
        }
    out["information_target"] = {
        "forms_per_level": INFORMATION_FORMS,
        "target_information": round(target, 3),
        **levels,
    }
    points = {"theta": curve_theta, **{f"pass_{n}": v for n, v in curves.items()}}
    points.update({f"bias_{n}": v for n, v in bias.items()})
    return out, points


def cut_summary(
    equating_doc: dict[str, Any], classification_doc: dict[str, Any], exact: dict[str, Any]
) -> dict[str, Any]:
    """The issue's figures: the product's scoring (WLE on full forms) beside the EAP's, simulated and exact."""

    def block(name: str, rates_key: str) -> dict[str, Any]:
        e, c = equating_doc[name], classification_doc[rates_key]
        return {
            "pass_rate_at_cut": e["cut_pass_rate"],
            "pass_rate_at_cut_se": e["cut_pass_rate_se"],
            "pass_rate_at_cut_se_forms": e["cut_pass_rate_se_forms"],
            "mean_score_at_cut": e["cut_mean_score"],
            "mean_score_at_cut_se": e["cut_mean_score_se"],
            "mean_score_at_cut_se_forms": e["cut_mean_score_se_forms"],
            "cut_score_spread": e["cut_score_spread"],
            "accuracy": c["accuracy"],
        }

    new = block("product", "full")
    return {
        "scoring": "wle",
        "attempts_at_cut": equating_doc["forms"] * equating_doc["candidates_per_form"],
        "forms": equating_doc["forms"],
        **new,
        "accuracy_se": classification_doc["full"]["accuracy_se"],
        "eap": block("eap", "full_eap"),
        "accuracy_minus_eap": classification_doc["full_minus_eap_accuracy"],
        "exact": exact,
    }


# ---------------------------------------------------------------- 2c. the adaptive diagnostic against the fixed one


def posterior_eap(b: FloatArray, correct: BoolArray) -> FloatArray:
    """EAP (N(0, 1) prior, the product's 81-point quadrature) after each prefix of items: (candidates, items)."""
    nodes = np.linspace(-6.0, 6.0, 81)
    logit = nodes[None, None, :] - b[:, :, None]
    loglik = np.where(correct[:, :, None], -np.log1p(np.exp(-logit)), -np.log1p(np.exp(logit))).cumsum(axis=1)
    logpost = loglik - 0.5 * nodes**2
    weights = np.exp(logpost - logpost.max(axis=2, keepdims=True))
    eap: FloatArray = (weights * nodes).sum(axis=2) / weights.sum(axis=2)
    return eap


def ideal_ceiling(scale: Scale, items: int) -> list[float]:
    """Accuracy after 1..items items for an ideal bank: every item exactly at theta_cut, Bayes decision.

    Exact over the N(0, 1) population (every response pattern). Items at the cut are what classification at
    the cut wants most: a reference for what ten Rasch items can do, beside ``best_two_stage``.
    """
    p = sigmoid(CUT_GRID - scale.theta_cut)
    above = scale.theta_cut < CUT_GRID
    masses = [CUT_WEIGHTS.copy()]
    out = []
    for _ in range(items):
        # Patterns with the same number correct have the same posterior: keep one mass per raw score.
        nxt = [np.zeros_like(CUT_GRID) for _ in range(len(masses) + 1)]
        for r, m in enumerate(masses):
            nxt[r] += m * (1.0 - p)
            nxt[r + 1] += m * p
        masses = nxt
        out.append(round(float(sum(max(m[above].sum(), m[~above].sum()) for m in masses)), 4))
    return out


def best_two_stage(scale: Scale, sizes: tuple[int, int]) -> dict[str, float]:
    """The most accurate two-stage design with an ideal bank, exactly: stage 1's items all at one difficulty,
    stage 2's at a difficulty chosen for each stage-1 raw score, Bayes decision (grids of 0.1 logits)."""
    above = scale.theta_cut < CUT_GRID

    def branches(mass: FloatArray, n: int, b: float) -> list[FloatArray]:
        p = sigmoid(CUT_GRID - b)
        return [mass * math.comb(n, r) * p**r * (1.0 - p) ** (n - r) for r in range(n + 1)]

    def right(masses: list[FloatArray]) -> float:
        return float(sum(max(m[above].sum(), m[~above].sum()) for m in masses))

    best = (0.0, 0.0)
    for b1 in np.arange(scale.theta_cut - 1.0, scale.theta_cut + 1.0001, 0.1):
        total = sum(
            max(right(branches(m, sizes[1], float(b2))) for b2 in np.arange(-3.0, 4.0001, 0.1))
            for m in branches(CUT_WEIGHTS, sizes[0], float(b1))
        )
        best = max(best, (total, float(b1)))
    return {"accuracy": round(best[0], 4), "stage1_b": round(best[1], 2)}


def adaptive_run(
    bank: Bank, theta: FloatArray, u: FloatArray, py: random.Random, at_cut: bool = False
) -> dict[str, Any]:
    """Every candidate through ``exam_core.adaptive`` (pure Python, as on the request path)."""
    plan = stage_plan(bank.blueprint)
    n = plan.total
    served_b = np.zeros((theta.size, n))
    correct = np.zeros((theta.size, n), dtype=bool)
    rows = []
    exposure: Counter[str] = Counter()
    cut = bank.blueprint.scale.theta_cut
    for c in range(theta.size):
        answered: list[tuple[Any, bool]] = []
        stage = select_stage(bank, plan.stages[0], cut, py) if at_cut else first_stage(bank, py, plan)
        for index in range(len(plan.stages)):
            for item in stage:
                j = len(answered)
                answered.append((item, bool(u[c, j] < 1.0 / (1.0 + np.exp(item.b - theta[c])))))
            if index + 1 < len(plan.stages):
                if at_cut:
                    stage = select_stage(bank, plan.stages[index + 1], cut, py, {i.id for i, _ in answered})
                else:
                    stage = next_stage(bank, answered, py, plan)
        items = [i for i, _ in answered]
        exposure.update(i.id for i in items)
        served_b[c] = [i.b for i in items]
        correct[c] = [x for _, x in answered]
        rows.append(final_table(bank, items)[int(correct[c].sum())])
    return {"b": served_b, "correct": correct, "rows": rows, "exposure": exposure, "plan": plan}


def diagnostic_study(
    bank: Bank, fixed: list[FormData], seeds: random.Random, rng: np.random.Generator
) -> tuple[dict[str, Any], dict[str, Any]]:
    scale = bank.blueprint.scale
    cut = scale.theta_cut
    theta = rng.normal(0.0, 1.0, ADAPTIVE_CANDIDATES)
    u = rng.random((ADAPTIVE_CANDIDATES, fixed[0].n))
    truth = theta > cut
    py = random.Random(seeds.getrandbits(64))  # noqa: S311 (simulation, not security)  # nosec B311
    started = time.perf_counter()
    ad = adaptive_run(bank, theta, u, py)
    per_candidate_ms = 1000 * (time.perf_counter() - started) / theta.size
    rows = ad["rows"]
    ad_scaled = np.array([r.scaled for r in rows])
    ad_width = np.array([r.band_high - r.band_low for r in rows])
    ad_pass_p = np.array([r.pass_probability for r in rows])

    # The fixed diagnostic on the same candidates and the same uniforms: candidate c takes form c mod 20.
    form_of = np.arange(theta.size) % len(fixed)
    fx_b = np.stack([fixed[f].b for f in form_of])
    fx_correct = u < sigmoid(theta[:, None] - fx_b)
    fx_raw = fx_correct.sum(axis=1)
    fx_scaled = np.array([fixed[f].scaled[r] for f, r in zip(form_of, fx_raw, strict=True)])
    fx_width = np.array([fixed[f].band_high[r] - fixed[f].band_low[r] for f, r in zip(form_of, fx_raw, strict=True)])
    fx_pass_p = np.array([fixed[f].form.table[r].pass_probability for f, r in zip(form_of, fx_raw, strict=True)])

    def block(scaled: IntArray, width: IntArray, pass_p: FloatArray) -> dict[str, Any]:
        passed = scaled >= scale.passing
        ok = passed == truth
        # Rao-Blackwellised accuracy: the posterior probability that the decision is right, averaged. The prior
        # is the simulated population, so this has the same expectation as the count and far less noise.
        rb = np.where(passed, pass_p, 1.0 - pass_p)
        return {
            **rates(passed, truth),
            "accuracy_se": round(float(ok.std(ddof=1) / np.sqrt(ok.size)), 4),
            "accuracy_posterior": round(float(rb.mean()), 4),
            "accuracy_posterior_se": round(float(rb.std(ddof=1) / np.sqrt(rb.size)), 4),
            "band_width": round(float(width.mean()), 1),
        }

    exposure = ad["exposure"]
    plan = ad["plan"]
    cut_theta = theta[:ADAPTIVE_VARIANT_CANDIDATES]
    variant = adaptive_run(bank, cut_theta, u[:ADAPTIVE_VARIANT_CANDIDATES], py, at_cut=True)
    v_rows = variant["rows"]
    v_passed = np.array([r.scaled >= scale.passing for r in v_rows])
    v_pp = np.array([r.pass_probability for r in v_rows])
    info_at = scale.theta_cut
    doc: dict[str, Any] = {
        "candidates": int(theta.size),
        "population": "N(0, 1)",
        "adaptive": {
            **block(ad_scaled, ad_width, ad_pass_p),
            "design": "two stages, " + " + ".join(str(sum(s.values())) for s in plan.stages),
            "stages": [dict(s) for s in plan.stages],
            "selection": "Fisher information at the provisional EAP (stage 1: the prior mean)",
            "randomesque_share": EXPOSURE_SHARE,
            "max_exposure": round(max(exposure.values()) / theta.size, 4),
            "items_served_at_least_once": len(exposure),
            "items_over_30_percent": sum(1 for v in exposure.values() if v > 0.3 * theta.size),
            "ms_per_diagnostic": round(per_candidate_ms, 2),
        },
        "fixed": {**block(fx_scaled, fx_width, fx_pass_p), "forms": len(fixed)},
        "adaptive_at_cut": {
            "candidates": int(cut_theta.size),
            "selection": f"Fisher information at theta_cut ({info_at}) in both stages",
            "accuracy": round(float(np.mean(v_passed == (cut_theta > cut))), 4),
            "accuracy_posterior": round(float(np.mean(np.where(v_passed, v_pp, 1.0 - v_pp))), 4),
            "band_width": round(float(np.mean([r.band_high - r.band_low for r in v_rows])), 1),
            "max_exposure": round(max(variant["exposure"].values()) / cut_theta.size, 4),
        },
    }
    ceiling = ideal_ceiling(scale, IDEAL_ITEMS)
    sizes = tuple(sum(st.values()) for st in plan.stages)
    # Cramer-Rao: a posterior whose log-density has curvature at most 1 + n/4 (prior + n Rasch items at
    # P = 1/2) has SD at least 1/sqrt(1 + n/4), so a +/- 1 SD band is at least this wide.
    band_floor = 2 * scale.slope / np.sqrt(1 + plan.total / 4)
    reach = next((k + 1 for k, a in enumerate(ceiling) if a >= DIAGNOSTIC_GOAL), None)
    doc["bounds"] = {
        "accuracy_ideal_items_at_cut": ceiling[plan.total - 1],
        "accuracy_best_two_stage_ideal_bank": best_two_stage(scale, (sizes[0], sizes[1])) if len(sizes) == 2 else None,
        f"items_for_{DIAGNOSTIC_GOAL}_ideal_items_at_cut": reach,
        "band_width_floor": round(float(band_floor), 1),
        "note": "Rasch items give at most 0.25 information each; see README",
    }
    by_k: dict[str, list[float]] = {}
    for name, b, x in (("adaptive", ad["b"], ad["correct"]), ("fixed", fx_b, fx_correct)):
        decided = true_scaled(posterior_eap(b, x), scale) >= scale.passing
        by_k[name] = [round(float(np.mean(decided[:, k] == truth)), 4) for k in range(b.shape[1])]
    by_k["ideal_items_at_cut"] = ceiling
    doc["accuracy_by_items"] = by_k
    return doc, by_k


def plot_diagnostic(by_k: dict[str, list[float]], goal: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    labels = {
        "fixed": ("fixed diagnostic (20 forms)", "tab:orange", "o-"),
        "adaptive": ("adaptive 4 + 6 (information at the provisional EAP)", "tab:blue", "s-"),
        "ideal_items_at_cut": ("reference: every item exactly at the cut (exact, ideal bank)", "grey", "--"),
    }
    for name, (label, color, style) in labels.items():
        values = by_k[name]
        ax.plot(range(1, len(values) + 1), values, style, color=color, ms=4, lw=1.3, label=label)
    ax.axhline(goal, color="tab:red", lw=0.8, ls=":", label=f"goal {goal}")
    ax.set_xlabel("scored items answered")
    ax.set_ylabel("pass/fail accuracy at the cut, N(0, 1) population")
    ax.set_title("Accuracy against number of items", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------- 3. calibration


def calibration(bank: Bank, seeds: random.Random, rng: np.random.Generator) -> tuple[dict[str, Any], dict[str, Any]]:
    """Attempts on freshly assembled full forms, accumulated until every pretest item has n responses."""
    anchors = {i.id: i.b for items in bank.operational.values() for i in items}
    pretest = {i.id: i.b for items in bank.pretest.values() for i in items}
    true_b = {i.id: i.b for i in bank.items.values()}
    counts: Counter[str] = Counter(dict.fromkeys(pretest, 0))
    attempts: list[AttemptResponses] = []
    result: dict[str, Any] = {"pretest_items": len(pretest), "anchors": len(anchors)}
    points: dict[str, Any] = {}
    for level in CALIBRATION_LEVELS:
        while min(counts.values()) < level:
            batch = draw_forms(bank, "full", 200, seeds)
            ids = [[q.item_id for q in f.questions] for f in batch]
            b = np.array([[true_b[i] for i in row] for row in ids])
            theta = rng.normal(0.0, 1.0, len(batch))
            correct = rng.random(b.shape) < sigmoid(theta[:, None] - b)
            for row, x in zip(ids, correct.tolist(), strict=True):
                attempts.append(AttemptResponses(row, x))
                counts.update(i for i in row if i in pretest)
        report = calibrate(anchors, set(pretest), attempts)
        est = report.by_id()
        ordered = sorted(pretest)
        b_hat = np.array([est[i].b for i in ordered])
        b_true = np.array([pretest[i] for i in ordered])
        se = np.array([est[i].se for i in ordered])
        n = np.array([est[i].n for i in ordered])
        decisions = Counter(est[i].decision for i in ordered)
        result[f"n{level}"] = {
            "attempts": len(attempts),
            "responses_min": int(n.min()),
            "responses_mean": round(float(n.mean()), 1),
            "responses_max": int(n.max()),
            "rmse": round(float(np.sqrt(np.mean((b_hat - b_true) ** 2))), 4),
            "bias": round(float(np.mean(b_hat - b_true)), 4),
            "correlation": round(float(np.corrcoef(b_hat, b_true)[0, 1]), 4),
            "mean_se": round(float(se.mean()), 4),
            "promoted": decisions.get("promote", 0),
            "kept_pretest": decisions.get("keep_pretest", 0),
            "flagged": decisions.get("flag", 0),
            "flag_reasons": sorted({est[i].reason for i in ordered if est[i].decision == "flag"}),
            "population_mean": report.settings["population_mean"],
            "population_sd": report.settings["population_sd"],
        }
        points[f"n{level}"] = (b_true, b_hat, se)
    return result, points


# ---------------------------------------------------------------- 5. readiness


def readiness(bank: Bank, seeds: random.Random, rng: np.random.Generator) -> dict[str, Any]:
    """Five full attempts in a row at 750+, each on a different freshly assembled form."""
    scale = bank.blueprint.scale
    cut = scale.theta_cut
    pool = [FormData.of(bank, f) for f in draw_forms(bank, "full", READINESS_POOL, seeds)]
    b_pool = np.stack([fd.b for fd in pool])
    scaled_pool = np.stack([fd.scaled for fd in pool])

    def meets(theta: FloatArray) -> BoolArray:
        ok = np.ones(theta.size, dtype=bool)
        chunk = 20_000
        for start in range(0, theta.size, chunk):
            t = theta[start : start + chunk]
            forms = np.argsort(rng.random((t.size, len(pool))), axis=1)[:, :READINESS_ATTEMPTS]
            for a in range(READINESS_ATTEMPTS):
                f = forms[:, a]
                correct = rng.random((t.size, b_pool.shape[1])) < sigmoid(t[:, None] - b_pool[f])
                raw = correct.sum(axis=1)
                ok[start : start + chunk] &= scaled_pool[f, raw] >= READINESS_SCORE
        return ok

    theta = rng.normal(0.0, 1.0, READINESS_POPULATION)
    met = meets(theta)
    truth = theta > cut
    out: dict[str, Any] = {
        "rule": f"{READINESS_ATTEMPTS} full attempts in a row at {READINESS_SCORE} or more, each on a new form",
        "population": READINESS_POPULATION,
        "precision": round(float(truth[met].mean()), 4) if met.any() else None,
        "candidates_meeting_rule": int(met.sum()),
        "share_meeting_rule": round(float(met.mean()), 4),
        "share_of_true_passers_meeting_rule": round(float(met[truth].mean()), 4),
        "min_theta_meeting_rule": round(float(theta[met].min()), 3) if met.any() else None,
    }
    for offset in READINESS_OFFSETS:  # keys sensitivity_at_cut_plus_0_25, _0_5 and _1_0
        key = f"sensitivity_at_cut_plus_{str(offset).replace('.', '_')}"
        out[key] = round(float(meets(np.full(READINESS_AT_THETA, cut + offset)).mean()), 4)
    out["candidates_per_sensitivity_point"] = READINESS_AT_THETA
    return out


# ---------------------------------------------------------------- plots and report


def plot_equating(bank: Bank, forms: list[FormData], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scale = bank.blueprint.scale
    grid = np.linspace(-2.5, 3.0, 111)
    truth = true_scaled(grid, scale)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
    for ax, name in zip(
        axes, ("Product (IRT conversion table)", "Prep-site baseline (100 + 900 x % correct)"), strict=True
    ):
        for fd in forms:
            dist = raw_distribution(grid, fd.b)
            raws = np.arange(fd.n + 1, dtype=np.int64)
            table = fd.scaled if name.startswith("Product") else percent_baseline(raws, fd.n)
            ax.plot(grid, dist @ table, color="tab:blue", alpha=0.35, lw=1)
        ax.plot(grid, truth, color="black", lw=1.2, ls="--", label="true scaled score")
        ax.axhline(scale.passing, color="tab:red", lw=0.8)
        ax.axvline(scale.theta_cut, color="tab:red", lw=0.8, ls=":")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("true ability theta (logits)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"expected score on each of {len(forms)} forms")
    axes[0].legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_cut(points: dict[str, FloatArray], scale: Scale, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    theta = points["theta"]
    labels = {
        "eap": ("before: EAP (posterior mean)", "tab:orange", "-"),
        "wle": ("now: WLE (weighted likelihood)", "tab:blue", "-"),
        "tcc": ("alternative: true score (TCC)", "tab:green", "--"),
    }
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.3))
    for name, (label, color, ls) in labels.items():
        axes[0].plot(theta, points[f"pass_{name}"], color=color, ls=ls, lw=1.4, label=label)
        axes[1].plot(theta, points[f"bias_{name}"], color=color, ls=ls, lw=1.4, label=label)
    axes[0].axhline(0.5, color="grey", lw=0.8)
    axes[0].set_ylabel("probability of passing (mean over forms)")
    axes[0].set_title("Pass rate against true ability around the cut", fontsize=10)
    axes[1].axhline(0.0, color="grey", lw=0.8)
    axes[1].set_ylabel("expected scaled score minus true scaled score")
    axes[1].set_title("Bias of the reported score", fontsize=10)
    for ax in axes:
        ax.axvline(scale.theta_cut, color="tab:red", lw=0.8, ls=":")
        ax.set_xlabel("true ability theta (logits); dotted: theta_cut")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_calibration(points: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(points), figsize=(4.2 * len(points), 4.2), sharex=True, sharey=True)
    for ax, (name, (b_true, b_hat, se)) in zip(axes, points.items(), strict=True):
        ax.errorbar(b_true, b_hat, yerr=se, fmt="o", ms=3, lw=0.8, alpha=0.8)
        lo, hi = float(min(b_true.min(), b_hat.min())) - 0.2, float(max(b_true.max(), b_hat.max())) + 0.2
        ax.plot([lo, hi], [lo, hi], color="black", lw=0.8, ls="--")
        rmse = float(np.sqrt(np.mean((b_hat - b_true) ** 2)))
        ax.set_title(f"{name[1:]} responses per item: RMSE {rmse:.3f}", fontsize=10)
        ax.set_xlabel("true b")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("estimated b (+/- SE)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_information(info: dict[str, FloatArray], target: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    low, high = min(float(v.min()) for v in info.values()), max(float(v.max()) for v in info.values())
    bins = [float(x) for x in np.linspace(low, high, 60)]
    ax.hist(info["random_within_domain"], bins=bins, alpha=0.5, label="random within domain (no information hold)")
    ax.hist(info["held"], bins=bins, alpha=0.8, label="product assembly (information held)")
    ax.axvline(target, color="black", lw=1, label="target")
    ax.axvspan(0.95 * target, 1.05 * target, color="grey", alpha=0.15, label="target +/- 5%")
    ax.set_xlabel("test information at theta_cut (sum of P(1-P) over the 50 scored items)")
    ax.set_ylabel(f"forms (of {len(info['held'])})")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def acceptance(doc: dict[str, Any]) -> list[dict[str, Any]]:
    eq = doc["equating"]
    product, baseline = eq["product"]["cut_score_spread"], eq["percent_baseline"]["cut_score_spread"]
    cal = doc["calibration"]["n500"]
    coverage = doc["band"]["coverage"]
    cut = doc["cut"]
    checks = [
        ("equating.product.cut_score_spread", product, "<= 5", product <= 5),
        (
            "equating.product.cut_score_spread / percent_baseline",
            round(product / baseline, 4) if baseline else None,
            "<= 0.1",
            baseline > 0 and product <= baseline / 10,
        ),
        (
            "classification.full.accuracy",
            doc["classification"]["full"]["accuracy"],
            ">= 0.88",
            doc["classification"]["full"]["accuracy"] >= 0.88,
        ),
        ("calibration.n500.rmse", cal["rmse"], "<= 0.20", cal["rmse"] <= 0.20),
        ("calibration.n500.correlation", cal["correlation"], ">= 0.95", cal["correlation"] >= 0.95),
        ("band.coverage", coverage, "0.60 - 0.76", 0.60 <= coverage <= 0.76),
        ("cut.pass_rate_at_cut", cut["pass_rate_at_cut"], "0.48 - 0.52", 0.48 <= cut["pass_rate_at_cut"] <= 0.52),
        ("cut.mean_score_at_cut", cut["mean_score_at_cut"], "697 - 703", 697 <= cut["mean_score_at_cut"] <= 703),
        (
            "diagnostic.adaptive.max_exposure",
            doc["diagnostic"]["adaptive"]["max_exposure"],
            "<= 0.30",
            doc["diagnostic"]["adaptive"]["max_exposure"] <= 0.30,
        ),
    ]
    return [{"key": k, "value": v, "threshold": t, "passed": bool(ok)} for k, v, t, ok in checks]


def goals(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 20's further goals, reported (met or not) without failing the run."""
    cut, exact = doc["cut"], doc["cut"]["exact"]
    ad = doc["diagnostic"]["adaptive"]
    checks = [
        ("cut.accuracy (simulated)", cut["accuracy"], ">= 0.919", cut["accuracy"] >= 0.919),
        (
            "cut.exact.wle.accuracy.mean",
            exact["wle"]["accuracy"]["mean"],
            ">= 0.919",
            exact["wle"]["accuracy"]["mean"] >= 0.919,
        ),
        (
            "cut.exact.wle_minus_eap_accuracy.mean",
            exact["wle_minus_eap_accuracy"]["mean"],
            ">= 0",
            exact["wle_minus_eap_accuracy"]["mean"] >= 0,
        ),
        ("cut.cut_score_spread", cut["cut_score_spread"], "<= 5", cut["cut_score_spread"] <= 5),
        ("diagnostic.adaptive.accuracy", ad["accuracy"], f">= {DIAGNOSTIC_GOAL}", ad["accuracy"] >= DIAGNOSTIC_GOAL),
        ("diagnostic.adaptive.band_width", ad["band_width"], "<= 100", ad["band_width"] <= 100),
        (
            "diagnostic.adaptive.accuracy_posterior - diagnostic.fixed.accuracy_posterior",
            round(ad["accuracy_posterior"] - doc["diagnostic"]["fixed"]["accuracy_posterior"], 4),
            "> 0",
            ad["accuracy_posterior"] > doc["diagnostic"]["fixed"]["accuracy_posterior"],
        ),
    ]
    return [{"key": k, "value": v, "threshold": t, "passed": bool(ok)} for k, v, t, ok in checks]


def _cell(*values: Any) -> str:
    return " / ".join(str(v) for v in values)


def markdown(doc: dict[str, Any]) -> str:
    eq, par, cls, cal, band, rd = (
        doc[k] for k in ("equating", "parallel", "classification", "calibration", "band", "readiness")
    )
    meta = doc["meta"]
    ok = all(a["passed"] for a in doc["acceptance"])
    lines = [
        "# Psychometric simulation",
        "",
        f"Seed {meta['seed']}, bank {meta['exam_id']} ({meta['operational_items']} operational, "
        f"{meta['pretest_items']} pretest items), theta_cut {meta['theta_cut']}, runtime {meta['runtime_seconds']} s. "
        "Each item's bank `b` is its true difficulty; candidates answer by the Rasch model; forms come from "
        "`exam_core.assembly.assemble` and are scored with their own conversion tables. "
        "Regenerate with `python -m infra.sim.simulate [--seed N]`.",
        "",
        f"## Acceptance: {'all met' if ok else 'NOT all met'}",
        "",
        "| check | value | threshold | met |",
        "|---|---|---|---|",
    ]
    for a in doc["acceptance"]:
        lines.append(f"| `{a['key']}` | {a['value']} | {a['threshold']} | {'yes' if a['passed'] else '**no**'} |")
    lines += [
        "",
        "Issue 20's further goals (reported, not gating):",
        "",
        "| goal | value | threshold | met |",
        "|---|---|---|---|",
    ]
    for a in doc["goals"]:
        lines.append(f"| `{a['key']}` | {a['value']} | {a['threshold']} | {'yes' if a['passed'] else '**no**'} |")
    lines += cut_markdown(doc)
    lines += diagnostic_markdown(doc)
    p, pb = eq["product"], eq["percent_baseline"]
    full, base = cls["full"], cls["full_percent_baseline"]
    rows: list[tuple[str, Any, Any]] = [
        ("mean score of a candidate at theta_cut (mean over forms)", p["cut_mean_score"], pb["cut_mean_score"]),
        ("pass rate at theta_cut (mean over forms)", p["cut_pass_rate"], pb["cut_pass_rate"]),
        ("`cut_score_spread`: spread across forms of the mean score at theta_cut", *_pair(eq, "cut_score_spread")),
        ("same, exact (Lord-Wingersky)", *_pair(eq, "cut_score_spread_exact")),
        ("`cut_pass_rate_spread`: spread of the pass rate at theta_cut", *_pair(eq, "cut_pass_rate_spread")),
        ("same, exact", *_pair(eq, "cut_pass_rate_spread_exact")),
        ("spread of the N(0,1) population's mean score", *_pair(eq, "population_mean_score_spread")),
        ("classification accuracy", full["accuracy"], base["accuracy"]),
        ("false pass rate (share of all candidates)", full["false_pass_rate"], base["false_pass_rate"]),
        ("false fail rate (share of all candidates)", full["false_fail_rate"], base["false_fail_rate"]),
    ]
    lines += [
        "",
        f"## Product vs prep-site baseline ({eq['forms']} full forms, {eq['candidates_per_form']:,} candidates "
        "per form and condition)",
        "",
        "| quantity | product | percent baseline |",
        "|---|---|---|",
        *[f"| {name} | {a} | {b} |" for name, a, b in rows],
    ]
    info, mean_b, rnd = par["information"], par["mean_b"], par["random_within_domain_no_information_hold"]
    diag = cls["diagnostic"]
    other: list[tuple[str, str]] = [
        (
            "parallel.information min / median / max (target)",
            f"{_cell(info['min'], info['median'], info['max'])} ({info['target']})",
        ),
        ("parallel.within_5_percent (random within domain)", f"{par['within_5_percent']} ({rnd['within_5_percent']})"),
        ("parallel.mean_b min / median / max", _cell(mean_b["min"], mean_b["median"], mean_b["max"])),
        (
            "classification.diagnostic accuracy / false pass / false fail",
            _cell(diag["accuracy"], diag["false_pass_rate"], diag["false_fail_rate"]),
        ),
        (
            "classification.diagnostic.mean_band_width (full form)",
            f"{diag['mean_band_width']} ({full['mean_band_width']})",
        ),
    ]
    for level in CALIBRATION_LEVELS:
        c = cal[f"n{level}"]
        other.append(
            (
                f"calibration.n{level}: RMSE / correlation / mean SE / bias",
                _cell(c["rmse"], c["correlation"], c["mean_se"], c["bias"]),
            )
        )
        other.append(
            (
                f"calibration.n{level}: responses per item min / mean; promoted / kept pretest / flagged",
                f"{_cell(c['responses_min'], c['responses_mean'])}; "
                f"{_cell(c['promoted'], c['kept_pretest'], c['flagged'])}",
            )
        )
    other += [
        (
            "band.coverage (diagnostic)",
            f"{band['coverage']} ({band['diagnostic_coverage']}); nominal {band['nominal']}",
        ),
        ("readiness.precision", str(rd["precision"])),
        (
            "readiness.sensitivity at cut +0.25 / +0.5 / +1.0",
            _cell(
                rd["sensitivity_at_cut_plus_0_25"], rd["sensitivity_at_cut_plus_0_5"], rd["sensitivity_at_cut_plus_1_0"]
            ),
        ),
        (
            "readiness: share of population / of true passers meeting the rule",
            _cell(rd["share_meeting_rule"], rd["share_of_true_passers_meeting_rule"]),
        ),
    ]
    lines += [
        "",
        "## Other numbers",
        "",
        "| key | value |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in other],
        "",
        "## Plots",
        "",
        "![Expected score vs true ability on each form](simulation-equating.png)",
        "",
        "![Calibration: estimated vs true b](simulation-calibration.png)",
        "",
        "![Test information at the cut across assembled forms](simulation-information.png)",
        "",
        "## Interpretation",
        "",
        *interpretation(doc),
        "",
    ]
    return "\n".join(lines)


def cut_markdown(doc: dict[str, Any]) -> list[str]:
    cut, ex = doc["cut"], doc["cut"]["exact"]
    old = cut["eap"]

    def pm(block: dict[str, float]) -> str:
        return f"{block['mean']} +/- {np.format_float_positional(block['se'], trim='-')}"

    sim_rows = [
        (
            "pass rate at theta_cut (`cut.pass_rate_at_cut`)",
            f"{cut['pass_rate_at_cut']} +/- {cut['pass_rate_at_cut_se']} ({cut['pass_rate_at_cut_se_forms']})",
            f"{old['pass_rate_at_cut']} +/- {old['pass_rate_at_cut_se']} ({old['pass_rate_at_cut_se_forms']})",
        ),
        (
            "mean score at theta_cut (`cut.mean_score_at_cut`)",
            f"{cut['mean_score_at_cut']} +/- {cut['mean_score_at_cut_se']} ({cut['mean_score_at_cut_se_forms']})",
            f"{old['mean_score_at_cut']} +/- {old['mean_score_at_cut_se']} ({old['mean_score_at_cut_se_forms']})",
        ),
        ("spread across forms of the mean score at theta_cut", cut["cut_score_spread"], old["cut_score_spread"]),
        ("classification accuracy, N(0, 1) population", f"{cut['accuracy']} +/- {cut['accuracy_se']}", old["accuracy"]),
    ]
    diff = cut["accuracy_minus_eap"]
    lines = [
        "",
        f"## Fair at the cut: WLE (now) against EAP (before), {cut['forms']} forms, {cut['attempts_at_cut']:,} "
        "attempts at theta_cut",
        "",
        "Simulated; +/- one standard error given these forms, in brackets the standard error across forms.",
        "",
        "| quantity | now: WLE | before: EAP |",
        "|---|---|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in sim_rows],
        "",
        f"Paired on the same simulated candidates, accuracy WLE minus EAP: {diff['difference']} +/- "
        f"{np.format_float_positional(diff['se'], trim='-')} "
        f"({diff['candidates_decided_differently']:,} candidates decided differently).",
        "",
        f"Exact expectations (Lord-Wingersky over an N(0, 1) population, no candidate sampling) on {ex['forms']} "
        "fresh forms, mean +/- standard error across forms:",
        "",
        "| scoring | accuracy | pass rate at theta_cut | mean score at theta_cut |",
        "|---|---|---|---|",
    ]
    for name, label in (("wle", "WLE (product)"), ("eap", "EAP (before)"), ("tcc", "true score (TCC)")):
        e = ex[name]
        lines.append(f"| {label} | {pm(e['accuracy'])} | {pm(e['pass_rate_at_cut'])} | {pm(e['mean_score_at_cut'])} |")
    lines += [
        "",
        f"Accuracy minus EAP's on the same forms: WLE {pm(ex['wle_minus_eap_accuracy'])}, "
        f"TCC {pm(ex['tcc_minus_eap_accuracy'])}.",
        "",
        "Forms assembled to more information at the cut (exact, "
        f"{ex['information_target']['forms_per_level']} forms per level; the product's target is x1.00):",
        "",
        "| target information | information held | WLE accuracy | EAP accuracy | WLE pass rate at theta_cut |",
        "|---|---|---|---|---|",
        f"| x1.00 ({ex['information_target']['target_information']}) | {pm(ex['information'])} "
        f"| {pm(ex['wle']['accuracy'])} | {pm(ex['eap']['accuracy'])} "
        f"| {pm(ex['wle']['pass_rate_at_cut'])} |",
    ]
    for key, lv in ex["information_target"].items():
        if not key.startswith("x"):
            continue
        lines.append(
            f"| {key} ({lv['target_information']}) | {pm(lv['information'])} | {pm(lv['wle_accuracy'])} "
            f"| {pm(lv['eap_accuracy'])} | {pm(lv['wle_pass_rate_at_cut'])} |"
        )
    lines += ["", "![Pass rate and score bias against true ability around the cut](simulation-cut.png)"]
    return lines


def diagnostic_markdown(doc: dict[str, Any]) -> list[str]:
    dg = doc["diagnostic"]
    ad, fx, var, bd = dg["adaptive"], dg["fixed"], dg["adaptive_at_cut"], dg["bounds"]
    two = bd["accuracy_best_two_stage_ideal_bank"] or {}
    reach = bd[f"items_for_{DIAGNOSTIC_GOAL}_ideal_items_at_cut"]
    rows = [
        (
            "accuracy at the cut (`diagnostic.*.accuracy`)",
            f"{ad['accuracy']} +/- {ad['accuracy_se']}",
            f"{fx['accuracy']} +/- {fx['accuracy_se']}",
        ),
        (
            "accuracy, posterior estimate (same expectation, less noise)",
            f"{ad['accuracy_posterior']} +/- {ad['accuracy_posterior_se']}",
            f"{fx['accuracy_posterior']} +/- {fx['accuracy_posterior_se']}",
        ),
        (
            "false pass / false fail",
            _cell(ad["false_pass_rate"], ad["false_fail_rate"]),
            _cell(fx["false_pass_rate"], fx["false_fail_rate"]),
        ),
        ("mean band width (`diagnostic.*.band_width`)", ad["band_width"], fx["band_width"]),
        ("max exposure (`diagnostic.adaptive.max_exposure`)", ad["max_exposure"], "(each form 1/20 of candidates)"),
    ]
    return [
        "",
        f"## Adaptive diagnostic ({ad['design']}) against the fixed one, {dg['candidates']:,} candidates from "
        f"{dg['population']}",
        "",
        f"Stages per domain: {ad['stages'][0]} then {ad['stages'][1]}; {ad['selection']}; randomesque among the "
        f"ceil(n / {ad['randomesque_share']}) most informative; {ad['items_served_at_least_once']} items served; "
        f"{ad['ms_per_diagnostic']} ms per diagnostic in pure Python here. Same candidates and uniforms for both.",
        "",
        "| quantity | adaptive | fixed |",
        "|---|---|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows],
        "",
        f"Variant with every stage at theta_cut ({var['candidates']:,} candidates): accuracy {var['accuracy']} "
        f"(posterior {var['accuracy_posterior']}), band {var['band_width']}, max exposure {var['max_exposure']}.",
        "",
        f"What ten Rasch items can do (exact, ideal bank): every item at the cut {bd['accuracy_ideal_items_at_cut']}; "
        f"best 4 + 6 design {two.get('accuracy')}; the goal {DIAGNOSTIC_GOAL} needs {reach} items at the cut. "
        f"A +/- 1 SD band from n Rasch items and an N(0, 1) prior is at least {bd['band_width_floor']} points wide "
        "(Cramer-Rao: the posterior's curvature is at most 1 + n/4).",
        "",
        "![Accuracy against number of items, fixed and adaptive](simulation-diagnostic.png)",
    ]


def _pair(eq: dict[str, Any], key: str) -> tuple[Any, Any]:
    return eq["product"][key], eq["percent_baseline"][key]


def interpretation(doc: dict[str, Any]) -> list[str]:
    eq, par, cls, cal, band, rd = (
        doc[k] for k in ("equating", "parallel", "classification", "calibration", "band", "readiness")
    )
    p, pb = eq["product"], eq["percent_baseline"]
    cut_ex = doc["cut"]["exact"]
    ratio = pb["cut_score_spread_exact"] / max(p["cut_score_spread_exact"], 1e-9)
    n500 = cal["n500"]
    full, diag = cls["full"], cls["diagnostic"]
    rnd = par["random_within_domain_no_information_hold"]
    sens = [rd[f"sensitivity_at_cut_plus_{k}"] for k in ("0_25", "0_5", "1_0")]
    return [
        f"- **Equating.** A borderline candidate's expected score differs across {eq['forms']} forms by "
        f"{p['cut_score_spread_exact']} points with the product's tables and by {pb['cut_score_spread_exact']} "
        f"points with percent correct (about {ratio:.0f} times more; exact Lord-Wingersky values, the simulated "
        f"ones are {p['cut_score_spread']} and {pb['cut_score_spread']}). The forms differ in mean difficulty "
        f"(mean b {par['mean_b']['min']} to {par['mean_b']['max']} over {par['forms']} forms) and the tables "
        f"absorb it. The pass rate at the cut still varies by {p['cut_pass_rate_spread_exact']} across forms: "
        f"the scale moves in raw-score steps (one raw point is {eq['scaled_points_per_raw_point_at_cut']} scaled "
        "points near the cut), so "
        "where 700 falls between two raw scores decides how much of a borderline candidate's raw-score "
        "distribution passes.",
        f"- **Borderline candidates.** With the WLE a candidate exactly at theta_cut scores {p['cut_mean_score']} "
        f"on average and passes {p['cut_pass_rate']:.1%} of the time; with the EAP it was "
        f"{eq['eap']['cut_mean_score']} and {eq['eap']['cut_pass_rate']:.1%}, because the EAP shrinks towards "
        "the prior mean (0), below the cut (0.6). Over the N(0,1) population the product passes "
        f"{full['decision_pass_rate']:.1%} of candidates against a true {full['true_pass_rate']:.1%} "
        f"(EAP: {cls['full_eap']['decision_pass_rate']:.1%}).",
        f"- **The price of fairness at the cut.** The EAP with the population's own prior is (nearly) the "
        "Bayes decision for this N(0,1) population, so no raw-score rule classifies it better; a rule that "
        "passes half of the borderline candidates must give some accuracy back. Exactly, WLE minus EAP is "
        f"{cut_ex['wle_minus_eap_accuracy']['mean']} +/- {cut_ex['wle_minus_eap_accuracy']['se']} "
        f"(true-score scoring {cut_ex['tcc_minus_eap_accuracy']['mean']}, worse: it is the MLE under Rasch, "
        "biased away from the items' centre). Accuracy rises with information at the cut, see the table.",
        f"- **Parallel forms.** Holding information at the cut keeps {par['within_5_percent']:.0%} of forms within "
        f"5% of the target, against {rnd['within_5_percent']:.0%} for plain random selection within domains.",
        f"- **Classification.** Full forms classify {full['accuracy']:.1%} of an N(0,1) population correctly "
        f"(false pass {full['false_pass_rate']:.1%}, false fail {full['false_fail_rate']:.1%}); the 10-question "
        f"diagnostic {diag['accuracy']:.1%}, with a mean band of {diag['mean_band_width']} points against "
        f"{full['mean_band_width']} on a full form.",
        f"- **Calibration.** With about 500 responses per pretest item the anchored calibration recovers b with "
        f"RMSE {n500['rmse']} (correlation {n500['correlation']}); the RMSE is close to the reported mean SE "
        f"({n500['mean_se']}), so the SEs are honest. The data are Rasch-generated, so every flag would be a "
        f"false alarm of the fit and point-biserial rules: {cal['n200']['flagged']}, {n500['flagged']} and "
        f"{cal['n1000']['flagged']} of {cal['pretest_items']} items were flagged at the three levels (attempts "
        "accumulate until every pretest item has at least 200, 500, 1,000 responses).",
        f"- **Band.** The band (EAP +/- one posterior SD) covers the true scaled score for {band['coverage']:.1%} "
        f"of candidates (nominal 68.3%); the diagnostic's wider band covers {band['diagnostic_coverage']:.1%}.",
        f"- **Readiness.** Of the {rd['candidates_meeting_rule']:,} of {rd['population']:,} candidates meeting the "
        f"five-in-a-row rule, {rd['precision']:.1%} truly pass (the lowest true theta among them is "
        f"{rd['min_theta_meeting_rule']}, the cut {doc['meta']['theta_cut']}), but the rule is very strict: a "
        f"candidate 0.25 logits above the cut meets it {sens[0]:.2%} of the time, 0.5 above {sens[1]:.2%}, "
        f"1.0 above {sens[2]:.1%}; only {rd['share_of_true_passers_meeting_rule']:.1%} of candidates who would "
        "truly pass meet it. It is a near-certain sign of readiness, not a test most ready candidates pass.",
    ]


# ---------------------------------------------------------------- main


def run(seed: int, reports: Path) -> dict[str, Any]:
    started = time.perf_counter()
    blueprint, items = read_exam_dir(EXAM_DIR)
    bank = Bank.build(blueprint, items)
    scale = blueprint.scale
    for t in (-3.3, -0.123, 0.6, 0.604, 1.005, 4.9):  # the vectorised scale matches the product's
        assert int(true_scaled(np.array([t]), scale)[0]) == to_scaled(t, scale)  # nosec B101
    seeds = random.Random(seed)  # noqa: S311 (simulation, not security)  # nosec B311
    rng = np.random.default_rng(seed)

    full = [FormData.of(bank, f) for f in draw_forms(bank, "full", EQUATING_FORMS, seeds)]
    diagnostic = [FormData.of(bank, f) for f in draw_forms(bank, "diagnostic", DIAGNOSTIC_FORMS, seeds)]
    equating_doc, population = equating(bank, full, rng)
    parallel_doc, info = parallel(bank, seeds)
    classification_doc, band_doc = classification_and_band(bank, full, population, diagnostic, rng)
    calibration_doc, points = calibration(bank, seeds, rng)
    readiness_doc = readiness(bank, seeds, rng)
    exact_doc, cut_points = cut_study(bank, seeds)  # last, so the sections above keep their random streams
    diagnostic_doc, by_k = diagnostic_study(bank, diagnostic, seeds, rng)

    reports.mkdir(parents=True, exist_ok=True)
    plot_equating(bank, full, reports / "simulation-equating.png")
    plot_calibration(points, reports / "simulation-calibration.png")
    plot_information(info, bank.target_info["full"], reports / "simulation-information.png")
    plot_cut(cut_points, scale, reports / "simulation-cut.png")
    plot_diagnostic(by_k, DIAGNOSTIC_GOAL, reports / "simulation-diagnostic.png")

    doc: dict[str, Any] = {
        "meta": {
            "seed": seed,
            "exam_id": blueprint.exam_id,
            "operational_items": sum(len(v) for v in bank.operational.values()),
            "pretest_items": sum(len(v) for v in bank.pretest.values()),
            "theta_cut": scale.theta_cut,
            "slope": scale.slope,
            "passing": scale.passing,
            "python": sys.version.split()[0],
            "numpy": np.__version__,
        },
        "cut": cut_summary(equating_doc, classification_doc, exact_doc),
        "diagnostic": diagnostic_doc,
        "equating": equating_doc,
        "parallel": parallel_doc,
        "classification": classification_doc,
        "calibration": calibration_doc,
        "band": band_doc,
        "readiness": readiness_doc,
    }
    doc["acceptance"] = acceptance(doc)
    doc["goals"] = goals(doc)
    doc["meta"]["runtime_seconds"] = round(time.perf_counter() - started, 1)
    (reports / "simulation.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    (reports / "simulation.md").write_text(markdown(doc), encoding="utf-8")
    return doc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--reports", type=Path, default=REPORTS, help="output folder (default: reports/)")
    args = parser.parse_args(argv)
    doc = run(args.seed, args.reports)
    for a in doc["acceptance"]:
        print(f"{'ok  ' if a['passed'] else 'MISS'} {a['key']} = {a['value']} (threshold {a['threshold']})")
    print(f"wrote {args.reports / 'simulation.json'} and simulation.md in {doc['meta']['runtime_seconds']} s")
    return 0 if all(a["passed"] for a in doc["acceptance"]) else 1


if __name__ == "__main__":
    sys.exit(main())
