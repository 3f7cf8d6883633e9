"""The bank snapshot (exam_core.bank_snapshot) through the real store on moto: two reads, always right."""

from __future__ import annotations

import json
from typing import Any

from exam_core.bank_files import load_exam_dir, read_blueprint
from exam_core.bank_snapshot import CHUNK_BYTES
from exam_core.store import DynamoStore

from tests.bench.cold import synthetic_items
from tests.conftest import EXAM_DIR

EXAM = "clf-c02"


def _calls(store: DynamoStore) -> list[str]:
    seen: list[str] = []
    store.client.meta.events.register("before-call.dynamodb.*", lambda model, **_: seen.append(model.name))
    return seen


def _query_items(store: DynamoStore) -> list[dict[str, Any]]:
    pages = store.client.get_paginator("query").paginate(
        TableName="ItemsTable",
        KeyConditionExpression="pk = :e AND begins_with(sk, :i)",
        ExpressionAttributeValues={":e": {"S": EXAM}, ":i": {"S": "ITEM#"}},
    )
    return [json.loads(i["doc"]["S"]) for page in pages for i in page["Items"]]


def _snap_keys(store: DynamoStore) -> list[str]:
    out = store.client.query(
        TableName="ItemsTable",
        KeyConditionExpression="pk = :e AND begins_with(sk, :s)",
        ExpressionAttributeValues={":e": {"S": EXAM}, ":s": {"S": "SNAP#"}},
    )
    return sorted(i["sk"]["S"] for i in out["Items"])


def test_a_loaded_bank_is_read_back_in_two_calls_with_exactly_the_stored_items(store: DynamoStore) -> None:
    # Given the shipped bank loaded as the loader loads it
    version = load_exam_dir(store, EXAM_DIR)
    calls = _calls(store)

    # When a cold function reads it
    stored = store.load_bank(EXAM)

    # Then one GetItem (META) and one BatchGetItem (the chunks), and the same documents the items hold
    assert stored is not None and stored.version == version
    assert calls == ["GetItem", "BatchGetItem"]
    by_id = {i["id"]: i for i in _query_items(store)}
    assert sorted(i["id"] for i in stored.items) == sorted(by_id)
    assert all(i == by_id[i["id"]] for i in stored.items)


def test_a_bank_larger_than_one_item_can_hold_is_chunked_and_still_two_calls(store: DynamoStore) -> None:
    blueprint = read_blueprint(EXAM_DIR).model_dump(mode="json", by_alias=True)
    docs = synthetic_items(5000)
    version = store.put_bank(EXAM, blueprint, docs)
    chunks = store.publish_bank_snapshot(EXAM)
    calls = _calls(store)

    stored = store.load_bank(EXAM)

    assert chunks is not None and chunks > 1  # 5,000 items compress to well over CHUNK_BYTES
    assert CHUNK_BYTES < 400_000
    assert calls == ["GetItem", "BatchGetItem"]
    assert stored is not None and stored.version == version and len(stored.items) == 5000


def test_an_edit_not_yet_compiled_is_read_from_the_items_and_compiling_it_drops_old_snapshots(
    store: DynamoStore,
) -> None:
    # Given a bank with a snapshot, then an item replaced (the version moves on, the snapshot does not)
    v1 = load_exam_dir(store, EXAM_DIR)
    item = next(i for i in _query_items(store) if i["status"] == "operational")
    changed = {**item, "b": round(item["b"] + 0.25, 3), "version": item.get("version", 1) + 1}
    store.replace_item(EXAM, changed, item.get("version", 1), {"by": "test"})
    calls = _calls(store)

    # When a function loads it before anyone compiles the new version
    stored = store.load_bank(EXAM)

    # Then it gets the edit from the items (META, then the paged Query), never the stale snapshot
    assert stored is not None and stored.version == v1 + 1
    assert calls[0] == "GetItem" and set(calls[1:]) == {"Query"}
    assert next(i for i in stored.items if i["id"] == item["id"])["b"] == changed["b"]

    # When the new version is compiled, twice more (three versions in all)
    store.publish_bank_snapshot(EXAM)
    store.replace_item(EXAM, {**changed, "version": changed["version"] + 1}, changed["version"], {"by": "test"})
    store.publish_bank_snapshot(EXAM)
    del calls[:]
    stored = store.load_bank(EXAM)

    # Then the snapshot serves again, and only the current and the previous versions' chunks remain
    assert calls == ["GetItem", "BatchGetItem"]
    assert stored is not None and stored.version == v1 + 2
    assert {int(k.split("#")[1]) for k in _snap_keys(store)} == {v1 + 1, v1 + 2}


def test_a_missing_chunk_falls_back_to_the_items(store: DynamoStore) -> None:
    load_exam_dir(store, EXAM_DIR)
    (first, *_) = _snap_keys(store)
    store.client.delete_item(TableName="ItemsTable", Key={"pk": {"S": EXAM}, "sk": {"S": first}})

    stored = store.load_bank(EXAM)

    assert stored is not None and len(stored.items) == len(_query_items(store))


def test_loading_the_files_again_publishes_the_new_versions_snapshot(store: DynamoStore) -> None:
    v1 = load_exam_dir(store, EXAM_DIR)
    v2 = load_exam_dir(store, EXAM_DIR)
    calls = _calls(store)
    stored = store.load_bank(EXAM)
    assert v2 == v1 + 1
    assert stored is not None and stored.version == v2
    assert calls == ["GetItem", "BatchGetItem"]
