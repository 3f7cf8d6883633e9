"""Item statistics from the attempts table's stream: adds newly submitted attempts to per-item sums.

Runs off the request path (a submission writes nothing extra). Each record is checked and its
attempt marked as counted (Powertools' batch processor reports per-record failures, so one bad
record is retried without replaying the batch); the batch's contributions are then summed in memory
and written as one ADD per item touched, so a batch of 50 attempts costs at most one write per item
rather than 65 per attempt.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from exam_core.item_stats import aggregate, calibration_row, contributions
from exam_core.log import logger
from exam_core.runtime import bank_cache, store

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
COUNTED_MODES = {"full", "diagnostic"}
_pending: dict[str, list[list[dict[str, Any]]]] = {}
_rows: dict[str, list[tuple[str, str]]] = {}


def _status(image: dict[str, Any] | None) -> str | None:
    return None if not image or "st" not in image else str(image["st"])


def record_handler(record: DynamoDBRecord) -> None:
    data = record.dynamodb
    if data is None or data.keys is None or data.keys.get("sk") != "META":
        return
    if _status(data.new_image) != "submitted" or _status(data.old_image) == "submitted":
        return  # only the transition to submitted counts, once
    attempt = store().load_attempt(str(data.keys["pk"]))
    if attempt is None or not attempt.meta.result_json or attempt.meta.mode not in COUNTED_MODES:
        return  # practice sets are chosen, not random: they would bias item statistics and calibration
    bank = bank_cache().get(attempt.meta.exam_id)
    scaled = int(json.loads(attempt.meta.result_json)["scaledScore"])
    contribs = contributions(bank, attempt, scaled)
    if store().claim_stats(attempt.meta.exam_id, attempt.meta.attempt_id):
        _pending.setdefault(attempt.meta.exam_id, []).append(contribs)
        _rows.setdefault(attempt.meta.exam_id, []).append((attempt.meta.attempt_id, calibration_row(bank, attempt)))


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    _pending.clear()
    _rows.clear()
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    for exam_id, batches in _pending.items():
        # Marked attempts whose sums fail to write here are lost, never counted twice (see store.claim_stats).
        store().add_item_sums(exam_id, aggregate(batches), len(batches))
        store().add_calibration_rows(exam_id, _rows.get(exam_id, []))
        logger.info("item statistics", extra={"examId": exam_id, "attempts": len(batches)})
    _pending.clear()
    _rows.clear()
    return response
