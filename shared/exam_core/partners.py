"""Partner summaries: what a partner's embedded diagnostics add up to, from the partner index only."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta

from exam_core.bank import Bank
from exam_core.bank_cache import BankCache
from exam_core.errors import InvalidInput
from exam_core.models.api import DomainSummary, PartnerSummary, ScoreBucket, WeakestCount
from exam_core.models.records import IndexedAttempt
from exam_core.settings import Settings
from exam_core.store import Store

# One summary reads at most this many attempts (a partner with more in the range gets truncated=true).
SUMMARY_LIMIT = 20_000
BUCKET = 100


def summarize_partner(
    bank: Bank, partner_id: str, attempts: Sequence[IndexedAttempt], start: date, end: date, truncated: bool
) -> PartnerSummary:
    mine = [a for a in attempts if a.exam_id == bank.blueprint.exam_id and a.mode == "diagnostic"]
    done = [json.loads(a.summary_json) for a in mine if a.status == "submitted" and a.summary_json]
    scale = bank.blueprint.scale
    edges = list(range(scale.min, scale.max, BUCKET))
    buckets = Counter(min((s["s"] - scale.min) // BUCKET, len(edges) - 1) for s in done)
    weakest = Counter(s["w"] for s in done)
    domains = []
    for d in bank.blueprint.domains:
        rows = [s["d"][d.id] for s in done if d.id in s["d"]]
        domains.append(
            DomainSummary(
                domain_id=d.id,
                name=d.name,
                mean_percent=round(sum(r[0] for r in rows) / len(rows), 1) if rows else None,
                needs_improvement_rate=round(sum(1 for r in rows if r[1]) / len(rows), 3) if rows else None,
            )
        )
    n = len(done)
    return PartnerSummary(
        partner_id=partner_id,
        exam_id=bank.blueprint.exam_id,
        from_date=start.isoformat(),
        to_date=end.isoformat(),
        started=len(mine),
        submitted=n,
        completion_rate=round(n / len(mine), 3) if mine else None,
        mean_scaled_score=round(sum(s["s"] for s in done) / n, 1) if n else None,
        pass_rate=round(sum(s["p"] for s in done) / n, 3) if n else None,
        score_distribution=[
            ScoreBucket(
                low=lo,
                high=min(lo + BUCKET - 1, scale.max) if i < len(edges) - 1 else scale.max,
                count=buckets.get(i, 0),
            )
            for i, lo in enumerate(edges)
        ],
        weakest_domains=[
            WeakestCount(
                domain_id=d.id,
                name=d.name,
                count=weakest.get(d.id, 0),
                share=round(weakest.get(d.id, 0) / n, 3) if n else 0.0,
            )
            for d in bank.blueprint.domains
        ],
        domains=domains,
        truncated=truncated,
    )


class PartnerService:
    def __init__(self, store: Store, banks: BankCache, settings: Settings, clock: Callable[[], float]) -> None:
        self.store = store
        self.banks = banks
        self.settings = settings
        self.clock = clock

    def summary(self, partner_id: str, exam_id: str, start: date | None, end: date | None) -> PartnerSummary:
        bank = self.banks.get(exam_id)  # an exam that is not loaded: 404 exam_not_found, before any query
        today = datetime.fromtimestamp(self.clock(), UTC).date()
        end = end or today
        start = start or end - timedelta(days=29)
        if start > end:
            raise InvalidInput("'from' must not be after 'to'", code="invalid_range", details=[{"field": "from"}])
        if (end - start).days + 1 > self.settings.partner_summary_max_days:
            raise InvalidInput(
                f"a summary covers at most {self.settings.partner_summary_max_days} days",
                code="invalid_range",
                details=[{"field": "to"}],
            )
        lo = int(datetime.combine(start, datetime.min.time(), UTC).timestamp())
        hi = int(datetime.combine(end, datetime.max.time(), UTC).timestamp())
        attempts, truncated = self.store.partner_attempts(partner_id, lo, hi, SUMMARY_LIMIT)
        return summarize_partner(bank, partner_id, attempts, start, end, truncated)
