"""What is stored for an attempt. These never leave the server as they are.

An attempt is three kinds of DynamoDB item under one partition key (see ``store``):
``META`` (small, changes on every save and at submission), ``FORM`` (the served form and its
conversion table, written once) and one ``R#<questionId>`` item per answered question, so an
autosave writes a few hundred bytes instead of rewriting the whole form.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from exam_core.scoring import ScoreRow


@dataclass(frozen=True, slots=True)
class FormQuestion:
    question_id: str
    item_id: str
    # Original option ids in served order: served option "a" is order[0], "b" is order[1], ...
    order: str
    scored: bool

    def to_original(self, served: list[str]) -> list[str]:
        return [self.order[ord(s) - ord("a")] for s in served]

    def to_served(self, original: list[str]) -> list[str]:
        return sorted(chr(ord("a") + self.order.index(o)) for o in original)


@dataclass(frozen=True, slots=True)
class Form:
    kind: str
    questions: list[FormQuestion]
    table: list[ScoreRow]

    def to_json(self) -> str:
        return json.dumps(
            {
                "kind": self.kind,
                "q": [[q.question_id, q.item_id, q.order, int(q.scored)] for q in self.questions],
                "t": [r.to_list() for r in self.table],
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> Form:
        doc = json.loads(text)
        return cls(
            kind=doc["kind"],
            questions=[FormQuestion(q[0], q[1], q[2], bool(q[3])) for q in doc["q"]],
            table=[ScoreRow.from_list(r) for r in doc["t"]],
        )

    @property
    def scored_count(self) -> int:
        return sum(q.scored for q in self.questions)

    def question(self, question_id: str) -> FormQuestion | None:
        for q in self.questions:
            if q.question_id == question_id:
                return q
        return None


@dataclass(slots=True)
class StoredResponse:
    question_id: str
    selected: list[str]  # served option ids
    flagged: bool
    saved_at: int  # epoch seconds


@dataclass(slots=True)
class AttemptMeta:
    attempt_id: str
    exam_id: str
    mode: str
    status: str  # in_progress | submitted
    token_hash: str
    started_at: int
    expires_at: int | None
    duration_seconds: int | None
    bank_version: int
    rev: int = 0
    candidate_id: str | None = None
    partner_id: str | None = None
    submitted_at: int | None = None
    timed_out: bool = False
    result_json: str | None = None
    summary_json: str | None = None
    ttl: int | None = None


@dataclass(slots=True)
class AttemptRecord:
    meta: AttemptMeta
    form: Form
    responses: dict[str, StoredResponse] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Completion:
    """What a submission (or a timeout) writes: the result, a compact summary for indexes, final answers."""

    submitted_at: int
    timed_out: bool
    result_json: str
    summary_json: str
    final: Sequence[StoredResponse] = ()
    # New time-to-live for every item of the attempt (anonymous diagnostics), or None to leave it.
    ttl: int | None = None


@dataclass(frozen=True, slots=True)
class IndexedAttempt:
    """An attempt as a secondary index returns it: enough for history and partner summaries."""

    attempt_id: str
    exam_id: str
    mode: str
    status: str
    started_at: int
    summary_json: str | None
