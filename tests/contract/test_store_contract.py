"""The store contract: every case runs against ``tests.fakes.InMemoryStore`` and ``DynamoStore`` on moto.

A service test on the fake proves something about production only if the fake behaves as DynamoDB does;
this suite is where that is checked. Where the two disagreed, the fake was changed, never the store.
Each rule the fake holds is pinned by one of these cases (``store`` is parametrised ``fake``/``dynamo``):

Attempts
- ``test_create_then_load_round_trips_meta_form_and_no_responses``: create/load; unknown id reads None.
- ``test_create_twice_with_another_token_is_refused_and_a_retry_with_the_same_token_is_harmless``: the
  ``AlreadyExists`` rule and the retried-create no-op (same token hash) of ``create_attempt``.
- ``test_save_sets_only_the_saved_questions_and_returns_the_attempt_after_the_write``: the merge, last
  write wins, ``rev`` + 1 per save, selected/flagged/savedAt round trip, the returned meta and responses.
- ``test_save_refusals`` (one case per clause of the save condition, SaveGuard against DynamoStore's
  ConditionExpression): wrong token, other candidate, a candidate on an unowned attempt, wrong mode,
  wrong partner, a partner on an attempt without one, submitted, past ``expiresAt`` (not_expired_at),
  past the time-to-live, an unknown question id, one unknown id among served ones, no such attempt;
  nothing written (rev and responses unchanged).
- ``test_save_boundaries_that_are_accepted``: ``expiresAt == not_expired_at`` and ``ttl == now`` still
  save (``>=`` in the expression), an untimed attempt never expires, the owner saves without a token.
- ``test_finish_*``: the result, summary, final responses and new ttl in one write on the revision read;
  a stale revision, a second finish, or an unknown attempt is a ``StaleWrite`` that changes nothing; a
  finish without a ttl keeps the attempt's; a save after the finish is refused.
- ``test_extend_form_*``: the new stage's questions become saveable, the finished stage's responses are
  stored, rev + 1; a stale revision is refused.
- ``test_a_read_is_a_snapshot``: changing a record that was read changes nothing stored.
- ``test_claim_*``: the token's hash must match, a claim by the same candidate again is harmless, one
  claimed by another is refused; a claim clears the time-to-live.

Indexes
- ``test_partner_attempts_*``: [start, end] inclusive, newest first, only that partner, at most ``limit``
  and ``truncated`` only when more exist; the index record's fields.
- ``test_history_pages_*``: byCandidate pages of ``limit``, newest first, only that candidate; the next
  token is one ``CandidateService`` accepts (DynamoDB's LastEvaluatedKey shape) and the walk returns every
  attempt once; a token of one candidate is refused for another. The walk accepts a last empty page
  (AWS may give a token on an exactly full page; moto and the fake do not: not pinned).
- ``test_history_status_filter_*``: the filter applies after the page's Limit (DynamoDB semantics): a
  page can be empty yet have a next page, and the walk finds exactly the matching attempts.

Problem reports
- ``test_reports_*``: token checked, one report per attempt and question, at most ``limit`` per attempt
  (a refused duplicate does not count), unknown attempt refused; listed by item id then attempt then
  question, filtered by exact item id (``item-1`` does not list ``item-10``), by exam.

Bank and administration
- ``test_bank_*``: put/load/version, a put merges by item id and bumps the version, unknown exam reads
  None; publish returns None for an unknown exam and a count for a known one, the bank reading the same.
- ``test_admin_items_*``: load_item (doc and history), put_items bumps the version and needs the bank,
  replace_item on the expected version appends the audit and bumps the bank, a stale or unknown one is
  refused; an import (put) keeps an item's history.
- ``test_claim_stats_counts_an_attempt_once``; ``test_item_sums_add_up``: ADD semantics, ``_TOTAL``,
  floats as the store writes them (six significant digits).
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from typing import Any

import pytest
from exam_core.candidates import CandidateService
from exam_core.errors import AlreadyExists, InvalidInput, StaleWrite
from exam_core.models.records import (
    AttemptMeta,
    Completion,
    Form,
    FormQuestion,
    SaveGuard,
    StoredResponse,
)

from tests.unit.helpers import TINY_BLUEPRINT, raw_item

T0 = 1_700_000_000
EXAM = "tiny"
TOKEN_HASH = "a" * 64
OTHER_HASH = "b" * 64


def qid(n: int) -> str:
    return f"q{n:08x}41"  # four options, one to select: a valid served id shape


def aid(n: int) -> str:
    return f"{n:032x}"


def form(*numbers: int, kind: str = "full") -> Form:
    return Form(kind, [FormQuestion(qid(n), f"item-{n}", "abcd", n % 2 == 0) for n in numbers], [])


def meta(n: int = 1, **over: Any) -> AttemptMeta:
    doc: dict[str, Any] = {
        "attempt_id": aid(n),
        "exam_id": EXAM,
        "mode": "full",
        "status": "in_progress",
        "token_hash": TOKEN_HASH,
        "started_at": T0,
        "expires_at": T0 + 5400,
        "duration_seconds": 5400,
        "bank_version": 1,
    }
    doc.update(over)
    return AttemptMeta(**doc)


def guard(**over: Any) -> SaveGuard:
    doc: dict[str, Any] = {
        "token_hash": TOKEN_HASH,
        "candidate_id": None,
        "modes": frozenset({"full"}),
        "partner_id": None,
        "now": T0 + 60,
        "not_expired_at": T0 + 30,
    }
    doc.update(over)
    return SaveGuard(**doc)


def resp(n: int, selected: str = "a", flagged: bool = False, at: int = T0 + 60) -> StoredResponse:
    return StoredResponse(qid(n), list(selected), flagged, at)


def done(**over: Any) -> Completion:
    doc: dict[str, Any] = {
        "submitted_at": T0 + 600,
        "timed_out": False,
        "result_json": '{"scaledScore":700}',
        "summary_json": '{"s":700}',
    }
    doc.update(over)
    return Completion(**doc)


def loaded(store: Any, n: int = 1) -> Any:
    rec = store.load_attempt(aid(n))
    assert rec is not None
    return rec


# ====================================================================== attempts


def test_create_then_load_round_trips_meta_form_and_no_responses(store: Any) -> None:
    # Given an attempt with every optional field set
    m = meta(candidate_id="cand-1", partner_id="partner-1", ttl=T0 + 999)
    f = form(1, 2, 3)
    # When it is created and read back
    store.create_attempt(m, f, form_ttl=T0 + 9999)
    rec = loaded(store)
    # Then meta and form are as written, with no responses; an unknown id reads None
    assert rec.meta == m
    assert rec.form == f
    assert rec.responses == {}
    assert store.load_attempt(aid(99)) is None


def test_create_twice_with_another_token_is_refused_and_a_retry_with_the_same_token_is_harmless(
    store: Any,
) -> None:
    store.create_attempt(meta(), form(1))
    with pytest.raises(AlreadyExists):
        store.create_attempt(meta(token_hash=OTHER_HASH), form(2))
    store.create_attempt(meta(), form(1))  # the same request retried after a lost answer
    rec = loaded(store)
    assert rec.meta.token_hash == TOKEN_HASH and rec.form == form(1)


def test_save_sets_only_the_saved_questions_and_returns_the_attempt_after_the_write(store: Any) -> None:
    # Given an attempt with three questions
    store.create_attempt(meta(), form(1, 2, 3))
    # When two saves land, the second changing one answer and adding another
    m1, r1 = store.save_responses(aid(1), guard(), [resp(1, "a")])
    m2, r2 = store.save_responses(aid(1), guard(), [resp(1, "bc", flagged=True, at=T0 + 70), resp(2, "")])
    # Then each save returns the attempt as it is after it, and the last write per question wins
    assert m1.rev == 1 and set(r1) == {qid(1)}
    assert m2.rev == 2 and m2 == loaded(store).meta
    assert r2 == loaded(store).responses
    assert r2[qid(1)] == StoredResponse(qid(1), ["b", "c"], True, T0 + 70)
    assert r2[qid(2)] == StoredResponse(qid(2), [], False, T0 + 60)
    assert qid(3) not in r2


SAVE_REFUSALS: dict[str, tuple[dict[str, Any], dict[str, Any], list[int]]] = {
    # case: (meta overrides, guard overrides, question numbers saved)
    "wrong_token": ({}, {"token_hash": OTHER_HASH}, [1]),
    "other_candidate": ({"candidate_id": "cand-1"}, {"token_hash": None, "candidate_id": "cand-2"}, [1]),
    "candidate_on_unowned_attempt": ({}, {"token_hash": None, "candidate_id": "cand-1"}, [1]),
    "wrong_mode": ({}, {"modes": frozenset({"diagnostic"})}, [1]),
    "wrong_partner": ({"partner_id": "partner-1"}, {"partner_id": "partner-2"}, [1]),
    "partner_on_attempt_without_one": ({}, {"partner_id": "partner-1"}, [1]),
    "submitted": ({}, {}, [1]),
    "expired_past_grace": ({"expires_at": T0 + 100}, {"not_expired_at": T0 + 101}, [1]),
    "past_ttl": ({"ttl": T0 + 59}, {"now": T0 + 60}, [1]),
    "unknown_question": ({}, {}, [7]),
    "one_unknown_among_served": ({}, {}, [1, 7]),
    "no_such_attempt": ({}, {}, [1]),
}


@pytest.mark.parametrize("case", sorted(SAVE_REFUSALS))
def test_save_refusals(store: Any, case: str) -> None:
    meta_over, guard_over, numbers = SAVE_REFUSALS[case]
    # Given an attempt (with one answer saved) that the guard does not fit
    store.create_attempt(meta(**meta_over), form(1, 2))
    owner = meta_over.get("candidate_id")
    fits = {k: v for k, v in meta_over.items() if k == "partner_id"}
    ok = guard(**fits, candidate_id=owner, now=T0, not_expired_at=T0)
    store.save_responses(aid(1), ok, [resp(2, "d")])
    if case == "submitted":
        store.finish_attempt(aid(1), loaded(store).meta.rev, done())
    before = loaded(store)
    target = aid(2) if case == "no_such_attempt" else aid(1)
    # When a save arrives
    with pytest.raises(StaleWrite):
        store.save_responses(target, guard(**guard_over), [resp(n) for n in numbers])
    # Then nothing is written
    after = loaded(store)
    assert after.meta == before.meta
    assert after.responses == before.responses
    assert store.load_attempt(aid(2)) is None


@pytest.mark.parametrize(
    ("meta_over", "guard_over"),
    [
        ({"expires_at": T0 + 100}, {"not_expired_at": T0 + 100}),  # expiresAt >= not_expired_at
        ({"ttl": T0 + 60}, {"now": T0 + 60}),  # ttl >= now
        ({"expires_at": None, "duration_seconds": None}, {"not_expired_at": T0 + 10**7}),  # untimed
        ({"candidate_id": "cand-1"}, {"token_hash": None, "candidate_id": "cand-1"}),  # the owner, no token
        ({"partner_id": "p-1", "mode": "diagnostic"}, {"partner_id": "p-1", "modes": frozenset({"diagnostic"})}),
        ({"candidate_id": "cand-1"}, {"modes": frozenset({"full", "domain"})}),  # token, one of the modes
    ],
    ids=["at_expiry", "at_ttl", "untimed", "owner", "partner", "modes"],
)
def test_save_boundaries_that_are_accepted(store: Any, meta_over: dict[str, Any], guard_over: dict[str, Any]) -> None:
    store.create_attempt(meta(**meta_over), form(1))
    saved_meta, saved = store.save_responses(aid(1), guard(**guard_over), [resp(1, "b")])
    assert saved_meta.rev == 1 and saved[qid(1)].selected == ["b"]


def test_finish_stores_result_summary_final_answers_and_ttl_in_one_write(store: Any) -> None:
    # Given an attempt with one saved answer
    store.create_attempt(meta(ttl=T0 + 7 * 86400), form(1, 2))
    store.save_responses(aid(1), guard(), [resp(1, "a")])
    read = loaded(store)
    # When it is finished on the revision read, with a final answer and a new time-to-live
    store.finish_attempt(aid(1), read.meta.rev, done(final=[resp(2, "c", at=T0 + 600)], ttl=T0 + 400 * 86400))
    # Then all of it is stored at once
    rec = loaded(store)
    assert rec.meta.status == "submitted"
    assert rec.meta.submitted_at == T0 + 600 and rec.meta.timed_out is False
    assert rec.meta.result_json == '{"scaledScore":700}' and rec.meta.summary_json == '{"s":700}'
    assert rec.meta.ttl == T0 + 400 * 86400
    assert rec.meta.rev == read.meta.rev + 1
    assert {q: r.selected for q, r in rec.responses.items()} == {qid(1): ["a"], qid(2): ["c"]}


def test_finish_without_a_ttl_keeps_the_attempts_and_records_a_timeout(store: Any) -> None:
    store.create_attempt(meta(ttl=T0 + 50), form(1))
    store.finish_attempt(aid(1), 0, done(timed_out=True, submitted_at=T0 + 5400))
    rec = loaded(store)
    assert rec.meta.ttl == T0 + 50 and rec.meta.timed_out is True and rec.meta.submitted_at == T0 + 5400


@pytest.mark.parametrize("case", ["stale_revision", "second_finish", "unknown_attempt"])
def test_finish_on_a_stale_read_is_refused_and_changes_nothing(store: Any, case: str) -> None:
    # Given an attempt read at revision 0
    store.create_attempt(meta(), form(1, 2))
    read = loaded(store)
    if case == "stale_revision":
        store.save_responses(aid(1), guard(), [resp(1)])  # a save lands after the read
    elif case == "second_finish":
        store.finish_attempt(aid(1), read.meta.rev, done(result_json='{"first":true}'))
    before = loaded(store)
    # When a finish writes on that read
    with pytest.raises(StaleWrite):
        store.finish_attempt(aid(9) if case == "unknown_attempt" else aid(1), read.meta.rev, done(final=[resp(2)]))
    # Then nothing changes
    assert loaded(store).meta == before.meta
    assert loaded(store).responses == before.responses


def test_finish_then_a_late_save_is_refused(store: Any) -> None:
    store.create_attempt(meta(), form(1))
    store.finish_attempt(aid(1), 0, done())
    with pytest.raises(StaleWrite):
        store.save_responses(aid(1), guard(), [resp(1)])


def test_extend_form_serves_the_next_stage_on_the_revision_read(store: Any) -> None:
    # Given a diagnostic's first stage
    store.create_attempt(meta(mode="diagnostic", partner_id="p-1"), form(1, 2, kind="adaptive"))
    g = guard(modes=frozenset({"diagnostic"}), partner_id="p-1")
    with pytest.raises(StaleWrite):
        store.save_responses(aid(1), g, [resp(3)])  # not served yet
    # When the next stage is written with the first stage's answers
    store.extend_form(aid(1), 0, form(1, 2, 3, 4, kind="adaptive"), [resp(1, "b"), resp(2, "c")])
    # Then its questions can be answered and the first stage's answers are kept
    rec = loaded(store)
    assert rec.form == form(1, 2, 3, 4, kind="adaptive") and rec.meta.rev == 1
    _, saved = store.save_responses(aid(1), g, [resp(3, "d")])
    assert {q: r.selected for q, r in saved.items()} == {qid(1): ["b"], qid(2): ["c"], qid(3): ["d"]}


def test_extend_form_on_a_stale_revision_or_a_submitted_attempt_is_refused(store: Any) -> None:
    store.create_attempt(meta(mode="diagnostic"), form(1, kind="adaptive"))
    with pytest.raises(StaleWrite):
        store.extend_form(aid(1), 5, form(1, 2, kind="adaptive"), [])
    store.finish_attempt(aid(1), 0, done())
    with pytest.raises(StaleWrite):
        store.extend_form(aid(1), 1, form(1, 2, kind="adaptive"), [])
    assert loaded(store).form == form(1, kind="adaptive")


def test_claim_gives_an_anonymous_attempt_to_its_token_holder_and_clears_its_ttl(store: Any) -> None:
    # Given an anonymous diagnostic that will expire
    store.create_attempt(meta(mode="diagnostic", ttl=T0 + 86400), form(1), form_ttl=T0 + 2 * 86400)
    # When the token holder claims it (twice: harmless)
    store.claim_attempt(aid(1), TOKEN_HASH, "cand-1")
    store.claim_attempt(aid(1), TOKEN_HASH, "cand-1")
    # Then it is theirs and no longer expires
    rec = loaded(store)
    assert rec.meta.candidate_id == "cand-1" and rec.meta.ttl is None


@pytest.mark.parametrize("case", ["wrong_token", "claimed_by_another", "unknown_attempt"])
def test_claim_refusals(store: Any, case: str) -> None:
    store.create_attempt(meta(mode="diagnostic", ttl=T0 + 86400), form(1))
    if case == "claimed_by_another":
        store.claim_attempt(aid(1), TOKEN_HASH, "cand-1")
    before = loaded(store).meta
    with pytest.raises(StaleWrite):
        store.claim_attempt(
            aid(9) if case == "unknown_attempt" else aid(1),
            OTHER_HASH if case == "wrong_token" else TOKEN_HASH,
            "cand-2",
        )
    assert loaded(store).meta == before


# ====================================================================== the indexes


def _started(store: Any, n: int, at: int, **over: Any) -> None:
    store.create_attempt(meta(n, started_at=at, **over), form(1))


def test_partner_attempts_reads_one_partners_range_newest_first(store: Any) -> None:
    # Given four of partner p-1's diagnostics, one of p-2's and one without a partner
    for n, at in enumerate([T0, T0 + 10, T0 + 20, T0 + 30], start=1):
        _started(store, n, at, mode="diagnostic", partner_id="p-1")
    _started(store, 5, T0 + 15, mode="diagnostic", partner_id="p-2")
    _started(store, 6, T0 + 15)
    store.finish_attempt(aid(3), 0, done(summary_json='{"s":650}'))
    # When the range [T0+10, T0+30] is read
    found, truncated = store.partner_attempts("p-1", T0 + 10, T0 + 30, 10)
    # Then it holds that partner's attempts in the range, inclusive, newest first, with index fields
    assert [a.attempt_id for a in found] == [aid(4), aid(3), aid(2)] and truncated is False
    third = found[1]
    assert (third.exam_id, third.mode, third.status, third.started_at, third.summary_json) == (
        EXAM,
        "diagnostic",
        "submitted",
        T0 + 20,
        '{"s":650}',
    )
    assert found[0].summary_json is None and found[0].status == "in_progress"
    # and a limit truncates only when more exist
    two, more = store.partner_attempts("p-1", T0, T0 + 30, 2)
    assert [a.attempt_id for a in two] == [aid(4), aid(3)] and more is True
    four, more = store.partner_attempts("p-1", T0, T0 + 30, 4)
    assert len(four) == 4 and more is False
    assert store.partner_attempts("p-3", T0, T0 + 30, 10) == ([], False)


def _walk(store: Any, candidate: str, limit: int, status: str | None = None) -> list[list[str]]:
    """Every page through CandidateService.history, which decodes the store's next token."""
    service = CandidateService(store, None)  # type: ignore[arg-type]  # history reads the store only
    pages: list[list[str]] = []
    token: str | None = None
    while True:
        page = service.history(candidate, limit, token, status)
        pages.append([e.attempt_id for e in page.attempts])
        token = page.next_token
        if token is None:
            return pages
        assert len(pages) < 20


