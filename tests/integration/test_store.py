"""The DynamoDB store against moto: access patterns, conditional writes and error mapping."""

from __future__ import annotations

import random
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError
from exam_core.assembly import assemble
from exam_core.attempts import AttemptService, hash_token
from exam_core.bank import Bank
from exam_core.bank_cache import BankCache
from exam_core.bank_files import load_exam_dir
from exam_core.errors import StaleWrite, Throttled
from exam_core.models.api import ResponseIn
from exam_core.models.records import AttemptMeta, Completion, SaveGuard, StoredResponse
from exam_core.settings import Settings
from exam_core.store import DynamoStore

from tests.conftest import EXAM_DIR


def _meta(attempt_id: str = "a" * 32, token: str = "tok", expires: int | None = None) -> AttemptMeta:
    now = int(time.time())
    return AttemptMeta(
        attempt_id=attempt_id,
        exam_id="clf-c02",
        mode="full",
        status="in_progress",
        token_hash=hash_token(token),
        started_at=now,
        expires_at=expires if expires is not None else now + 5400,
        duration_seconds=5400,
        bank_version=1,
    )


def _guard(
    meta: AttemptMeta,
    token_hash: str | None = None,
    not_expired_at: int = 0,
    *,
    candidate_id: str | None = None,
    partner_id: str | None = None,
    modes: frozenset[str] = frozenset({"full"}),
) -> SaveGuard:
    th = token_hash if token_hash is not None or candidate_id else meta.token_hash
    return SaveGuard(th, candidate_id, modes, partner_id, int(time.time()), not_expired_at)


def _done(at: int, result: str = "{}", final: list[StoredResponse] | None = None, ttl: int | None = None) -> Completion:
    return Completion(
        submitted_at=at, timed_out=False, result_json=result, summary_json="{}", final=final or [], ttl=ttl
    )


class CallCounter:
    """Counts DynamoDB API calls through botocore's event hooks."""

    def __init__(self, client: Any) -> None:
        self.calls: list[str] = []
        client.meta.events.register("before-call.dynamodb.*", self._count)

    def _count(self, event_name: str, **_: Any) -> None:
        self.calls.append(event_name.rsplit(".", 1)[-1])


def test_given_the_bank_files_when_loaded_twice_then_items_are_the_same_and_the_version_goes_up(
    store: DynamoStore, bank: Bank
) -> None:
    v1 = load_exam_dir(store, EXAM_DIR)
    v2 = load_exam_dir(store, EXAM_DIR)
    stored = store.load_bank("clf-c02")
    assert stored is not None
    assert v2 == v1 + 1 == stored.version
    assert len(stored.items) == len(bank.items)
    assert store.bank_version("clf-c02") == v2


def test_given_an_attempt_when_created_and_read_then_form_and_meta_round_trip(store: DynamoStore, bank: Bank) -> None:
    form = assemble(bank, "full", random.Random(3))
    meta = _meta()
    store.create_attempt(meta, form)
    rec = store.load_attempt(meta.attempt_id)
    assert rec is not None
    assert rec.meta == meta
    assert rec.form == form
    assert rec.responses == {}


def test_given_responses_when_saved_then_each_is_its_own_entry_and_last_write_wins(
    store: DynamoStore, bank: Bank
) -> None:
    form = assemble(bank, "full", random.Random(4))
    meta = _meta()
    store.create_attempt(meta, form)
    q1, q2 = form.questions[0].question_id, form.questions[1].question_id
    store.save_responses(meta.attempt_id, _guard(meta), [StoredResponse(q1, ["a"], False, 1)])
    _, after = store.save_responses(
        meta.attempt_id, _guard(meta), [StoredResponse(q1, ["b"], True, 2), StoredResponse(q2, ["c"], False, 2)]
    )
    assert set(after) == {q1, q2}  # the write returns the attempt's responses as they are now
    rec = store.load_attempt(meta.attempt_id)
    assert rec is not None
    assert rec.responses[q1].selected == ["b"] and rec.responses[q1].flagged
    assert rec.responses[q2].selected == ["c"]
    assert rec.meta.rev == 2


