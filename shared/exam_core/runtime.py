"""Wiring for a function container: settings, the DynamoDB store and the bank cache, built once.

Each service is imported inside its factory: a function imports only the services its routes use
(the stream consumer never loads the attempt service's models, the exam API never loads admin code).
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import TYPE_CHECKING

from exam_core.settings import get_settings

if TYPE_CHECKING:
    from exam_core.admin import AdminService
    from exam_core.attempts import AttemptService
    from exam_core.bank_cache import BankCache
    from exam_core.candidates import CandidateService
    from exam_core.partners import PartnerService
    from exam_core.store import DynamoStore


@lru_cache(maxsize=1)
def store() -> DynamoStore:
    from exam_core.store import DynamoStore

    settings = get_settings()
    return DynamoStore(settings.items_table, settings.attempts_table)


@lru_cache(maxsize=1)
def bank_cache() -> BankCache:
    from exam_core.bank_cache import BankCache

    return BankCache(store(), get_settings().bank_refresh_seconds)


@lru_cache(maxsize=1)
def attempt_service() -> AttemptService:
    from exam_core.attempts import AttemptService

    return AttemptService(store(), bank_cache(), get_settings())


@lru_cache(maxsize=1)
def partner_service() -> PartnerService:
    from exam_core.partners import PartnerService

    return PartnerService(store(), bank_cache(), get_settings(), time.time)


@lru_cache(maxsize=1)
def candidate_service() -> CandidateService:
    from exam_core.candidates import CandidateService

    return CandidateService(store(), attempt_service())


@lru_cache(maxsize=1)
def admin_service() -> AdminService:
    from exam_core.admin import AdminService

    return AdminService(store(), get_settings(), time.time)


def reset() -> None:
    """Forget the wiring (tests change settings between cases)."""
    for factory in (store, bank_cache, attempt_service, partner_service, candidate_service, admin_service):
        factory.cache_clear()
    get_settings.cache_clear()
