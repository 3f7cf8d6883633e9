"""Item statistics from submitted attempts, kept as additive sums so a stream consumer can ADD them.

Per item: served n, correct sx, rest score sy (the share correct on the attempt's other scored items),
sy2 and sxy (so the point-biserial with the rest score comes from sums), option picks ``o_<id>``, and
the same picks among strong candidates (scaled score >= passing + 50) ``h_<id>`` with their count hn.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from exam_core.bank import Bank
from exam_core.models.api import ItemStats, OptionStats, SuspectItem
from exam_core.models.records import AttemptRecord
from exam_core.results import grade

STRONG_MARGIN = 50
MIN_FOR_WARNINGS = 30


def contributions(bank: Bank, record: AttemptRecord, scaled_score: int) -> list[dict[str, Any]]:
    graded = grade(bank, record.form, record.responses)
    scored = [g for g in graded if g.question.scored]
    total_correct = sum(g.correct for g in scored)
    strong = scaled_score >= bank.blueprint.scale.passing + STRONG_MARGIN
    out = []
    for g in graded:
        rest_n = len(scored) - (1 if g.question.scored else 0)
        rest_correct = total_correct - (1 if g.question.scored and g.correct else 0)
        y = rest_correct / rest_n if rest_n else 0.0
        x = 1 if g.correct else 0
        add: dict[str, float | int] = {
            "n": 1,
            "sx": x,
            "sy": round(y, 6),
            "sy2": round(y * y, 6),
            "sxy": round(x * y, 6),
        }
        if g.question.scored:
            add["scored"] = 1
        response = record.responses.get(g.question.question_id)
        picks = g.question.to_original(response.selected) if response and response.selected else []
        for o in picks:
            add[f"o_{o}"] = 1
        if not picks:
            add["blank"] = 1
        if strong:
            add["hn"] = 1
            for o in picks:
                add[f"h_{o}"] = 1
        out.append({"itemId": g.item.id, "add": add})
    return out


def calibration_row(bank: Bank, record: AttemptRecord) -> str:
    """The attempt's responses as calibration needs them: ``itemId=1`` or ``itemId=0`` for every item served."""
    return ",".join(f"{g.item.id}={int(g.correct)}" for g in grade(bank, record.form, record.responses))


def aggregate(batches: list[list[dict[str, Any]]]) -> dict[str, dict[str, float]]:
    """Sum many attempts' contributions per item, so a stream batch costs one write per item touched."""
    out: dict[str, dict[str, float]] = {}
    for contribs in batches:
        for c in contribs:
            acc = out.setdefault(c["itemId"], {})
            for field, amount in c["add"].items():
                acc[field] = acc.get(field, 0) + amount
    return out


def point_biserial(s: Mapping[str, float]) -> float | None:
    n, sx, sy, sy2, sxy = (s.get(k, 0.0) for k in ("n", "sx", "sy", "sy2", "sxy"))
    if n < 2:
        return None
    vx = n * sx - sx * sx  # x is 0/1, so sum x^2 = sum x
    vy = n * sy2 - sy * sy
    if vx <= 0 or vy <= 1e-12:
        return None
    return (n * sxy - sx * sy) / math.sqrt(vx * vy)


def item_stats(bank: Bank, item_id: str, sums: Mapping[str, float], attempts: float, open_reports: int) -> ItemStats:
    item = bank.items[item_id]
    n = sums.get("n", 0.0)
    hn = sums.get("hn", 0.0)
    key = set(item.key)
    options = []
    warnings = []
    key_strong = max((sums.get(f"h_{k}", 0.0) / hn if hn else 0.0) for k in key)
    for o in item.options:
        share = sums.get(f"o_{o.id}", 0.0) / n if n else 0.0
        strong = sums.get(f"h_{o.id}", 0.0) / hn if hn else None
        options.append(
            OptionStats(
                id=o.id,
                text=o.text,
                is_key=o.id in key,
                share=round(share, 4),
                strong_share=None if strong is None else round(strong, 4),
            )
        )
        if n >= MIN_FOR_WARNINGS and o.id not in key and share < 0.02:
            warnings.append(f"distractor {o.id} is almost never chosen ({share:.0%})")
        if hn >= 10 and o.id not in key and strong is not None and strong > key_strong:
            warnings.append(f"strong candidates choose wrong option {o.id} more often than the key")
    pbis = point_biserial(sums)
    if pbis is not None and n >= MIN_FOR_WARNINGS and pbis < 0.1:
        warnings.append(f"low point-biserial ({pbis:.2f}): the item does not separate strong from weak candidates")
    if open_reports:
        warnings.append(f"{open_reports} open problem report(s)")
    return ItemStats(
        item_id=item_id,
        status=item.status,
        version=item.version,
        times_served=int(n),
        exposure_rate=round(n / attempts, 4) if attempts else 0.0,
        p_value=round(sums.get("sx", 0.0) / n, 4) if n else None,
        point_biserial=None if pbis is None else round(pbis, 4),
        blank_rate=round(sums.get("blank", 0.0) / n, 4) if n else None,
        options=options,
        open_reports=open_reports,
        warnings=warnings,
    )


def suspicion(stats: ItemStats) -> tuple[float, list[str]]:
    """Rank items for review: misbehaving statistics first, then problem reports."""
    score = 0.0
    reasons: list[str] = []
    if stats.point_biserial is not None and stats.times_served >= MIN_FOR_WARNINGS:
        if stats.point_biserial < 0:
            score += 4
            reasons.append(f"negative point-biserial {stats.point_biserial:.2f}")
        elif stats.point_biserial < 0.15:
            score += 2
            reasons.append(f"low point-biserial {stats.point_biserial:.2f}")
    if any("strong candidates" in w for w in stats.warnings):
        score += 3
        reasons.append("strong candidates prefer a wrong option")
    if any("never chosen" in w for w in stats.warnings):
        score += 0.5
        reasons.append("a distractor nobody picks")
    if stats.open_reports:
        score += min(stats.open_reports, 5)
        reasons.append(f"{stats.open_reports} problem report(s)")
    return score, reasons


def rank(all_stats: list[ItemStats], limit: int, *, keep_all: bool = False) -> list[SuspectItem]:
    """The most suspicious first; items with nothing suspicious are left out unless ``keep_all``."""
    ranked = []
    for st in all_stats:
        score, reasons = suspicion(st)
        if score > 0 or keep_all:
            ranked.append(SuspectItem(item_id=st.item_id, score=score, reasons=reasons, stats=st))
    ranked.sort(key=lambda s: (-s.score, s.item_id))
    return ranked[:limit]