def test_history_pages_walk_a_candidates_attempts_newest_first_once_each(store: Any) -> None:
    # Given five attempts of cand-1 and one of cand-2
    for n in range(1, 6):
        _started(store, n, T0 + 10 * n, candidate_id="cand-1")
    _started(store, 6, T0 + 25, candidate_id="cand-2")
    # When the store is read a page of two at a time
    first, token = store.candidate_attempts("cand-1", 2, None)
    # Then the first page is the two newest, with a next token
    assert [a.attempt_id for a in first] == [aid(5), aid(4)] and token is not None
    second, _ = store.candidate_attempts("cand-1", 2, token)
    assert [a.attempt_id for a in second] == [aid(3), aid(2)]
    # and the service, decoding each token, walks every attempt once, newest first
    pages = _walk(store, "cand-1", 2)
    assert [i for p in pages for i in p] == [aid(n) for n in (5, 4, 3, 2, 1)]
    assert [len(p) for p in pages[:3]] == [2, 2, 1] and all(not p for p in pages[3:])
    assert _walk(store, "cand-2", 2) == [[aid(6)]]


def test_history_pages_a_token_of_one_candidate_is_refused_for_another(store: Any) -> None:
    for n in range(1, 4):
        _started(store, n, T0 + n, candidate_id="cand-1")
    service = CandidateService(store, None)  # type: ignore[arg-type]
    token = service.history("cand-1", 1, None).next_token
    assert token is not None
    assert json.loads(base64.urlsafe_b64decode(token))["candidateId"] == {"S": "cand-1"}
    with pytest.raises(InvalidInput):
        service.history("cand-2", 1, token)


