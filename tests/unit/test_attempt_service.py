"""The attempt use cases over the in-memory store with a fake clock: no network, no AWS."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from exam_core.attempts import SUBMIT_RETRIES, AttemptService
from exam_core.bank import Bank
from exam_core.bank_cache import BankCache
from exam_core.errors import Conflict, Forbidden, InvalidInput, NotFound, StaleWrite
from exam_core.models.api import AttemptCreated, ResponseIn
from exam_core.models.bank import Blueprint, Item
from exam_core.models.records import AttemptRecord, FormQuestion, SaveGuard, StoredResponse
from exam_core.settings import Settings

from tests.fakes import InMemoryStore

EXAM = "clf-c02"
T0 = 1_700_000_000
GRACE = 30
FULL_SECONDS = 90 * 60
# Keys that would reveal an answer, a difficulty, an item's identity or the scored/pretest split.
SECRET_KEYS = {"key", "explanation", "scored", "b", "itemId", "item_id", "correct", "order", "reference"}
UNKNOWN_QID = "q0000000000"


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RacingStore(InMemoryStore):
    """A store where a save lands between the submission's read and its conditional write."""

    def __init__(self) -> None:
        super().__init__()
        self.racing: list[StoredResponse] = []
        self.finish_calls = 0

    def finish_attempt(self, attempt_id: str, expected_rev: int, *args: Any, **kwargs: Any) -> None:
        self.finish_calls += 1
        if self.racing:
            racing, self.racing = self.racing, []
            meta = self.attempts[attempt_id].meta
            self.save_responses(
                attempt_id, SaveGuard(meta.token_hash, None, frozenset({meta.mode}), None, 0, 0), racing
            )
        super().finish_attempt(attempt_id, expected_rev, *args, **kwargs)


