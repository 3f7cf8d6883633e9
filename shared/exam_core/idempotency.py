"""``Idempotency-Key`` on the routes that start an attempt (``POST /attempts``, ``/diagnostics``, ``/me/attempts``).

A mobile client that loses the response to a start and retries with the same key gets the same attempt
(same id, same token, same questions) instead of a second one. Built on the Powertools idempotency
utility with DynamoDB records (``IDEMPOTENCY_TABLE``, kept ``IDEMPOTENCY_TTL_SECONDS``, one hour).

Scope. The record's id is ``attempt-start#sha256([route, caller, key])``: the caller is the partner
behind the API key, the candidate's ``sub``, or ``anonymous`` on the open route (a source IP is not
stable across a mobile client's retries, so there the key alone scopes the request and must be
unguessable: send a random UUID). Two partners or two candidates using the same key string never
meet. The request body is hashed separately (``payload_validation_jmespath``): the same key with a
different body is ``422 idempotency_key_reused``, and a retry while the first request is still
running is ``409 idempotency_in_progress``. A start that fails (404, 503, ...) leaves no record, so
retrying it with the same key runs it again.

Secrecy. Attempt tokens are stored only as SHA-256 hashes, yet Powertools stores the idempotent
function's whole return value in clear. So the stored value is ``{attemptId, sealedToken}`` and
never the token: the token's 32 random bytes are XORed with a keystream
``HMAC-SHA256(key=<Idempotency-Key>, msg=<attemptId>)``. The raw key reaches the table only inside a
SHA-256 hash, so a reader of the table cannot unseal the token; a retry that presents the key can.
On a replay the token is unsealed and the attempt is read back through ``AttemptService.get`` with it
(which also proves the token right) to rebuild the same 201 body; the questions are not stored twice.

The Powertools utility (and boto3 behind it) is imported only when a request carries the header, so
the functions' cold start does not pay for it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Header
from pydantic import BaseModel

from exam_core.attempts import Access
from exam_core.errors import Conflict, InvalidInput, Throttled
from exam_core.models.api import AttemptCreated

KEY_HEADER = "Idempotency-Key"
KEY_PATTERN = r"^[A-Za-z0-9_-]{16,128}$"
_KEY_RE = re.compile(KEY_PATTERN)
RECORD_PREFIX = "attempt-start"
_RETRYABLE = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
}

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=KEY_HEADER,
        pattern=KEY_PATTERN,
        description=(
            "Optional. A retry with the same key (16-128 characters of A-Z a-z 0-9 _ -, e.g. a random UUID) "
            "within an hour returns the same attempt and token instead of starting another; the same key with "
            "a different body is 422 idempotency_key_reused, one still running is 409 idempotency_in_progress."
        ),
    ),
]


# ---------------------------------------------------------------- sealing the token


def _keystream(key: str, attempt_id: str, size: int) -> bytes:
    out = b""
    block = 0
    while len(out) < size:  # one block for a 32-byte token
        msg = attempt_id.encode() + (block.to_bytes(4, "big") if block else b"")
        out += hmac.new(key.encode(), msg, hashlib.sha256).digest()
        block += 1
    return out[:size]


def _xor(data: bytes, stream: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, stream, strict=True))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def seal(key: str, attempt_id: str, token: str) -> str:
    """The token encrypted under a keystream only the holder of the raw Idempotency-Key can derive.

    A token that is URL-safe base64 (``secrets.token_urlsafe``) is sealed as its raw bytes (``b:``);
    any other token as its UTF-8 bytes (``u:``), so a change of token format cannot leak it.
    """
    try:
        raw = _unb64(token)
        kind = "b" if _b64(raw) == token else "u"
    except ValueError:
        kind = "u"
    data = raw if kind == "b" else token.encode()
    return f"{kind}:{_b64(_xor(data, _keystream(key, attempt_id, len(data))))}"


def unseal(key: str, attempt_id: str, sealed: str) -> str:
    kind, _, body = sealed.partition(":")
    data = _unb64(body)
    plain = _xor(data, _keystream(key, attempt_id, len(data)))
    return _b64(plain) if kind == "b" else plain.decode()


# ---------------------------------------------------------------- the Powertools wiring


_LAYER: dict[str, Any] = {}


def _powertools(table: str, ttl_seconds: int, client: Any) -> tuple[Any, Any]:
    """The persistence layer and config, built once per container (Powertools configures a layer once)."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig

    wanted = (table, ttl_seconds, id(client))
    if _LAYER.get("for") != wanted:
        _LAYER["for"] = wanted
        _LAYER["layer"] = DynamoDBPersistenceLayer(table_name=table, boto3_client=client)
        _LAYER["config"] = IdempotencyConfig(
            event_key_jmespath="[route, caller, key]",
            payload_validation_jmespath="body",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=ttl_seconds,
            hash_function="sha256",
        )
    return _LAYER["layer"], _LAYER["config"]


