"""Rasch scoring: a raw-score-to-scale conversion table per form.

The reported scaled score comes from Warm's weighted likelihood estimate (WLE, ``scoring="wle"``, the
default): it is unbiased to O(1/n^2), so a candidate exactly at the cut averages 700 and passes half the
time, and it is finite at raw 0 and raw n. The band's half-width (posterior SD) and the pass probability
(posterior mass above the cut) still come from the EAP posterior under a standard normal prior, which
every row also carries (``theta``, ``sd``). ``scoring="eap"`` gives the former table (scaled score and
band from the posterior mean), kept for comparison and for the simulation's old-vs-new figures.

Under the Rasch model the number correct on the scored items is a sufficient statistic for ability,
so the posterior for raw score r is proportional to

    prior(theta) * exp(r * theta) / prod_j (1 + exp(theta - b_j))

(the elementary symmetric function of the item easinesses does not depend on theta and cancels).
The whole table therefore costs nodes x items operations in plain Python; no numpy on the request path.
``lord_wingersky`` gives P(raw = r | theta) for any dichotomous model and is the test oracle.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import mul
from typing import Literal

from exam_core.models.bank import Scale

# Quadrature: 81 nodes on [-6, 6]. The posterior of a 10- to 65-item form is smooth at this spacing.
NODES: tuple[float, ...] = tuple(-6.0 + 12.0 * k / 80 for k in range(81))
_STEP = NODES[1] - NODES[0]
_LOG_PRIOR: tuple[float, ...] = tuple(-0.5 * t * t for t in NODES)


@dataclass(frozen=True, slots=True)
class ScoreRow:
    """The result for one raw score on one form."""

    raw: int
    theta: float  # EAP ability estimate (logits)
    sd: float  # posterior standard deviation (logits)
    scaled: int
    band_low: int
    band_high: int
    pass_probability: float
    # The ability the scaled score is computed from: the WLE for tables built since WLE scoring, the EAP
    # (== theta) for tables stored before (their 7-column rows read back with score_theta = theta).
    score_theta: float | None = None

    def to_list(self) -> list[float]:
        row = [self.raw, self.theta, self.sd, self.scaled, self.band_low, self.band_high, self.pass_probability]
        if self.score_theta is not None:
            row.append(self.score_theta)
        return row

    @classmethod
    def from_list(cls, row: Sequence[float]) -> ScoreRow:
        score_theta = float(row[7]) if len(row) > 7 else None
        return cls(
            int(row[0]), float(row[1]), float(row[2]), int(row[3]), int(row[4]), int(row[5]), float(row[6]), score_theta
        )

    @property
    def reported_theta(self) -> float:
        return self.theta if self.score_theta is None else self.score_theta


def to_scaled(theta: float, scale: Scale) -> int:
    value = round(scale.passing + scale.slope * (theta - scale.theta_cut))
    return max(scale.min, min(scale.max, value))


def _share_above(node: float, cut: float) -> float:
    """Share of a node's quadrature cell [node - h/2, node + h/2] that lies above the cut."""
    return min(1.0, max(0.0, (node + _STEP / 2 - cut) / _STEP))


@lru_cache(maxsize=8192)
def _item_terms(b: float) -> tuple[float, ...]:
    """log(1 + exp(theta - b)) at every node: one item's share of the posterior's denominator."""
    return tuple(math.log1p(math.exp(t - b)) for t in NODES)


_THETA_SQ: tuple[float, ...] = tuple(t * t for t in NODES)
# Each raw score multiplies the weights by exp(theta) <= exp(6); 40 steps grow them by at most e^240,
# far from a double's e^709, so one rescale every 40 rows replaces a max-and-divide on every row.
RENORMALISE_EVERY = 40
_EXP_THETA: tuple[float, ...] = tuple(math.exp(t) for t in NODES)


Scoring = Literal["auto", "wle", "eap"]
# "auto": WLE on forms of at least this many scored items; shorter forms (the 10-question diagnostic) keep
# the EAP, whose shrinkage classifies a short form better (simulated: 0.840 EAP vs 0.829 WLE).
WLE_MIN_ITEMS = 30
WLE_BOUND = 12.0  # search interval for the WLE, logits (raw 0 and raw n land near -4 and +4 on 50 items)