def test_history_status_filter_applies_after_the_page_limit(store: Any) -> None:
    # Given five attempts, the 2nd and 4th submitted (the newest, 5th, still in progress)
    for n in range(1, 6):
        _started(store, n, T0 + 10 * n, candidate_id="cand-1")
    for n in (2, 4):
        store.finish_attempt(aid(n), 0, done())
    # When the submitted ones are read one evaluated item per page
    page, token = store.candidate_attempts("cand-1", 1, None, "submitted")
    # Then the first page is empty (the newest is in progress) but has a next page
    assert page == [] and token is not None
    # and a walk finds exactly the submitted ones, newest first
    walked = [i for p in _walk(store, "cand-1", 2, "submitted") for i in p]
    assert walked == [aid(4), aid(2)]
    resumable = [i for p in _walk(store, "cand-1", 10, "in_progress") for i in p]
    assert resumable == [aid(5), aid(3), aid(1)]


# ====================================================================== problem reports


def _report(item: str, question: int, reason: str = "typo") -> dict[str, Any]:
    return {"itemId": item, "questionId": qid(question), "reason": reason, "status": "open"}


def test_reports_one_per_question_at_most_limit_per_attempt_token_checked(store: Any) -> None:
    # Given an attempt
    store.create_attempt(meta(), form(1, 2, 3))
    store.add_report(EXAM, _report("item-1", 1), aid(1), TOKEN_HASH, 2)
    # When it reports the same question again, with a wrong token, past its limit, or for no attempt
    with pytest.raises(StaleWrite):
        store.add_report(EXAM, _report("item-1", 1, "other"), aid(1), TOKEN_HASH, 2)
    with pytest.raises(StaleWrite):
        store.add_report(EXAM, _report("item-2", 2), aid(1), OTHER_HASH, 2)
    store.add_report(EXAM, _report("item-2", 2), aid(1), TOKEN_HASH, 2)  # the refused ones did not count
    with pytest.raises(StaleWrite):
        store.add_report(EXAM, _report("item-3", 3), aid(1), TOKEN_HASH, 2)
    with pytest.raises(StaleWrite):
        store.add_report(EXAM, _report("item-3", 3), aid(9), TOKEN_HASH, 2)
    # Then only the two accepted reports are stored, as sent
    assert store.list_reports(EXAM) == [_report("item-1", 1), _report("item-2", 2)]