def test_given_a_wrong_token_or_an_expired_attempt_when_saving_then_nothing_is_written(
    store: DynamoStore, bank: Bank
) -> None:
    form = assemble(bank, "full", random.Random(5))
    meta = _meta(expires=1000)
    store.create_attempt(meta, form)
    q = form.questions[0].question_id
    with pytest.raises(StaleWrite):
        store.save_responses(meta.attempt_id, _guard(meta, hash_token("other")), [StoredResponse(q, ["a"], False, 1)])
    with pytest.raises(StaleWrite):
        store.save_responses(meta.attempt_id, _guard(meta, not_expired_at=2000), [StoredResponse(q, ["a"], False, 1)])
    rec = store.load_attempt(meta.attempt_id)
    assert rec is not None and rec.responses == {} and rec.meta.rev == 0


def test_given_two_devices_when_saving_different_questions_then_neither_overwrites_the_other(
    store: DynamoStore, bank: Bank
) -> None:
    # Each save sets only its own questions' entries (no read-modify-write of the attempt), so two
    # devices working from the same stale view both keep their answers.
    form = assemble(bank, "full", random.Random(11))
    meta = _meta()
    store.create_attempt(meta, form)
    q1, q2 = form.questions[0].question_id, form.questions[1].question_id
    store.save_responses(meta.attempt_id, _guard(meta), [StoredResponse(q1, ["a"], False, 1)])
    store.save_responses(meta.attempt_id, _guard(meta), [StoredResponse(q2, ["b"], False, 1)])
    rec = store.load_attempt(meta.attempt_id)
    assert rec is not None
    assert {q: r.selected for q, r in rec.responses.items()} == {q1: ["a"], q2: ["b"]}


@pytest.mark.parametrize(
    "case",
    ["unserved_question", "other_owner", "other_partner", "other_mode", "past_ttl"],
)
def test_given_a_guard_the_attempt_does_not_meet_when_saving_then_nothing_is_written(
    store: DynamoStore, bank: Bank, case: str
) -> None:
    form = assemble(bank, "full", random.Random(12))
    meta = _meta()
    meta.candidate_id, meta.partner_id = "cand-1", "partner-1"
    if case == "past_ttl":
        meta.ttl = int(time.time()) - 10
    store.create_attempt(meta, form)
    qid = form.questions[0].question_id
    guard = {
        "unserved_question": _guard(meta),
        "other_owner": _guard(meta, candidate_id="cand-2"),
        "other_partner": _guard(meta, partner_id="partner-2"),
        "other_mode": _guard(meta, modes=frozenset({"diagnostic"})),
        "past_ttl": _guard(meta),
    }[case]
    if case == "unserved_question":
        qid = "q00000000" + qid[9:]  # right shape, never served by this attempt
    with pytest.raises(StaleWrite):
        store.save_responses(meta.attempt_id, guard, [StoredResponse(qid, ["a"], False, 1)])
    rec = store.load_attempt(meta.attempt_id)
    assert rec is not None and rec.responses == {} and rec.meta.rev == 0


def test_given_the_owner_when_saving_without_a_token_then_it_is_written(store: DynamoStore, bank: Bank) -> None:
    form = assemble(bank, "full", random.Random(13))
    meta = _meta()
    meta.candidate_id = "cand-1"
    store.create_attempt(meta, form)
    q = form.questions[0].question_id
    stored, after = store.save_responses(
        meta.attempt_id, _guard(meta, candidate_id="cand-1"), [StoredResponse(q, ["a"], True, 5)]
    )
    assert stored.rev == 1 and after[q].selected == ["a"] and after[q].flagged and after[q].saved_at == 5