def _wle_terms(theta: float, exp_b: Sequence[float]) -> tuple[float, float]:
    """f(theta) = sum P - I'/(2I) (the WLE solves f = r) and its derivative, for Rasch items given as
    ``exp(b)``: P = 1 / (1 + exp(b) exp(-theta)), one ``exp`` per call instead of one per item (a full
    form's table solves 51 raw scores with a few Newton steps each, on the request that starts it)."""
    s_p = s_i = s_i1 = s_i2 = 0.0
    e = math.exp(-theta)  # theta stays within +/- WLE_BOUND: no overflow
    for eb in exp_b:
        p = 1.0 / (1.0 + eb * e)
        pq = p * (1.0 - p)
        s_p += p
        s_i += pq
        s_i1 += pq * (1.0 - 2.0 * p)
        s_i2 += pq * (1.0 - 6.0 * pq)
    s_i = max(s_i, 1e-300)
    value = s_p - s_i1 / (2.0 * s_i)
    slope = s_i - (s_i2 * s_i - s_i1 * s_i1) / (2.0 * s_i * s_i)
    return value, slope


def wle(raw: int, difficulties: Sequence[float], start: float = 0.0, exp_b: Sequence[float] | None = None) -> float:
    """Warm's (1989) weighted likelihood estimate of theta for raw score ``raw`` on Rasch items.

    Maximises L(theta) * sqrt(I(theta)); for Rasch its score equation is r = sum P_j + I'/(2I) with the
    sign folded into ``_wle_terms``. f rises from -1/2 to n + 1/2, so every raw score 0..n has a finite
    root. Newton from ``start`` inside a bisection bracket: a few steps per raw score.
    """
    if not difficulties:
        return 0.0
    return _wle_solve(raw, exp_b if exp_b is not None else [math.exp(b) for b in difficulties], start)[0]


def _wle_solve(raw: int, exp_b: Sequence[float], start: float) -> tuple[float, float]:
    """The WLE for ``raw`` and f's slope there (so the next raw score can start one Newton step ahead)."""
    lo, hi = -WLE_BOUND, WLE_BOUND
    theta = min(hi, max(lo, start))
    slope = 0.0
    for _ in range(60):
        value, slope = _wle_terms(theta, exp_b)
        gap = value - raw
        if abs(gap) < 1e-7:  # raw-score units: theta within ~1e-7 logits, far below a scaled point
            break
        if gap > 0:
            hi = theta
        else:
            lo = theta
        step = theta - gap / slope if slope > 1e-12 else (lo + hi) / 2
        theta = step if lo < step < hi else (lo + hi) / 2
        if hi - lo < 1e-9:
            break
    return theta, slope


