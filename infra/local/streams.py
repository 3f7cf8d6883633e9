"""DynamoDB stream events for the local server: the template's ``DynamoDB`` event sources, emulated.

A background thread reads each streamed table's shards from moto (``dynamodbstreams``), keeps the
records that pass the event source's ``FilterCriteria`` (the subset of event-pattern matching this
template uses: nested keys and lists of allowed values), and invokes the function with the same
event shape Lambda delivers. Failed batches are logged and retried on the next poll, like Lambda.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from infra.local.gateway import Function, Gateway, LambdaContext

log = logging.getLogger("local-streams")
MAX_PAGES = 20


def matches(pattern: Any, data: Any) -> bool:
    """Event-pattern matching for exact values: every key of the pattern must match, lists mean 'any of'."""
    if isinstance(pattern, dict):
        return isinstance(data, dict) and all(k in data and matches(v, data[k]) for k, v in pattern.items())
    if isinstance(pattern, list):
        return any(matches(p, data) if isinstance(p, dict) else p == data for p in pattern)
    return bool(pattern == data)


@dataclass
class StreamSource:
    function: Function
    table: str
    batch_size: int
    filters: list[dict[str, Any]]
    arn: str = ""
    # Last sequence number delivered per shard (None: from the start of the shard).
    positions: dict[str, str | None] = field(default_factory=dict)


class StreamPump:
    def __init__(self, gateway: Gateway, endpoint_url: str, table_names: dict[str, str], interval: float = 0.3) -> None:
        import boto3

        self.gateway = gateway
        self.interval = interval
        self.dynamodb: Any = boto3.client("dynamodb", endpoint_url=endpoint_url, region_name="us-east-1")
        self.streams: Any = boto3.client("dynamodbstreams", endpoint_url=endpoint_url, region_name="us-east-1")
        self.sources: list[StreamSource] = []
        self._stop = threading.Event()
        self.delivered = 0
        for logical_id, res in gateway.template.resources_of("AWS::Serverless::Function").items():
            for event in res["Properties"].get("Events", {}).values():
                if event.get("Type") != "DynamoDB":
                    continue
                p = event["Properties"]
                table_ref = p["Stream"]["Fn::GetAtt"][0]
                filters = [json.loads(f["Pattern"]) for f in p.get("FilterCriteria", {}).get("Filters", [])]
                self.sources.append(
                    StreamSource(
                        gateway.template.functions[logical_id],
                        table_names[table_ref],
                        int(p.get("BatchSize", 100)),
                        filters,
                    )
                )

    def start(self) -> None:
        for src in self.sources:
            src.arn = self.dynamodb.describe_table(TableName=src.table)["Table"]["LatestStreamArn"]
            for shard in self.streams.describe_stream(StreamArn=src.arn)["StreamDescription"]["Shards"]:
                src.positions[shard["ShardId"]] = None
        threading.Thread(target=self._run, name="local-streams", daemon=True).start()

    def _iterator(self, src: StreamSource, shard_id: str) -> str:
        # A fresh iterator from the last position on every poll: moto swaps a table's stream shard for a
        # copy when it rolls back a failed transaction, which leaves long-lived iterators reading nothing.
        position = src.positions[shard_id]
        kwargs: dict[str, Any] = {"StreamArn": src.arn, "ShardId": shard_id}
        if position is None:
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"
        else:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=position)
        return str(self.streams.get_shard_iterator(**kwargs)["ShardIterator"])

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for src in self.sources:
                try:
                    self.poll(src)
                except Exception:  # keep pumping: a local dev server must not die on one bad batch
                    log.exception("stream poll failed for %s", src.function.logical_id)

    def poll(self, src: StreamSource) -> None:
        """Deliver what the shard holds since the last position, filtered, in batches of BatchSize.

        Like Lambda, BatchSize counts records after filtering; raw records are read 1,000 at a time.
        """
        for shard_id in list(src.positions):
            raw: list[dict[str, Any]] = []
            records: list[dict[str, Any]] = []
            iterator = self._iterator(src, shard_id)
            for _ in range(MAX_PAGES):  # read on until a full batch matches, as Lambda's poller does
                out = self.streams.get_records(ShardIterator=iterator, Limit=1000)
                page = out.get("Records", [])
                raw += page
                records += [r for r in page if not src.filters or any(matches(f, r) for f in src.filters)]
                if not page or len(records) >= src.batch_size or not out.get("NextShardIterator"):
                    break
                iterator = out["NextShardIterator"]
            if not raw:
                continue
            for start in range(0, len(records), src.batch_size):
                batch = records[start : start + src.batch_size]
                event = {"Records": [{**r, "eventSource": "aws:dynamodb", "awsRegion": "us-east-1"} for r in batch]}
                module = self.gateway._module(src.function)
                handler = getattr(module, src.function.handler.rsplit(".", 1)[1])
                with self.gateway.invoke_lock:  # one invocation at a time in the process (see Gateway)
                    result = handler(event, LambdaContext(src.function))
                failures = (result or {}).get("batchItemFailures") or []
                if failures:  # like Lambda: delivered again from the first failed record
                    log.warning("%d stream record(s) failed in %s; retrying", len(failures), src.function.logical_id)
                    first = failures[0]["itemIdentifier"]
                    done = [r["dynamodb"]["SequenceNumber"] for r in raw if r["dynamodb"]["SequenceNumber"] < first]
                    if done:
                        src.positions[shard_id] = done[-1]
                    return
                self.delivered += len(batch)
                src.positions[shard_id] = batch[-1]["dynamodb"]["SequenceNumber"]
            src.positions[shard_id] = raw[-1]["dynamodb"]["SequenceNumber"]
