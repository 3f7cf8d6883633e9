"""Study mode: checking one answer of a practice set, over the in-memory store (no network)."""

from __future__ import annotations

import pytest
from exam_core.attempts import AttemptService, candidate_access
from exam_core.errors import Conflict, InvalidInput, NotFound
from exam_core.models.api import AttemptCreated, ResponseIn
from exam_core.models.bank import Blueprint, Item
from exam_core.models.records import FormQuestion

from tests.fakes import InMemoryStore
from tests.unit.test_attempt_service import EXAM, UNKNOWN_QID, FakeClock, load_bank, make_service

ME, OTHER = "study-me", "study-other"


@pytest.fixture
def store(bank_files: tuple[Blueprint, list[Item]]) -> InMemoryStore:
    s = InMemoryStore()
    load_bank(s, bank_files)
    return s


@pytest.fixture
def service(store: InMemoryStore) -> AttemptService:
    return make_service(store, FakeClock())


@pytest.fixture
def practice(service: AttemptService) -> AttemptCreated:
    bank = service.banks.get(EXAM)
    pool = bank.operational["security-and-compliance"]
    return service.start_practice(EXAM, "domain", ME, pool, 10)


def _question(store: InMemoryStore, attempt_id: str, n: int = 0) -> FormQuestion:
    record = store.load_attempt(attempt_id)
    assert record is not None
    return record.form.questions[n]


def _key(service: AttemptService, q: FormQuestion) -> list[str]:
    return q.to_served(list(service.banks.get(EXAM).items[q.item_id].key))


def _wrong(service: AttemptService, q: FormQuestion) -> list[str]:
    key = _key(service, q)
    return [next(chr(ord("a") + i) for i in range(len(q.order)) if chr(ord("a") + i) not in key)]


def test_given_a_practice_set_when_the_right_answer_is_checked_then_it_is_correct_with_key_and_explanations(
    service: AttemptService, store: InMemoryStore, practice: AttemptCreated
) -> None:
    q = _question(store, practice.attempt_id)
    item = service.banks.get(EXAM).items[q.item_id]
    out = service.check(practice.attempt_id, q.question_id, _key(service, q), candidate_access(ME))
    assert out.correct is True and out.key == _key(service, q) and out.selected == _key(service, q)
    assert out.question_id == q.question_id and out.attempt_id == practice.attempt_id
    assert [o.id for o in out.options] == list("abcdef"[: len(q.order)])
    assert {o.explanation for o in out.options} == {o.explanation for o in item.options}
    assert [o.id for o in out.options if o.correct] == out.key
    assert out.domain_id == "security-and-compliance" and out.task_statement.id == item.task
    assert out.reference == item.reference and out.saved is False
    dumped = out.model_dump_json(by_alias=True)
    assert q.item_id not in dumped
    assert '"scored"' not in dumped
    assert '"b":' not in dumped and '"difficulty"' not in dumped


def test_given_a_practice_set_when_a_wrong_answer_is_checked_then_it_is_wrong_and_shows_the_key(
    service: AttemptService, store: InMemoryStore, practice: AttemptCreated
) -> None:
    q = _question(store, practice.attempt_id)
    out = service.check(practice.attempt_id, q.question_id, _wrong(service, q), candidate_access(ME))
    assert out.correct is False and out.key == _key(service, q)
    assert [o.id for o in out.options if o.selected] == _wrong(service, q)


def test_given_a_check_then_it_costs_one_read_and_saves_nothing(
    service: AttemptService, store: InMemoryStore, practice: AttemptCreated
) -> None:
    q = _question(store, practice.attempt_id)
    service.banks.get(EXAM)  # warm
    store.calls.clear()
    service.check(practice.attempt_id, q.question_id, _key(service, q), candidate_access(ME))
    assert store.calls == ["load_attempt"]
    assert store.load_attempt(practice.attempt_id).responses == {}  # type: ignore[union-attr]


def test_given_a_check_then_it_agrees_with_the_practice_result(
    service: AttemptService, store: InMemoryStore, practice: AttemptCreated
) -> None:
    record = store.load_attempt(practice.attempt_id)
    assert record is not None
    answers, right = [], 0
    for n, q in enumerate(record.form.questions):
        chosen = _key(service, q) if n % 2 else _wrong(service, q)
        right += service.check(practice.attempt_id, q.question_id, chosen, candidate_access(ME)).correct
        answers.append(ResponseIn(question_id=q.question_id, selected=chosen))
    result = service.submit(practice.attempt_id, None, answers, candidate_access(ME))
    assert result.correct == right == len(answers) // 2  # type: ignore[union-attr]


def test_given_a_submitted_practice_set_then_checking_still_works(
    service: AttemptService, store: InMemoryStore, practice: AttemptCreated
) -> None:
    service.submit(practice.attempt_id, None, (), candidate_access(ME))
    q = _question(store, practice.attempt_id)
    assert service.check(practice.attempt_id, q.question_id, _key(service, q), candidate_access(ME)).correct


@pytest.mark.parametrize("mode", ["full", "diagnostic"])
def test_given_a_full_or_diagnostic_attempt_then_a_check_is_409_not_practice(
    service: AttemptService, store: InMemoryStore, mode: str
) -> None:
    started = service.start(EXAM, mode, candidate_id=ME)  # type: ignore[arg-type]
    q = _question(store, started.attempt_id)
    with pytest.raises(Conflict) as exc:
        service.check(started.attempt_id, q.question_id, ["a"], candidate_access(ME))
    assert exc.value.code == "not_practice"


def test_given_another_candidates_practice_set_then_a_check_is_404_as_for_no_attempt(
    service: AttemptService, store: InMemoryStore, practice: AttemptCreated
) -> None:
    q = _question(store, practice.attempt_id)
    with pytest.raises(NotFound) as theirs:
        service.check(practice.attempt_id, q.question_id, ["a"], candidate_access(OTHER))
    with pytest.raises(NotFound) as nothing:
        service.check("0" * 32, q.question_id, ["a"], candidate_access(OTHER))
    assert (theirs.value.code, theirs.value.message) == (nothing.value.code, nothing.value.message)


@pytest.mark.parametrize(
    ("which", "code"),
    [("unknown", "unknown_question"), ("option", "unknown_option"), ("many", "too_many_selections")],
)
def test_given_an_answer_that_does_not_fit_the_form_then_a_check_is_422(
    service: AttemptService, store: InMemoryStore, practice: AttemptCreated, which: str, code: str
) -> None:
    record = store.load_attempt(practice.attempt_id)
    assert record is not None
    single = next(q for q in record.form.questions if service.banks.get(EXAM).items[q.item_id].type == "single")
    qid, selected = {
        "unknown": (UNKNOWN_QID, ["a"]),
        "option": (single.question_id, ["f"] if len(single.order) < 6 else ["a", "a"]),
        "many": (single.question_id, ["a", "b"]),
    }[which]
    with pytest.raises(InvalidInput) as exc:
        service.check(practice.attempt_id, qid, selected, candidate_access(ME))
    assert exc.value.code == "invalid_responses"
    assert exc.value.details[0]["code"] == code
