"""Study mode on the wire: check one answer of a practice set (``POST /me/attempts/{id}/check``).

``CheckResult`` carries one item's key and explanations, so it is returned only for practice sets
(``domain``, ``missed``, ``unseen``), whose keys the candidate is meant to learn as they go; a full exam
or a diagnostic is refused with 409 before anything about its items is read. It never carries the
item's id, its difficulty or the scored/pretest flag.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from exam_core.models.api import (
    MAX_SELECTED,
    ApiModel,
    QuestionId,
    RequestModel,
    ReviewOption,
    ServedOptionId,
    TaskStatementOut,
)


class CheckRequest(RequestModel):
    """One answer to check: the question's id as served and the selected option ids (as a save sends them)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"questionId": "qc5918c4c27", "selected": ["b"]}]})

    question_id: QuestionId
    selected: list[ServedOptionId] = Field(min_length=1, max_length=MAX_SELECTED)


class CheckResult(ApiModel):
    """Right or wrong, the key and an explanation per option, for the one question checked."""

    attempt_id: str
    question_id: str
    type: Literal["single", "multiple"]
    select_count: int
    selected: list[str]
    key: list[str]
    correct: bool
    options: list[ReviewOption]
    domain_id: str
    domain_name: str
    task_statement: TaskStatementOut
    reference: str | None = None
    saved: bool = Field(
        default=False, description="Always false: a check records nothing; save the answer with PUT …/responses."
    )
