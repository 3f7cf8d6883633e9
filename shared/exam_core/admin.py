"""Operating the bank: list, read, import and correct items; item statistics; items ranked for review.

Reads go to the store, not the cache, so an operator sees their own change at once; every change
bumps the bank version, which running functions notice within ``BANK_REFRESH_SECONDS``.
"""

from __future__ import annotations

import base64
import binascii
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from exam_core.bank import Bank, BankValidationError, parse_items
from exam_core.errors import Conflict, InvalidInput, NotFound, StaleWrite
from exam_core.item_stats import item_stats, rank
from exam_core.models.api import (
    AdminItem,
    AdminItemDetail,
    AdminItemPage,
    AdminOption,
    ImportResult,
    ItemPatch,
    ItemStats,
    SuspectList,
)
from exam_core.models.bank import Item
from exam_core.settings import Settings
from exam_core.store import AdminStore

PAGE_MAX = 100


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = int(base64.urlsafe_b64decode(token.encode()).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        offset = -1
    if offset < 0:
        raise InvalidInput("nextToken is not one this API gave out", code="invalid_next_token")
    return offset


class AdminService:
    def __init__(self, store: AdminStore, settings: Settings, clock: Callable[[], float]) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock

    def _bank(self, exam_id: str) -> Bank:
        stored = self.store.load_bank(exam_id)
        if stored is None:
            raise NotFound(f"no exam {exam_id!r}", code="exam_not_found", details=[{"examId": exam_id}])
        return Bank.from_stored(stored)  # a listing validates only the page it returns

    @staticmethod
    def _out(bank: Bank, item: Item) -> AdminItem:
        return AdminItem(
            id=item.id,
            exam_id=bank.blueprint.exam_id,
            domain_id=bank.domain_of_item[item.id],
            task=item.task,
            type=item.type,
            select_count=item.select_count,
            status=item.status,
            b=item.b,
            stem=item.stem,
            options=[AdminOption(id=o.id, text=o.text, explanation=o.explanation) for o in item.options],
            key=list(item.key),
            reference=item.reference,
            version=item.version,
            last_verified=item.last_verified,
            services=list(item.services),
        )

    def list_items(
        self,
        exam_id: str,
        *,
        domain: str | None,
        status: str | None,
        task: str | None,
        limit: int,
        next_token: str | None,
    ) -> AdminItemPage:
        bank = self._bank(exam_id)
        if domain and domain not in {d.id for d in bank.blueprint.domains}:
            raise InvalidInput(f"no domain {domain!r} in {exam_id}", code="unknown_domain")
        chosen = [
            i
            for i in sorted(bank.items.values(), key=lambda i: i.id)
            if (not domain or bank.domain_of_item[i.id] == domain)
            and (not status or i.status == status)
            and (not task or i.task == task)
        ]
        start = _offset(next_token)
        page = chosen[start : start + min(limit, PAGE_MAX)]
        end = start + len(page)
        nxt = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(chosen) else None
        return AdminItemPage(items=[self._out(bank, i) for i in page], total=len(chosen), next_token=nxt)

    def get_item(self, exam_id: str, item_id: str) -> AdminItemDetail:
        bank = self._bank(exam_id)
        found = self.store.load_item(exam_id, item_id)
        if item_id not in bank.items or found is None:
            raise NotFound(f"no item {item_id!r} in {exam_id}", code="item_not_found")
        base = self._out(bank, bank.items[item_id])
        reports = self.store.list_reports(exam_id, item_id)
        return AdminItemDetail(**base.model_dump(), history=found[1], reports=reports)

    def import_items(self, exam_id: str, raw: list[dict[str, Any]], who: str) -> ImportResult:
        """Validate the whole batch like the files (every error by item and field), then write it all."""
        bank = self._bank(exam_id)
        try:
            items = parse_items(bank.blueprint, raw)
        except BankValidationError as exc:
            raise InvalidInput(
                f"{len(exc.errors)} problem(s) in the batch; nothing was imported",
                code="invalid_items",
                details=[e.as_dict() for e in exc.errors],
            ) from None
        created = updated = 0
        docs = []
        for item in items:
            old = bank.items.get(item.id)
            version = item.version
            if old is not None:
                updated += 1
                version = max(version, old.version + 1)
            else:
                created += 1
            docs.append(
                item.model_copy(update={"version": version}).model_dump(mode="json", by_alias=True, exclude_none=True)
            )
        version = self.store.put_items(exam_id, docs)
        self.store.publish_bank_snapshot(exam_id)
        _ = who  # imports are attributed in the access log; per-item history records patches
        return ImportResult(exam_id=exam_id, imported=len(docs), created=created, updated=updated, bank_version=version)

    def patch_item(self, exam_id: str, item_id: str, patch: ItemPatch, who: str) -> AdminItemDetail:
        """Change status, correct the key or set b: the item's version goes up and the change is recorded.

        A corrected key re-scores nothing already given: each submitted result is stored as given.
        """
        bank = self._bank(exam_id)
        item = bank.items.get(item_id)
        if item is None:
            raise NotFound(f"no item {item_id!r} in {exam_id}", code="item_not_found")
        changes: dict[str, Any] = {}
        if patch.status is not None and patch.status != item.status:
            changes["status"] = patch.status
        if patch.key is not None and sorted(patch.key) != sorted(item.key):
            changes["key"] = sorted(patch.key)
        if patch.b is not None and patch.b != item.b:
            changes["b"] = patch.b
        if not changes:
            raise InvalidInput("the patch changes nothing", code="no_change")
        candidate = item.model_dump(mode="json", by_alias=True, exclude_none=True)
        candidate.update({("selectCount" if k == "select_count" else k): v for k, v in changes.items()})
        candidate["version"] = item.version + 1
        try:
            (new,) = parse_items(bank.blueprint, [candidate])
        except BankValidationError as exc:
            raise InvalidInput(
                "the change would make the item invalid",
                code="invalid_items",
                details=[e.as_dict() for e in exc.errors],
            ) from None
        audit = {
            "at": datetime.fromtimestamp(self.clock(), UTC).isoformat(),
            "by": who,
            "version": new.version,
            "changes": {k: {"from": getattr(item, k), "to": v} for k, v in changes.items()},
            "reason": patch.reason,
        }
        try:
            self.store.replace_item(
                exam_id, new.model_dump(mode="json", by_alias=True, exclude_none=True), item.version, audit
            )
        except StaleWrite:
            raise Conflict("the item changed while you edited it; read it again", code="item_changed") from None
        self.store.publish_bank_snapshot(exam_id)
        return self.get_item(exam_id, item_id)

    def _all_stats(self, bank: Bank, only: set[str] | None = None) -> list[ItemStats]:
        sums = self.store.load_item_stats(bank.blueprint.exam_id)
        attempts = sums.get("_TOTAL", {}).get("attempts", 0.0)
        reports = Counter(
            r["itemId"] for r in self.store.list_reports(bank.blueprint.exam_id) if r.get("status") == "open"
        )
        chosen = sorted(bank.items if only is None else only & bank.items.keys())
        return [item_stats(bank, i, sums.get(i, {}), attempts, reports[i]) for i in chosen]

    def stats(self, exam_id: str, item_id: str) -> ItemStats:
        bank = self._bank(exam_id)
        if item_id not in bank.items:
            raise NotFound(f"no item {item_id!r} in {exam_id}", code="item_not_found")
        sums = self.store.load_item_stats(exam_id)
        attempts = sums.get("_TOTAL", {}).get("attempts", 0.0)
        reports = [r for r in self.store.list_reports(exam_id, item_id) if r.get("status") == "open"]
        return item_stats(bank, item_id, sums.get(item_id, {}), attempts, len(reports))

    def suspects(self, exam_id: str, limit: int, service: str | None = None) -> SuspectList:
        """Items ranked by suspicion; with ``service``, every item that names that AWS service (a rename or a
        retirement is one query away), still ranked by suspicion, the unsuspicious ones last."""
        bank = self._bank(exam_id)
        if service is None:
            return SuspectList(exam_id=exam_id, items=rank(self._all_stats(bank), limit))
        wanted = service.casefold()
        naming = {i.id for i in bank.items.values() if any(s.casefold() == wanted for s in i.services)}
        return SuspectList(
            exam_id=exam_id, service=service, items=rank(self._all_stats(bank, naming), limit, keep_all=True)
        )
