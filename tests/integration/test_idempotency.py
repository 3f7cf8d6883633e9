"""Idempotency-Key on attempt starts against moto: one attempt per key, and no token in clear in the table."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from exam_core import runtime
from exam_core.attempts import FULL
from exam_core.bank_files import load_exam_dir
from exam_core.errors import Conflict, DomainError, InvalidInput, NotFound, Throttled
from exam_core.idempotency import seal, start_once, unseal
from exam_core.models.api import AttemptCreated, StartAttemptRequest

from tests.conftest import EXAM_DIR


class Context:
    """The one thing Powertools reads from the Lambda context: the time left."""

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@pytest.fixture
def wired(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The function runtime (settings, store, services) on the template's tables in moto, bank loaded."""
    monkeypatch.setenv("ITEMS_TABLE", "ItemsTable")
    monkeypatch.setenv("ATTEMPTS_TABLE", "AttemptsTable")
    monkeypatch.setenv("IDEMPOTENCY_TABLE", "IdempotencyTable")
    runtime.reset()
    load_exam_dir(runtime.store(), EXAM_DIR)
    yield dynamodb
    runtime.reset()


BODY = StartAttemptRequest(exam_id="clf-c02", mode="full")


def _start(key: str | None, body: StartAttemptRequest = BODY, caller: str | None = None) -> AttemptCreated:
    return start_once(
        key,
        route="POST /attempts",
        caller=caller,
        body=body,
        start=lambda: runtime.attempt_service().start(body.exam_id, body.mode),
        access=FULL,
        context=Context(),
    )


def _scan(client: Any, table: str) -> list[dict[str, Any]]:
    return list(client.scan(TableName=table)["Items"])


def _attempt_count(client: Any) -> int:
    return sum(1 for item in _scan(client, "AttemptsTable") if item["sk"]["S"] == "META")


def test_given_a_key_when_the_start_is_retried_then_one_attempt_exists_and_the_retry_gets_it_whole(wired: Any) -> None:
    key = uuid.uuid4().hex
    first = _start(key)
    again = _start(key)
    assert again.model_dump() == first.model_dump()  # same id, token, clock and questions in the same order
    assert _attempt_count(wired) == 1
    assert runtime.attempt_service().get(again.attempt_id, again.attempt_token).attempt_id == first.attempt_id

    other = _start(uuid.uuid4().hex)
    assert other.attempt_id != first.attempt_id
    _start(None)
    assert _attempt_count(wired) == 3  # a new key, and no key at all, each start a new attempt


def test_given_an_idempotent_start_then_the_table_never_holds_the_token_or_the_key_in_clear(wired: Any) -> None:
    key = uuid.uuid4().hex
    created = _start(key)
    _start(key)
    records = _scan(wired, "IdempotencyTable")
    assert len(records) == 1
    text = json.dumps(records)
    raw = base64.urlsafe_b64decode(created.attempt_token + "=" * (-len(created.attempt_token) % 4))
    for secret in (created.attempt_token, raw.hex(), base64.b64encode(raw).decode(), key):
        assert secret not in text
    stored = json.loads(records[0]["data"]["S"])
    assert set(stored) == {"attemptId", "sealedToken"} and stored["attemptId"] == created.attempt_id
    assert unseal(key, created.attempt_id, stored["sealedToken"]) == created.attempt_token
    assert unseal("x" * 32, created.attempt_id, stored["sealedToken"]) != created.attempt_token
    assert records[0]["status"]["S"] == "COMPLETED"
    expires = int(records[0]["expiration"]["N"])
    assert abs(expires - (time.time() + 3600)) < 60  # IDEMPOTENCY_TTL_SECONDS, the table's TTL attribute


def test_given_a_key_when_reused_with_another_body_then_422_and_no_new_attempt(wired: Any) -> None:
    key = uuid.uuid4().hex
    _start(key)
    with pytest.raises(InvalidInput) as err:
        _start(key, StartAttemptRequest(exam_id="other-exam", mode="full"))
    assert err.value.code == "idempotency_key_reused" and err.value.status == 422
    assert _attempt_count(wired) == 1


