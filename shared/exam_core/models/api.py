"""The public API: request and response models, camelCase on the wire.

Nothing here can carry an answer key, an explanation, a difficulty or the scored/pretest flag
except the models that are only returned after submission (``Result`` and ``Review*``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel
from pydantic.config import JsonDict

QuestionId = Annotated[str, StringConstraints(pattern=r"^q[0-9a-f]{10}$")]
ServedOptionId = Annotated[str, StringConstraints(pattern=r"^[a-f]$")]
ExamId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{2,32}$")]
Mode = Literal["full"]
Status = Literal["in_progress", "submitted"]

# Input limits (the README's "Input limits" table): every list and free-text string a request may carry
# is bounded here; a violation is 422 invalid_request. Bodies are bounded by MAX_BODY_BYTES (http.py).
MAX_RESPONSES_PER_REQUEST = 65  # the longest form has 65 questions
MAX_SELECTED = 6  # option ids are a-f; the item's own count is checked by the service
MAX_COMMENT_CHARS = 500  # problem report comments and admin change reasons
MAX_IMPORT_ITEMS = 500
MAX_KEY_OPTIONS = 5


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, defer_build=True)


class RequestModel(ApiModel):
    """Request bodies: unknown fields refused, and strict types ("flagged": "yes" is an error, not true)."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", strict=True, defer_build=True
    )

    def __repr__(self) -> str:
        # No field values: a request body's repr must not carry answers or item text into a log line.
        # Powertools also formats every route's arguments into a debug message on every request,
        # whatever the log level; the default repr of a 65-answer save costs more than validating it.
        return f"{type(self).__name__}(...)"

    __str__ = __repr__


# ---------------------------------------------------------------- errors


class ErrorDetail(ApiModel):
    code: str = Field(description="Machine-readable error code, for example attempt_not_found.")
    message: str
    details: list[dict[str, object]] = Field(default_factory=list)


class ErrorBody(ApiModel):
    error: ErrorDetail


class GatewayMessage(ApiModel):
    """What API Gateway itself answers when it refuses a request (before any function runs)."""

    message: str


# ---------------------------------------------------------------- exams


class TaskStatementOut(ApiModel):
    id: str
    text: str


class DomainOut(ApiModel):
    id: str
    name: str
    weight: float
    task_statements: list[TaskStatementOut]


class ExamOut(ApiModel):
    exam_id: str
    title: str
    question_count: int
    scored_count: int
    duration_minutes: int
    passing_score: int
    scale_min: int
    scale_max: int
    domains: list[DomainOut]


class ExamList(ApiModel):
    exams: list[ExamOut]


# ---------------------------------------------------------------- attempts


class OptionOut(ApiModel):
    id: str
    text: str


class QuestionOut(ApiModel):
    number: int
    question_id: str
    type: Literal["single", "multiple"]
    select_count: int
    stem: str
    options: list[OptionOut]


class StartAttemptRequest(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"examId": "clf-c02", "mode": "full"}]})

    exam_id: ExamId
    mode: Mode = "full"


class StartDiagnosticRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"examId": "clf-c02"}, {"examId": "clf-c02", "adaptive": True}]}
    )

    exam_id: ExamId
    adaptive: bool = Field(
        default=False,
        description="Serve the diagnostic in stages chosen by the answers so far (POST .../next); "
        "false (the default) serves the fixed ten-question form at once.",
    )


class ResponseIn(RequestModel):
    question_id: QuestionId
    selected: list[ServedOptionId] = Field(default_factory=list, max_length=MAX_SELECTED)
    flagged: bool = False


class SaveResponsesRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "responses": [
                        {"questionId": "qc5918c4c27", "selected": ["b"], "flagged": True},
                        {"questionId": "q0a1b2c3d4e", "selected": ["a", "d"]},
                    ]
                }
            ]
        }
    )

    responses: list[ResponseIn] = Field(min_length=1, max_length=MAX_RESPONSES_PER_REQUEST)


class SubmitRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"responses": [{"questionId": "qc5918c4c27", "selected": ["b"]}]}, {}]}
    )

    responses: list[ResponseIn] = Field(default_factory=list, max_length=MAX_RESPONSES_PER_REQUEST)


