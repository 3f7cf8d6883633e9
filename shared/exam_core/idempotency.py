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
never the token: the token is encrypted with AES-256-GCM (``cryptography``'s ``AESGCM``) under a key
derived by HKDF-SHA256 from the raw Idempotency-Key, with a random 96-bit nonce stored beside the
ciphertext and the attempt id as associated data (a sealed token copied onto another record does not
open). The raw key reaches the table only inside a SHA-256 hash, so a reader of the table cannot
unseal the token; a retry that presents the key can. On a replay the token is unsealed and the
attempt is read back through ``AttemptService.get`` with it (which also proves the token right) to
rebuild the same 201 body; the questions are not stored twice.

The Powertools utility (and boto3 behind it) and ``cryptography`` are imported only when a request
carries the header, so the functions' cold start does not pay for them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Header
from pydantic import BaseModel

from exam_core.attempts import Access
from exam_core.errors import Forbidden, InvalidInput, RetryLater, Throttled
from exam_core.models.api import AttemptCreated

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from exam_core.store import DynamoStore

KEY_HEADER = "Idempotency-Key"
KEY_PATTERN = r"^[A-Za-z0-9_-]{16,128}$"
_KEY_RE = re.compile(KEY_PATTERN)
RECORD_PREFIX = "attempt-start"

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
#
# Why an AEAD and not a hand-rolled scheme: this module used to XOR the token with an HMAC-SHA256
# keystream. That hid the token but proved nothing about it: a flipped bit in the stored value gave a
# different "token" with no error, and its safety rested on our own construction (one keystream per
# key and attempt, never reused) instead of a reviewed one. AES-GCM from ``cryptography`` (pyca,
# OpenSSL underneath) gives confidentiality and integrity together: a wrong key, a tampered value or
# a value moved to another record fails to open instead of yielding a wrong token. HKDF turns the
# Idempotency-Key (random, 16-128 characters) into a 256-bit key. A key seals one record per route and
# caller, each under a fresh random 96-bit nonce, so a nonce repeating under one key is out of reach.
# The attempt id, which the old keystream was derived from, is bound as associated data instead.

SEAL_VERSION = "v2"
_NONCE_BYTES = 12  # 96 bits, GCM's native nonce size
_HKDF_INFO = b"exam-core/idempotency/attempt-token/v2"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _aead(key: str) -> AESGCM:
    """AES-256-GCM under a key derived from the raw Idempotency-Key (imported here: idempotent path only)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(key.encode())
    return AESGCM(derived)


def _associated_data(attempt_id: str) -> bytes:
    return f"attempt-start/{attempt_id}".encode()


def seal(key: str, attempt_id: str, token: str) -> str:
    """The token encrypted so that only the holder of the raw Idempotency-Key can read it: ``v2:<nonce+ct>``."""
    nonce = os.urandom(_NONCE_BYTES)
    sealed = _aead(key).encrypt(nonce, token.encode(), _associated_data(attempt_id))
    return f"{SEAL_VERSION}:{_b64(nonce + sealed)}"


def unseal(key: str, attempt_id: str, sealed: str) -> str | None:
    """The token, or None when this key and attempt do not open the sealed value (wrong key, tampered)."""
    version, _, body = sealed.partition(":")
    if version in ("b", "u"):
        return _unseal_before_aead(key, attempt_id, version, body)
    if version != SEAL_VERSION:
        return None
    from cryptography.exceptions import InvalidTag

    try:
        data = _unb64(body)
        plain = _aead(key).decrypt(data[:_NONCE_BYTES], data[_NONCE_BYTES:], _associated_data(attempt_id))
    except (InvalidTag, ValueError):
        return None
    return plain.decode()


def _unseal_before_aead(key: str, attempt_id: str, kind: str, body: str) -> str:
    """Read a token sealed before the AEAD (``b:``/``u:``, the XOR of an HMAC-SHA256 keystream), once.

    Such records were written before this version was deployed and expire with their record
    (``IDEMPOTENCY_TTL_SECONDS``, one hour; Powertools also ignores a record past its expiry): reading
    them back keeps a retry that spans the deployment on the same attempt instead of starting a
    second. Nothing is sealed this way any more; delete this once that hour has passed everywhere.
    """
    data = _unb64(body)
    stream = b""
    while len(stream) < len(data):
        block = len(stream) // 32
        msg = attempt_id.encode() + (block.to_bytes(4, "big") if block else b"")
        stream += hmac.new(key.encode(), msg, hashlib.sha256).digest()
    plain = bytes(a ^ b for a, b in zip(data, stream[: len(data)], strict=True))
    return _b64(plain) if kind == "b" else plain.decode(errors="replace")


# ---------------------------------------------------------------- the Powertools wiring


_LAYER: dict[str, Any] = {}


def _powertools(table: str, ttl_seconds: int, store: DynamoStore) -> tuple[Any, Any]:
    """The persistence layer and config, built once per container (Powertools configures a layer once)."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    wanted = (table, ttl_seconds, id(store))
    if _LAYER.get("for") != wanted:
        _LAYER["for"] = wanted
        _LAYER["layer"] = store.idempotency_layer(table)
        _LAYER["config"] = IdempotencyConfig(
            event_key_jmespath="[route, caller, key]",
            payload_validation_jmespath="body",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=ttl_seconds,
            hash_function="sha256",
        )
    return _LAYER["layer"], _LAYER["config"]


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
    from exam_core.store import is_retryable

    settings = get_settings()
    layer, config = _powertools(settings.idempotency_table, settings.idempotency_ttl_seconds, runtime.store())
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
        raise RetryLater(
            f"a request with this {KEY_HEADER} is still being processed; retry shortly",
            code="idempotency_in_progress",
            details=[{"header": KEY_HEADER}],
        ) from None
    except IdempotencyPersistenceLayerError as exc:
        if fresh:  # the attempt exists but its record could not be completed: answer with it anyway
            logger.warning("idempotency record not completed", extra={"attemptId": fresh[0].attempt_id})
            return fresh[0]
        if is_retryable(exc):
            raise Throttled("the database is busy; retry shortly", code="database_busy") from exc
        raise
    if fresh:
        return fresh[0]
    attempt_id = stored["attemptId"]
    token = unseal(key, attempt_id, stored["sealedToken"])
    if token is None:  # the record does not open with its own key (tampered): the answer to a wrong token
        logger.warning("idempotency record does not open with its key", extra={"attemptId": attempt_id})
        raise Forbidden("no attempt with this id accepts this attempt token", code="attempt_forbidden")
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
