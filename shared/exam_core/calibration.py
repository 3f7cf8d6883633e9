"""Anchored Rasch calibration of pretest items (the calibration job; never on the request path).

Operational items keep their difficulties (the anchors); only pretest items are estimated, so the
new difficulties land on the bank's existing scale and every stored conversion table stays valid.

Method: anchored marginal maximum likelihood.

1. Each attempt's ability posterior is computed on the scoring quadrature (81 nodes on [-6, 6]) from
   its anchor responses only. The prior is normal; by default its mean and SD are estimated from the
   same anchor responses by EM (the anchors fix the scale, so the population is identified), and
   with ``estimate_population=False`` it is the standard normal.
2. For each pretest item, ``b`` maximises the marginal log-likelihood
   ``sum_i log( sum_k post_i(theta_k) * P(x_ij | theta_k, b) )`` over the attempts that saw it
   (safeguarded Newton on [-5, 5] with analytic derivatives). The SE is 1/sqrt(observed information),
   the negative second derivative of that log-likelihood at the estimate.
3. Fit: infit and outfit mean squares with each attempt's EAP ability. Discrimination: point-biserial
   correlation between the item score and the attempt's proportion correct on its anchor items
   (the same as the anchor total when every attempt has the same number of anchors).

numpy is imported inside the functions: importing this module must not import numpy (the module is
importable wherever exam_core is, including the Lambda request path, which has no numpy).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from exam_core.scoring import NODES

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    FloatArray = NDArray[np.float64]
    IntArray = NDArray[np.intp]

Decision = Literal["promote", "keep_pretest", "flag"]

B_BOUND = 5.0  # difficulties are searched in [-B_BOUND, B_BOUND], the range the item schema allows
_AT_BOUND = B_BOUND - 0.01
_NEWTON_MAX_ITER = 100
_NEWTON_TOL = 1e-7
_MAX_STEP = 1.0
_POPULATION_MAX_ITER = 200
_POPULATION_TOL = 1e-6
_CHUNK_CELLS = 4_000_000  # dense anchor-response cells per block when computing posteriors


@dataclass(frozen=True, slots=True)
class AttemptResponses:
    """Every item an attempt was served (scored and pretest alike) and whether it was answered correctly.

    An unanswered item counts as incorrect. Items that are neither anchors nor pretest are ignored;
    an item listed twice counts once (its first occurrence).
    """

    item_ids: list[str]
    correct: list[bool]

    def __post_init__(self) -> None:
        if len(self.item_ids) != len(self.correct):
            raise ValueError(f"{len(self.item_ids)} item ids but {len(self.correct)} correctness flags")


@dataclass(frozen=True, slots=True)
class ItemCalibration:
    item_id: str
    n: int  # responses to the item
    b: float  # estimated difficulty (nan without responses)
    se: float  # standard error of b (inf when the information is zero)
    infit: float  # information-weighted mean square (about 1 when the item fits)
    outfit: float  # unweighted mean square of standardised residuals
    point_biserial: float  # item score vs anchor proportion correct (nan without variance)
    decision: Decision
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class CalibrationReport:
    items: list[ItemCalibration]
    persons: int  # attempts that answered at least one pretest item
    anchors: int  # distinct anchor items answered by those attempts
    method: str
    settings: dict[str, Any] = field(default_factory=dict)

    def by_id(self) -> dict[str, ItemCalibration]:
        return {i.item_id: i for i in self.items}

    def promoted(self) -> list[ItemCalibration]:
        return [i for i in self.items if i.decision == "promote"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "items": [i.as_dict() for i in self.items],
            "persons": self.persons,
            "anchors": self.anchors,
            "method": self.method,
            "settings": dict(self.settings),
        }


METHOD = "anchored marginal maximum likelihood (Rasch), 81-node quadrature on [-6, 6]"


def calibrate(
    anchors: dict[str, float],
    pretest_ids: set[str],
    attempts: Iterable[AttemptResponses],
    *,
    min_responses: int = 200,
    fit_low: float = 0.7,
    fit_high: float = 1.3,
    min_point_biserial: float = 0.15,
    estimate_population: bool = True,
) -> CalibrationReport:
    """Estimate each pretest item's difficulty with the anchors' difficulties held fixed, and decide.

    ``decision`` is "keep_pretest" below ``min_responses`` responses; otherwise "promote" when infit
    and outfit are within [fit_low, fit_high], the point-biserial is at least ``min_point_biserial``
    and the estimate is not at the search bound; otherwise "flag", with the reasons.
    """
    import numpy as np

    overlap = set(anchors) & set(pretest_ids)
    if overlap:
        raise ValueError(f"items cannot be both anchors and pretest: {sorted(overlap)[:10]}")

    anchor_ids = sorted(anchors)
    anchor_index = {item_id: k for k, item_id in enumerate(anchor_ids)}
    pre_ids = sorted(pretest_ids)
    pre_index = {item_id: k for k, item_id in enumerate(pre_ids)}

    # Flatten the responses: (person, anchor, correct) and (person, pretest item, correct).
    a_person: list[int] = []
    a_item: list[int] = []
    a_x: list[bool] = []
    p_person: list[int] = []
    p_item: list[int] = []
    p_x: list[bool] = []
    persons = 0
    for attempt in attempts:
        seen: set[str] = set()
        anchors_here: list[tuple[int, bool]] = []
        pretest_here: list[tuple[int, bool]] = []
        for item_id, correct in zip(attempt.item_ids, attempt.correct, strict=True):
            if item_id in seen:
                continue
            seen.add(item_id)
            if (k := anchor_index.get(item_id)) is not None:
                anchors_here.append((k, bool(correct)))
            elif (k := pre_index.get(item_id)) is not None:
                pretest_here.append((k, bool(correct)))
        if not pretest_here:
            continue  # an attempt without pretest items tells nothing about them
        for k, ok in anchors_here:
            a_person.append(persons)
            a_item.append(k)
            a_x.append(ok)
        for k, ok in pretest_here:
            p_person.append(persons)
            p_item.append(k)
            p_x.append(ok)
        persons += 1

    settings: dict[str, Any] = {
        "min_responses": min_responses,
        "fit_low": fit_low,
        "fit_high": fit_high,
        "min_point_biserial": min_point_biserial,
        "nodes": len(NODES),
        "b_bound": B_BOUND,
        "estimate_population": estimate_population,
    }

    nodes = np.asarray(NODES, dtype=np.float64)
    ap = np.asarray(a_person, dtype=np.intp)
    ai = np.asarray(a_item, dtype=np.intp)
    ax = np.asarray(a_x, dtype=np.float64)
    b_anchor = np.asarray([anchors[i] for i in anchor_ids], dtype=np.float64)

    loglik = _anchor_loglik(nodes, b_anchor, ap, ai, ax, persons)
    post, mean, sd = _posteriors(nodes, loglik, estimate_population)
    settings["population_mean"] = round(mean, 4)
    settings["population_sd"] = round(sd, 4)
    eap = post @ nodes

    # Proportion correct on anchors per attempt (nan without anchors) for the point-biserial.
    n_anchor = np.bincount(ap, minlength=persons).astype(np.float64)
    right_anchor = np.bincount(ap, weights=ax, minlength=persons)
    with np.errstate(invalid="ignore", divide="ignore"):
        anchor_prop = np.where(n_anchor > 0, right_anchor / np.maximum(n_anchor, 1.0), np.nan)

    pp = np.asarray(p_person, dtype=np.intp)
    pi = np.asarray(p_item, dtype=np.intp)
    px = np.asarray(p_x, dtype=np.float64)
    order = np.argsort(pi, kind="stable")
    pp, pi, px = pp[order], pi[order], px[order]
    bounds = np.searchsorted(pi, np.arange(len(pre_ids) + 1))

    results: list[ItemCalibration] = []
    for j, item_id in enumerate(pre_ids):
        lo, hi = int(bounds[j]), int(bounds[j + 1])
        who, x = pp[lo:hi], px[lo:hi]
        results.append(
            _calibrate_item(
                item_id,
                post[who],
                x,
                eap[who],
                anchor_prop[who],
                nodes,
                min_responses=min_responses,
                fit_low=fit_low,
                fit_high=fit_high,
                min_point_biserial=min_point_biserial,
            )
        )
    return CalibrationReport(
        items=results,
        persons=persons,
        anchors=int(np.unique(ai).size),
        method=METHOD + (", normal prior estimated by EM" if estimate_population else ", N(0, 1) prior"),
        settings=settings,
    )


def _anchor_loglik(
    nodes: FloatArray, b: FloatArray, person: IntArray, item: IntArray, x: FloatArray, persons: int
) -> FloatArray:
    """log P(anchor responses | theta_k) per person and node, by dense blocks of persons (BLAS matmuls)."""
    import numpy as np

    n_items = b.size
    loglik = np.zeros((persons, nodes.size), dtype=np.float64)
    if persons == 0 or n_items == 0 or person.size == 0:
        return loglik
    z = nodes[None, :] - b[:, None]  # items x nodes
    log_p = -np.logaddexp(0.0, -z)  # log P(correct)
    log_q = -np.logaddexp(0.0, z)  # log P(incorrect)
    block = max(1, _CHUNK_CELLS // n_items)
    # Responses arrive grouped by person (ascending), so each block of persons is a contiguous slice.
    starts = np.searchsorted(person, np.arange(0, persons + block, block))
    for n_block, p0 in enumerate(range(0, persons, block)):
        lo, hi = int(starts[n_block]), int(starts[n_block + 1])
        rows = min(block, persons - p0)
        right = np.zeros((rows, n_items), dtype=np.float64)
        wrong = np.zeros((rows, n_items), dtype=np.float64)
        local = person[lo:hi] - p0
        right[local, item[lo:hi]] = x[lo:hi]
        wrong[local, item[lo:hi]] = 1.0 - x[lo:hi]
        loglik[p0 : p0 + rows] = right @ log_p + wrong @ log_q
    return loglik


def _posteriors(nodes: FloatArray, loglik: FloatArray, estimate_population: bool) -> tuple[FloatArray, float, float]:
    """Posterior weights per person and node, and the prior's mean and SD (EM-estimated if asked)."""
    import numpy as np

    mean, sd = 0.0, 1.0

    def posterior(mu: float, sigma: float) -> FloatArray:
        log_prior = -0.5 * ((nodes - mu) / sigma) ** 2
        log_post = loglik + log_prior[None, :]
        log_post -= log_post.max(axis=1, keepdims=True)
        weights = np.exp(log_post)
        out: FloatArray = weights / weights.sum(axis=1, keepdims=True)
        return out

    post = posterior(mean, sd)
    if not estimate_population or loglik.shape[0] < 2:
        return post, mean, sd
    for _ in range(_POPULATION_MAX_ITER):
        m1 = post @ nodes
        m2 = post @ (nodes * nodes)
        new_mean = float(m1.mean())
        new_sd = math.sqrt(max(float(m2.mean()) - new_mean * new_mean, 0.01))
        done = abs(new_mean - mean) < _POPULATION_TOL and abs(new_sd - sd) < _POPULATION_TOL
        mean, sd = new_mean, new_sd
        post = posterior(mean, sd)
        if done:
            break
    return post, mean, sd