class SavedResponse(ApiModel):
    question_id: str
    selected: list[str]
    flagged: bool
    saved_at: datetime


class ScoreBand(ApiModel):
    low: int
    high: int


class ScoredCount(ApiModel):
    correct: int
    total: int


class DomainResult(ApiModel):
    domain_id: str
    name: str
    weight: float
    correct: int
    total: int
    percent: float
    expected_percent_at_cut: float = Field(
        description="Percent a borderline (just passing) candidate is expected to score on these items."
    )
    rating: Literal["meets", "needs_improvement"]


class StudyTask(ApiModel):
    id: str
    text: str
    missed: int


class StudyPlanEntry(ApiModel):
    domain_id: str
    name: str
    share: float
    hours: float
    task_statements: list[StudyTask]


class Result(ApiModel):
    attempt_id: str
    exam_id: str
    mode: str
    submitted_at: datetime
    timed_out: bool
    scaled_score: int
    passed: bool
    passing_score: int
    scale_min: int
    scale_max: int
    score_band: ScoreBand
    pass_probability: float
    scored: ScoredCount
    answered: int
    domains: list[DomainResult]
    weakest_domain: str
    study_plan: list[StudyPlanEntry]
    note: str | None = Field(default=None, description="How far to trust this score (set on short forms).")


class AttemptCreated(ApiModel):
    attempt_id: str
    attempt_token: str = Field(description="Send it back in the X-Attempt-Token header on every call.")
    exam_id: str
    mode: str
    started_at: datetime
    expires_at: datetime | None
    duration_seconds: int | None
    question_count: int
    questions: list[QuestionOut]


class NextStage(ApiModel):
    """The next stage of an adaptive diagnostic: its new questions, numbered after the ones already served."""

    attempt_id: str
    stage: int = Field(description="This stage's number, from 1")
    stage_count: int
    last: bool = Field(description="True when this is the last stage: answer it, then submit")
    question_count: int = Field(description="Questions served so far, this stage's included")
    questions: list[QuestionOut]


class AttemptOut(ApiModel):
    attempt_id: str
    exam_id: str
    mode: str
    status: Status
    started_at: datetime
    expires_at: datetime | None
    duration_seconds: int | None
    remaining_seconds: int | None
    question_count: int
    answered_count: int
    flagged_count: int
    questions: list[QuestionOut]
    responses: list[SavedResponse]
    result: Result | PracticeResult | None = None


class SaveResult(ApiModel):
    attempt_id: str
    saved: int
    answered_count: int
    remaining_seconds: int | None


class ReviewOption(ApiModel):
    id: str
    text: str
    correct: bool
    selected: bool
    explanation: str


class ReviewQuestion(ApiModel):
    number: int
    question_id: str
    type: Literal["single", "multiple"]
    select_count: int
    stem: str
    options: list[ReviewOption]
    selected: list[str]
    key: list[str]
    correct: bool
    scored: bool
    flagged: bool
    domain_id: str
    domain_name: str
    task_statement: TaskStatementOut
    reference: str | None = None


class Review(ApiModel):
    attempt_id: str
    result: Result | PracticeResult
    questions: list[ReviewQuestion]


# ---------------------------------------------------------------- partners and candidates


class ScoreBucket(ApiModel):
    low: int
    high: int
    count: int


class WeakestCount(ApiModel):
    domain_id: str
    name: str
    count: int
    share: float


class DomainSummary(ApiModel):
    domain_id: str
    name: str
    mean_percent: float | None
    needs_improvement_rate: float | None


class PartnerSummary(ApiModel):
    partner_id: str
    exam_id: str
    from_date: str
    to_date: str
    started: int
    submitted: int
    completion_rate: float | None
    mean_scaled_score: float | None
    pass_rate: float | None
    score_distribution: list[ScoreBucket]
    weakest_domains: list[WeakestCount]
    domains: list[DomainSummary]
    truncated: bool = Field(description="True when the range held more attempts than one summary reads.")


class ClaimResult(ApiModel):
    attempt_id: str
    mode: str
    claimed: bool


class DomainRating(ApiModel):
    domain_id: str
    percent: float
    rating: Literal["meets", "needs_improvement"]


