"""An in-memory ``Store`` (and ``AdminStore``) with DynamoDB's conditional semantics, for logic tests and the
benchmark.

Every rule here is one ``DynamoStore`` has, and each is pinned by the store contract suite
(tests/contract/test_store_contract.py runs the same cases against this fake and against DynamoStore on
moto); its docstring lists which behaviour each case pins. Change a rule here only with its contract case.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from exam_core.errors import AlreadyExists, StaleWrite
from exam_core.models.records import (
    AttemptMeta,
    AttemptRecord,
    Completion,
    Form,
    IndexedAttempt,
    SaveGuard,
    StoredResponse,
)
from exam_core.store import StoredBank


def _copy(r: StoredResponse) -> StoredResponse:
    return StoredResponse(r.question_id, list(r.selected), r.flagged, r.saved_at)


def _stored_number(amount: float | int) -> float:
    """What DynamoStore.add_item_sums writes for one amount (floats as ``format(round(x, 6), "g")``)."""
    return float(format(round(amount, 6), "g")) if isinstance(amount, float) else float(amount)


class InMemoryStore:
    def __init__(self) -> None:
        self.banks: dict[str, StoredBank] = {}
        self.attempts: dict[str, AttemptRecord] = {}
        self.calls: list[str] = []
        self.reports: dict[str, dict[str, Any]] = {}
        self.report_counts: dict[str, int] = {}  # per attempt, as META's ``reports`` counter
        self.item_history: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.stats_done: set[tuple[str, str]] = set()
        self.item_sums: dict[str, dict[str, dict[str, float]]] = {}
        self._lock = threading.Lock()

    # -------------------------------------------------------------- bank

    def load_bank(self, exam_id: str) -> StoredBank | None:
        self.calls.append("load_bank")
        return self.banks.get(exam_id)

    def bank_version(self, exam_id: str) -> int | None:
        self.calls.append("bank_version")
        b = self.banks.get(exam_id)
        return b.version if b else None

    def exam_ids(self) -> list[str]:
        self.calls.append("exam_ids")
        return sorted(self.banks)

    def publish_bank_snapshot(self, exam_id: str) -> int | None:
        # The in-memory bank loads in no time: nothing to compile, but the answer is DynamoStore's
        # (a chunk count for a bank that exists, None for one that does not).
        return 1 if exam_id in self.banks else None

    def put_bank(self, exam_id: str, blueprint: dict[str, Any], items: Sequence[dict[str, Any]]) -> int:
        old = self.banks.get(exam_id)
        merged = {i["id"]: i for i in (old.items if old else [])}
        for i in items:
            merged[i["id"]] = copy.deepcopy(dict(i))  # the item's history is kept, as DynamoStore keeps it
        version = (old.version if old else 0) + 1
        self.banks[exam_id] = StoredBank(copy.deepcopy(blueprint), version, list(merged.values()))
        return version

    # -------------------------------------------------------------- attempts

    def create_attempt(self, meta: AttemptMeta, form: Form, form_ttl: int | None = None) -> None:
        self.calls.append("create_attempt")
        with self._lock:
            existing = self.attempts.get(meta.attempt_id)
            if existing is not None:
                if existing.meta.token_hash == meta.token_hash:
                    return  # a retried create whose first try was applied: DynamoStore finds its own attempt
                raise AlreadyExists(meta.attempt_id)
            self.attempts[meta.attempt_id] = AttemptRecord(copy.deepcopy(meta), form, {})

    def load_attempt(self, attempt_id: str) -> AttemptRecord | None:
        self.calls.append("load_attempt")
        with self._lock:
            rec = self.attempts.get(attempt_id)
            if rec is None:
                return None
            # The form is immutable; copy what a writer can change, as a real read returns a snapshot.
            return AttemptRecord(copy.copy(rec.meta), rec.form, {k: _copy(v) for k, v in rec.responses.items()})

    def save_responses(
        self, attempt_id: str, guard: SaveGuard, responses: Sequence[StoredResponse]
    ) -> tuple[AttemptMeta, dict[str, StoredResponse]]:
        """The same condition DynamoStore puts on its one UpdateItem, then the same merge."""
        self.calls.append("save_responses")
        g = guard
        with self._lock:
            rec = self.attempts.get(attempt_id)
            m = rec.meta if rec else None
            served = {q.question_id for q in rec.form.questions} if rec else set()
            if (
                m is None
                or m.status != "in_progress"
                or (m.expires_at is not None and m.expires_at < g.not_expired_at)
                or (m.ttl is not None and m.ttl < g.now)
                or (g.token_hash is not None and m.token_hash != g.token_hash)
                or (g.candidate_id is not None and m.candidate_id != g.candidate_id)
                or (g.partner_id is not None and m.partner_id != g.partner_id)
                or m.mode not in g.modes
                or any(r.question_id not in served for r in responses)
            ):
                raise StaleWrite("save_responses")
            assert rec is not None
            rec.meta.rev += 1
            for r in responses:
                rec.responses[r.question_id] = _copy(r)
            return copy.copy(rec.meta), {k: _copy(v) for k, v in rec.responses.items()}

    def finish_attempt(self, attempt_id: str, expected_rev: int, completion: Completion) -> None:
        self.calls.append("finish_attempt")
        with self._lock:
            rec = self.attempts.get(attempt_id)
            if rec is None or rec.meta.status != "in_progress" or rec.meta.rev != expected_rev:
                raise StaleWrite("finish_attempt")
            rec.meta.status = "submitted"
            rec.meta.submitted_at = completion.submitted_at
            rec.meta.timed_out = completion.timed_out
            rec.meta.result_json = completion.result_json
            rec.meta.summary_json = completion.summary_json
            if completion.ttl is not None:
                rec.meta.ttl = completion.ttl
            rec.meta.rev += 1
            for r in completion.final:
                rec.responses[r.question_id] = _copy(r)

    def extend_form(
        self,
        attempt_id: str,
        expected_rev: int,
        form: Form,
        responses: Sequence[StoredResponse],
        form_ttl: int | None = None,
    ) -> None:
        self.calls.append("extend_form")
        with self._lock:
            rec = self.attempts.get(attempt_id)
            if rec is None or rec.meta.status != "in_progress" or rec.meta.rev != expected_rev:
                raise StaleWrite("extend_form")
            rec.meta.rev += 1
            for r in responses:
                rec.responses[r.question_id] = _copy(r)
            self.attempts[attempt_id] = AttemptRecord(rec.meta, form, rec.responses)

    def claim_attempt(self, attempt_id: str, token_hash: str, candidate_id: str) -> None:
        self.calls.append("claim_attempt")
        with self._lock:
            rec = self.attempts.get(attempt_id)
            if rec is None or rec.meta.token_hash != token_hash or rec.meta.candidate_id not in (None, candidate_id):
                raise StaleWrite("claim_attempt")
            rec.meta.candidate_id = candidate_id
            rec.meta.ttl = None

    # -------------------------------------------------------------- the indexes

    def _indexed(self, rec: AttemptRecord) -> IndexedAttempt:
        m = rec.meta
        return IndexedAttempt(m.attempt_id, m.exam_id, m.mode, m.status, m.started_at, m.summary_json)

    def _index(self, attr: str, value: str) -> list[AttemptRecord]:
        """One partition of a secondary index (keyed on startedAt), newest first, as a Query with
        ScanIndexForward=False returns it (ties in startedAt: the table's key, descending)."""
        with self._lock:
            found = [r for r in self.attempts.values() if getattr(r.meta, attr) == value]
        found.sort(key=lambda r: (r.meta.started_at, r.meta.attempt_id), reverse=True)
        return found

    def partner_attempts(self, partner_id: str, start: int, end: int, limit: int) -> tuple[list[IndexedAttempt], bool]:
        self.calls.append("partner_attempts")
        found = [r for r in self._index("partner_id", partner_id) if start <= r.meta.started_at <= end]
        return [self._indexed(r) for r in found[:limit]], len(found) > limit

    def candidate_attempts(
        self, candidate_id: str, limit: int, after: str | None, status: str | None = None
    ) -> tuple[list[IndexedAttempt], str | None]:
        """One Query page of the byCandidate index: ``limit`` items evaluated after the start key, THEN the
        status filter (DynamoDB applies Limit before a FilterExpression, so a filtered page can be short or
        empty and still have a next page); the next-page token is DynamoDB's LastEvaluatedKey as JSON (the
        table's key and the index's), present while evaluated items remain."""
        self.calls.append("candidate_attempts")
        found = self._index("candidate_id", candidate_id)
        start = 0
        if after:
            key = json.loads(after)
            last = (int(key["startedAt"]["N"]), key["pk"]["S"])
            while start < len(found) and (found[start].meta.started_at, found[start].meta.attempt_id) >= last:
                start += 1
        evaluated = found[start : start + limit]
        page = [r for r in evaluated if status is None or r.meta.status == status]
        token = None
        if evaluated and start + limit < len(found):
            m = evaluated[-1].meta
            token = json.dumps(
                {
                    "pk": {"S": m.attempt_id},
                    "sk": {"S": "META"},
                    "candidateId": {"S": candidate_id},
                    "startedAt": {"N": str(m.started_at)},
                }
            )
        return [self._indexed(r) for r in page], token

    # -------------------------------------------------------------- problem reports

    def add_report(self, exam_id: str, report: dict[str, Any], attempt_id: str, token_hash: str, limit: int) -> None:
        self.calls.append("add_report")
        with self._lock:
            rec = self.attempts.get(attempt_id)
            key = f"{exam_id}\x00{report['itemId']}#{attempt_id}#{report['questionId']}"
            if (
                rec is None
                or rec.meta.token_hash != token_hash
                or self.report_counts.get(attempt_id, 0) >= limit
                or key in self.reports
            ):
                raise StaleWrite("add_report")
            self.report_counts[attempt_id] = self.report_counts.get(attempt_id, 0) + 1
            self.reports[key] = copy.deepcopy(dict(report))

    def list_reports(self, exam_id: str, item_id: str | None = None) -> list[dict[str, Any]]:
        prefix = f"{exam_id}\x00{item_id}#" if item_id else f"{exam_id}\x00"
        return [copy.deepcopy(r) for k, r in sorted(self.reports.items()) if k.startswith(prefix)]

    # -------------------------------------------------------------- bank administration (AdminStore)

    def load_item(self, exam_id: str, item_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        bank = self.banks.get(exam_id)
        doc = next((i for i in bank.items if i["id"] == item_id), None) if bank else None
        if doc is None:
            return None
        return copy.deepcopy(doc), copy.deepcopy(self.item_history.get((exam_id, item_id), []))

    def put_items(self, exam_id: str, items: Sequence[dict[str, Any]]) -> int:
        bank = self.banks.get(exam_id)
        if bank is None:
            raise StaleWrite("put_items")  # the version bump needs the bank's META
        return self.put_bank(exam_id, bank.blueprint, items)

    def replace_item(self, exam_id: str, item: dict[str, Any], expected_version: int, audit: dict[str, Any]) -> int:
        current = self.load_item(exam_id, item["id"])
        if current is None or int(current[0].get("version", 1)) != expected_version:
            raise StaleWrite("replace_item")
        history = [*current[1], copy.deepcopy(audit)]
        self.put_bank(exam_id, self.banks[exam_id].blueprint, [item])
        self.item_history[(exam_id, item["id"])] = history
        return int(item.get("version", 1))

    # -------------------------------------------------------------- item statistics

    def claim_stats(self, exam_id: str, attempt_id: str) -> bool:
        with self._lock:
            if (exam_id, attempt_id) in self.stats_done:
                return False
            self.stats_done.add((exam_id, attempt_id))
            return True

    def add_item_sums(self, exam_id: str, sums: Mapping[str, Mapping[str, float]], attempts: int) -> None:
        table = self.item_sums.setdefault(exam_id, {})
        for item_id, fields in {**sums, "_TOTAL": {"attempts": attempts}}.items():
            row = table.setdefault(item_id, {})
            for field, amount in fields.items():
                row[field] = row.get(field, 0.0) + _stored_number(amount)

    def load_item_stats(self, exam_id: str) -> dict[str, dict[str, Any]]:
        return copy.deepcopy(self.item_sums.get(exam_id, {}))
