"""The exam registry (pk EXAMS, sk LIST) through the real store on moto: the exams served are the ones loaded."""

from __future__ import annotations

from typing import Any

from exam_core.bank_cache import BankCache
from exam_core.store import DynamoStore

BLUEPRINT: dict[str, Any] = {"examId": "placeholder"}  # the registry never reads the blueprint


def _calls(store: DynamoStore) -> list[str]:
    seen: list[str] = []
    store.client.meta.events.register("before-call.dynamodb.*", lambda model, **_: seen.append(model.name))
    return seen


def test_given_an_empty_table_then_no_exam_is_registered(store: DynamoStore) -> None:
    assert store.exam_ids() == []


def test_given_two_exams_loaded_twice_then_the_registry_lists_each_once_sorted(store: DynamoStore) -> None:
    # Given two banks written, one of them again (a second `make run` or loader run)
    for exam_id in ("zz-c01", "aa-c01", "zz-c01"):
        store.put_bank(exam_id, BLUEPRINT, [])

    # Then the registry holds each id once, and each version went up per load
    assert store.exam_ids() == ["aa-c01", "zz-c01"]
    assert store.bank_version("zz-c01") == 2


def test_given_a_warm_cache_then_the_registry_is_read_once_per_refresh_window(store: DynamoStore) -> None:
    # Given a cache on a clock we move
    now = [0.0]
    cache = BankCache(store, refresh_seconds=60, clock=lambda: now[0])
    store.put_bank("aa-c01", BLUEPRINT, [])
    calls = _calls(store)

    # When it is asked three times within the window, and once after it, with an exam loaded meanwhile
    first = cache.exam_ids()
    store.put_bank("bb-c01", BLUEPRINT, [])
    del calls[:]
    again = cache.exam_ids()
    within = list(calls)
    now[0] = 61.0
    later = cache.exam_ids()

    # Then one GetItem per window, and the new exam appears after the window
    assert first == again == ["aa-c01"]
    assert within == []
    assert calls == ["GetItem"]
    assert later == ["aa-c01", "bb-c01"]
