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
import time
from dataclasses import dataclass, field
from typing import Any

from infra.local.gateway import Function, Gateway, LambdaContext

log = logging.getLogger("local-streams")


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
    iterators: dict[str, str] = field(default_factory=dict)


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
        for src in self.sources:  # start at the current end: what happened before the server is not replayed
            arn = self.dynamodb.describe_table(TableName=src.table)["Table"]["LatestStreamArn"]
            for shard in self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
                src.iterators[shard["ShardId"]] = self.streams.get_shard_iterator(
                    StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
                )["ShardIterator"]
        threading.Thread(target=self._run, name="local-streams", daemon=True).start()

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
        for shard_id, iterator in list(src.iterators.items()):
            out = self.streams.get_records(ShardIterator=iterator, Limit=src.batch_size)
            records = [r for r in out.get("Records", []) if not src.filters or any(matches(f, r) for f in src.filters)]
            if records:
                event = {"Records": [{**r, "eventSource": "aws:dynamodb", "awsRegion": "us-east-1"} for r in records]}
                module = self.gateway._module(src.function)
                handler = getattr(module, src.function.handler.rsplit(".", 1)[1])
                with src.function.lock:
                    result = handler(event, LambdaContext(src.function))
                failures = (result or {}).get("batchItemFailures") or []
                if failures:
                    log.warning("%d stream record(s) failed in %s; retrying", len(failures), src.function.logical_id)
                    time.sleep(self.interval)
                    continue  # keep the iterator: the batch is delivered again
                self.delivered += len(records)
            if out.get("NextShardIterator"):
                src.iterators[shard_id] = out["NextShardIterator"]