class AlwaysStaleStore(InMemoryStore):
    def finish_attempt(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append("finish_attempt")
        raise StaleWrite("finish_attempt")


def load_bank(store: InMemoryStore, bank_files: tuple[Blueprint, list[Item]]) -> None:
    blueprint, items = bank_files
    store.put_bank(
        blueprint.exam_id,
        blueprint.model_dump(mode="json", by_alias=True),
        [i.model_dump(mode="json", by_alias=True, exclude_none=True) for i in items],
    )


def make_service(store: InMemoryStore, clock: FakeClock, seed: int = 7) -> AttemptService:
    settings = Settings(submit_grace_seconds=GRACE, study_hours=20.0, duration_override_seconds=None)
    return AttemptService(store, BankCache(store), settings, clock=clock, rng_factory=lambda: random.Random(seed))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(bank_files: tuple[Blueprint, list[Item]]) -> InMemoryStore:
    s = InMemoryStore()
    load_bank(s, bank_files)
    return s


@pytest.fixture
def service(store: InMemoryStore, clock: FakeClock) -> AttemptService:
    return make_service(store, clock)


@pytest.fixture
def started(service: AttemptService) -> AttemptCreated:
    return service.start(EXAM)


def record(store: InMemoryStore, attempt_id: str) -> AttemptRecord:
    rec = store.load_attempt(attempt_id)
    assert rec is not None
    return rec


def answer(service: AttemptService, q: FormQuestion, correct: bool = True) -> list[str]:
    item = service.banks.get(EXAM).items[q.item_id]
    key = q.to_served(list(item.key))
    if correct:
        return key
    wrong = [chr(ord("a") + i) for i in range(len(q.order)) if chr(ord("a") + i) not in key]
    return sorted([*key[1:], wrong[0]])


def all_keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from all_keys(v)
    elif isinstance(value, list):
        for v in value:
            yield from all_keys(v)


def resp(question_id: str, selected: Sequence[str] = (), flagged: bool = False) -> ResponseIn:
    return ResponseIn(question_id=question_id, selected=list(selected), flagged=flagged)


# ---------------------------------------------------------------- start


def test_start_serves_65_numbered_questions_and_a_90_minute_clock(
    started: AttemptCreated, store: InMemoryStore
) -> None:
    assert started.question_count == len(started.questions) == 65
    assert [q.number for q in started.questions] == list(range(1, 66))
    assert started.duration_seconds == FULL_SECONDS
    assert started.started_at.timestamp() == T0
    assert started.expires_at is not None
    assert started.expires_at.timestamp() == T0 + FULL_SECONDS
    rec = record(store, started.attempt_id)
    assert [q.question_id for q in started.questions] == [q.question_id for q in rec.form.questions]
    assert rec.meta.status == "in_progress"


def test_start_never_leaks_keys_explanations_difficulties_or_the_scored_flag(started: AttemptCreated) -> None:
    for dump in (started.model_dump(), started.model_dump(by_alias=True), started.model_dump(mode="json")):
        assert not (SECRET_KEYS | {"status"}) & set(all_keys(dump))
    assert set(started.questions[0].model_dump(by_alias=True)) == {
        "number",
        "questionId",
        "type",
        "selectCount",
        "stem",
        "options",
    }


def test_start_serves_options_in_the_forms_shuffled_order_with_fresh_ids(
    started: AttemptCreated, service: AttemptService, store: InMemoryStore
) -> None:
    bank = service.banks.get(EXAM)
    for served, q in zip(started.questions, record(store, started.attempt_id).form.questions, strict=True):
        item = bank.items[q.item_id]
        texts = {o.id: o.text for o in item.options}
        assert [o.id for o in served.options] == [chr(ord("a") + i) for i in range(len(item.options))]
        assert [o.text for o in served.options] == [texts[o] for o in q.order]
        assert served.select_count == item.select_count


def test_start_stores_only_a_hash_of_the_attempt_token(started: AttemptCreated, store: InMemoryStore) -> None:
    meta = record(store, started.attempt_id).meta
    assert len(started.attempt_token) >= 32
    assert meta.token_hash == hashlib.sha256(started.attempt_token.encode()).hexdigest()
    assert started.attempt_token not in repr(meta)


def test_start_of_an_unknown_exam_is_not_found(service: AttemptService) -> None:
    with pytest.raises(NotFound) as err:
        service.start("no-such-exam")
    assert err.value.code == "exam_not_found"


# ---------------------------------------------------------------- save and get


def test_save_then_get_shows_the_saved_responses(
    started: AttemptCreated, service: AttemptService, clock: FakeClock
) -> None:
    q1, q2 = started.questions[0].question_id, started.questions[1].question_id
    clock.advance(60)
    saved = service.save(started.attempt_id, started.attempt_token, [resp(q1, ["b"], True), resp(q2, [], True)])
    assert (saved.saved, saved.answered_count, saved.remaining_seconds) == (2, 1, FULL_SECONDS - 60)
    got = service.get(started.attempt_id, started.attempt_token)
    assert got.status == "in_progress"
    assert got.result is None
    assert (got.answered_count, got.flagged_count, got.remaining_seconds) == (1, 2, FULL_SECONDS - 60)
    by_q = {r.question_id: r for r in got.responses}
    assert by_q[q1].selected == ["b"]
    assert by_q[q1].flagged is True
    assert by_q[q1].saved_at.timestamp() == T0 + 60
    assert by_q[q2].selected == []
    dump = got.model_dump(by_alias=True)
    assert not SECRET_KEYS & set(all_keys(dump))
    assert not {"status"} & set(all_keys(dump["questions"]))


def test_last_write_wins_across_saves_and_within_one_request(started: AttemptCreated, service: AttemptService) -> None:
    q1 = started.questions[0].question_id
    service.save(started.attempt_id, started.attempt_token, [resp(q1, ["a"])])
    service.save(started.attempt_id, started.attempt_token, [resp(q1, ["c"])])
    assert [r.selected for r in service.get(started.attempt_id, started.attempt_token).responses] == [["c"]]
    saved = service.save(started.attempt_id, started.attempt_token, [resp(q1, ["d"]), resp(q1, ["b"])])
    assert saved.saved == 1
    assert [r.selected for r in service.get(started.attempt_id, started.attempt_token).responses] == [["b"]]


def _single_and_multiple(started: AttemptCreated) -> tuple[str, str, int]:
    single = next(q for q in started.questions if q.select_count == 1)
    multiple = next(q for q in started.questions if q.select_count > 1)
    return single.question_id, multiple.question_id, multiple.select_count


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("unknown_question", "unknown_question"),
        ("unknown_option", "unknown_option"),
        ("too_many_single", "too_many_selections"),
        ("too_many_multiple", "too_many_selections"),
        ("duplicate", "duplicate_option"),
    ],
)
def test_invalid_responses_raise_invalid_input_with_details_and_save_nothing(
    started: AttemptCreated, service: AttemptService, store: InMemoryStore, case: str, code: str
) -> None:
    single, multiple, select_count = _single_and_multiple(started)
    valid = resp(started.questions[-1].question_id, ["a"])
    bad = {
        "unknown_question": resp(UNKNOWN_QID, ["a"]),
        "unknown_option": resp(single, ["f"]),
        "too_many_single": resp(single, ["a", "b"]),
        "too_many_multiple": resp(multiple, ["a", "b", "c", "d"][: select_count + 1]),
        "duplicate": resp(single, ["a", "a"]),
    }[case]
    with pytest.raises(InvalidInput) as err:
        service.save(started.attempt_id, started.attempt_token, [valid, bad])
    assert err.value.status == 422
    assert err.value.code == "invalid_responses"
    assert len(err.value.details) == 1
    detail = err.value.details[0]
    assert (detail["index"], detail["questionId"], detail["code"]) == (1, bad.question_id, code)
    if code == "unknown_option":
        assert detail["options"] == ["f"]
    if case == "too_many_single":
        assert detail["selectCount"] == 1
    if case == "too_many_multiple":
        assert detail["selectCount"] == select_count
    assert "save_responses" not in store.calls
    assert service.get(started.attempt_id, started.attempt_token).responses == []


