"""What a signed-in candidate owns: claiming an anonymous diagnostic, and the history of attempts."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

from exam_core.attempts import AttemptService, hash_token
from exam_core.bank import Bank
from exam_core.errors import Conflict, InvalidInput, NotFound, StaleWrite
from exam_core.models.api import (
    AttemptCreated,
    ClaimResult,
    DomainPoint,
    DomainRating,
    DomainTrend,
    History,
    HistoryEntry,
    NextStep,
    PooledEstimate,
    Progress,
    Readiness,
    ScoreBand,
    ScorePoint,
    StudyTask,
)
from exam_core.models.records import IndexedAttempt
from exam_core.scoring import pooled_estimate
from exam_core.store import Store

# How many of a candidate's attempts progress and readiness read (one Query page of summaries).
RECENT_LIMIT = 200

PAGE_MAX = 50


def _encode(token: str | None) -> str | None:
    return base64.urlsafe_b64encode(token.encode()).decode() if token else None


def _decode(token: str | None, candidate_id: str) -> str | None:
    """A nextToken this API gave this candidate: the index key of their last item, nothing else."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token.encode()).decode()
        key = json.loads(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        key = None
    expected = {"pk": "S", "sk": "S", "candidateId": "S", "startedAt": "N"}
    valid = (
        isinstance(key, dict)
        and set(key) == set(expected)
        and all(
            isinstance(key[k], dict) and list(key[k]) == [t] and isinstance(key[k][t], str) for k, t in expected.items()
        )
        and key["candidateId"]["S"] == candidate_id
    )
    if not valid:
        raise InvalidInput("nextToken is not one this API gave out", code="invalid_next_token")
    return raw


class CandidateService:
    def __init__(self, store: Store, attempts: AttemptService) -> None:
        self.store = store
        self.attempts = attempts

    def claim_diagnostic(self, candidate_id: str, attempt_id: str, token: str | None) -> ClaimResult:
        """Attach an anonymous diagnostic to the signed-in candidate who holds its attempt token.

        Any partner's diagnostic can be claimed (the token proves it is the candidate's), claiming
        twice is harmless, and one already claimed by someone else is a 409.
        """
        record = self.attempts.load_any_diagnostic(attempt_id, token)
        if record.meta.candidate_id == candidate_id:
            return ClaimResult(attempt_id=attempt_id, mode=record.meta.mode, claimed=True)
        if record.meta.candidate_id is not None:
            raise Conflict("this diagnostic belongs to another account", code="attempt_claimed")
        try:
            self.store.claim_attempt(attempt_id, hash_token(token or ""), candidate_id)
        except StaleWrite:
            raise Conflict("this diagnostic was claimed by another account", code="attempt_claimed") from None
        return ClaimResult(attempt_id=attempt_id, mode=record.meta.mode, claimed=True)

    def history(self, candidate_id: str, limit: int, next_token: str | None, status: str | None = None) -> History:
        items, nxt = self.store.candidate_attempts(
            candidate_id, min(limit, PAGE_MAX), _decode(next_token, candidate_id), status
        )
        entries = []
        for a in items:
            summary = json.loads(a.summary_json) if a.summary_json else None
            ratings = [
                DomainRating(domain_id=d, percent=v[0], rating="needs_improvement" if v[1] else "meets")
                for d, v in (summary or {}).get("d", {}).items()
            ]
            entries.append(
                HistoryEntry(
                    attempt_id=a.attempt_id,
                    exam_id=a.exam_id,
                    mode=a.mode,
                    status="submitted" if a.status == "submitted" else "in_progress",
                    started_at=datetime.fromtimestamp(a.started_at, UTC),
                    scaled_score=(summary or {}).get("s"),
                    passed=bool(summary["p"]) if summary and "p" in summary else None,
                    weakest_domain=(summary or {}).get("w"),
                    percent=(summary or {}).get("pct"),
                    domains=ratings,
                )
            )
        return History(attempts=entries, next_token=_encode(nxt))

    # ------------------------------------------------------------ owned attempts

    def _recent(self, candidate_id: str) -> list[IndexedAttempt]:
        items, _ = self.store.candidate_attempts(candidate_id, RECENT_LIMIT, None)
        return items

    def start(
        self, candidate_id: str, exam_id: str, mode: str = "full", domain_id: str | None = None, size: int = 10
    ) -> AttemptCreated:
        """A full timed form, or an untimed practice set, owned by the candidate.

        Full forms avoid items served in the candidate's last ``AVOID_RECENT_ATTEMPTS`` (3) full attempts,
        drawing them only when a domain has too few other operational items; blueprint and parallelism
        are kept. Practice sets draw operational items: ``domain`` from one domain, ``missed`` from
        items the candidate got wrong or flagged the last time they saw them, ``unseen`` from items never
        served to them; at most ``size``, at random.
        """
        recent = [a for a in self._recent(candidate_id) if a.exam_id == exam_id]
        if mode == "full":
            avoid: set[str] = set()
            fulls = [a for a in recent if a.mode == "full"]
            for a in fulls[: self.attempts.settings.avoid_recent_attempts]:
                if a.summary_json:
                    avoid.update(i[0] for i in json.loads(a.summary_json).get("i", []))
            return self.attempts.start(exam_id, "full", candidate_id=candidate_id, avoid=avoid)
        bank = self.attempts.bank_for(exam_id)
        live = [i for i in bank.items.values() if i.status == "operational"]
        if mode == "domain":
            if domain_id not in {d.id for d in bank.blueprint.domains}:
                raise InvalidInput(
                    "a domain practice set needs the domainId of one of the exam's domains",
                    code="unknown_domain",
                    details=[{"field": "domainId", "allowed": [d.id for d in bank.blueprint.domains]}],
                )
            pool = [i for i in live if bank.domain_of_item[i.id] == domain_id]
        else:
            latest: dict[str, list[Any]] = {}
            for a in recent:  # newest first: the first time an item appears is its latest state
                for entry in json.loads(a.summary_json).get("i", []) if a.summary_json else []:
                    latest.setdefault(entry[0], entry)
            if mode == "missed":
                wanted = {item_id for item_id, e in latest.items() if not e[1] or e[2]}
                pool = [i for i in bank.items.values() if i.id in wanted and i.status != "retired"]
            else:
                pool = [i for i in live if i.id not in latest]
        if not pool:
            raise Conflict(f"there is nothing to practise in a {mode!r} set yet", code="nothing_to_practice")
        return self.attempts.start_practice(exam_id, mode, candidate_id, sorted(pool, key=lambda i: i.id), size)

    # ------------------------------------------------------------ progress and readiness

    def _full_submitted(self, candidate_id: str, exam_id: str) -> list[tuple[IndexedAttempt, dict[str, Any]]]:
        out = []
        for a in self._recent(candidate_id):
            if a.mode == "full" and a.exam_id == exam_id and a.status == "submitted" and a.summary_json:
                out.append((a, json.loads(a.summary_json)))
        return out  # newest first

    def readiness(self, candidate_id: str, exam_id: str) -> Readiness:
        bank = self.attempts.bank_for(exam_id)
        return self._readiness(bank, exam_id, self._full_submitted(candidate_id, exam_id))

    def _readiness(self, bank: Bank, exam_id: str, done: list[tuple[IndexedAttempt, dict[str, Any]]]) -> Readiness:
        s = self.attempts.settings
        need, score_bar, gap = s.readiness_attempts, s.readiness_score, s.readiness_domain_gap
        last = done[:need]
        names = {d.id: d.name for d in bank.blueprint.domains}
        reasons: list[str] = []
        if len(last) < need:
            reasons.append(f"You have {len(done)} full timed attempt(s); readiness looks at your last {need}.")
        low = [a for a, sm in last if int(sm["s"]) < score_bar]
        if low:
            reasons.append(f"{len(low)} of your last {len(last)} full attempts scored below {score_bar}.")
        lagging: dict[str, int] = {}
        for _, sm in last:
            correct, total = sm.get("c", [0, 1])
            overall = 100.0 * correct / total if total else 0.0
            for d, v in sm["d"].items():
                if v[0] < overall - gap:
                    lagging[d] = lagging.get(d, 0) + 1
        for d, n in sorted(lagging.items(), key=lambda kv: -kv[1]):
            reasons.append(
                f"{names.get(d, d)} was more than {gap:g} points below your overall percent in {n} of those attempts."
            )
        ready = len(last) == need and not low and not lagging
        if ready:
            reasons.append(
                f"Your last {need} full timed attempts all scored {score_bar} or more, with no domain far behind."
            )
        pooled = None
        pairs = [(float(i[4]), bool(i[1])) for _, sm in last for i in sm.get("i", []) if i[3]]
        if pairs:
            row = pooled_estimate(pairs, bank.blueprint.scale)
            pooled = PooledEstimate(
                items=len(pairs),
                scaled_score=row.scaled,
                score_band=ScoreBand(low=row.band_low, high=row.band_high),
                pass_probability=row.pass_probability,
            )
        next_step = None if ready else self._next_step(bank, last, need, score_bar)
        return Readiness(
            exam_id=exam_id,
            ready=ready,
            reasons=reasons,
            attempts_considered=[_point(a, sm) for a, sm in last],
            pooled=pooled,
            next_step=next_step,
            rule={"attempts": need, "minScore": score_bar, "maxDomainGap": gap},
        )

    def _next_step(
        self, bank: Bank, last: list[tuple[IndexedAttempt, dict[str, Any]]], need: int, score_bar: int
    ) -> NextStep:
        deficit: dict[str, float] = {d.id: 0.0 for d in bank.blueprint.domains}
        missed: dict[str, int] = {}
        for _, sm in last:
            for d, v in sm["d"].items():
                expected = v[2] if len(v) > 2 else 0.0
                deficit[d] = deficit.get(d, 0.0) + (expected - v[0])
            for i in sm.get("i", []):
                if i[3] and not i[1] and i[0] in bank.items:
                    task = bank.items[i[0]].task
                    missed[task] = missed.get(task, 0) + 1
        weights = {d.id: d.weight for d in bank.blueprint.domains}
        domain = max(bank.blueprint.domains, key=lambda d: (deficit.get(d.id, 0.0), weights[d.id]))
        texts = bank.blueprint.task_text()
        tasks = sorted((t for t in domain.task_statements), key=lambda t: (-missed.get(t.id, 0), t.id))
        streak = 0
        for _, sm in last:
            if int(sm["s"]) >= score_bar:
                streak += 1
            else:
                break
        return NextStep(
            domain_id=domain.id,
            name=domain.name,
            task_statements=[StudyTask(id=t.id, text=texts[t.id], missed=missed.get(t.id, 0)) for t in tasks],
            more_attempts_needed=need - streak,
        )

    def progress(self, candidate_id: str, exam_id: str) -> Progress:
        bank = self.attempts.bank_for(exam_id)
        recent = self._recent(candidate_id)
        done = [
            (a, json.loads(a.summary_json))
            for a in recent
            if a.mode == "full" and a.exam_id == exam_id and a.status == "submitted" and a.summary_json
        ]
        seen = {i[0] for a in recent if a.summary_json for i in json.loads(a.summary_json).get("i", [])}
        chronological = list(reversed(done))
        trends = []
        for d in bank.blueprint.domains:
            points = [
                DomainPoint(
                    attempt_id=a.attempt_id,
                    started_at=datetime.fromtimestamp(a.started_at, UTC),
                    percent=sm["d"][d.id][0],
                    expected_percent_at_cut=sm["d"][d.id][2] if len(sm["d"][d.id]) > 2 else 0.0,
                )
                for a, sm in chronological
                if d.id in sm["d"]
            ]
            trends.append(DomainTrend(domain_id=d.id, name=d.name, points=points))
        return Progress(
            exam_id=exam_id,
            scores=[_point(a, sm) for a, sm in chronological],
            domains=trends,
            items_seen=len(seen),
            bank_items=len(bank.items),
            readiness=self._readiness(bank, exam_id, done),
        )


def _point(a: IndexedAttempt, sm: dict[str, Any]) -> ScorePoint:
    return ScorePoint(
        attempt_id=a.attempt_id,
        started_at=datetime.fromtimestamp(a.started_at, UTC),
        scaled_score=int(sm["s"]),
        passed=bool(sm["p"]),
    )


__all__ = ["CandidateService", "NotFound"]
