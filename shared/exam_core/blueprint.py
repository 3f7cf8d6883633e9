"""Blueprint arithmetic: how many items of each domain a form gets."""

from __future__ import annotations

import math
from dataclasses import dataclass

from exam_core.models.bank import Blueprint, FormKind


def largest_remainder(weights: list[float], total: int) -> list[int]:
    """Split ``total`` seats by ``weights`` (Hamilton's method); remainder ties go to the heavier weight."""
    if total < 0:
        raise ValueError("total must be non-negative")
    s = sum(weights)
    quotas = [round(w / s * total, 9) for w in weights]
    seats = [math.floor(q) for q in quotas]
    left = total - sum(seats)
    # Remainders rounded so float noise (20.4 - 20 = 0.3999...) cannot break a tie the weights should break.
    remainders = [round(q - f, 9) for q, f in zip(quotas, seats, strict=True)]
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], -weights[i], i))
    for i in order[:left]:
        seats[i] += 1
    return seats


@dataclass(frozen=True, slots=True)
class DomainPlan:
    domain_id: str
    scored: int
    pretest: int


def form_plan(blueprint: Blueprint, kind: FormKind) -> list[DomainPlan]:
    spec = blueprint.forms[kind]
    weights = [d.weight for d in blueprint.domains]
    scored = largest_remainder(weights, spec.scored)
    pretest = largest_remainder(weights, spec.pretest)
    return [DomainPlan(d.id, s, p) for d, s, p in zip(blueprint.domains, scored, pretest, strict=True)]


def duration_seconds(blueprint: Blueprint, kind: FormKind) -> int | None:
    minutes = blueprint.forms[kind].duration_minutes
    return None if minutes is None else minutes * 60