def conversion_table(difficulties: Sequence[float], scale: Scale, scoring: Scoring = "auto") -> list[ScoreRow]:
    """Conversion table for a form whose scored items have Rasch difficulties ``difficulties``.

    Every row carries the EAP posterior (``theta``, ``sd``, ``pass_probability``). With ``scoring="wle"``
    the scaled score is the WLE's and the band is that score +/- one posterior SD; with ``"eap"`` both
    come from the posterior mean (the tables stored before WLE scoring).

    The weight of node t for raw score r is exp(log_prior(t) - sum_j log(1 + exp(t - b_j))) * exp(t)^r,
    so each row is the previous one times exp(t) (rescaled now and then; the sums divide by the total).
    """
    if scoring == "auto":
        scoring = "wle" if len(difficulties) >= WLE_MIN_ITEMS else "eap"
    columns = zip(*(_item_terms(b) for b in difficulties), strict=True) if difficulties else None
    base = [lp - sum(col) for lp, col in zip(_LOG_PRIOR, columns, strict=True)] if columns else list(_LOG_PRIOR)
    top = max(base)
    weights = [math.exp(x - top) for x in base]
    # Pass probability: the nodes wholly above the cut, plus the share of the one cell the cut splits.
    split = next((k for k, t in enumerate(NODES) if _share_above(t, scale.theta_cut) > 0.0), len(NODES))
    split_share = _share_above(NODES[split], scale.theta_cut) if split < len(NODES) else 0.0
    rows: list[ScoreRow] = []
    estimate = 0.0
    exp_b = [math.exp(b) for b in difficulties] if scoring == "wle" else None
    slope = 0.0
    for r in range(len(difficulties) + 1):
        if r:
            weights = list(map(mul, weights, _EXP_THETA))
            if r % RENORMALISE_EVERY == 0:  # exp(6) per step: rescale long before a float overflows
                peak = max(weights)
                weights = [w / peak for w in weights]
        total = sum(weights)
        mean = sum(map(mul, weights, NODES)) / total
        var = sum(map(mul, weights, _THETA_SQ)) / total - mean * mean
        sd = math.sqrt(max(var, 0.0))
        above = sum(weights[split + 1 :]) + split_share * weights[split] if split < len(NODES) else 0.0
        p_pass = above / total
        if scoring == "wle":
            # Start each raw score one Newton step from the last root (f rises by 1 per raw point).
            start = estimate + 1.0 / slope if r and slope > 1e-12 else mean
            estimate, slope = _wle_solve(r, exp_b or [], start)
            centre = estimate
        else:
            centre = mean
        rows.append(
            ScoreRow(
                raw=r,
                theta=round(mean, 4),
                sd=round(sd, 4),
                scaled=to_scaled(centre, scale),
                band_low=to_scaled(centre - sd, scale),
                band_high=to_scaled(centre + sd, scale),
                pass_probability=round(min(1.0, max(0.0, p_pass)), 4),
                score_theta=round(estimate, 4) if scoring == "wle" else None,
            )
        )
    return rows


def lord_wingersky(probabilities: Sequence[float]) -> list[float]:
    """P(raw = r) for r = 0..n given each item's probability of a correct answer (Lord & Wingersky, 1984)."""
    dist = [1.0]
    for p in probabilities:
        nxt = [0.0] * (len(dist) + 1)
        for r, mass in enumerate(dist):
            nxt[r] += mass * (1.0 - p)
            nxt[r + 1] += mass * p
        dist = nxt
    return dist


def rasch_probability(theta: float, b: float) -> float:
    return 1.0 / (1.0 + math.exp(-(theta - b)))


def test_information(theta: float, difficulties: Sequence[float]) -> float:
    total = 0.0
    for b in difficulties:
        p = rasch_probability(theta, b)
        total += p * (1.0 - p)
    return total


def expected_percent(theta: float, difficulties: Sequence[float]) -> float:
    if not difficulties:
        return 0.0
    return 100.0 * sum(rasch_probability(theta, b) for b in difficulties) / len(difficulties)


def pooled_estimate(responses: Sequence[tuple[float, bool]], scale: Scale) -> ScoreRow:
    """EAP ability from individual scored responses (difficulty, correct), e.g. pooled over attempts."""
    logs = list(_LOG_PRIOR)
    for b, x in responses:
        terms = _item_terms(b)  # log(1 + exp(t - b))
        for k, t in enumerate(NODES):
            logs[k] += (t - b if x else 0.0) - terms[k]
    top = max(logs)
    weights = [math.exp(v - top) for v in logs]
    total = sum(weights)
    mean = sum(map(mul, weights, NODES)) / total
    sd = math.sqrt(max(sum(map(mul, weights, _THETA_SQ)) / total - mean * mean, 0.0))
    p_pass = sum(w * _share_above(t, scale.theta_cut) for w, t in zip(weights, NODES, strict=True)) / total
    return ScoreRow(
        raw=sum(1 for _, x in responses if x),
        theta=round(mean, 4),
        sd=round(sd, 4),
        scaled=to_scaled(mean, scale),
        band_low=to_scaled(mean - sd, scale),
        band_high=to_scaled(mean + sd, scale),
        pass_probability=round(min(1.0, max(0.0, p_pass)), 4),
    )
