"""Full exams and attempts: HTTP in and out only; every rule lives in exam_core."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from exam_core.attempts import FULL
from exam_core.http import (
    ATTEMPT_TOKEN,
    AttemptId,
    attempt_token,
    build_resolver,
    created_response,
    documented,
    handle,
    json_response,
    requires,
)
from exam_core.idempotency import IdempotencyKey, start_once
from exam_core.log import logger
from exam_core.models.api import (
    AttemptCreated,
    AttemptOut,
    ExamList,
    PracticeResult,
    ProblemReportIn,
    ProblemReportOut,
    Result,
    Review,
    SaveResponsesRequest,
    SaveResult,
    StartAttemptRequest,
    SubmitRequest,
)
from exam_core.runtime import attempt_service

app = build_resolver()


@app.get(
    "/exams",
    summary="List exams and their blueprints",
    responses=documented(ExamList, 503),
    tags=["exams"],
    operation_id="listExams",
)
def list_exams() -> ExamList:
    return attempt_service().list_exams()


@app.post(
    "/attempts",
    summary="Start a full timed attempt",
    responses=documented(
        AttemptCreated,
        400,
        404,
        409,
        422,
        503,
        status=201,
        description="The attempt with its questions in serving order",
    ),
    tags=["attempts"],
    operation_id="startAttempt",
)
def start_attempt(
    request: Annotated[StartAttemptRequest, Body()], idempotency_key: IdempotencyKey = None
) -> Response[Any]:
    if idempotency_key is None:  # the common case: serve the document as built (see AttemptService.get_doc)
        doc = attempt_service().start_doc(request.exam_id, request.mode)
        return created_response(doc, f"/attempts/{doc['attemptId']}")
    created = start_once(
        idempotency_key,
        route="POST /attempts",
        caller=None,  # an open route: the key alone scopes the retry
        body=request,
        start=lambda: attempt_service().start(request.exam_id, request.mode),
        access=FULL,
        context=app.lambda_context,
    )
    return created_response(created, f"/attempts/{created.attempt_id}")


@app.get(
    "/attempts/<attemptId>",
    summary="Read an attempt to resume it: questions, saved responses, flags, remaining time",
    responses=documented(AttemptOut, 403, 422, 503),
    tags=["attempts"],
    security=requires(ATTEMPT_TOKEN),
    operation_id="getAttempt",
)
def get_attempt(attemptId: AttemptId) -> Response[str]:
    return json_response(attempt_service().get_doc(attemptId, attempt_token(app)))


@app.put(
    "/attempts/<attemptId>/responses",
    summary="Save responses and flags (partial, repeatable, last write wins per question)",
    responses=documented(SaveResult, 400, 403, 409, 422, 503),
    tags=["attempts"],
    security=requires(ATTEMPT_TOKEN),
    operation_id="saveResponses",
)
def save_responses(
    attemptId: AttemptId,
    request: Annotated[SaveResponsesRequest, Body()],
) -> Response[str]:
    return json_response(attempt_service().save(attemptId, attempt_token(app), request.responses))


@app.post(
    "/attempts/<attemptId>/submit",
    summary="Submit and score the attempt (idempotent); the body may carry final responses",
    responses=documented(Result | PracticeResult, 400, 403, 409, 422, 503),
    tags=["attempts"],
    security=requires(ATTEMPT_TOKEN),
    operation_id="submitAttempt",
)
def submit_attempt(
    attemptId: AttemptId,
    request: Annotated[SubmitRequest | None, Body()] = None,
) -> Response[str]:
    return json_response(attempt_service().submit(attemptId, attempt_token(app), request.responses if request else ()))


@app.get(
    "/attempts/<attemptId>/review",
    summary="Review a submitted attempt: keys, explanations, domains and task statements",
    responses=documented(Review, 403, 409, 422, 503),
    tags=["attempts"],
    security=requires(ATTEMPT_TOKEN),
    operation_id="reviewAttempt",
)
def review_attempt(attemptId: AttemptId) -> Response[str]:
    return json_response(attempt_service().review_json(attemptId, attempt_token(app)))


@app.post(
    "/attempts/<attemptId>/questions/<questionId>/report",
    summary="Report a problem with a question (during or after the attempt; one per question)",
    responses=documented(ProblemReportOut, 400, 403, 404, 409, 422, 429, 503, status=201, description="Recorded"),
    tags=["attempts"],
    security=requires(ATTEMPT_TOKEN),
    operation_id="reportProblem",
)
def report_problem(
    attemptId: AttemptId,
    questionId: Annotated[str, Path(pattern=r"^q[0-9a-f]{10}$", description="The question's id in this attempt.")],
    request: Annotated[ProblemReportIn, Body()],
) -> Response[Any]:
    report = attempt_service().report_problem(
        attemptId, attempt_token(app), questionId, request.reason, request.comment
    )
    return created_response(report, f"/attempts/{attemptId}/questions/{questionId}/report")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