def test_reports_are_listed_by_item_then_attempt_and_filtered_by_exact_item_id(store: Any) -> None:
    for n in (1, 2):
        store.create_attempt(meta(n), form(1, 2))
    store.add_report(EXAM, _report("item-10", 1), aid(2), TOKEN_HASH, 5)
    store.add_report(EXAM, _report("item-1", 2), aid(2), TOKEN_HASH, 5)
    store.add_report(EXAM, _report("item-1", 1), aid(1), TOKEN_HASH, 5)
    store.add_report("other-exam", _report("item-1", 1), aid(1), TOKEN_HASH, 5)
    assert [(r["itemId"], r["questionId"]) for r in store.list_reports(EXAM)] == [
        ("item-1", qid(1)),
        ("item-1", qid(2)),
        ("item-10", qid(1)),
    ]
    assert [r["itemId"] for r in store.list_reports(EXAM, "item-1")] == ["item-1", "item-1"]
    assert store.list_reports(EXAM, "item-2") == []
    assert len(store.list_reports("other-exam")) == 1


# ====================================================================== bank and administration


def _items(*ids: str, **over: Any) -> list[dict[str, Any]]:
    return [raw_item(i, **over) | {"version": 1} for i in ids]


def _by_id(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda i: i["id"])


def test_bank_put_load_and_version(store: Any) -> None:
    # Given no bank
    assert store.load_bank(EXAM) is None and store.bank_version(EXAM) is None
    # When a bank is put, then put again with one item changed and one new
    assert store.put_bank(EXAM, TINY_BLUEPRINT, _items("a-1", "a-2")) == 1
    changed = raw_item("a-2", b=1.5) | {"version": 2}
    assert store.put_bank(EXAM, TINY_BLUEPRINT, [changed, *_items("a-3")]) == 2
    # Then the bank is the merge by item id, at version 2
    bank = store.load_bank(EXAM)
    assert bank is not None and bank.version == 2 == store.bank_version(EXAM)
    assert bank.blueprint == TINY_BLUEPRINT
    assert _by_id(bank.items) == _by_id([*_items("a-1"), changed, *_items("a-3")])