def test_given_two_callers_with_the_same_key_then_each_gets_its_own_attempt(wired: Any) -> None:
    key = uuid.uuid4().hex
    a = _start(key, caller="partner:a")
    b = _start(key, caller="partner:b")
    assert a.attempt_id != b.attempt_id and a.attempt_token != b.attempt_token
    assert _start(key, caller="partner:a").attempt_id == a.attempt_id
    assert _attempt_count(wired) == 2


def test_given_a_start_still_running_when_retried_then_409_in_progress(wired: Any) -> None:
    key = uuid.uuid4().hex
    seen: list[DomainError] = []

    def start_with_a_racing_retry() -> AttemptCreated:
        try:
            _start(key)
        except DomainError as exc:
            seen.append(exc)
        return runtime.attempt_service().start("clf-c02")

    first = start_once(
        key,
        route="POST /attempts",
        caller=None,
        body=BODY,
        start=start_with_a_racing_retry,
        access=FULL,
        context=Context(),
    )
    assert len(seen) == 1 and isinstance(seen[0], Conflict) and seen[0].code == "idempotency_in_progress"
    assert _start(key).attempt_token == first.attempt_token  # once finished, the retry gets the attempt
    assert _attempt_count(wired) == 1


def test_given_a_start_that_fails_then_no_record_is_kept_and_a_retry_runs_again(wired: Any) -> None:
    key = uuid.uuid4().hex
    missing = StartAttemptRequest(exam_id="no-such-exam", mode="full")
    for _ in range(2):
        with pytest.raises(NotFound):
            _start(key, missing)
    assert _scan(wired, "IdempotencyTable") == []


def test_given_an_invalid_key_then_422_before_anything_runs(wired: Any) -> None:
    for bad in ("short", "x" * 129, "has space in it ok", "üñíçødé-kéy-1234"):
        with pytest.raises(InvalidInput) as err:
            _start(bad)
        assert err.value.code == "invalid_idempotency_key"
    assert _attempt_count(wired) == 0


def test_given_dynamodb_throttles_the_idempotency_table_then_503_and_no_attempt(wired: Any) -> None:
    def throttle(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "PutItem")

    runtime.store().client.meta.events.register("before-call.dynamodb.PutItem", throttle)
    with pytest.raises(Throttled):
        _start(uuid.uuid4().hex)
    assert _attempt_count(wired) == 0


@pytest.mark.parametrize("token", ["A" * 43, "tok", "not base64 ?!", "x" * 200])
def test_seal_round_trips_any_token_and_depends_on_the_key(token: str) -> None:
    attempt_id = uuid.uuid4().hex
    sealed = seal("k" * 16, attempt_id, token)
    assert token not in sealed
    assert unseal("k" * 16, attempt_id, sealed) == token
    assert seal("k" * 16, uuid.uuid4().hex, token) != sealed  # the keystream is per attempt


def test_given_a_key_then_a_start_costs_two_more_calls_and_a_replay_two_calls(wired: Any) -> None:
    _start(uuid.uuid4().hex)  # warms the bank cache
    calls: list[str] = []
    runtime.store().client.meta.events.register(
        "before-call.dynamodb.*", lambda event_name, **_: calls.append(event_name.rsplit(".", 1)[-1])
    )
    key = uuid.uuid4().hex
    _start(key)
    assert calls == ["PutItem", "TransactWriteItems", "UpdateItem"]  # in progress, the attempt, completed
    calls.clear()
    _start(key)
    assert calls == ["PutItem", "Query"]  # the refused put returns the record; the attempt is read back


# ---------------------------------------------------------------- the AEAD seal and records sealed before it

# Written by the seal this module used before the AEAD (an HMAC-SHA256 keystream XORed with the token),
# for key "legacy-key-0123456789" and attempt "0123456789abcdef0123456789abcdef".
LEGACY_KEY = "legacy-key-0123456789"
LEGACY_ATTEMPT = "0123456789abcdef0123456789abcdef"
LEGACY_SEALED = {
    "Zm9vYmFyYmF6cXV4cXV1eHF1dXpxdXV4cXV1eHF1dXo": "b:LXzvc2MsRFPPBEuTXbbiCkZZ6jSYv2L0zY_BK_Mh3Y8",
    "not base64 ?!": "u:JXz0MWA_VVeDQR7UDQ",
}


