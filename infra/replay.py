"""Re-drive the stream consumer's failed batches from its dead-letter queue: ``python -m infra.replay``.

When the item-statistics consumer gives up on a batch (``MaximumRetryAttempts``), Lambda sends a record of
it to the on-failure destination, the ``StreamFailureQueue``. That record names the batch (stream, shard,
first and last sequence numbers), not its contents: the records themselves are read back from the
attempts table's stream, which keeps them 24 hours. So replay within a day of the alarm
(``stream-failures-waiting``); after that the stream has trimmed them and the message is left in the
queue, reported, for a reconciliation by hand.

For each message: read the batch's records from the stream, keep those the event source's filter would
have delivered (submitted attempts' META), invoke the consumer with the event Lambda would have sent, and
delete the message only when the consumer reports no failed record. Replaying is safe to repeat: the
consumer claims each attempt once (its ``STATSDONE`` marker), so a batch replayed twice, or a batch of
which some attempts were counted before the failure, never counts a submission twice.

    python -m infra.replay --stack exam-scoring              # queue and function from the stack outputs
    python -m infra.replay --queue-url URL --function NAME   # or named directly
    python -m infra.replay ... --dry-run                     # read and report, invoke and delete nothing

``--in-process`` runs the consumer's handler in this process instead of invoking the deployed function
(the tests, and ``make run``'s embedded DynamoDB with ``AWS_ENDPOINT_URL``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from infra.local.streams import matches  # the local stream pump's event-pattern matching

ROOT = Path(__file__).resolve().parent.parent
CONSUMER = ROOT / "functions" / "item_stats" / "app.py"
FILTER = {"dynamodb": {"Keys": {"sk": {"S": ["META"]}}, "NewImage": {"st": {"S": ["submitted"]}}}}
MAX_PAGES = 100  # 1,000 records a page: far beyond a batch of 50


@dataclass(frozen=True)
class BatchInfo:
    stream_arn: str
    shard_id: str
    start: str
    end: str
    size: int


@dataclass
class Outcome:
    replayed: int = 0  # messages whose batch the consumer took without a failure (deleted)
    records: int = 0  # stream records delivered to the consumer
    kept: list[str] = field(default_factory=list)  # why each message left in the queue was kept

    def as_dict(self) -> dict[str, Any]:
        return {"replayed": self.replayed, "records": self.records, "kept": self.kept}


def batch_info(body: str) -> BatchInfo:
    """The batch a Lambda on-failure record names (``DDBStreamBatchInfo``)."""
    info = json.loads(body)["DDBStreamBatchInfo"]
    return BatchInfo(
        stream_arn=info["streamArn"],
        shard_id=info["shardId"],
        start=info["startSequenceNumber"],
        end=info["endSequenceNumber"],
        size=int(info.get("batchSize", 0)),
    )


def _lambda_shape(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record as Lambda delivers it: the stream's ARN added, the timestamp in epoch seconds."""
    data = dict(record["dynamodb"])
    created = data.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        data["ApproximateCreationDateTime"] = created.timestamp()
    return {**record, "dynamodb": data, "eventSourceARN": stream_arn}


def read_batch(streams: Any, info: BatchInfo) -> list[dict[str, Any]]:
    """The records from ``start`` to ``end`` of the shard, filtered as the event source filters them."""
    iterator = streams.get_shard_iterator(
        StreamArn=info.stream_arn,
        ShardId=info.shard_id,
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        SequenceNumber=info.start,
    )["ShardIterator"]
    end = int(info.end)
    records: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        out = streams.get_records(ShardIterator=iterator, Limit=1000)
        page = out.get("Records", [])
        for record in page:
            if int(record["dynamodb"]["SequenceNumber"]) > end:
                return records
            if matches(FILTER, record):
                records.append(_lambda_shape(record, info.stream_arn))
        iterator = out.get("NextShardIterator")
        if not page or not iterator:
            break
    return records


Invoke = Callable[[dict[str, Any]], list[str]]


