"""What is stored for an attempt. These never leave the server as they are.

An attempt is two DynamoDB items under one partition key (see ``store``): ``META`` (status, clock,
token hash, the set of question ids and a map of saved responses; a save updates only its questions'
entries there, with one conditional write) and ``FORM`` (the served form and its conversion table,
written once, so an autosave never rewrites it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from exam_core.scoring import ScoreRow


def question_shape(question_id: str) -> tuple[int, int] | None:
    """(option count, select count) carried by a served question id, or None if it cannot be one.

    A question id is ``q`` + 8 random hex digits + the option count + the select count (one hex digit
    each). The store only accepts ids in the attempt's own set, so a forged shape is refused there;
    carrying the shape lets a save be validated and written without first reading the form.
    """
    if len(question_id) != 11 or question_id[0] != "q":
        return None
    try:
        options, select = int(question_id[9], 16), int(question_id[10], 16)
    except ValueError:
        return None
    if not (2 <= options <= 6 and 1 <= select < options):
        return None
    return options, select


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
class SaveGuard:
    """What a save must find on the attempt, checked by the store inside its one conditional write.

    Either the attempt token's hash (token routes) or the owner (candidate routes); the route's modes
    and, on partner routes, the partner; not deleted by its time-to-live at ``now``; still in progress
    and, if timed, not past ``expiresAt`` at ``not_expired_at`` (now minus the grace period).
    """

    token_hash: str | None
    candidate_id: str | None
    modes: frozenset[str]
    partner_id: str | None
    now: int
    not_expired_at: int


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