def _seal_as_before(key: str, attempt_id: str, token: str) -> str:
    """The pre-AEAD seal, reproduced for the tests (checked against LEGACY_SEALED)."""
    import hashlib
    import hmac

    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    stream = hmac.new(key.encode(), attempt_id.encode(), hashlib.sha256).digest()
    body = base64.urlsafe_b64encode(bytes(a ^ b for a, b in zip(raw, stream[: len(raw)], strict=True)))
    return "b:" + body.rstrip(b"=").decode()


def test_given_a_value_sealed_before_the_aead_then_it_still_opens_with_its_key() -> None:
    for token, sealed in LEGACY_SEALED.items():
        assert unseal(LEGACY_KEY, LEGACY_ATTEMPT, sealed) == token
    token = next(iter(LEGACY_SEALED))
    assert _seal_as_before(LEGACY_KEY, LEGACY_ATTEMPT, token) == LEGACY_SEALED[token]


def test_given_a_sealed_token_then_it_is_versioned_aead_and_opens_only_with_its_key_and_attempt() -> None:
    attempt_id, other_attempt = uuid.uuid4().hex, uuid.uuid4().hex
    token = "A" * 43
    sealed = seal("k" * 16, attempt_id, token)
    assert sealed.startswith("v2:")
    body = base64.urlsafe_b64decode(sealed[3:] + "=" * (-len(sealed[3:]) % 4))
    assert len(body) == 12 + len(token) + 16  # the 96-bit nonce, the ciphertext, GCM's 128-bit tag
    assert unseal("k" * 16, attempt_id, sealed) == token
    assert unseal("j" * 16, attempt_id, sealed) is None  # another key
    assert unseal("k" * 16, other_attempt, sealed) is None  # moved onto another record
    flipped = bytearray(body)
    flipped[20] ^= 1
    tampered = "v2:" + base64.urlsafe_b64encode(bytes(flipped)).rstrip(b"=").decode()
    assert unseal("k" * 16, attempt_id, tampered) is None
    assert unseal("k" * 16, attempt_id, "v2:!!") is None and unseal("k" * 16, attempt_id, "v9:abc") is None


def _rewrite_sealed(client: Any, sealed: str) -> None:
    (record,) = _scan(client, "IdempotencyTable")
    stored = json.loads(record["data"]["S"])
    stored["sealedToken"] = sealed
    record["data"] = {"S": json.dumps(stored)}
    client.put_item(TableName="IdempotencyTable", Item=record)


def test_given_a_record_sealed_before_the_aead_when_the_start_is_retried_then_the_same_attempt_comes_back(
    wired: Any,
) -> None:
    key = uuid.uuid4().hex
    first = _start(key)
    _rewrite_sealed(wired, _seal_as_before(key, first.attempt_id, first.attempt_token))
    again = _start(key)
    assert again.model_dump() == first.model_dump()
    assert _attempt_count(wired) == 1


def test_given_a_tampered_record_when_the_start_is_retried_then_403_and_no_new_attempt(wired: Any) -> None:
    key = uuid.uuid4().hex
    first = _start(key)
    _rewrite_sealed(wired, seal(uuid.uuid4().hex, first.attempt_id, first.attempt_token))
    with pytest.raises(DomainError) as err:
        _start(key)
    assert err.value.status == 403 and err.value.code == "attempt_forbidden"
    assert _attempt_count(wired) == 1


@pytest.mark.parametrize("code", ["TransactionInProgressException", "ProvisionedThroughputExceededException"])
def test_given_any_of_the_stores_retryable_codes_on_the_idempotency_table_then_503_and_no_attempt(
    wired: Any, code: str
) -> None:
    from exam_core.store import RETRYABLE

    assert code in RETRYABLE  # one list: the store's, which the idempotency path uses too

    def busy(**_: Any) -> None:
        raise ClientError({"Error": {"Code": code, "Message": "busy"}}, "PutItem")

    runtime.store().client.meta.events.register("before-call.dynamodb.PutItem", busy)
    with pytest.raises(Throttled):
        _start(uuid.uuid4().hex)
    assert _attempt_count(wired) == 0