def test_every_invalid_response_in_a_request_is_reported(started: AttemptCreated, service: AttemptService) -> None:
    single, _, _ = _single_and_multiple(started)
    with pytest.raises(InvalidInput) as err:
        service.save(started.attempt_id, started.attempt_token, [resp(UNKNOWN_QID, ["a"]), resp(single, ["a", "f"])])
    assert sorted((d["index"], d["code"]) for d in err.value.details) == [
        (0, "unknown_question"),
        (1, "too_many_selections"),
        (1, "unknown_option"),
    ]


def test_selecting_up_to_select_count_options_is_accepted_and_stored_sorted(
    started: AttemptCreated, service: AttemptService
) -> None:
    _, multiple, select_count = _single_and_multiple(started)
    choice = ["d", "a", "c", "b"][:select_count]
    service.save(started.attempt_id, started.attempt_token, [resp(multiple, choice)])
    [saved] = service.get(started.attempt_id, started.attempt_token).responses
    assert saved.selected == sorted(choice)


# ---------------------------------------------------------------- the attempt token


@pytest.mark.parametrize("token", [None, "", "not-the-token"])
def test_missing_or_wrong_token_is_forbidden_with_the_same_answer_as_an_unknown_attempt(
    started: AttemptCreated, service: AttemptService, token: str | None
) -> None:
    with pytest.raises(Forbidden) as unknown:
        service.get("0" * 32, started.attempt_token)
    calls = {
        "get": service.get,
        "save": lambda aid, tok: service.save(aid, tok, [resp(started.questions[0].question_id, ["a"])]),
        "submit": service.submit,
        "review": service.review,
    }
    for name, call in calls.items():
        with pytest.raises(Forbidden) as err:
            call(started.attempt_id, token)
        assert (err.value.message, err.value.code, err.value.status) == (
            unknown.value.message,
            unknown.value.code,
            403,
        ), name
    assert unknown.value.code == "attempt_forbidden"
    assert service.get(started.attempt_id, started.attempt_token).responses == []
    assert service.get(started.attempt_id, started.attempt_token).status == "in_progress"


# ---------------------------------------------------------------- submit and review


