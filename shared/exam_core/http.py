"""The HTTP edge shared by every function: one resolver factory, every domain error mapped in one place."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import BaseModel
from pydantic_core import to_json

from exam_core import metrics
from exam_core.errors import DomainError
from exam_core.log import logger
from exam_core.models.api import ErrorBody, GatewayMessage
from exam_core.settings import get_settings

TOKEN_HEADER = "X-Attempt-Token"  # noqa: S105  # nosec B105
ALLOWED_HEADERS = ["Content-Type", "Authorization", "X-Api-Key", "X-Attempt-Token", "Idempotency-Key"]

# The attempt id in a route's path (``/attempts/<attemptId>``, ``/diagnostics/<attemptId>``, ...): one pattern.
ATTEMPT_ID_PATTERN = r"^[0-9a-f]{32}$"
AttemptId = Annotated[str, Path(pattern=ATTEMPT_ID_PATTERN, description="The attempt's id.")]
DiagnosticId = Annotated[str, Path(pattern=ATTEMPT_ID_PATTERN, description="The diagnostic's id.")]

_DESCRIPTIONS = {
    400: "Malformed request (for example a body that is not JSON).",
    403: "Missing or wrong credentials; never says whether the object exists.",
    404: "No such exam or route.",
    415: "The body is not sent as application/json.",
    409: "The attempt's state does not allow this (already submitted, expired, not yet submitted).",
    413: "The request body is larger than this route accepts (payload_too_large); details give the limit.",
    422: "The request does not match the schema, or its answers do not fit the questions.",
    429: "Too many requests: API Gateway's throttle for the stage, this route or a partner key, or a per-attempt "
    "cap (too_many_reports); slow down and retry after the Retry-After header's seconds.",
    503: "The database is busy; retry after the Retry-After header's seconds.",
}


# The credentials a route takes, as OpenAPI security schemes (components.securitySchemes) named on each
# operation with ``security=requires(...)``: they match the auth template.yaml gives the route
# (ApiKeyRequired, the Cognito authorizer, AWS_IAM); the attempt token is the API's own check. Plain
# dicts, so the request path never imports Powertools' OpenAPI models (they load only to build the document).
PARTNER_KEY = "partnerApiKey"
ATTEMPT_TOKEN = "attemptToken"  # noqa: S105  # nosec B105
CANDIDATE = "candidate"
ADMIN = "adminSigV4"
SECURITY_SCHEMES: dict[str, Any] = {  # Powertools builds its SecurityScheme models from these
    PARTNER_KEY: {
        "type": "apiKey",
        "in": "header",
        "name": "X-Api-Key",
        "description": "A partner's API key (API Gateway usage plan; the key's id is the partner). "
        "Locally: demo-partner-key.",
    },
    ATTEMPT_TOKEN: {
        "type": "apiKey",
        "in": "header",
        "name": TOKEN_HEADER,
        "description": "The attemptToken returned when the attempt or diagnostic started.",
    },
    CANDIDATE: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A signed-in candidate's Cognito user pool token, checked by API Gateway's Cognito authorizer "
        "(issuer https://cognito-idp.{region}.amazonaws.com/{CandidatePoolId}; the stack outputs CandidatePoolId "
        "and CandidatePoolClientId); the candidate is its sub claim. Locally: Bearer dev:<candidateId>.",
    },
    ADMIN: {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "x-amazon-apigateway-authtype": "awsSigv4",
        "description": "AWS Signature Version 4 with IAM credentials allowed to invoke the admin routes "
        "(API Gateway AWS_IAM authorization). Locally: Bearer demo-admin-token.",
    },
}


def requires(*schemes: str) -> list[dict[str, list[str]]]:
    """A route's OpenAPI ``security``: one requirement needing every scheme named (all at once)."""
    unknown = set(schemes) - SECURITY_SCHEMES.keys()
    if unknown:
        raise ValueError(f"unknown security schemes: {sorted(unknown)}")
    return [{name: [] for name in schemes}]