def _marginal_terms(post: FloatArray, x: FloatArray, nodes: FloatArray, b: float) -> tuple[float, float, float]:
    """Marginal log-likelihood of one item's responses at ``b``, and its first and second derivatives."""
    import numpy as np

    z = nodes - b
    p = 1.0 / (1.0 + np.exp(-z))
    q = 1.0 / (1.0 + np.exp(z))
    w = p * q
    q_cols = post @ np.stack([p, q, w, w * (q - p)], axis=1)  # persons x 4
    e = np.maximum(q_cols[:, 0], 1e-300)  # P(correct | responses to anchors)
    f = np.maximum(q_cols[:, 1], 1e-300)  # P(incorrect | ...)
    wbar, vbar = q_cols[:, 2], q_cols[:, 3]
    loglik = float(np.sum(x * np.log(e) + (1.0 - x) * np.log(f)))
    # dE/db = -wbar, d2E/db2 = vbar; F = 1 - E.
    grad = float(np.sum(-x * wbar / e + (1.0 - x) * wbar / f))
    hess = float(np.sum(x * (vbar / e - (wbar / e) ** 2) + (1.0 - x) * (-vbar / f - (wbar / f) ** 2)))
    return loglik, grad, hess


def _estimate_b(post: FloatArray, x: FloatArray, eap: FloatArray, nodes: FloatArray) -> tuple[float, float]:
    """Safeguarded Newton for one item's difficulty; returns (b, se)."""
    import numpy as np

    n = x.size
    p_obs = (float(x.sum()) + 0.5) / (n + 1.0)
    b = float(np.clip(float(eap.mean()) - math.log(p_obs / (1.0 - p_obs)), -B_BOUND, B_BOUND))
    ll, grad, hess = _marginal_terms(post, x, nodes, b)
    for _ in range(_NEWTON_MAX_ITER):
        step = -grad / hess if hess < 0 else math.copysign(0.5, grad)
        step = max(-_MAX_STEP, min(_MAX_STEP, step))
        accepted = False
        for _halving in range(30):
            trial = max(-B_BOUND, min(B_BOUND, b + step))
            t_ll, t_grad, t_hess = _marginal_terms(post, x, nodes, trial)
            if t_ll >= ll - 1e-12:
                accepted = True
                break
            step /= 2.0
        if not accepted:
            break
        moved = abs(trial - b)
        b, ll, grad, hess = trial, t_ll, t_grad, t_hess
        if moved < _NEWTON_TOL:
            break
    info = -hess
    se = 1.0 / math.sqrt(info) if info > 0 else math.inf
    return b, se


