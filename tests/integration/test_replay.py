"""Re-driving the stream consumer's dead-letter queue (infra/replay.py) against moto's DynamoDB stream and SQS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from exam_core import runtime
from exam_core.attempts import AttemptService
from exam_core.bank_cache import BankCache
from exam_core.bank_files import load_exam_dir
from exam_core.models.api import ResponseIn
from exam_core.settings import Settings, get_settings
from exam_core.store import DynamoStore

from infra.local.gateway import Template, create_tables
from infra.local.server import start_dynamodb
from infra.replay import batch_info, in_process_invoker, read_batch, replay
from tests.conftest import EXAM_DIR, ROOT

# moto's decorator mode does not serve DynamoDB Streams (DescribeStream: "Not yet implemented"); its
# server does, so these tests use the embedded server ``make run`` uses.


def _clear_runtime() -> None:
    for factory in (runtime.store, runtime.bank_cache, get_settings):
        factory.cache_clear()


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server, url = start_dynamodb()
    yield url
    server.stop()


@pytest.fixture
def clients(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Fresh tables from template.yaml, and the consumer's environment pointing at them."""
    requests.post(f"{endpoint}/moto-api/reset", timeout=10)
    for name, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "ITEMS_TABLE": "ItemsTable",
        "ATTEMPTS_TABLE": "AttemptsTable",
        "DYNAMODB_READ_TIMEOUT": "10",  # as make run sets it: the embedded server is slow on a busy machine
    }.items():
        monkeypatch.setenv(name, value)
    made = {
        n: boto3.client(n, endpoint_url=endpoint, region_name="us-east-1")
        for n in ("dynamodb", "dynamodbstreams", "sqs")
    }
    create_tables(Template(ROOT / "template.yaml"), made["dynamodb"])
    _clear_runtime()
    yield made
    _clear_runtime()


@pytest.fixture
def store(clients: dict[str, Any]) -> DynamoStore:
    return DynamoStore("ItemsTable", "AttemptsTable", clients["dynamodb"])


def _submit_two(store: DynamoStore) -> None:
    service = AttemptService(store, BankCache(store, refresh_seconds=60), Settings())
    for _ in range(2):
        created = service.start("clf-c02", "full")
        first = created.questions[0]
        service.submit(
            created.attempt_id,
            created.attempt_token,
            [ResponseIn(question_id=first.question_id, selected=[first.options[0].id])],
        )


def _failure_record(dynamodb: Any, streams: Any) -> str:
    """What Lambda sends to the on-failure destination for a stream batch: its position, not its records."""
    arn = dynamodb.describe_table(TableName="AttemptsTable")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1000)["Records"]
    return json.dumps(
        {
            "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": 6},
            "version": "1.0",
            "DDBStreamBatchInfo": {
                "shardId": shard,
                "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
                "batchSize": len(records),
                "streamArn": arn,
            },
        }
    )


def _served(store: DynamoStore) -> float:
    return sum(s.get("n", 0.0) for key, s in store.load_item_stats("clf-c02").items() if key != "ATTEMPTS")


def test_a_batch_the_consumer_gave_up_on_is_counted_once_however_often_it_is_replayed(
    clients: dict[str, Any], store: DynamoStore
) -> None:
    # Given two submitted full exams whose stream batch the consumer never counted, and Lambda's
    # on-failure record of that batch in the dead-letter queue
    load_exam_dir(store, EXAM_DIR)
    _submit_two(store)
    dynamodb, streams, sqs = clients["dynamodb"], clients["dynamodbstreams"], clients["sqs"]
    queue = sqs.create_queue(QueueName="stream-failures")["QueueUrl"]
    record = _failure_record(dynamodb, streams)
    sqs.send_message(QueueUrl=queue, MessageBody=record)
    assert _served(store) == 0
    invoke = in_process_invoker()

    # When it is replayed
    first = replay(sqs, queue, streams, invoke)

    # Then both submissions are counted (65 questions served each, scored and pretest alike) and the
    # message is gone
    assert first.as_dict() == {"replayed": 1, "records": 2, "kept": []}
    counted = _served(store)
    assert counted == 2 * 65
    assert "Messages" not in sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0)

    # When the same batch is replayed again (a second message naming it)
    sqs.send_message(QueueUrl=queue, MessageBody=record)
    second = replay(sqs, queue, streams, invoke)

    # Then it is taken and nothing is counted twice
    assert second.replayed == 1
    assert _served(store) == counted


def test_a_dry_run_reads_the_batch_but_invokes_and_deletes_nothing(clients: dict[str, Any], store: DynamoStore) -> None:
    load_exam_dir(store, EXAM_DIR)
    _submit_two(store)
    dynamodb, streams, sqs = clients["dynamodb"], clients["dynamodbstreams"], clients["sqs"]
    queue = sqs.create_queue(QueueName="stream-failures")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody=_failure_record(dynamodb, streams))

    outcome = replay(sqs, queue, streams, lambda event: pytest.fail("a dry run invoked the consumer"), dry_run=True)

    assert outcome.records == 2 and outcome.replayed == 0
    assert _served(store) == 0


def test_a_message_that_is_not_a_stream_batch_record_is_kept_and_reported(clients: dict[str, Any]) -> None:
    streams, sqs = clients["dynamodbstreams"], clients["sqs"]
    queue = sqs.create_queue(QueueName="stream-failures")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody='{"hello": "world"}')

    outcome = replay(sqs, queue, streams, lambda event: [])

    assert outcome.replayed == 0 and len(outcome.kept) == 1 and "not a stream batch record" in outcome.kept[0]


def test_only_the_records_the_event_source_filter_delivers_are_replayed(
    clients: dict[str, Any], store: DynamoStore
) -> None:
    # Given a batch position covering starts (INSERTs of META, FORM rows) and submissions
    load_exam_dir(store, EXAM_DIR)
    _submit_two(store)
    dynamodb, streams = clients["dynamodb"], clients["dynamodbstreams"]
    info = batch_info(_failure_record(dynamodb, streams))

    # When it is read back
    records = read_batch(streams, info)

    # Then only the two submitted METAs remain, shaped as Lambda delivers them
    assert len(records) == 2
    for r in records:
        assert r["dynamodb"]["Keys"]["sk"] == {"S": "META"}
        assert r["dynamodb"]["NewImage"]["st"] == {"S": "submitted"}
        assert r["eventSourceARN"] == info.stream_arn
        assert isinstance(r["dynamodb"]["ApproximateCreationDateTime"], float)
