"""What a signed-in candidate owns: claiming an anonymous diagnostic, and the history of attempts."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime

from exam_core.attempts import AttemptService, hash_token
from exam_core.errors import Conflict, InvalidInput, StaleWrite
from exam_core.models.api import ClaimResult, History, HistoryEntry
from exam_core.store import Store

PAGE_MAX = 50


def _encode(token: str | None) -> str | None:
    return base64.urlsafe_b64encode(token.encode()).decode() if token else None


def _decode(token: str | None) -> str | None:
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token.encode()).decode()
        json.loads(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput("nextToken is not one this API gave out", code="invalid_next_token") from None
    return raw


class CandidateService:
    def __init__(self, store: Store, attempts: AttemptService) -> None:
        self.store = store
        self.attempts = attempts

    def claim_diagnostic(self, candidate_id: str, attempt_id: str, token: str | None) -> ClaimResult:
        """Attach an anonymous diagnostic to the signed-in candidate who holds its attempt token.

        Any partner's diagnostic can be claimed (the token proves it is the candidate's), claiming
        twice is harmless, and one already claimed by someone else is a 409.
        """
        record = self.attempts.load_any_diagnostic(attempt_id, token)
        if record.meta.candidate_id == candidate_id:
            return ClaimResult(attempt_id=attempt_id, mode=record.meta.mode, claimed=True)
        if record.meta.candidate_id is not None:
            raise Conflict("this diagnostic belongs to another account", code="attempt_claimed")
        try:
            self.store.claim_attempt(attempt_id, hash_token(token or ""), candidate_id, list(record.responses))
        except StaleWrite:
            raise Conflict("this diagnostic was claimed by another account", code="attempt_claimed") from None
        return ClaimResult(attempt_id=attempt_id, mode=record.meta.mode, claimed=True)

    def history(self, candidate_id: str, limit: int, next_token: str | None) -> History:
        items, nxt = self.store.candidate_attempts(candidate_id, min(limit, PAGE_MAX), _decode(next_token))
        entries = []
        for a in items:
            summary = json.loads(a.summary_json) if a.summary_json else None
            entries.append(
                HistoryEntry(
                    attempt_id=a.attempt_id,
                    exam_id=a.exam_id,
                    mode=a.mode,
                    status="submitted" if a.status == "submitted" else "in_progress",
                    started_at=datetime.fromtimestamp(a.started_at, UTC),
                    scaled_score=summary["s"] if summary else None,
                    passed=bool(summary["p"]) if summary else None,
                    weakest_domain=summary["w"] if summary else None,
                )
            )
        return History(attempts=entries, next_token=_encode(nxt))