def test_submit_scores_the_saved_answers_and_get_then_shows_the_result(
    started: AttemptCreated, service: AttemptService, store: InMemoryStore, clock: FakeClock
) -> None:
    form = record(store, started.attempt_id).form
    service.save(
        started.attempt_id, started.attempt_token, [resp(q.question_id, answer(service, q)) for q in form.questions]
    )
    clock.advance(1200)
    result = service.submit(started.attempt_id, started.attempt_token)
    assert result.scored.correct == result.scored.total == 50
    assert result.scaled_score == form.table[50].scaled
    assert result.passed is True
    assert result.timed_out is False
    assert result.submitted_at.timestamp() == T0 + 1200
    got = service.get(started.attempt_id, started.attempt_token)
    assert got.status == "submitted"
    assert got.remaining_seconds == 0
    assert got.result == result


def test_submit_twice_returns_an_identical_result(
    started: AttemptCreated, service: AttemptService, clock: FakeClock
) -> None:
    service.save(started.attempt_id, started.attempt_token, [resp(started.questions[0].question_id, ["a"])])
    first = service.submit(started.attempt_id, started.attempt_token)
    clock.advance(500)
    second = service.submit(started.attempt_id, started.attempt_token, [resp(started.questions[1].question_id, ["a"])])
    assert second.model_dump(mode="json") == first.model_dump(mode="json")
    assert second.answered == 1


def test_submit_with_final_responses_saves_and_scores_them(
    started: AttemptCreated, service: AttemptService, store: InMemoryStore
) -> None:
    form = record(store, started.attempt_id).form
    scored = [q for q in form.questions if q.scored][:3]
    result = service.submit(
        started.attempt_id, started.attempt_token, [resp(q.question_id, answer(service, q)) for q in scored]
    )
    assert (result.answered, result.scored.correct) == (3, 3)
    assert {r.question_id for r in service.get(started.attempt_id, started.attempt_token).responses} == {
        q.question_id for q in scored
    }


def test_submit_with_invalid_final_responses_raises_and_leaves_the_attempt_open(
    started: AttemptCreated, service: AttemptService
) -> None:
    with pytest.raises(InvalidInput):
        service.submit(started.attempt_id, started.attempt_token, [resp(UNKNOWN_QID, ["a"])])
    assert service.get(started.attempt_id, started.attempt_token).status == "in_progress"


def test_save_after_submit_is_a_conflict_and_changes_nothing(
    started: AttemptCreated, service: AttemptService, store: InMemoryStore
) -> None:
    q1 = started.questions[0].question_id
    service.save(started.attempt_id, started.attempt_token, [resp(q1, ["a"])])
    service.submit(started.attempt_id, started.attempt_token)
    with pytest.raises(Conflict) as err:
        service.save(started.attempt_id, started.attempt_token, [resp(q1, ["b"])])
    assert (err.value.code, err.value.status) == ("attempt_submitted", 409)  # the conditional write refused it
    assert [r.selected for r in service.get(started.attempt_id, started.attempt_token).responses] == [["a"]]


def test_review_before_submit_is_a_conflict(started: AttemptCreated, service: AttemptService) -> None:
    with pytest.raises(Conflict) as err:
        service.review(started.attempt_id, started.attempt_token)
    assert err.value.code == "attempt_not_submitted"


def test_review_after_submit_reveals_keys_and_agrees_with_the_result(
    started: AttemptCreated, service: AttemptService, store: InMemoryStore
) -> None:
    form = record(store, started.attempt_id).form
    right = {q.question_id for q in form.questions[::2]}
    service.save(
        started.attempt_id,
        started.attempt_token,
        [resp(q.question_id, answer(service, q, q.question_id in right)) for q in form.questions],
    )
    result = service.submit(started.attempt_id, started.attempt_token)
    review = service.review(started.attempt_id, started.attempt_token)
    assert review.result == result
    assert len(review.questions) == 65
    assert sum(q.correct for q in review.questions if q.scored) == result.scored.correct
    assert sum(q.scored for q in review.questions) == 50
    for q in review.questions:
        assert q.correct is (q.question_id in right)
        assert q.key == sorted(o.id for o in q.options if o.correct)
        assert q.selected == sorted(o.id for o in q.options if o.selected)
        assert all(len(o.explanation) >= 10 for o in q.options)