class HistoryEntry(ApiModel):
    attempt_id: str
    exam_id: str
    mode: str
    status: Status
    started_at: datetime
    scaled_score: int | None = None
    passed: bool | None = None
    weakest_domain: str | None = None
    percent: float | None = Field(default=None, description="Practice sets: percent correct.")
    domains: list[DomainRating] = Field(default_factory=list)


class History(ApiModel):
    attempts: list[HistoryEntry]
    next_token: str | None = None


# ---------------------------------------------------------------- operators (admin)

ReportReason = Literal["wrong_key", "unclear", "outdated", "typo", "other"]


class ProblemReportIn(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"reason": "wrong_key", "comment": "Option b is also correct for the scenario described."}]
        }
    )

    reason: ReportReason
    comment: str = Field(default="", max_length=MAX_COMMENT_CHARS)


class ProblemReportOut(ApiModel):
    attempt_id: str
    question_id: str
    reason: ReportReason
    status: str
    reported_at: datetime


class OptionStats(ApiModel):
    id: str
    text: str
    is_key: bool
    share: float
    strong_share: float | None = Field(description="Share among strong candidates (scaled score >= 750).")


class ItemStats(ApiModel):
    item_id: str
    status: str
    version: int
    times_served: int
    exposure_rate: float
    p_value: float | None
    point_biserial: float | None
    blank_rate: float | None
    options: list[OptionStats]
    open_reports: int
    warnings: list[str]


class SuspectItem(ApiModel):
    item_id: str
    score: float
    reasons: list[str]
    stats: ItemStats


class SuspectList(ApiModel):
    exam_id: str
    # Set when the report was asked for the items naming one AWS service (``?service=``).
    service: str | None = None
    items: list[SuspectItem]


class AdminOption(ApiModel):
    id: str
    text: str
    explanation: str


class AdminItem(ApiModel):
    """An item with everything: key, explanations, difficulty. Only on IAM-authorised admin routes."""

    id: str
    exam_id: str
    domain_id: str
    task: str
    type: str
    select_count: int
    status: str
    b: float
    stem: str
    options: list[AdminOption]
    key: list[str]
    reference: str | None = None
    version: int
    last_verified: date | None = None
    services: list[str] = []


class AdminItemDetail(AdminItem):
    history: list[dict[str, object]]
    reports: list[dict[str, object]]


class AdminItemPage(ApiModel):
    items: list[AdminItem]
    total: int
    next_token: str | None = None


# An item as the bank's files hold it (infra/bank/<exam>/items/*.yaml), for the import example.
_IMPORT_EXAMPLE_ITEM: JsonDict = {
    "id": "clf-3.6-901",
    "task": "3.6",
    "type": "single",
    "selectCount": 1,
    "status": "pretest",
    "b": 0.0,
    "stem": "A company must store millions of product images, paying only for the storage it uses and "
    "provisioning no capacity in advance. Which AWS service meets these requirements?",
    "options": [
        {
            "id": "a",
            "text": "Amazon S3",
            "explanation": "Correct. Amazon S3 is object storage that grows with the data stored; "
            "you pay for what you store, with no capacity to provision.",
        },
        {
            "id": "b",
            "text": "Amazon EBS",
            "explanation": "Incorrect. An EBS volume is block storage for EC2 instances, created with a size "
            "that is provisioned and billed whether or not it is used.",
        },
        {
            "id": "c",
            "text": "Amazon EC2 instance store",
            "explanation": "Incorrect. Instance store is temporary block storage whose data is lost when the "
            "instance stops or terminates.",
        },
        {
            "id": "d",
            "text": "AWS Snowball Edge",
            "explanation": "Incorrect. Snowball Edge devices move data into and out of AWS or process it at the "
            "edge; they are not where an application keeps its images.",
        },
    ],
    "key": ["a"],
    "reference": "https://docs.aws.amazon.com/AmazonS3/latest/userguide/Welcome.html",
    "services": ["Amazon S3", "Amazon EBS", "Amazon EC2", "AWS Snow Family"],
}


class ImportRequest(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"examId": "clf-c02", "items": [_IMPORT_EXAMPLE_ITEM]}]})

    exam_id: ExamId
    items: list[dict[str, object]] = Field(min_length=1, max_length=MAX_IMPORT_ITEMS)


class ImportResult(ApiModel):
    exam_id: str
    imported: int
    created: int
    updated: int
    bank_version: int