def documented(
    ok: Any,
    *codes: int,
    status: int = 200,
    description: str = "Success",
    auth: Literal["none", "key", "cognito", "iam"] = "none",
) -> dict[int, Any]:
    """OpenAPI ``responses`` for a route: its success model and every error status it can return.

    Powertools documents the return annotation only when ``responses`` is absent, and always adds a 422
    with its own body shape; so each route lists its success model, and 422 is always ours. A route that
    reads a body (it lists 400) can also get 413 (too large) and 415 (not JSON); every route can get 429
    from API Gateway's throttles, whose gateway response carries the same error body (template.yaml).
    Routes behind an API key, a Cognito authorizer or IAM also document what API Gateway itself answers
    (``{"message": ...}``): 401 without a sign-in, 403 for a refused key or signature.
    """
    out: dict[int, Any] = {status: {"description": description, "content": {"application/json": {"model": ok}}}}
    extra = {413, 415} if 400 in codes else set()  # a route that reads a body: too large, wrong content type
    for code in sorted({*codes, *extra, 422, 429}):
        out[code] = {"description": _DESCRIPTIONS[code], "content": {"application/json": {"model": ErrorBody}}}
    gateway: dict[int, str] = {}
    if auth in ("key", "iam", "cognito"):
        gateway[403] = "Refused by API Gateway (missing or unknown API key, missing signature), or by the API."
    if auth == "cognito":
        gateway[401] = "No valid sign-in token (API Gateway's Cognito authorizer)."
    for code, text in gateway.items():
        model: Any = GatewayMessage if code not in out else ErrorBody | GatewayMessage
        out[code] = {"description": text, "content": {"application/json": {"model": model}}}
    return out


def error_response(
    status: int, code: str, message: str, details: list[Any] | None = None, retry_after: int | None = None
) -> Response[Any]:
    """The error body; ``retry_after`` (a DomainError's ``retry_after``: 503s, "not yet" 409s) adds the
    Retry-After header."""
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body={"error": {"code": code, "message": message, "details": details or []}},
        headers=headers,
    )


def json_response(
    model: BaseModel | dict[str, Any] | str, status: int = 200, headers: dict[str, str] | None = None
) -> Response[str]:
    """A response whose body pydantic-core serialises in one pass (camelCase).

    Returning the model itself would make Powertools validate it again and walk it with its Python
    JSON encoder: on a 65-question attempt that costs more than everything else in the request.
    A model was validated when it was built; a plain document (the hot reads' ``*_doc``) is already in
    the declared shape, which ``AttemptService.get``/``review`` check by validating the same document.
    Each route still declares its model for the OpenAPI document.
    """
    if isinstance(model, str):  # JSON text already (AttemptService.review_json)
        body = model
    elif isinstance(model, BaseModel):
        body = model.model_dump_json(by_alias=True)
    else:
        body = to_json(model).decode()
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=body,
        headers=headers or {},
    )


def created_response(model: BaseModel | dict[str, Any], location: str) -> Response[str]:
    """A 201 with the created object (camelCase) and its Location."""
    return json_response(model, 201, {"Location": location})


def attempt_token(app: APIGatewayRestResolver) -> str | None:
    """The attempt token the request carries (``X-Attempt-Token``), or None: the service says 403 then."""
    return app.current_event.headers.get(TOKEN_HEADER)


def caller(app: APIGatewayRestResolver) -> str:
    """The IAM principal API Gateway authenticated (locally: the admin token's name), for audit trails."""
    identity = app.current_event.request_context.identity
    return str(identity.user_arn or identity.user or identity.caller or "unknown")


