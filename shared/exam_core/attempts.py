"""Use cases for full exam attempts: start, read, save responses, submit, review.

Plain Python over the ``Store`` port and the cached bank: no HTTP, no boto3.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import secrets
import time
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn

from pydantic_core import to_json

from exam_core import metrics
from exam_core.adaptive import ADAPTIVE_KIND, current_stage_ids, extend, first_form, served_stages, stage_plan
from exam_core.assembly import assemble, practice_form
from exam_core.bank import Bank
from exam_core.bank_cache import BankCache
from exam_core.blueprint import duration_seconds
from exam_core.errors import (
    AlreadyExists,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    RetryLater,
    StaleWrite,
    TooManyRequests,
)
from exam_core.models.api import (
    AttemptCreated,
    AttemptOut,
    DomainOut,
    ExamList,
    ExamOut,
    PracticeResult,
    ProblemReportOut,
    ReportReason,
    ResponseIn,
    Result,
    Review,
    SaveResult,
    TaskStatementOut,
)
from exam_core.models.bank import FormKind, Item
from exam_core.models.records import (
    AttemptMeta,
    AttemptRecord,
    Completion,
    Form,
    SaveGuard,
    StoredResponse,
    question_shape,
)
from exam_core.models.study import CheckResult
from exam_core.results import Graded, build_practice_result, build_result, grade
from exam_core.settings import Settings
from exam_core.store import Store
from exam_core.study import check_answer

SUBMIT_RETRIES = 3
DAY = 86_400
SERVED_IDS = "abcdef"


_JSON_BOOL = {True: "true", False: "false"}


def _json_letters(letters: Sequence[str]) -> str:
    """Served option ids (single letters a-f, validated on the way in) as a JSON array."""
    return "[" + ",".join(f'"{x}"' for x in letters) + "]"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _iso(epoch: int | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


@dataclass(frozen=True, slots=True)
class Access:
    """Through which route an attempt is opened: the modes it serves and, for partner routes, whose key."""

    modes: frozenset[str]
    partner_id: str | None = None
    # Candidate routes open an attempt by ownership (the sign-in's sub) instead of its token.
    candidate_id: str | None = None


PRACTICE_MODES = frozenset({"domain", "missed", "unseen"})
FULL = Access(frozenset({"full"}) | PRACTICE_MODES)
ANY_DIAGNOSTIC = Access(frozenset({"diagnostic"}))


def diagnostic_access(partner_id: str) -> Access:
    return Access(frozenset({"diagnostic"}), partner_id)


def candidate_access(candidate_id: str) -> Access:
    # A claimed diagnostic is the candidate's too: listed in their history, opened by ownership.
    return Access(FULL.modes | {"diagnostic"}, None, candidate_id)


def parse_result(meta: AttemptMeta) -> Result | PracticeResult | None:
    if not meta.result_json:
        return None
    if meta.mode in PRACTICE_MODES:
        return PracticeResult.model_validate_json(meta.result_json)
    return Result.model_validate_json(meta.result_json)


def _served(record: AttemptRecord, bank: Bank, graded: list[Graded] | None = None) -> list[list[object]]:
    items: list[list[object]] = []
    for g in graded if graded is not None else grade(bank, record.form, record.responses):
        r = record.responses.get(g.question.question_id)
        items.append([g.item.id, int(g.correct), int(bool(r and r.flagged)), int(g.question.scored), g.item.b])
    return items


def summarize_practice(
    result: PracticeResult, record: AttemptRecord, bank: Bank, graded: list[Graded] | None = None
) -> str:
    return to_json({"pct": result.percent, "i": _served(record, bank, graded)}).decode()


def summarize(
    result: Result,
    record: AttemptRecord | None = None,
    bank: Bank | None = None,
    graded: list[Graded] | None = None,
) -> str:
    """The compact summary stored beside the result, for reads through the indexes (history, readiness,
    partner summaries, practice sets): score, domains and, per item served, [id, correct, flagged,
    scored, b]."""
    doc: dict[str, object] = {
        "s": result.scaled_score,
        "p": int(result.passed),
        "w": result.weakest_domain,
        "c": [result.scored.correct, result.scored.total],
        "d": {
            d.domain_id: [d.percent, d.rating == "needs_improvement", d.expected_percent_at_cut] for d in result.domains
        },
    }
    if record is not None and bank is not None:
        doc["i"] = _served(record, bank, graded)
    return to_json(doc).decode()  # compact JSON, written by pydantic-core (a third of json.dumps here)


def with_final(record: AttemptRecord, final: Sequence[StoredResponse]) -> AttemptRecord:
    """The record as it will be stored: saved responses with the submission's final ones on top."""
    if not final:
        return record
    return AttemptRecord(record.meta, record.form, {**record.responses, **{r.question_id: r for r in final}})