def lambda_invoker(client: Any, function_name: str) -> Invoke:
    """Invoke the deployed consumer synchronously; the failed records' ids it reports (all on an error)."""

    def invoke(event: dict[str, Any]) -> list[str]:
        out = client.invoke(FunctionName=function_name, Payload=json.dumps(event).encode())
        payload = json.loads(out["Payload"].read() or b"null")
        if out.get("FunctionError"):
            return [f"function error: {payload}"]
        return [str(f["itemIdentifier"]) for f in (payload or {}).get("batchItemFailures", [])]

    return invoke


class _Context:
    function_name = "ItemStatsFunction"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:ItemStatsFunction"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def in_process_invoker() -> Invoke:
    """Run the consumer's handler here (its tables from ITEMS_TABLE and ATTEMPTS_TABLE, like the function)."""
    sys.path.insert(0, str(ROOT / "shared"))
    spec = importlib.util.spec_from_file_location("replay_item_stats", CONSUMER)
    assert spec is not None and spec.loader is not None  # nosec B101 - a file of this repository
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def invoke(event: dict[str, Any]) -> list[str]:
        out = module.lambda_handler(event, _Context())
        return [str(f["itemIdentifier"]) for f in (out or {}).get("batchItemFailures", [])]

    return invoke


def replay(
    sqs: Any, queue_url: str, streams: Any, invoke: Invoke, *, dry_run: bool = False, limit: int = 1000
) -> Outcome:
    """Re-drive up to ``limit`` messages of the queue; see the module's docstring."""
    outcome = Outcome()
    seen: set[str] = set()
    while len(seen) < limit:
        out = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=300)
        messages = [m for m in out.get("Messages", []) if m["MessageId"] not in seen]
        if not messages:
            break
        for message in messages:
            seen.add(message["MessageId"])
            reason = _replay_one(streams, message, invoke, outcome, dry_run)
            if reason is None and not dry_run:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                outcome.replayed += 1
            elif reason is not None:
                outcome.kept.append(f"{message['MessageId']}: {reason}")
    return outcome


def _replay_one(streams: Any, message: dict[str, Any], invoke: Invoke, outcome: Outcome, dry_run: bool) -> str | None:
    try:
        info = batch_info(message["Body"])
    except (ValueError, KeyError, TypeError) as exc:
        return f"not a stream batch record ({exc.__class__.__name__})"
    try:
        records = read_batch(streams, info)
    except Exception as exc:  # TrimmedDataAccessException and the like: named in the report, kept
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", exc.__class__.__name__)
        return f"stream records unreadable ({code}); older than the stream's 24 hours?"
    outcome.records += len(records)
    if dry_run or not records:
        return None if not dry_run else "dry run"
    failed = invoke({"Records": records})
    return f"consumer failed {len(failed)} record(s): {failed[:3]}" if failed else None


def _stack_outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    stacks = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def main(argv: list[str] | None = None) -> int:
    import boto3

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--stack", help="stack name: read StreamFailureQueueUrl and ItemStatsFunctionName from its outputs"
    )
    parser.add_argument("--queue-url", help="the dead-letter queue's URL")
    parser.add_argument("--function", help="the consumer function's name")
    parser.add_argument("--in-process", action="store_true", help="run the consumer's handler here")
    parser.add_argument("--dry-run", action="store_true", help="read and report; invoke and delete nothing")
    parser.add_argument("--limit", type=int, default=1000, help="messages at most (default 1000)")
    args = parser.parse_args(argv)
    queue_url, function = args.queue_url, args.function
    if args.stack:
        outputs = _stack_outputs(boto3.client("cloudformation"), args.stack)
        queue_url = queue_url or outputs.get("StreamFailureQueueUrl")
        function = function or outputs.get("ItemStatsFunctionName")
    if not queue_url or not (function or args.in_process):
        parser.error("give --stack, or --queue-url with --function (or --in-process)")
    invoke = in_process_invoker() if args.in_process else lambda_invoker(boto3.client("lambda"), str(function))
    outcome = replay(
        boto3.client("sqs"), queue_url, boto3.client("dynamodbstreams"), invoke, dry_run=args.dry_run, limit=args.limit
    )
    print(json.dumps(outcome.as_dict(), indent=2))
    return 1 if outcome.kept and not args.dry_run else 0


if __name__ == "__main__":
    raise SystemExit(main())
