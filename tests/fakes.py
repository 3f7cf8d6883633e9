"""An in-memory ``Store`` with DynamoDB's conditional semantics, for logic tests and the benchmark."""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from typing import Any

from exam_core.errors import AlreadyExists, StaleWrite
from exam_core.models.records import AttemptMeta, AttemptRecord, Form, StoredResponse
from exam_core.store import StoredBank


class InMemoryStore:
    def __init__(self) -> None:
        self.banks: dict[str, StoredBank] = {}
        self.attempts: dict[str, AttemptRecord] = {}
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def load_bank(self, exam_id: str) -> StoredBank | None:
        self.calls.append("load_bank")
        return self.banks.get(exam_id)

    def bank_version(self, exam_id: str) -> int | None:
        self.calls.append("bank_version")
        b = self.banks.get(exam_id)
        return b.version if b else None

    def put_bank(self, exam_id: str, blueprint: dict[str, Any], items: Sequence[dict[str, Any]]) -> int:
        old = self.banks.get(exam_id)
        merged = {i["id"]: i for i in (old.items if old else [])}
        merged.update({i["id"]: i for i in items})
        version = (old.version if old else 0) + 1
        self.banks[exam_id] = StoredBank(blueprint, version, list(merged.values()))
        return version

    def create_attempt(self, meta: AttemptMeta, form: Form) -> None:
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
            return AttemptRecord(copy.copy(rec.meta), rec.form, {k: copy.copy(v) for k, v in rec.responses.items()})

    def save_responses(
        self, attempt_id: str, token_hash: str, responses: Sequence[StoredResponse], not_expired_at: int
    ) -> None:
        self.calls.append("save_responses")
        with self._lock:
            rec = self.attempts.get(attempt_id)
            if (
                rec is None
                or rec.meta.token_hash != token_hash
                or rec.meta.status != "in_progress"
                or (rec.meta.expires_at is not None and rec.meta.expires_at < not_expired_at)
            ):
                raise StaleWrite("save_responses")
            rec.meta.rev += 1
            for r in responses:
                rec.responses[r.question_id] = copy.deepcopy(r)

    def finish_attempt(
        self,
        attempt_id: str,
        expected_rev: int,
        submitted_at: int,
        timed_out: bool,
        result_json: str,
        final: Sequence[StoredResponse] = (),
    ) -> None:
        self.calls.append("finish_attempt")
        with self._lock:
            rec = self.attempts.get(attempt_id)
            if rec is None or rec.meta.status != "in_progress" or rec.meta.rev != expected_rev:
                raise StaleWrite("finish_attempt")
            rec.meta.status = "submitted"
            rec.meta.submitted_at = submitted_at
            rec.meta.timed_out = timed_out
            rec.meta.result_json = result_json
            rec.meta.rev += 1
            for r in final:
                rec.responses[r.question_id] = copy.deepcopy(r)