def test_given_two_submissions_on_the_same_read_when_both_write_then_only_one_scores(
    store: DynamoStore, bank: Bank
) -> None:
    form = assemble(bank, "full", random.Random(6))
    meta = _meta()
    store.create_attempt(meta, form)
    read = store.load_attempt(meta.attempt_id)
    assert read is not None
    store.finish_attempt(meta.attempt_id, read.meta.rev, _done(10, '{"first":true}'))
    with pytest.raises(StaleWrite):
        store.finish_attempt(meta.attempt_id, read.meta.rev, _done(11, '{"second":true}'))
    rec = store.load_attempt(meta.attempt_id)
    assert rec is not None and rec.meta.status == "submitted" and rec.meta.result_json == '{"first":true}'


def test_given_a_save_after_the_submissions_read_when_the_submission_writes_then_it_must_read_again(
    store: DynamoStore, bank: Bank
) -> None:
    form = assemble(bank, "full", random.Random(7))
    meta = _meta()
    store.create_attempt(meta, form)
    read = store.load_attempt(meta.attempt_id)
    assert read is not None
    q = form.questions[0].question_id
    store.save_responses(meta.attempt_id, _guard(meta), [StoredResponse(q, ["a"], False, 1)])
    with pytest.raises(StaleWrite):
        store.finish_attempt(meta.attempt_id, read.meta.rev, _done(10))


def test_given_a_submitted_attempt_when_a_late_save_arrives_then_it_is_refused(store: DynamoStore, bank: Bank) -> None:
    form = assemble(bank, "full", random.Random(8))
    meta = _meta()
    store.create_attempt(meta, form)
    store.finish_attempt(meta.attempt_id, 0, _done(10))
    with pytest.raises(StaleWrite):
        store.save_responses(
            meta.attempt_id, _guard(meta), [StoredResponse(form.questions[0].question_id, ["a"], False, 1)]
        )


def test_given_final_responses_when_submitting_then_they_are_stored_with_the_result(
    store: DynamoStore, bank: Bank
) -> None:
    form = assemble(bank, "full", random.Random(9))
    meta = _meta()
    store.create_attempt(meta, form)
    q = form.questions[0].question_id
    store.finish_attempt(meta.attempt_id, 0, _done(10, final=[StoredResponse(q, ["d"], False, 9)]))
    rec = store.load_attempt(meta.attempt_id)
    assert rec is not None and rec.responses[q].selected == ["d"] and rec.meta.status == "submitted"


def test_given_dynamodb_throttles_when_calling_then_the_store_raises_throttled(store: DynamoStore) -> None:
    def throttle(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "Query")

    store.client.meta.events.register("before-call.dynamodb.Query", throttle)
    with pytest.raises(Throttled):
        store.load_attempt("b" * 32)


def test_given_a_warm_service_when_running_a_journey_then_dynamodb_calls_per_request_are_as_designed(
    store: DynamoStore, bank: Bank
) -> None:
    load_exam_dir(store, EXAM_DIR)
    service = AttemptService(store, BankCache(store, refresh_seconds=60), Settings())
    service.start("clf-c02")  # warms the bank cache
    counter = CallCounter(store.client)

    created = service.start("clf-c02")
    assert counter.calls == ["TransactWriteItems"]

    counter.calls.clear()
    q = created.questions[0]
    service.save(created.attempt_id, created.attempt_token, [ResponseIn(question_id=q.question_id, selected=["a"])])
    assert counter.calls == ["UpdateItem"]  # one conditional write, no read

    counter.calls.clear()
    service.get(created.attempt_id, created.attempt_token)
    assert counter.calls == ["Query"]

    counter.calls.clear()
    service.submit(created.attempt_id, created.attempt_token)
    assert counter.calls == ["Query", "UpdateItem"]

    counter.calls.clear()
    again = service.submit(created.attempt_id, created.attempt_token)
    assert counter.calls == ["Query"]
    assert again.attempt_id == created.attempt_id
