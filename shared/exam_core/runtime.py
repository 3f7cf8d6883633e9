"""Wiring for a function container: settings, the DynamoDB store and the bank cache, built once."""

from __future__ import annotations

from functools import lru_cache

from exam_core.attempts import AttemptService
from exam_core.bank_cache import BankCache
from exam_core.settings import get_settings
from exam_core.store import DynamoStore


@lru_cache(maxsize=1)
def attempt_service() -> AttemptService:
    settings = get_settings()
    store = DynamoStore(settings.items_table, settings.attempts_table)
    return AttemptService(store, BankCache(store, settings.bank_refresh_seconds), settings)


def reset() -> None:
    """Forget the wiring (tests change settings between cases)."""
    attempt_service.cache_clear()
    get_settings.cache_clear()
