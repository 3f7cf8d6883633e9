"""The bank cached in the function's memory, reloaded when its version changes.

A warm container serves forms from memory. At most once per ``refresh_seconds`` it reads the bank's
version (one small GetItem) and reloads only if an operator changed the bank. The list of exams loaded
(the store's registry, what ``GET /exams`` serves) is read the same way: at most once per ``refresh_seconds``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from exam_core.bank import Bank
from exam_core.errors import NotFound
from exam_core.store import Store


@dataclass(slots=True)
class _Entry:
    bank: Bank
    checked_at: float


class BankCache:
    def __init__(
        self, store: Store, refresh_seconds: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.store = store
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self._entries: dict[str, _Entry] = {}
        self._exam_ids: tuple[list[str], float] | None = None  # the registry and when it was read

    def exam_ids(self) -> list[str]:
        """The ids of every exam loaded into the bank, sorted; from memory within ``refresh_seconds``."""
        now = self.clock()
        if self._exam_ids is None or now - self._exam_ids[1] >= self.refresh_seconds:
            self._exam_ids = (self.store.exam_ids(), now)
        return self._exam_ids[0]

    def get(self, exam_id: str) -> Bank:
        now = self.clock()
        entry = self._entries.get(exam_id)
        if entry is not None:
            if now - entry.checked_at < self.refresh_seconds:
                return entry.bank
            if self.store.bank_version(exam_id) == entry.bank.version:
                entry.checked_at = now
                return entry.bank
        stored = self.store.load_bank(exam_id)
        if stored is None:
            raise NotFound(f"no exam {exam_id!r}", code="exam_not_found", details=[{"examId": exam_id}])
        bank = Bank.from_stored(stored)
        self._entries[exam_id] = _Entry(bank, now)
        return bank