def build_resolver() -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(
        enable_validation=True,
        cors=CORSConfig(allow_origin="*", allow_headers=ALLOWED_HEADERS, max_age=600),
    )
    app.configure_openapi(security_schemes=SECURITY_SCHEMES)  # only stored; read when the document is built

    @app.exception_handler(DomainError)
    def _domain(exc: DomainError) -> Response[Any]:
        event = app.current_event
        if exc.status >= 500:
            logger.warning("service unavailable", extra={"code": exc.code})
            metrics.unavailable(f"{event.http_method} {event.resource}")
        elif event.http_method == "PUT" and event.resource.endswith("/responses"):
            metrics.save_refused(exc.code)
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.retry_after)

    @app.exception_handler(RequestUnsupportedContentType)
    def _content_type(_exc: RequestUnsupportedContentType) -> Response[Any]:
        return error_response(
            415, "unsupported_media_type", "send the body as JSON with Content-Type: application/json"
        )

    @app.exception_handler(RecursionError)
    def _too_deep(_exc: RecursionError) -> Response[Any]:  # json.loads on absurdly nested input
        return error_response(400, "malformed_json", "the request body is nested too deeply")

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response[Any]:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(400, "malformed_json", "the request body is not valid JSON")
        # Only location, type and pydantic's message: never echo input values back (no reflected content).
        details = [{"loc": list(e.get("loc", ())), "type": e.get("type"), "message": e.get("msg")} for e in errors]
        return error_response(422, "invalid_request", "the request does not match the API schema", details)

    @app.not_found
    def _not_found(_: NotFoundError) -> Response[Any]:
        return error_response(404, "route_not_found", "no such route")

    @app.exception_handler(Exception)
    def _unexpected(_exc: Exception) -> Response[Any]:  # pragma: no cover - a bug, logged with its stack
        logger.exception("unhandled error")
        return error_response(500, "internal_error", "something went wrong on our side; it has been logged")

    return app


def _refusal(status: int, code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    """A refusal made before the resolver runs: the proxy response itself, in the usual error shape."""
    error = {"error": {"code": code, "message": message, "details": details or []}}
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "Access-Control-Allow-Origin": "*"},
        "body": json.dumps(error),
        "isBase64Encoded": False,
    }


def _json_body_check(event: dict[str, Any]) -> dict[str, Any] | None:
    """Bodies are JSON only. Normalises the media type's case (RFC 9110: case-insensitive) and answers
    415 before any parser runs for another type (Powertools would try form or multipart parsing)."""
    headers = event.get("headers") or {}
    for name, value in list(headers.items()):
        if name.lower() != "content-type" or not value:
            continue
        media, _, params = str(value).partition(";")
        media = media.strip().lower()
        if event.get("body") and media != "application/json" and not media.endswith("+json"):
            return _refusal(415, "unsupported_media_type", "send the body as JSON with Content-Type: application/json")
        headers[name] = "application/json" + (f";{params}" if params else "")
        multi = event.get("multiValueHeaders") or {}
        if name in multi:
            multi[name] = [headers[name]]
    return None


def body_limit(resource: str) -> int:
    """The largest body (bytes) a route accepts: operators' routes (IAM) import batches of items."""
    settings = get_settings()
    return settings.admin_max_body_bytes if resource.startswith("/admin/") else settings.max_body_bytes


def _body_size_check(event: dict[str, Any]) -> dict[str, Any] | None:
    """413 payload_too_large for a body over the route's limit, before anything parses it (API Gateway
    passes up to 10 MB; nothing this API takes needs more than a few KB, or about 1 MB for an import)."""
    body = event.get("body")
    if not body:
        return None
    limit = body_limit(str(event.get("resource") or event.get("path") or ""))
    size = len(body) if len(body) > limit else len(str(body).encode("utf-8", errors="surrogatepass"))
    if event.get("isBase64Encoded"):
        size = size * 3 // 4
    if size <= limit:
        return None
    return _refusal(413, "payload_too_large", f"the request body is larger than {limit} bytes", [{"maxBytes": limit}])


def _object_body_check(event: dict[str, Any]) -> dict[str, Any] | None:
    """Every body this API takes is a JSON object. Powertools reads a top-level array as its first
    element (``[{"examId": ...}, 42]`` would start an attempt; ``[null]`` would submit one), so an
    array is refused here with the same 422 as any other body that does not match its schema."""
    body = event.get("body")
    if not body or event.get("isBase64Encoded") or not str(body).lstrip().startswith("["):
        return None
    try:
        json.loads(body)
    except (ValueError, RecursionError):
        return None  # not JSON at all: the usual 400 malformed_json
    details = [{"loc": ["body"], "type": "model_type", "message": "Input should be an object"}]
    return _refusal(422, "invalid_request", "the request body must be a JSON object", details)


def handle(app: APIGatewayRestResolver, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Resolve an API Gateway event: the one entry point every API function's handler calls."""
    refused = _body_size_check(event) or _json_body_check(event) or _object_body_check(event)
    if refused is not None:
        return refused
    return app.resolve(event, context)