def _calibrate_item(
    item_id: str,
    post: FloatArray,
    x: FloatArray,
    eap: FloatArray,
    anchor_prop: FloatArray,
    nodes: FloatArray,
    *,
    min_responses: int,
    fit_low: float,
    fit_high: float,
    min_point_biserial: float,
) -> ItemCalibration:
    import numpy as np

    n = int(x.size)
    if n == 0:
        return ItemCalibration(
            item_id, 0, math.nan, math.inf, math.nan, math.nan, math.nan, "keep_pretest", "no responses"
        )
    b, se = _estimate_b(post, x, eap, nodes)

    p = 1.0 / (1.0 + np.exp(-(eap - b)))
    var = p * (1.0 - p)
    resid2 = (x - p) ** 2
    outfit = float(np.mean(resid2 / var))
    infit = float(resid2.sum() / var.sum())

    has_anchor = ~np.isnan(anchor_prop)
    xs, ts = x[has_anchor], anchor_prop[has_anchor]
    pbis = float(np.corrcoef(xs, ts)[0, 1]) if xs.size > 1 and xs.std() > 0 and ts.std() > 0 else math.nan

    decision: Decision
    if n < min_responses:
        decision, reason = "keep_pretest", f"{n} responses, fewer than {min_responses}"
    else:
        problems = []
        if abs(b) >= _AT_BOUND:
            problems.append(f"difficulty at the search bound ({b:+.2f}): almost every answer the same")
        if not fit_low <= infit <= fit_high:
            problems.append(f"infit {infit:.2f} outside [{fit_low}, {fit_high}]")
        if not fit_low <= outfit <= fit_high:
            problems.append(f"outfit {outfit:.2f} outside [{fit_low}, {fit_high}]")
        if math.isnan(pbis):
            problems.append("point-biserial undefined (no variance in the item or anchor scores)")
        elif pbis < min_point_biserial:
            problems.append(f"point-biserial {pbis:.2f} below {min_point_biserial}")
        if problems:
            decision, reason = "flag", "; ".join(problems)
        else:
            decision, reason = "promote", "enough responses; fit and discrimination within limits"
    return ItemCalibration(item_id, n, b, se, infit, outfit, pbis, decision, reason)