def test_bank_publish_snapshot_answers_for_a_known_bank_and_changes_no_content(store: Any) -> None:
    assert store.publish_bank_snapshot(EXAM) is None
    store.put_bank(EXAM, TINY_BLUEPRINT, _items("a-1", "a-2"))
    before = store.load_bank(EXAM)
    chunks = store.publish_bank_snapshot(EXAM)
    assert isinstance(chunks, int) and chunks >= 1
    after = store.load_bank(EXAM)
    assert after is not None and before is not None
    assert after.version == before.version and after.blueprint == before.blueprint
    assert _by_id(after.items) == _by_id(before.items)


def test_admin_items_load_put_and_replace_on_the_expected_version(store: Any) -> None:
    # Given a bank of two items
    store.put_bank(EXAM, TINY_BLUEPRINT, _items("a-1", "a-2"))
    assert store.load_item(EXAM, "a-1") == (_items("a-1")[0], [])
    assert store.load_item(EXAM, "zz-9") is None
    # When items are imported
    assert store.put_items(EXAM, _items("a-3")) == 2
    assert store.load_item(EXAM, "a-3") == (_items("a-3")[0], [])
    # and one is replaced on the version it was read at
    new = raw_item("a-1", status="retired") | {"version": 2}
    audit = {"at": "2026-01-01T00:00:00+00:00", "by": "ops", "version": 2, "changes": {"status": {}}}
    assert store.replace_item(EXAM, new, 1, audit) == 2
    # Then the item, its history and the bank's version say so
    assert store.load_item(EXAM, "a-1") == (new, [audit])
    assert store.bank_version(EXAM) == 3
    # and a replace on a stale version, or of an unknown item, is refused and changes nothing
    with pytest.raises(StaleWrite):
        store.replace_item(EXAM, raw_item("a-1") | {"version": 3}, 1, audit)
    with pytest.raises(StaleWrite):
        store.replace_item(EXAM, raw_item("zz-9") | {"version": 2}, 1, audit)
    assert store.load_item(EXAM, "a-1") == (new, [audit]) and store.bank_version(EXAM) == 3