# ---------------------------------------------------------------- the clock


def test_save_is_accepted_up_to_the_end_of_the_grace_period(
    started: AttemptCreated, service: AttemptService, clock: FakeClock
) -> None:
    clock.advance(FULL_SECONDS + GRACE)
    saved = service.save(started.attempt_id, started.attempt_token, [resp(started.questions[0].question_id, ["a"])])
    assert saved.remaining_seconds == 0


def test_when_time_runs_out_save_is_refused_earlier_answers_are_kept_and_attempt_is_scored(
    started: AttemptCreated, service: AttemptService, store: InMemoryStore, clock: FakeClock
) -> None:
    form = record(store, started.attempt_id).form
    early = [q for q in form.questions if q.scored][:5]
    service.save(started.attempt_id, started.attempt_token, [resp(q.question_id, answer(service, q)) for q in early])
    clock.advance(FULL_SECONDS + GRACE + 1)
    late = next(q for q in form.questions if q not in early)
    with pytest.raises(Conflict) as err:
        service.save(started.attempt_id, started.attempt_token, [resp(late.question_id, answer(service, late))])
    assert err.value.code == "attempt_expired"
    got = service.get(started.attempt_id, started.attempt_token)
    assert got.status == "submitted"
    assert got.result is not None
    assert got.result.timed_out is True
    assert got.result.model_dump(by_alias=True)["timedOut"] is True
    assert got.result.submitted_at.timestamp() == T0 + FULL_SECONDS
    assert (got.result.answered, got.result.scored.correct) == (5, 5)
    assert {r.question_id for r in got.responses} == {q.question_id for q in early}
    assert record(store, started.attempt_id).meta.timed_out is True


def test_get_after_time_runs_out_scores_the_attempt_by_itself(
    started: AttemptCreated, service: AttemptService, clock: FakeClock
) -> None:
    clock.advance(FULL_SECONDS + GRACE + 5)
    got = service.get(started.attempt_id, started.attempt_token)
    assert got.status == "submitted"
    assert got.result is not None
    assert got.result.timed_out is True
    assert service.submit(started.attempt_id, started.attempt_token) == got.result


def test_submit_after_time_runs_out_refuses_final_answers_but_scores_the_saved_ones(
    started: AttemptCreated, service: AttemptService, store: InMemoryStore, clock: FakeClock
) -> None:
    form = record(store, started.attempt_id).form
    first = next(q for q in form.questions if q.scored)
    service.save(started.attempt_id, started.attempt_token, [resp(first.question_id, answer(service, first))])
    clock.advance(FULL_SECONDS + GRACE + 1)
    late = form.questions[-1] if form.questions[-1] is not first else form.questions[-2]
    with pytest.raises(Conflict) as err:
        service.submit(started.attempt_id, started.attempt_token, [resp(late.question_id, answer(service, late))])
    assert err.value.code == "attempt_expired"
    result = service.submit(started.attempt_id, started.attempt_token)
    assert result.timed_out is True
    assert (result.answered, result.scored.correct) == (1, 1)


# ---------------------------------------------------------------- races


def test_a_save_racing_the_submission_makes_submit_retry_and_the_result_includes_it(
    bank_files: tuple[Blueprint, list[Item]], clock: FakeClock
) -> None:
    store = RacingStore()
    load_bank(store, bank_files)
    service = make_service(store, clock)
    started = service.start(EXAM)
    form = record(store, started.attempt_id).form
    scored = [q for q in form.questions if q.scored]
    service.save(started.attempt_id, started.attempt_token, [resp(scored[0].question_id, answer(service, scored[0]))])
    racing = scored[1]
    store.racing = [StoredResponse(racing.question_id, answer(service, racing), False, int(clock()))]

    result = service.submit(started.attempt_id, started.attempt_token)

    assert store.finish_calls == 2
    assert (result.answered, result.scored.correct) == (2, 2)
    final = record(store, started.attempt_id)
    assert final.meta.status == "submitted"
    assert set(final.responses) == {scored[0].question_id, racing.question_id}
    assert service.submit(started.attempt_id, started.attempt_token) == result


