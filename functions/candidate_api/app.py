"""Signed-in candidates (Cognito authorizer; the candidate is the token's ``sub`` claim, never a field).

Attempts a candidate owns are opened here by ownership: another candidate's attempt is a 404.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from exam_core.attempts import FULL, candidate_access
from exam_core.errors import Forbidden
from exam_core.http import (
    ATTEMPT_TOKEN,
    CANDIDATE,
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
    ClaimResult,
    ExamId,
    History,
    PracticeResult,
    Progress,
    Readiness,
    Result,
    Review,
    SaveResponsesRequest,
    SaveResult,
    StartCandidateAttempt,
    SubmitRequest,
)
from exam_core.models.study import CheckRequest, CheckResult
from exam_core.runtime import attempt_service, candidate_service

app = build_resolver()

ExamQuery = Annotated[ExamId, Query(description="Exam id")]


def _candidate() -> str:
    claims = (app.current_event.request_context.authorizer.claims or {}) if app.current_event.request_context else {}
    sub = claims.get("sub")
    if not sub:
        raise Forbidden("sign in to use this route", code="candidate_required")
    return str(sub)


@app.post(
    "/me/attempts",
    summary="Start a full timed attempt (avoids items from your latest ones) or an untimed practice set",
    responses=documented(
        AttemptCreated, 400, 403, 404, 409, 503, status=201, description="The attempt", auth="cognito"
    ),
    tags=["candidates"],
    security=requires(CANDIDATE),
    operation_id="startMyAttempt",
)
def start_my_attempt(request: Annotated[StartCandidateAttempt, Body()], idempotency_key: IdempotencyKey = None) -> Any:
    me = _candidate()
    created = start_once(
        idempotency_key,
        route="POST /me/attempts",
        caller=f"candidate:{me}",
        body=request,
        start=lambda: candidate_service().start(me, request.exam_id, request.mode, request.domain_id, request.size),
        access=FULL,  # reopened with the unsealed token, which proves it
        context=app.lambda_context,
    )
    return created_response(created, f"/me/attempts/{created.attempt_id}")


@app.get(
    "/me/attempts",
    summary="Your attempts, newest first, paginated; status=in_progress finds one to resume",
    responses=documented(History, 403, 503, auth="cognito"),
    tags=["candidates"],
    security=requires(CANDIDATE),
    operation_id="listMyAttempts",
)
def my_attempts(
    limit: Annotated[int, Query(ge=1, le=50, description="Page size")] = 20,
    nextToken: Annotated[str | None, Query(max_length=2048, description="From the previous page")] = None,
    status: Annotated[Literal["in_progress", "submitted"] | None, Query()] = None,
) -> History:
    return candidate_service().history(_candidate(), limit, nextToken, status)


@app.get(
    "/me/attempts/<attemptId>",
    summary="Resume one of your attempts on any device",
    responses=documented(AttemptOut, 403, 404, 503, auth="cognito"),
    tags=["candidates"],
    security=requires(CANDIDATE),
    operation_id="getMyAttempt",
)
def my_attempt(attemptId: AttemptId) -> Response[str]:
    return json_response(attempt_service().get_doc(attemptId, None, candidate_access(_candidate())))


@app.put(
    "/me/attempts/<attemptId>/responses",
    summary="Save responses to one of your attempts",
    responses=documented(SaveResult, 400, 403, 404, 409, 503, auth="cognito"),
    tags=["candidates"],
    security=requires(CANDIDATE),
    operation_id="saveMyResponses",
)
def save_my_responses(attemptId: AttemptId, request: Annotated[SaveResponsesRequest, Body()]) -> Response[str]:
    return json_response(attempt_service().save(attemptId, None, request.responses, candidate_access(_candidate())))


@app.post(
    "/me/attempts/<attemptId>/submit",
    summary="Submit one of your attempts",
    responses=documented(Result | PracticeResult, 400, 403, 404, 409, 503, auth="cognito"),
    tags=["candidates"],
    security=requires(CANDIDATE),
    operation_id="submitMyAttempt",
)
def submit_my_attempt(attemptId: AttemptId, request: Annotated[SubmitRequest | None, Body()] = None) -> Response[str]:
    responses = request.responses if request else ()
    return json_response(attempt_service().submit(attemptId, None, responses, candidate_access(_candidate())))


@app.get(
    "/me/attempts/<attemptId>/review",
    summary="Review one of your submitted attempts",
    responses=documented(Review, 403, 404, 409, 503, auth="cognito"),
    tags=["candidates"],
    security=requires(CANDIDATE),
    operation_id="reviewMyAttempt",
)
def review_my_attempt(attemptId: AttemptId) -> Response[str]:
    return json_response(attempt_service().review_json(attemptId, None, candidate_access(_candidate())))


@app.post(
    "/me/attempts/<attemptId>/check",
    summary="Study mode: check one answer of a practice set (right or wrong, the key, an explanation per option); "
    "records nothing",
    responses=documented(CheckResult, 400, 403, 404, 409, 503, auth="cognito"),
    tags=["candidates"],
    security=requires(CANDIDATE),
    operation_id="checkMyAnswer",
)
def check_my_answer(attemptId: AttemptId, request: Annotated[CheckRequest, Body()]) -> Response[str]:
    access = candidate_access(_candidate())
    return json_response(attempt_service().check(attemptId, request.question_id, request.selected, access))


@app.get(
    "/me/progress",
    summary="Score trend, domain trends, items seen and the readiness verdict",
    responses=documented(Progress, 403, 404, 503, auth="cognito"),
    tags=["candidates"],
    security=requires(CANDIDATE),
    operation_id="getMyProgress",
)
def my_progress(examId: ExamQuery = "clf-c02") -> Progress:
    return candidate_service().progress(_candidate(), examId)


@app.get(
    "/me/readiness",
    summary="Ready for the real exam? The verdict, the reasons and the evidence",
    responses=documented(Readiness, 403, 404, 503, auth="cognito"),
    tags=["candidates"],
    security=requires(CANDIDATE),
    operation_id="getMyReadiness",
)
def my_readiness(examId: ExamQuery = "clf-c02") -> Readiness:
    return candidate_service().readiness(_candidate(), examId)


@app.post(
    "/me/diagnostics/<attemptId>/claim",
    summary="Add an anonymous diagnostic to your history, proving it is yours with its attempt token",
    responses=documented(ClaimResult, 403, 409, 503, auth="cognito"),
    tags=["candidates"],
    security=requires(CANDIDATE, ATTEMPT_TOKEN),
    operation_id="claimDiagnostic",
)
def claim_diagnostic(attemptId: AttemptId) -> ClaimResult:
    return candidate_service().claim_diagnostic(_candidate(), attemptId, attempt_token(app))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