def _forbidden() -> Forbidden:
    # Same answer for a missing token, a wrong token and an attempt that does not exist.
    return Forbidden("no attempt with this id accepts this attempt token", code="attempt_forbidden")


class AttemptService:
    def __init__(
        self,
        store: Store,
        banks: BankCache,
        settings: Settings,
        clock: Callable[[], float] = time.time,
        rng_factory: Callable[[], random.Random] = lambda: random.Random(secrets.randbits(64)),  # noqa: S311  # nosec B311
    ) -> None:
        # random.Random is right here: form draws need a fast, seedable PRNG, not a CSPRNG.
        # Tokens and ids come from ``secrets`` / ``uuid4``.
        self.store = store
        self.banks = banks
        self.settings = settings
        self.clock = clock
        self.rng_factory = rng_factory

    # ------------------------------------------------------------ exams

    def list_exams(self) -> ExamList:
        """Every exam loaded into the bank (no list in configuration): the registry, then each cached bank."""
        return ExamList(exams=[self._exam_out(self.banks.get(e)) for e in self.banks.exam_ids()])

    def bank_for(self, exam_id: str) -> Bank:
        return self._bank(exam_id)

    def _bank(self, exam_id: str) -> Bank:
        return self.banks.get(exam_id)  # an exam whose blueprint is not loaded: 404 exam_not_found

    @staticmethod
    def _exam_out(bank: Bank) -> ExamOut:
        bp = bank.blueprint
        full = bp.forms["full"]
        return ExamOut(
            exam_id=bp.exam_id,
            title=bp.title,
            question_count=full.scored + full.pretest,
            scored_count=full.scored,
            duration_minutes=full.duration_minutes or 0,
            passing_score=bp.scale.passing,
            scale_min=bp.scale.min,
            scale_max=bp.scale.max,
            domains=[
                DomainOut(
                    id=d.id,
                    name=d.name,
                    weight=d.weight,
                    task_statements=[TaskStatementOut(id=t.id, text=t.text) for t in d.task_statements],
                )
                for d in bp.domains
            ],
        )

    # ------------------------------------------------------------ start

    def start(
        self,
        exam_id: str,
        mode: FormKind = "full",
        *,
        candidate_id: str | None = None,
        partner_id: str | None = None,
        avoid: Collection[str] = (),
        adaptive: bool = False,
    ) -> AttemptCreated:
        """Assemble and store a new form. Anonymous attempts get a time-to-live for when abandoned."""
        return AttemptCreated.model_validate(
            self.start_doc(
                exam_id, mode, candidate_id=candidate_id, partner_id=partner_id, avoid=avoid, adaptive=adaptive
            )
        )

    def start_doc(
        self,
        exam_id: str,
        mode: FormKind = "full",
        *,
        candidate_id: str | None = None,
        partner_id: str | None = None,
        avoid: Collection[str] = (),
        adaptive: bool = False,
    ) -> dict[str, Any]:
        """``start`` as the API serves it (``AttemptCreated``'s camelCase JSON shape), as plain data.

        ``adaptive`` (diagnostics only) serves the first stage of the staged diagnostic instead of a whole form.
        """
        bank = self._bank(exam_id)
        if adaptive and mode == "diagnostic":
            form = first_form(bank, self.rng_factory())
        else:
            form = assemble(bank, mode, self.rng_factory(), avoid=avoid)
        duration = duration_seconds(bank.blueprint, mode)
        if duration is not None and self.settings.duration_override_seconds:
            duration = self.settings.duration_override_seconds
        # Anonymous attempts (diagnostics and full attempts without a sign-in) are kept for a while, not
        # forever: deleted a few days after they are abandoned, or the retention period after submission.
        abandoned_ttl = self.settings.abandoned_ttl_days * DAY if not candidate_id else None
        return self._open(bank, form, mode, duration, candidate_id, partner_id, abandoned_ttl)

    def start_practice(self, exam_id: str, mode: str, candidate_id: str, pool: list[Item], size: int) -> AttemptCreated:
        """An untimed practice set of up to ``size`` items drawn at random from ``pool``."""
        bank = self._bank(exam_id)
        rng = self.rng_factory()
        form = practice_form(rng.sample(pool, min(size, len(pool))), rng)
        return AttemptCreated.model_validate(self._open(bank, form, mode, None, candidate_id, None, None))

    def _open(
        self,
        bank: Bank,
        form: Form,
        mode: str,
        duration: int | None,
        candidate_id: str | None,
        partner_id: str | None,
        ttl_after: int | None,
    ) -> dict[str, Any]:
        """Store a new attempt for ``form`` (one write) and answer with its token and questions."""
        now = int(self.clock())
        token = secrets.token_urlsafe(32)
        meta = AttemptMeta(
            attempt_id=uuid.uuid4().hex,
            exam_id=bank.blueprint.exam_id,
            mode=mode,
            status="in_progress",
            token_hash=hash_token(token),
            started_at=now,
            expires_at=None if duration is None else now + duration,
            duration_seconds=duration,
            bank_version=bank.version,
            candidate_id=candidate_id,
            partner_id=partner_id,
            ttl=None if ttl_after is None else now + ttl_after,
        )
        try:
            form_ttl = None
            if meta.ttl is not None:  # outlasts META's longest time-to-live: abandoned, then retained
                form_ttl = meta.ttl + self.settings.diagnostic_retention_days * DAY
            self.store.create_attempt(meta, form, form_ttl)
        except AlreadyExists as exc:  # a uuid4 collision: practically impossible, never silently merged
            raise Conflict("attempt id collision; retry", code="attempt_exists") from exc
        metrics.attempt_started(meta.exam_id, mode, partner_id)
        questions = self._question_rows(bank, form)
        return {
            "attemptId": meta.attempt_id,
            "attemptToken": token,
            "examId": meta.exam_id,
            "mode": mode,
            "startedAt": _iso(now),
            "expiresAt": _iso(meta.expires_at),
            "durationSeconds": duration,
            "questionCount": len(questions),
            "questions": questions,
        }

    @staticmethod
    def _question_rows(bank: Bank, form: Form) -> list[dict[str, Any]]:
        """The served questions as plain data in the API's camelCase shape (``QuestionOut``)."""
        rows = []
        for n, q in enumerate(form.questions, start=1):
            item = bank.items[q.item_id]
            by_id = bank.option_text[q.item_id]
            rows.append(
                {
                    "number": n,
                    "questionId": q.question_id,
                    "type": item.type,
                    "selectCount": item.select_count,
                    "stem": item.stem,
                    "options": [{"id": SERVED_IDS[i], "text": by_id[o]} for i, o in enumerate(q.order)],
                }
            )
        return rows

    # ------------------------------------------------------------ read

    def _load(self, attempt_id: str, token: str | None, access: Access) -> AttemptRecord:
        """The attempt, if this token opens it through this route for this partner; else one 403 for all cases.

        On candidate routes ownership replaces the token, and anything not the candidate's is a 404.
        """
        if access.candidate_id is not None:
            owned = self.store.load_attempt(attempt_id)
            if owned is None or owned.meta.candidate_id != access.candidate_id or owned.meta.mode not in access.modes:
                raise NotFound("you have no attempt with this id", code="attempt_not_found")
            return owned
        if not token:
            raise _forbidden()
        record = self.store.load_attempt(attempt_id)
        if record is None or not hmac.compare_digest(hash_token(token), record.meta.token_hash):
            raise _forbidden()
        meta = record.meta
        if meta.mode not in access.modes or (access.partner_id is not None and meta.partner_id != access.partner_id):
            raise _forbidden()
        if meta.ttl is not None and meta.ttl < self.clock():  # expired; DynamoDB deletes it within days
            raise _forbidden()
        return record

    def load_any_diagnostic(self, attempt_id: str, token: str | None) -> AttemptRecord:
        """A diagnostic opened by its token alone (for the candidate who claims it, from any partner)."""
        return self._load(attempt_id, token, ANY_DIAGNOSTIC)

    def _settled_result_json(self, record: AttemptRecord, now: float) -> str | None:
        """The attempt's result as stored JSON: scored now if its time ran out unsubmitted; None if open."""
        if record.meta.status == "in_progress" and self._expired(record.meta, now):
            return self._finish(record, now, timed_out=True).model_dump_json(by_alias=True)
        return record.meta.result_json or None

    def _expired(self, meta: AttemptMeta, now: float) -> bool:
        return meta.expires_at is not None and now > meta.expires_at + self.settings.submit_grace_seconds

    def _remaining(self, meta: AttemptMeta, now: float) -> int | None:
        if meta.expires_at is None:
            return None
        return max(0, int(meta.expires_at - now))

    def get(self, attempt_id: str, token: str | None, access: Access = FULL) -> AttemptOut:
        return AttemptOut.model_validate(self.get_doc(attempt_id, token, access))

    def get_doc(self, attempt_id: str, token: str | None, access: Access = FULL) -> dict[str, Any]:
        """The attempt as the API serves it (``AttemptOut``'s camelCase JSON shape), as plain data.

        Routes serialise it directly: the server built every value, so validating ~400 nested objects
        again on each read would be the most expensive step of the request. ``get`` validates the same
        document into the model, so every test through ``get`` also checks this shape.
        """
        record = self._load(attempt_id, token, access)
        now = self.clock()
        result_json = self._settled_result_json(record, now)
        result = None if result_json is None else json.loads(result_json)
        bank = self.banks.get(record.meta.exam_id)
        meta = record.meta
        responses = sorted(record.responses.values(), key=lambda r: r.question_id)
        return {
            "attemptId": meta.attempt_id,
            "examId": meta.exam_id,
            "mode": meta.mode,
            "status": "submitted" if result else "in_progress",
            "startedAt": _iso(meta.started_at),
            "expiresAt": _iso(meta.expires_at),
            "durationSeconds": meta.duration_seconds,
            "remainingSeconds": 0 if result else self._remaining(meta, now),
            "questionCount": len(record.form.questions),
            "answeredCount": sum(1 for r in responses if r.selected),
            "flaggedCount": sum(1 for r in responses if r.flagged),
            "questions": self._question_rows(bank, record.form),
            "responses": [
                {"questionId": r.question_id, "selected": r.selected, "flagged": r.flagged, "savedAt": _iso(r.saved_at)}
                for r in responses
            ],
            "result": result,
        }

    # ------------------------------------------------------------ save

    @staticmethod
    def _validate(responses: Sequence[ResponseIn], now: int, form: Form | None = None) -> list[StoredResponse]:
        """Check responses against the shape their question ids carry (and, given a form, membership).

        A save validates without reading the attempt: option count and select count ride in the
        question id, and the store's conditional write refuses ids the attempt did not serve.
        """
        problems: list[dict[str, object]] = []
        latest: dict[str, StoredResponse] = {}
        for n, r in enumerate(responses):
            shape = question_shape(r.question_id)
            if shape is None or (form is not None and form.question(r.question_id) is None):
                problems.append({"index": n, "questionId": r.question_id, "code": "unknown_question"})
                continue
            options, select_count = shape
            valid = SERVED_IDS[:options]
            bad = [s for s in r.selected if s not in valid]
            if bad:
                problems.append({"index": n, "questionId": r.question_id, "code": "unknown_option", "options": bad})
            if len(set(r.selected)) != len(r.selected):
                problems.append({"index": n, "questionId": r.question_id, "code": "duplicate_option"})
            if len(set(r.selected)) > select_count:
                problems.append(
                    {
                        "index": n,
                        "questionId": r.question_id,
                        "code": "too_many_selections",
                        "selectCount": select_count,
                    }
                )
            latest[r.question_id] = StoredResponse(r.question_id, sorted(set(r.selected)), r.flagged, now)
        if problems:
            raise InvalidInput(
                "some responses do not fit the questions they answer; nothing was saved",
                code="invalid_responses",
                details=problems,
            )
        return list(latest.values())

    def save(
        self, attempt_id: str, token: str | None, responses: Sequence[ResponseIn], access: Access = FULL
    ) -> SaveResult:
        """One conditional write, no read: the store checks token, status, clock and question ids.

        Only when that write is refused does the attempt get read, to say why (403/404, 409 or 422).
        """
        if access.candidate_id is None and not token:
            raise _forbidden()
        now = self.clock()
        try:
            stored = self._validate(responses, int(now))
        except InvalidInput:
            # Access and status come first (403/404, then 409), as if the attempt had been read: a read
            # is spent only on refused input.
            self._refused(attempt_id, token, access, responses)
        guard = SaveGuard(
            token_hash=None if access.candidate_id is not None else hash_token(token or ""),
            candidate_id=access.candidate_id,
            modes=access.modes,
            partner_id=access.partner_id,
            now=int(now),
            not_expired_at=int(now) - self.settings.submit_grace_seconds,
        )
        try:
            meta, saved = self.store.save_responses(attempt_id, guard, stored)
        except StaleWrite:
            self._refused(attempt_id, token, access, responses)
        return SaveResult(
            attempt_id=attempt_id,
            saved=len(stored),
            answered_count=sum(1 for r in saved.values() if r.selected),
            remaining_seconds=self._remaining(meta, now),
        )

    def _refused(self, attempt_id: str, token: str | None, access: Access, responses: Sequence[ResponseIn]) -> NoReturn:
        """Why the store refused a save, read after the fact; nothing was written."""
        record = self._load(attempt_id, token, access)  # 403 / 404 for token, owner, route, partner, TTL
        self._ensure_open(record, self.clock())  # 409 submitted / expired (and scores a timed-out attempt)
        self._validate(responses, int(self.clock()), record.form)  # 422 for ids this attempt never served
        raise RetryLater("the attempt changed while saving; retry", code="attempt_busy")

    def _ensure_open(self, record: AttemptRecord, now: float) -> None:
        if record.meta.status != "in_progress":
            raise Conflict("this attempt was already submitted; answers can no longer change", code="attempt_submitted")
        if self._expired(record.meta, now):
            self._finish(record, now, timed_out=True)
            raise Conflict(
                "time is up for this attempt; it was scored on the answers saved before it expired",
                code="attempt_expired",
            )

    # ------------------------------------------------------------ submit

    def submit(
        self, attempt_id: str, token: str | None, responses: Sequence[ResponseIn] = (), access: Access = FULL
    ) -> Result | PracticeResult:
        for _ in range(SUBMIT_RETRIES):
            record = self._load(attempt_id, token, access)
            stored = parse_result(record.meta)
            if stored is not None:
                return stored  # idempotent: same result again
            if record.form.kind == ADAPTIVE_KIND and not record.form.table:
                raise Conflict(
                    "this adaptive diagnostic has stages still to serve: send each stage's answers to "
                    "POST /diagnostics/{attemptId}/next, then submit",
                    code="stages_pending",
                )
            now = self.clock()
            if self._expired(record.meta, now):
                result = self._finish(record, now, timed_out=True)
                if responses:
                    raise Conflict(
                        "time is up for this attempt; the final answers in this request were not saved and the "
                        "attempt was scored on the answers saved before it expired",
                        code="attempt_expired",
                    )
                return result
            final: list[StoredResponse] = []
            if responses:
                final = self._validate(responses, int(now), record.form)
            try:
                return self._finish(record, now, timed_out=False, final=final)
            except StaleWrite:
                continue  # a save or another submission won the race: read again
        raise RetryLater("the attempt is changing too fast to submit; retry", code="attempt_busy")

    def _finish(
        self, record: AttemptRecord, now: float, *, timed_out: bool, final: Sequence[StoredResponse] = ()
    ) -> Result | PracticeResult:
        """Score and store the result with one conditional write on the revision that was read.

        If another writer got there first, a timed-out finish returns whatever result is stored.
        """
        bank = self.banks.get(record.meta.exam_id)
        merged = with_final(record, final)
        responses = merged.responses
        submitted_at = int(now) if not timed_out or record.meta.expires_at is None else record.meta.expires_at
        result: Result | PracticeResult
        graded = grade(bank, record.form, responses)  # once, for the result and the stored summary
        if record.meta.mode in PRACTICE_MODES:
            result = build_practice_result(
                bank,
                record.form,
                responses,
                attempt_id=record.meta.attempt_id,
                exam_id=record.meta.exam_id,
                mode=record.meta.mode,
                submitted_at=submitted_at,
                graded=graded,
            )
            summary = summarize_practice(result, merged, bank, graded)
        else:
            result = build_result(
                bank,
                record.form,
                responses,
                attempt_id=record.meta.attempt_id,
                exam_id=record.meta.exam_id,
                mode=record.meta.mode,
                submitted_at=submitted_at,
                timed_out=timed_out,
                study_hours=self.settings.study_hours,
                graded=graded,
            )
            summary = summarize(result, merged, bank, graded)
        keep = record.meta.ttl is not None and record.meta.candidate_id is None
        completion = Completion(
            submitted_at=submitted_at,
            timed_out=timed_out,
            result_json=result.model_dump_json(by_alias=True),
            summary_json=summary,
            final=final,
            ttl=int(now) + self.settings.diagnostic_retention_days * DAY if keep else None,
        )
        try:
            self.store.finish_attempt(record.meta.attempt_id, record.meta.rev, completion)
        except StaleWrite:
            if not timed_out:
                raise
            latest = self.store.load_attempt(record.meta.attempt_id)
            stored = parse_result(latest.meta) if latest is not None else None
            if stored is None:
                raise RetryLater("the attempt is changing; retry", code="attempt_busy") from None
            return stored
        metrics.attempt_submitted(
            record.meta.exam_id,
            record.meta.mode,
            passed=result.passed if isinstance(result, Result) else None,
            timed_out=timed_out,
        )
        return result

    # ------------------------------------------------------------ adaptive diagnostic

    def next_stage(
        self, attempt_id: str, token: str | None, responses: Sequence[ResponseIn], access: Access
    ) -> dict[str, Any]:
        """Take the served stage's answers and serve the next stage (``NextStage``'s shape, as plain data).

        One read and one write: the attempt is read, the stage's answers are graded on the server (keys
        never leave it), the next stage is chosen at the provisional estimate, and META (answers, served
        ids) and FORM (the longer form) are written in one transaction on the revision read. Unanswered
        questions of the stage count as wrong, as at submission.
        """
        for _ in range(SUBMIT_RETRIES):
            record = self._load(attempt_id, token, access)
            if record.form.kind != ADAPTIVE_KIND:
                raise Conflict("this diagnostic was served whole: submit it", code="not_adaptive")
            now = self.clock()
            self._ensure_open(record, now)
            bank = self.banks.get(record.meta.exam_id)
            plan = stage_plan(bank.blueprint)
            if record.form.table:
                raise Conflict("every stage has been served: submit the diagnostic", code="stages_complete")
            final = self._validate(responses, int(now), record.form) if responses else []
            current = current_stage_ids(record.form, plan)
            outside = [
                {"questionId": r.question_id, "code": "not_in_stage"} for r in final if r.question_id not in current
            ]
            if outside:
                raise InvalidInput(
                    "responses can only answer the stage served last", code="invalid_responses", details=outside
                )
            merged = with_final(record, final)
            graded = grade(bank, record.form, merged.responses)
            form = extend(bank, record.form, [g.correct for g in graded], self.rng_factory(), plan)
            meta = record.meta
            form_ttl = None if meta.ttl is None else meta.ttl + self.settings.diagnostic_retention_days * DAY
            try:
                self.store.extend_form(attempt_id, meta.rev, form, final, form_ttl)
            except StaleWrite:
                continue  # another call for this stage won: read again (it then finds the stage served)
            stage = served_stages(form, plan)
            return {
                "attemptId": attempt_id,
                "stage": stage,
                "stageCount": len(plan.stages),
                "last": stage == len(plan.stages),
                "questionCount": len(form.questions),
                "questions": self._question_rows(bank, form)[len(record.form.questions) :],
            }
        raise RetryLater("the diagnostic is changing too fast; retry", code="attempt_busy")

    # ------------------------------------------------------------ problem reports

    def report_problem(
        self, attempt_id: str, token: str | None, question_id: str, reason: ReportReason, comment: str
    ) -> ProblemReportOut:
        """A candidate flags a question (during or after the attempt): one per question, a few per attempt."""
        record = self._load(attempt_id, token, FULL)
        question = record.form.question(question_id)
        if question is None:
            raise NotFound("this attempt has no such question", code="question_not_found")
        bank = self.banks.get(record.meta.exam_id)
        now = int(self.clock())
        report = {
            "itemId": question.item_id,
            "itemVersion": bank.items[question.item_id].version,
            "attemptId": attempt_id,
            "questionId": question_id,
            "reason": reason,
            "comment": comment.strip(),
            "status": "open",
            "reportedAt": datetime.fromtimestamp(now, UTC).isoformat(),
        }
        try:
            self.store.add_report(
                record.meta.exam_id, report, attempt_id, record.meta.token_hash, self.settings.reports_per_attempt
            )
        except StaleWrite:
            mine = self.store.list_reports(record.meta.exam_id, question.item_id)
            if any(r["attemptId"] == attempt_id and r["questionId"] == question_id for r in mine):
                raise Conflict("this question was already reported from this attempt", code="report_exists") from None
            raise TooManyRequests(
                f"an attempt can report at most {self.settings.reports_per_attempt} questions",
                code="too_many_reports",
            ) from None
        return ProblemReportOut(
            attempt_id=attempt_id,
            question_id=question_id,
            reason=reason,
            status="open",
            reported_at=datetime.fromtimestamp(now, UTC),
        )

    # ------------------------------------------------------------ review

    def review(self, attempt_id: str, token: str | None, access: Access = FULL) -> Review:
        return Review.model_validate_json(self.review_json(attempt_id, token, access))

    def review_json(self, attempt_id: str, token: str | None, access: Access = FULL) -> str:
        """The review as the API serves it, as JSON text (``Review``'s camelCase shape).

        Joined from per-item fragments that pydantic-core wrote once per bank version (text, stem and
        explanations are most of the ~100 KB), with the stored result's JSON as it was written. Hand
        joining is the point here: re-serialising the whole review made it the slowest read. ``review``
        parses this text into the model, and a unit test holds it byte-equal to the model's own JSON.
        """
        record = self._load(attempt_id, token, access)
        result_json = self._settled_result_json(record, self.clock())
        if result_json is None:
            raise Conflict("the review opens after the attempt is submitted", code="attempt_not_submitted")
        bank = self.banks.get(record.meta.exam_id)
        questions = []
        for n, q in enumerate(record.form.questions, start=1):
            part = bank.review_part(q.item_id)
            resp = record.responses.get(q.question_id)
            selected = resp.selected if resp else []
            key, text, explanation = part["key"], part["text_json"], part["explanation_json"]
            key_served = [SERVED_IDS[i] for i, o in enumerate(q.order) if o in key]  # sorted, as served
            options = ",".join(
                f'{{"id":"{SERVED_IDS[i]}","text":{text[o]},"correct":{_JSON_BOOL[o in key]},'
                f'"selected":{_JSON_BOOL[SERVED_IDS[i] in selected]},"explanation":{explanation[o]}}}'
                for i, o in enumerate(q.order)
            )
            correct = bool(selected) and selected == key_served  # all or nothing, as results.is_correct
            questions.append(
                f'{{"number":{n},"questionId":"{q.question_id}",{part["head_json"]},"options":[{options}],'
                f'"selected":{_json_letters(selected)},"key":{_json_letters(key_served)},'
                f'"correct":{_JSON_BOOL[correct]},"scored":{_JSON_BOOL[q.scored]},'
                f'"flagged":{_JSON_BOOL[bool(resp and resp.flagged)]},{part["tail_json"]}}}'
            )
        return f'{{"attemptId":"{attempt_id}","result":{result_json},"questions":[{",".join(questions)}]}}'

    # ------------------------------------------------------------ study mode (practice sets only)

    def check(self, attempt_id: str, question_id: str, selected: Sequence[str], access: Access) -> CheckResult:
        """Check one answer of a practice set: its correctness, key and explanations (``exam_core.study``).

        One DynamoDB call, the attempt's read; the bank is the warm cache's. Records nothing (the answer
        is saved by ``save``, whose one conditional write returns META only, without the form a check
        needs). Refusals in order: not this caller's attempt (403/404, as every route), not a practice set
        (409 ``not_practice``: a full exam's or a diagnostic's keys open only in its review), an answer that
        does not fit the form (422 ``invalid_responses``). A submitted set can still be checked: its
        review is open anyway.
        """
        record = self._load(attempt_id, None, access)
        if record.meta.mode not in PRACTICE_MODES:
            raise Conflict(
                "answers are checked one by one only in practice sets; this attempt's keys open in its review "
                "after submission",
                code="not_practice",
            )
        # 422 for an id this form did not serve, an unknown or duplicate option, too many selections
        (answer,) = self._validate([ResponseIn(question_id=question_id, selected=list(selected))], 0, record.form)
        question = record.form.question(question_id)
        if question is None:  # unreachable: _validate refused it above
            raise NotFound("this attempt has no such question", code="question_not_found")
        return check_answer(self.banks.get(record.meta.exam_id), attempt_id, question, answer.selected)