def test_a_submission_that_keeps_losing_the_race_gives_up_with_attempt_busy(
    bank_files: tuple[Blueprint, list[Item]], clock: FakeClock
) -> None:
    store = AlwaysStaleStore()
    load_bank(store, bank_files)
    service = make_service(store, clock)
    started = service.start(EXAM)
    with pytest.raises(Conflict) as err:
        service.submit(started.attempt_id, started.attempt_token)
    assert err.value.code == "attempt_busy"
    assert store.calls.count("finish_attempt") == SUBMIT_RETRIES


def test_bank_cache_serves_the_bank_loaded_into_the_store(service: AttemptService, bank: Bank) -> None:
    cached = service.banks.get(EXAM)
    assert cached.version == 1
    assert set(cached.items) == set(bank.items)
    assert cached.target_info == pytest.approx(bank.target_info)


@pytest.mark.parametrize("stage", ["fresh", "saved", "submitted", "timed_out"])
def test_served_documents_serialise_exactly_like_their_models(
    started: AttemptCreated, service: AttemptService, clock: FakeClock, stage: str
) -> None:
    """Routes serialise ``get_doc`` and send ``review_json`` without validating them; the bytes must be the model's."""
    from exam_core.models.api import AttemptOut, Review
    from pydantic_core import to_json

    aid, tok = started.attempt_id, started.attempt_token
    if stage != "fresh":
        service.save(
            aid, tok, [resp(q.question_id, ["a"], flagged=n % 2 == 0) for n, q in enumerate(started.questions)]
        )
    if stage == "submitted":
        service.submit(aid, tok)
    if stage == "timed_out":
        clock.advance(10 * 3600)
    doc = service.get_doc(aid, tok)
    assert to_json(doc).decode() == AttemptOut.model_validate(doc).model_dump_json(by_alias=True)
    if stage in ("submitted", "timed_out"):
        text = service.review_json(aid, tok)
        assert text == Review.model_validate_json(text).model_dump_json(by_alias=True)
        review = json.loads(text)
        assert len(review["questions"]) == len(started.questions)
        for q in review["questions"]:
            assert q["key"] == sorted(o["id"] for o in q["options"] if o["correct"])
            assert q["selected"] == sorted(o["id"] for o in q["options"] if o["selected"])
            assert q["correct"] == (bool(q["selected"]) and q["selected"] == q["key"])


def test_anonymous_full_attempts_expire_and_signed_in_ones_do_not(
    service: AttemptService, store: InMemoryStore, clock: FakeClock
) -> None:
    day = 86_400
    anonymous = service.start(EXAM)
    meta = store.attempts[anonymous.attempt_id].meta
    assert meta.ttl == T0 + 7 * day  # ABANDONED_TTL_DAYS after start if never submitted
    service.submit(anonymous.attempt_id, anonymous.attempt_token)
    assert store.attempts[anonymous.attempt_id].meta.ttl == T0 + 400 * day  # DIAGNOSTIC_RETENTION_DAYS
    owned = service.start(EXAM, candidate_id="cand-1")
    assert store.attempts[owned.attempt_id].meta.ttl is None
    clock.advance(401 * day)  # past its time-to-live: the token opens nothing, as for a missing attempt
    with pytest.raises(Forbidden):
        service.get(anonymous.attempt_id, anonymous.attempt_token)


def test_a_started_document_serialises_exactly_like_its_model(service: AttemptService) -> None:
    from exam_core.models.api import AttemptCreated
    from pydantic_core import to_json

    for mode in ("full", "diagnostic"):
        doc = service.start_doc(EXAM, mode)  # type: ignore[arg-type]
        assert to_json(doc).decode() == AttemptCreated.model_validate(doc).model_dump_json(by_alias=True)