def _retryable(exc: BaseException) -> bool:
    from botocore.exceptions import ClientError, ConnectionError, ReadTimeoutError

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionError | ReadTimeoutError):
            return True
        if isinstance(seen, ClientError) and seen.response.get("Error", {}).get("Code") in _RETRYABLE:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def check_key(key: str) -> None:
    if not _KEY_RE.match(key):
        raise InvalidInput(
            f"{KEY_HEADER} must be 16-128 characters of A-Z, a-z, 0-9, '_' and '-' (a random UUID works)",
            code="invalid_idempotency_key",
            details=[{"header": KEY_HEADER}],
        )


def start_once(
    key: str | None,
    *,
    route: str,
    caller: str | None,
    body: BaseModel,
    start: Callable[[], AttemptCreated],
    access: Access,
    context: Any = None,
) -> AttemptCreated:
    """Run ``start`` once per (route, caller, key): a retry gets the first attempt back, token included.

    ``access`` opens the attempt again on a replay (the route's own access rules, with the unsealed
    token); ``context`` is the Lambda context, so a record left in progress by a timed-out invocation
    stops blocking retries when that invocation's time is up.
    """
    if key is None:
        return start()
    check_key(key)

    from aws_lambda_powertools.utilities.idempotency import idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyInconsistentStateError,
        IdempotencyPersistenceLayerError,
        IdempotencyValidationError,
    )

    from exam_core import runtime
    from exam_core.log import logger
    from exam_core.settings import get_settings

    settings = get_settings()
    layer, config = _powertools(settings.idempotency_table, settings.idempotency_ttl_seconds, runtime.store().client)
    config.register_lambda_context(context if hasattr(context, "get_remaining_time_in_millis") else None)
    fresh: list[AttemptCreated] = []

    def start_and_seal(request: dict[str, Any]) -> dict[str, str]:
        del request  # hashed by Powertools; the attempt itself comes from ``start``
        created = start()
        fresh.append(created)
        return {"attemptId": created.attempt_id, "sealedToken": seal(key, created.attempt_id, created.attempt_token)}

    once = idempotent_function(
        start_and_seal,
        data_keyword_argument="request",
        persistence_store=layer,
        config=config,
        key_prefix=RECORD_PREFIX,
    )
    payload = {"route": route, "caller": caller or "anonymous", "key": key, "body": body.model_dump(mode="json")}
    try:
        stored: dict[str, str] = once(request=payload)
    except IdempotencyValidationError:
        raise InvalidInput(
            f"this {KEY_HEADER} was already used with a different request; send a new key for a new request",
            code="idempotency_key_reused",
            details=[{"header": KEY_HEADER}],
        ) from None
    except (IdempotencyAlreadyInProgressError, IdempotencyInconsistentStateError):
        raise Conflict(
            f"a request with this {KEY_HEADER} is still being processed; retry shortly",
            code="idempotency_in_progress",
            details=[{"header": KEY_HEADER}],
        ) from None
    except IdempotencyPersistenceLayerError as exc:
        if fresh:  # the attempt exists but its record could not be completed: answer with it anyway
            logger.warning("idempotency record not completed", extra={"attemptId": fresh[0].attempt_id})
            return fresh[0]
        if _retryable(exc):
            raise Throttled("the database is busy; retry shortly", code="database_busy") from exc
        raise
    if fresh:
        return fresh[0]
    attempt_id = stored["attemptId"]
    token = unseal(key, attempt_id, stored["sealedToken"])
    again = runtime.attempt_service().get(attempt_id, token, access)
    return AttemptCreated(
        attempt_id=again.attempt_id,
        attempt_token=token,
        exam_id=again.exam_id,
        mode=again.mode,
        started_at=again.started_at,
        expires_at=again.expires_at,
        duration_seconds=again.duration_seconds,
        question_count=again.question_count,
        questions=again.questions,
    )