def test_admin_items_put_items_needs_the_bank(store: Any) -> None:
    with pytest.raises(StaleWrite):
        store.put_items(EXAM, _items("a-1"))
    assert store.load_item(EXAM, "a-1") is None and store.bank_version(EXAM) is None


def test_admin_items_an_import_keeps_the_items_history(store: Any) -> None:
    store.put_bank(EXAM, TINY_BLUEPRINT, _items("a-1"))
    audit = {"by": "ops", "version": 2}
    store.replace_item(EXAM, raw_item("a-1", b=1.0) | {"version": 2}, 1, audit)
    store.put_items(EXAM, [raw_item("a-1", b=2.0) | {"version": 3}])
    found = store.load_item(EXAM, "a-1")
    assert found is not None and found[1] == [audit]


def test_bank_loading_the_files_again_keeps_the_items_history(store: Any) -> None:
    # Given an item patched after the bank was loaded
    store.put_bank(EXAM, TINY_BLUEPRINT, _items("a-1"))
    audit = {"by": "ops", "version": 2}
    store.replace_item(EXAM, raw_item("a-1", b=1.0) | {"version": 2}, 1, audit)

    # When the files are loaded again (the loader's put_bank)
    store.put_bank(EXAM, TINY_BLUEPRINT, _items("a-1"))

    # Then the item is the files' again, and who changed it before is still recorded
    found = store.load_item(EXAM, "a-1")
    assert found is not None and found[0]["b"] == raw_item("a-1")["b"] and found[1] == [audit]


