"""The free diagnostic and partner summaries, behind partner API keys (the key's id is the partner)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from exam_core.attempts import diagnostic_access
from exam_core.errors import Forbidden, InvalidInput
from exam_core.http import (
    ATTEMPT_TOKEN,
    PARTNER_KEY,
    DiagnosticId,
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
    ExamId,
    NextStage,
    PartnerSummary,
    PracticeResult,
    Result,
    Review,
    StartDiagnosticRequest,
    SubmitRequest,
)
from exam_core.runtime import attempt_service, partner_service

app = build_resolver()

ISO_DAY = r"^\d{4}-\d{2}-\d{2}$"


def _partner() -> str:
    """The partner is the API key API Gateway accepted, never anything in the request."""
    key_id = app.current_event.request_context.identity.api_key_id
    if not key_id:
        raise Forbidden("this route needs a partner API key", code="partner_key_required")
    return str(key_id)


@app.post(
    "/diagnostics",
    summary="Start a free 10-question diagnostic (no account, no time limit)",
    responses=documented(
        AttemptCreated,
        400,
        403,
        404,
        409,
        422,
        503,
        status=201,
        description="The diagnostic with its ten questions",
        auth="key",
    ),
    tags=["diagnostics"],
    security=requires(PARTNER_KEY),
    operation_id="startDiagnostic",
)
def start_diagnostic(
    request: Annotated[StartDiagnosticRequest, Body()], idempotency_key: IdempotencyKey = None
) -> Response[Any]:
    partner = _partner()
    created = start_once(
        idempotency_key,
        route="POST /diagnostics",
        caller=f"partner:{partner}",
        body=request,
        start=lambda: attempt_service().start(
            request.exam_id, "diagnostic", partner_id=partner, adaptive=request.adaptive
        ),
        access=diagnostic_access(partner),
        context=app.lambda_context,
    )
    return created_response(created, f"/diagnostics/{created.attempt_id}")


@app.get(
    "/diagnostics/<attemptId>",
    summary="Read a diagnostic: questions, and the result once submitted",
    responses=documented(AttemptOut, 403, 422, 503, auth="key"),
    tags=["diagnostics"],
    security=requires(PARTNER_KEY, ATTEMPT_TOKEN),
    operation_id="getDiagnostic",
)
def get_diagnostic(attemptId: DiagnosticId) -> Response[str]:
    return json_response(attempt_service().get_doc(attemptId, attempt_token(app), diagnostic_access(_partner())))


@app.post(
    "/diagnostics/<attemptId>/submit",
    summary="Submit the responses and get the scaled score, weakest domain and study plan at once",
    responses=documented(Result | PracticeResult, 400, 403, 409, 422, 503, auth="key"),
    tags=["diagnostics"],
    security=requires(PARTNER_KEY, ATTEMPT_TOKEN),
    operation_id="submitDiagnostic",
)
def submit_diagnostic(
    attemptId: DiagnosticId,
    request: Annotated[SubmitRequest | None, Body()] = None,
) -> Response[str]:
    responses = request.responses if request else ()
    return json_response(
        attempt_service().submit(attemptId, attempt_token(app), responses, diagnostic_access(_partner()))
    )


@app.post(
    "/diagnostics/<attemptId>/next",
    summary="Adaptive diagnostic: send the served stage's responses and get the next stage's questions",
    responses=documented(NextStage, 400, 403, 409, 422, 503, auth="key"),
    tags=["diagnostics"],
    security=requires(PARTNER_KEY, ATTEMPT_TOKEN),
    operation_id="nextDiagnosticStage",
)
def next_diagnostic_stage(
    attemptId: DiagnosticId,
    request: Annotated[SubmitRequest | None, Body()] = None,
) -> Response[str]:
    responses = request.responses if request else ()
    return json_response(
        attempt_service().next_stage(attemptId, attempt_token(app), responses, diagnostic_access(_partner()))
    )


@app.get(
    "/diagnostics/<attemptId>/review",
    summary="Review a submitted diagnostic: keys and explanations",
    responses=documented(Review, 403, 409, 422, 503, auth="key"),
    tags=["diagnostics"],
    security=requires(PARTNER_KEY, ATTEMPT_TOKEN),
    operation_id="reviewDiagnostic",
)
def review_diagnostic(attemptId: DiagnosticId) -> Response[str]:
    return json_response(attempt_service().review_json(attemptId, attempt_token(app), diagnostic_access(_partner())))


@app.get(
    "/partner/summary",
    summary="The calling partner's own diagnostics: counts, score distribution, domain weaknesses",
    responses=documented(PartnerSummary, 403, 404, 422, 503, auth="key"),
    tags=["partners"],
    security=requires(PARTNER_KEY),
    operation_id="getPartnerSummary",
)
def partner_summary(
    examId: Annotated[ExamId, Query(description="Exam id")] = "clf-c02",
    from_: Annotated[
        str | None, Query(alias="from", pattern=ISO_DAY, description="First day (UTC), default 29 days before 'to'")
    ] = None,
    to: Annotated[str | None, Query(pattern=ISO_DAY, description="Last day (UTC), default today")] = None,
) -> PartnerSummary:
    return partner_service().summary(_partner(), examId, _day(from_, "from"), _day(to, "to"))


def _day(value: str | None, name: str) -> date | None:
    """A calendar day as YYYY-MM-DD only (pydantic's lax date parsing would take "0" as 1970-01-01)."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"'{name}' is not a calendar day", code="invalid_range", details=[{"field": name}]) from None


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
