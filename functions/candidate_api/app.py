"""Signed-in candidates (Cognito authorizer; the candidate is the token's ``sub`` claim, never a field)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from exam_core.errors import Forbidden
from exam_core.http import build_resolver, documented, handle, logger
from exam_core.models.api import ClaimResult, History
from exam_core.runtime import candidate_service

app = build_resolver()

AttemptId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The attempt's id.")]
TOKEN_HEADER = "X-Attempt-Token"  # noqa: S105 - a header name, not a secret


def _candidate() -> str:
    claims = (app.current_event.request_context.authorizer.claims or {}) if app.current_event.request_context else {}
    sub = claims.get("sub")
    if not sub:
        raise Forbidden("sign in to use this route", code="candidate_required")
    return str(sub)


@app.post(
    "/me/diagnostics/<attemptId>/claim",
    summary="Add an anonymous diagnostic to your history, proving it is yours with its attempt token",
    responses=documented(ClaimResult, 403, 409, 422, 503),
    tags=["candidates"],
)
def claim_diagnostic(attemptId: AttemptId) -> ClaimResult:
    token = app.current_event.headers.get(TOKEN_HEADER)
    return candidate_service().claim_diagnostic(_candidate(), attemptId, token)


@app.get(
    "/me/attempts",
    summary="Your attempts, newest first, paginated",
    responses=documented(History, 403, 422, 503),
    tags=["candidates"],
)
def my_attempts(
    limit: Annotated[int, Query(ge=1, le=50, description="Page size")] = 20,
    nextToken: Annotated[str | None, Query(max_length=2048, description="From the previous page")] = None,
) -> History:
    return candidate_service().history(_candidate(), limit, nextToken)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