def test_claim_stats_counts_an_attempt_once(store: Any) -> None:
    assert store.claim_stats(EXAM, aid(1)) is True
    assert store.claim_stats(EXAM, aid(1)) is False  # a redelivered stream record
    assert store.claim_stats(EXAM, aid(2)) is True
    assert store.claim_stats("other-exam", aid(1)) is True


def test_item_sums_add_up(store: Any) -> None:
    assert store.load_item_stats(EXAM) == {}
    store.add_item_sums(EXAM, {"a-1": {"n": 1, "sy": 12.3456789}, "a-2": {"n": 1}}, 1)
    store.add_item_sums(EXAM, {"a-1": {"n": 2, "sx": 1}}, 2)
    assert store.load_item_stats(EXAM) == {
        "a-1": {"n": 3.0, "sx": 1.0, "sy": 12.3457},  # floats are written to six significant digits
        "a-2": {"n": 1.0},
        "_TOTAL": {"attempts": 3.0},
    }
    assert store.load_item_stats("other-exam") == {}


def test_a_read_is_a_snapshot(store: Any) -> None:
    """A read is a snapshot: changing what was read changes nothing stored."""
    store.create_attempt(meta(), form(1))
    rec = loaded(store)
    rec.meta.status = "submitted"
    rec.responses[qid(1)] = resp(1)
    assert loaded(store).meta == replace(rec.meta, status="in_progress")
    assert loaded(store).responses == {}
