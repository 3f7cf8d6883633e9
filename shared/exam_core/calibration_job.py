"""The calibration job: recorded responses in, pretest difficulties and promotions out.

Runs on a schedule, on demand (``POST /admin/calibrations`` queues a run that an asynchronous invocation
executes: ``queue``, then ``execute``) and as a local command (``run``). Operational
difficulties are the anchors and never move; results already given never change, because each
attempt keeps the conversion table it was scored with.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from exam_core.bank import Bank
from exam_core.calibration import AttemptResponses, calibrate
from exam_core.errors import DomainError, NotFound, StaleWrite
from exam_core.log import logger
from exam_core.settings import Settings
from exam_core.store import AdminStore


def parse_row(row: str) -> AttemptResponses:
    ids, correct = [], []
    for part in row.split(","):
        item_id, _, mark = part.rpartition("=")
        ids.append(item_id)
        correct.append(mark == "1")
    return AttemptResponses(item_ids=ids, correct=correct)


# A run the function no longer executes but never recorded as finished (Lambda stopped it: timeout, out of
# memory; or the local server stopped) would show queued or running for ever. No invocation runs longer than
# Lambda's 15-minute maximum, and no queued event waits longer than the 6-hour maximum event age, so past
# those the run is reported failed.
MAX_RUN_SECONDS = 15 * 60
MAX_QUEUED_SECONDS = 6 * 3600 + MAX_RUN_SECONDS


def _finite(x: float) -> float | None:
    return None if math.isnan(x) or math.isinf(x) else round(x, 4)


class CalibrationJob:
    def __init__(self, store: AdminStore, settings: Settings, clock: Callable[[], float]) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock

    def _bank(self, exam_id: str) -> Bank:
        stored = self.store.load_bank(exam_id)
        if stored is None:
            raise NotFound(f"no exam {exam_id!r}", code="exam_not_found", details=[{"examId": exam_id}])
        return Bank.from_stored(stored)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    @staticmethod
    def _new_id(now: datetime) -> str:
        return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"

    def queue(self, exam_id: str, *, dry_run: bool, who: str) -> dict[str, Any]:
        """Store a run as ``queued`` and return it; an asynchronous invocation then calls ``execute``."""
        if self.store.bank_version(exam_id) is None:
            raise NotFound(f"no exam {exam_id!r}", code="exam_not_found", details=[{"examId": exam_id}])
        now = self._now()
        record: dict[str, Any] = {
            "calibrationId": self._new_id(now),
            "examId": exam_id,
            "status": "queued",
            "dryRun": dry_run,
            "by": who,
            "queuedAt": now.isoformat(),
        }
        self.store.put_calibration(exam_id, record["calibrationId"], record)
        return record

    def execute(self, exam_id: str, calibration_id: str) -> dict[str, Any] | None:
        """Run a queued run: ``running``, then ``done`` with the report or ``failed`` with the reason.

        The queued-to-running step is one conditional write, so a second delivery of the same event does
        nothing (returns None). Any error of the run is recorded on the run, never lost.
        """
        record = self.store.get_calibration(exam_id, calibration_id)
        if record is None or record.get("status") != "queued":
            logger.warning("calibration run not queued; skipped", extra={"calibrationId": calibration_id})
            return None
        running = {**record, "status": "running", "startedAt": self._now().isoformat()}
        if not self.store.claim_calibration_run(exam_id, calibration_id, running):
            logger.warning("calibration run already claimed; skipped", extra={"calibrationId": calibration_id})
            return None
        try:
            dry_run, who = bool(record["dryRun"]), str(record["by"])
            return self.run(exam_id, dry_run=dry_run, who=who, calibration_id=calibration_id, record=running)
        except Exception as exc:  # recorded on the run: GET /admin/calibrations/{id} shows it
            logger.exception("calibration run failed", extra={"calibrationId": calibration_id})
            return self.fail(running, exc)

    def fail(self, record: dict[str, Any], exc: Exception) -> dict[str, Any]:
        """Record a run as ``failed`` with the reason (the run raised, or its invocation could not be queued)."""
        if isinstance(exc, DomainError):
            error = {"code": exc.code, "message": exc.message}
        else:
            error = {"code": "internal_error", "message": f"{type(exc).__name__}: {exc}"[:500]}
        failed = {**record, "status": "failed", "finishedAt": self._now().isoformat(), "error": error}
        self.store.put_calibration(record["examId"], record["calibrationId"], failed)
        return failed

    def run(
        self,
        exam_id: str,
        *,
        dry_run: bool,
        who: str,
        calibration_id: str | None = None,
        record: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Calibrate now and return the report (stored unless a dry run). ``record``: the queued run this
        executes; its report is stored as the run, dry or not."""
        bank = self._bank(exam_id)
        anchors = {i.id: i.b for i in bank.items.values() if i.status == "operational"}
        pretest = {i.id for i in bank.items.values() if i.status == "pretest"}
        attempts = [parse_row(r) for r in self.store.load_calibration_rows(exam_id)]
        s = self.settings
        report = calibrate(
            anchors,
            pretest,
            attempts,
            min_responses=s.calibration_min_responses,
            fit_low=s.calibration_fit_low,
            fit_high=s.calibration_fit_high,
            min_point_biserial=s.calibration_min_point_biserial,
        )
        now = self._now()
        calibration_id = calibration_id or self._new_id(now)
        changes: list[dict[str, Any]] = []
        for result in report.items:
            item = bank.items[result.item_id]
            new_b = _finite(result.b)
            change: dict[str, Any] = {"itemId": item.id, "decision": result.decision, "oldB": item.b, "newB": new_b}
            if result.decision == "promote" and new_b is not None:
                change["newStatus"] = "operational"
            changes.append(change)
        applied = 0
        if not dry_run:
            for change in changes:
                if change["newB"] is None or change["decision"] == "keep_pretest":
                    continue
                item = bank.items[change["itemId"]]
                updated = item.model_copy(
                    update={
                        "b": change["newB"],
                        "status": change.get("newStatus", item.status),
                        "version": item.version + 1,
                    }
                )
                audit = {
                    "at": now.isoformat(),
                    "by": who,
                    "version": updated.version,
                    "changes": {
                        "b": {"from": item.b, "to": updated.b},
                        **(
                            {"status": {"from": item.status, "to": updated.status}}
                            if updated.status != item.status
                            else {}
                        ),
                    },
                    "reason": f"calibration {calibration_id}",
                }
                try:
                    self.store.replace_item(
                        exam_id, updated.model_dump(mode="json", by_alias=True, exclude_none=True), item.version, audit
                    )
                    applied += 1
                except StaleWrite:
                    change["skipped"] = "the item changed during the run; it is left for the next calibration"
        if applied:
            self.store.publish_bank_snapshot(exam_id)
        doc: dict[str, Any] = {
            "calibrationId": calibration_id,
            "examId": exam_id,
            "status": "done",
            "startedAt": now.isoformat(),
            "by": who,
            "dryRun": dry_run,
            "bankVersionBefore": bank.version,
            "attempts": len(attempts),
            "persons": report.persons,
            "anchors": report.anchors,
            "method": report.method,
            "settings": report.settings,
            "promoted": sum(1 for c in changes if c.get("newStatus") == "operational"),
            "flagged": sum(1 for c in changes if c["decision"] == "flag"),
            "keptPretest": sum(1 for c in changes if c["decision"] == "keep_pretest"),
            "applied": applied,
            "items": [
                {
                    **change,
                    "n": r.n,
                    "se": _finite(r.se),
                    "infit": _finite(r.infit),
                    "outfit": _finite(r.outfit),
                    "pointBiserial": _finite(r.point_biserial),
                    "reason": r.reason,
                }
                for change, r in zip(changes, report.items, strict=True)
            ],
        }
        if record is not None:
            doc = {**record, **doc, "finishedAt": self._now().isoformat()}
        if not dry_run or record is not None:
            self.store.put_calibration(exam_id, calibration_id, doc)
        return doc

    def get(self, exam_id: str, calibration_id: str) -> dict[str, Any]:
        doc = self.store.get_calibration(exam_id, calibration_id)
        if doc is None:
            raise NotFound(f"no calibration {calibration_id!r}", code="calibration_not_found")
        status = doc.get("status")
        if status in ("queued", "running"):
            queued = status == "queued"
            since, limit = (doc["queuedAt"], MAX_QUEUED_SECONDS) if queued else (doc["startedAt"], MAX_RUN_SECONDS)
            if (self._now() - datetime.fromisoformat(since)).total_seconds() > limit:
                reason = (
                    "the run stopped without finishing (the function timed out or ran out of memory, or its"
                    " queued event expired); start a new run"
                )
                return {**doc, "status": "failed", "error": {"code": "run_lost", "message": reason}}
        return doc