class ItemPatch(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"examId": "clf-c02", "status": "retired", "reason": "The scenario no longer matches the service."},
                {"key": ["b"], "reason": "Candidates reported the key; b is the correct option."},
            ]
        }
    )

    exam_id: ExamId = "clf-c02"
    status: Literal["operational", "pretest", "retired"] | None = None
    key: list[ServedOptionId] | None = Field(default=None, min_length=1, max_length=MAX_KEY_OPTIONS)
    b: float | None = Field(default=None, ge=-5, le=5)
    reason: str = Field(default="", max_length=MAX_COMMENT_CHARS)


class CalibrationItemOut(ApiModel):
    item_id: str
    decision: str
    old_b: float
    new_b: float | None
    new_status: str | None = None
    n: int
    se: float | None
    infit: float | None
    outfit: float | None
    point_biserial: float | None
    reason: str
    skipped: str | None = None


class CalibrationError(ApiModel):
    code: str
    message: str


class CalibrationOut(ApiModel):
    """A calibration run: ``queued`` (POST /admin/calibrations answers with it), ``running``, ``done`` with
    the report (every field from ``bankVersionBefore`` on) or ``failed`` with ``error``. Scheduled runs are
    stored done."""

    calibration_id: str
    exam_id: str
    status: Literal["queued", "running", "done", "failed"]
    by: str
    dry_run: bool
    queued_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    error: CalibrationError | None = None
    bank_version_before: int | None = None
    attempts: int | None = None
    persons: int | None = None
    anchors: int | None = None
    method: str | None = None
    settings: dict[str, object] | None = None
    promoted: int | None = None
    flagged: int | None = None
    kept_pretest: int | None = None
    applied: int | None = None
    items: list[CalibrationItemOut] | None = None


class StartCalibration(RequestModel):
    """Optional: the same choices as the query parameters (a value given in both must agree)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"examId": "clf-c02", "dryRun": True}]})

    exam_id: ExamId | None = None
    dry_run: bool | None = None


class StartCandidateAttempt(RequestModel):
    """``full``: a timed exam form. Practice sets (untimed, never counted as timed attempts): ``domain``
    (one domain, ``domainId`` required), ``missed`` (items you got wrong or flagged last time you saw
    them), ``unseen`` (items you have never been served)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"examId": "clf-c02", "mode": "full"},
                {"mode": "domain", "domainId": "security-and-compliance", "size": 15},
            ]
        }
    )

    exam_id: ExamId = "clf-c02"
    mode: Literal["full", "domain", "missed", "unseen"] = "full"
    domain_id: str | None = Field(default=None, pattern=r"^[a-z0-9-]{2,64}$")
    size: int = Field(default=10, ge=1, le=65)


class TaskResult(ApiModel):
    id: str
    text: str
    correct: int
    total: int
    percent: float


class PracticeResult(ApiModel):
    """A practice set's result: percent and per-task-statement results, not a scaled score."""

    attempt_id: str
    exam_id: str
    mode: Literal["domain", "missed", "unseen"]
    submitted_at: datetime
    correct: int
    total: int
    percent: float
    task_statements: list[TaskResult]


class ScorePoint(ApiModel):
    attempt_id: str
    started_at: datetime
    scaled_score: int
    passed: bool
    timed_out: bool = False


class DomainPoint(ApiModel):
    attempt_id: str
    started_at: datetime
    percent: float
    expected_percent_at_cut: float


class DomainTrend(ApiModel):
    domain_id: str
    name: str
    points: list[DomainPoint]


class PooledEstimate(ApiModel):
    items: int
    scaled_score: int
    score_band: ScoreBand
    pass_probability: float


class NextStep(ApiModel):
    domain_id: str
    name: str
    task_statements: list[StudyTask]
    more_attempts_needed: int


class Readiness(ApiModel):
    exam_id: str
    ready: bool
    reasons: list[str]
    attempts_considered: list[ScorePoint]
    pooled: PooledEstimate | None
    next_step: NextStep | None
    rule: dict[str, float]


class Progress(ApiModel):
    exam_id: str
    scores: list[ScorePoint]
    domains: list[DomainTrend]
    items_seen: int
    bank_items: int
    readiness: Readiness
