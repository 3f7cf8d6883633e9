"""A bank version compiled into a few compressed chunks, so a cold function loads it in two reads.

Without it a function's first request reads the bank with a paged Query of every item (one page per
MB: about 3 pages at 1,100 items, 14 at 5,000) and parses each item's JSON attribute separately. The
snapshot is the same content (the blueprint and every item document, as validated when written) as one
zlib-compressed JSON document cut into chunks under DynamoDB's 400 KB item limit, stored beside the
items under sort keys ``SNAP#<version>#<n>``; the bank's ``META`` row names the version and the chunk
count it was built for (``snap``). A reader gets ``META`` (one GetItem, which it needs anyway for the
blueprint and the version) and then every chunk with one BatchGetItem.

Chunks are immutable (their key carries the version): a writer publishes a new snapshot by writing its
chunks first and then, conditionally on the bank still being at that version, pointing ``META`` at
them; it then deletes chunks older than the previous version (a reader that read ``META`` just before
may still be fetching those). A reader that finds ``snap`` missing, for another version, or a chunk
gone falls back to the Query, so a stale or half-written snapshot costs speed, never correctness.

Pure Python (zlib and json from the standard library): the store does the DynamoDB calls.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from typing import Any

CHUNK_BYTES = 350_000  # under DynamoDB's 400 KB item limit with room for the key and attributes
LEVEL = 6  # zlib's default: 1,100 items of about 1.4 KB compress about 3.8:1


def chunk_key(version: int, n: int) -> str:
    return f"SNAP#{version}#{n:03d}"


def is_snapshot_key(sort_key: str) -> bool:
    return sort_key.startswith("SNAP#")


def snapshot_version(sort_key: str) -> int:
    return int(sort_key.split("#")[1])


def encode(blueprint: dict[str, Any], version: int, items: Sequence[dict[str, Any]]) -> list[bytes]:
    """The chunks of one bank version: its blueprint, an index row per item (``[id, task, status, b]``, all
    the bank's indexes need) and each item's JSON as a string, so a reader builds the indexes at once and
    parses an item only when it is served (``Bank.build_compiled``); sorted by id, compressed once."""
    ordered = sorted(items, key=lambda i: str(i["id"]))
    doc = {
        "version": version,
        "blueprint": blueprint,
        "index": [[i["id"], i["task"], i["status"], i["b"]] for i in ordered],
        "docs": [json.dumps(i, separators=(",", ":"), sort_keys=True) for i in ordered],
    }
    packed = zlib.compress(json.dumps(doc, separators=(",", ":")).encode(), LEVEL)
    return [packed[i : i + CHUNK_BYTES] for i in range(0, len(packed), CHUNK_BYTES)] or [packed]


def decode(chunks: Sequence[bytes], version: int) -> tuple[dict[str, Any], list[list[Any]], list[str]]:
    """Blueprint, index rows and item JSON strings of a snapshot; ``ValueError`` if not the version asked for."""
    doc = json.loads(zlib.decompress(b"".join(chunks)))
    if doc.get("version") != version or "index" not in doc or len(doc["index"]) != len(doc["docs"]):
        raise ValueError(f"not a snapshot of version {version}")
    return doc["blueprint"], doc["index"], doc["docs"]
