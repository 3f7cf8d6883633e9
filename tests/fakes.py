"""An in-memory ``Store`` with DynamoDB's conditional semantics, for logic tests and the benchmark."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Sequence
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


class InMemoryStore:
    def __init__(self) -> None:
        self.banks: dict[str, StoredBank] = {}
        self.attempts: dict[str, AttemptRecord] = {}
        self.calls: list[str] = []
        self.reports: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def load_bank(self, exam_id: str) -> StoredBank | None:
        self.calls.append("load_bank")
        return self.banks.get(exam_id)

    def bank_version(self, exam_id: str) -> int | None:
        self.calls.append("bank_version")
        b = self.banks.get(exam_id)
        return b.version if b else None

    def publish_bank_snapshot(self, exam_id: str) -> int | None:
        return None  # the in-memory bank loads in no time: nothing to compile

    def put_bank(self, exam_id: str, blueprint: dict[str, Any], items: Sequence[dict[str, Any]]) -> int:
        old = self.banks.get(exam_id)
        merged = {i["id"]: i for i in (old.items if old else [])}
        merged.update({i["id"]: i for i in items})
        version = (old.version if old else 0) + 1
        self.banks[exam_id] = StoredBank(blueprint, version, list(merged.values()))
        return version

    def create_attempt(self, meta: AttemptMeta, form: Form, form_ttl: int | None = None) -> None:
        self.calls.append("create_attempt")
        with self._lock:
            if meta.attempt_id in self.attempts:
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

    def _indexed(self, rec: AttemptRecord) -> IndexedAttempt:
        m = rec.meta
        return IndexedAttempt(m.attempt_id, m.exam_id, m.mode, m.status, m.started_at, m.summary_json)

    def partner_attempts(self, partner_id: str, start: int, end: int, limit: int) -> tuple[list[IndexedAttempt], bool]:
        self.calls.append("partner_attempts")
        with self._lock:
            found = [
                r
                for r in self.attempts.values()
                if r.meta.partner_id == partner_id and start <= r.meta.started_at <= end
            ]
        found.sort(key=lambda r: -r.meta.started_at)
        return [self._indexed(r) for r in found[:limit]], len(found) > limit

    def candidate_attempts(
        self, candidate_id: str, limit: int, after: str | None, status: str | None = None
    ) -> tuple[list[IndexedAttempt], str | None]:
        self.calls.append("candidate_attempts")
        with self._lock:
            found = sorted(
                (
                    r
                    for r in self.attempts.values()
                    if r.meta.candidate_id == candidate_id and (status is None or r.meta.status == status)
                ),
                key=lambda r: (-r.meta.started_at, r.meta.attempt_id),
            )
        start = 0
        if after:
            ids = [r.meta.attempt_id for r in found]
            start = ids.index(json.loads(after)["pk"]) + 1
        page = found[start : start + limit]
        more = start + limit < len(found)
        return [self._indexed(r) for r in page], (json.dumps({"pk": page[-1].meta.attempt_id}) if more else None)

    def add_report(self, exam_id: str, report: dict[str, Any], attempt_id: str, token_hash: str, limit: int) -> None:
        self.calls.append("add_report")
        with self._lock:
            rec = self.attempts.get(attempt_id)
            key = f"{exam_id}#{report['itemId']}#{attempt_id}#{report['questionId']}"
            mine = [k for k in self.reports if k.startswith(exam_id) and f"#{attempt_id}#" in k]
            if rec is None or rec.meta.token_hash != token_hash or len(mine) >= limit or key in self.reports:
                raise StaleWrite("add_report")
            self.reports[key] = dict(report)

    def list_reports(self, exam_id: str, item_id: str | None = None) -> list[dict[str, Any]]:
        prefix = f"{exam_id}#{item_id}#" if item_id else f"{exam_id}#"
        return [r for k, r in sorted(self.reports.items()) if k.startswith(prefix)]
