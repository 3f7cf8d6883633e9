"""The item bank in memory: validated items with per-domain indexes built once per bank version."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from pydantic import ValidationError
from pydantic_core import to_json

from exam_core.blueprint import form_plan
from exam_core.models.bank import Blueprint, FormKind, Item
from exam_core.scoring import test_information


@dataclass(frozen=True, slots=True)
class ItemError:
    item_id: str
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"itemId": self.item_id, "field": self.field, "message": self.message}


class BankValidationError(ValueError):
    def __init__(self, errors: list[ItemError]) -> None:
        super().__init__("; ".join(f"{e.item_id}.{e.field}: {e.message}" for e in errors[:20]))
        self.errors = errors


def parse_items(blueprint: Blueprint, raw_items: Iterable[Mapping[str, Any]]) -> list[Item]:
    """Validate raw item dicts against the schema and the blueprint; raise with every error found."""
    errors: list[ItemError] = []
    items: list[Item] = []
    seen: set[str] = set()
    tasks = blueprint.domain_of_task()
    for n, raw in enumerate(raw_items):
        item_id = str(raw.get("id", f"#{n}")) if isinstance(raw, Mapping) else f"#{n}"
        try:
            item = Item.model_validate(raw)
        except ValidationError as exc:
            for e in exc.errors():
                loc = ".".join(str(p) for p in e["loc"]) or "item"
                errors.append(ItemError(item_id, loc, e["msg"]))
            continue
        if item.id in seen:
            errors.append(ItemError(item.id, "id", "duplicate item id"))
        seen.add(item.id)
        if item.task not in tasks:
            errors.append(ItemError(item.id, "task", f"unknown task statement {item.task!r}"))
        items.append(item)
    if errors:
        raise BankValidationError(errors)
    return items


class StoredParts(Protocol):
    """What ``Bank.from_stored`` reads of the store's ``StoredBank`` (the bank does not import the store)."""

    @property
    def blueprint(self) -> dict[str, Any]: ...
    @property
    def version(self) -> int: ...
    @property
    def items(self) -> list[dict[str, Any]]: ...
    @property
    def index(self) -> list[list[Any]] | None: ...
    @property
    def docs(self) -> list[str] | None: ...


class LazyItem:
    """An item from a compiled snapshot: what indexing and assembly read (id, task, status, b) at hand, the
    rest validated from its JSON the first time anything else is read, then kept.

    A cold function's first request needs the index of the whole bank but the text of only the ~65 items it
    serves; validating every item up front costs time and memory in proportion to the bank (5,000 items:
    hundreds of ms). The JSON was validated when the snapshot was written (exam_core.bank_snapshot), and is
    validated again here, item by item, on first use. Stands in for ``Item`` everywhere (attribute access
    is forwarded), which is why it is typed as one where the bank hands it out.
    """

    __slots__ = ("_item", "_raw", "b", "id", "status", "task")

    def __init__(self, item_id: str, task: str, status: str, b: float, raw: str) -> None:
        self.id, self.task, self.status, self.b = item_id, task, status, b
        self._raw: str | None = raw
        self._item: Item | None = None

    def full(self) -> Item:
        if self._item is None:
            self._item = Item.model_validate_json(self._raw or "")
            self._raw = None
        return self._item

    def __getattr__(self, name: str) -> Any:
        return getattr(self.full(), name)

    def __repr__(self) -> str:
        return f"LazyItem({self.id!r})"


class _OptionText(dict[str, dict[str, str]]):
    """Option id -> text per item, computed on first use (a snapshot's items are validated lazily)."""

    def __init__(self, items: Mapping[str, Item]) -> None:
        super().__init__()
        self._items = items

    def __missing__(self, item_id: str) -> dict[str, str]:
        texts = {o.id: o.text for o in self._items[item_id].options}
        self[item_id] = texts
        return texts


@dataclass(slots=True)
class Bank:
    """An exam's blueprint and items, indexed for assembly. Built once per bank version and cached."""

    blueprint: Blueprint
    items: dict[str, Item]
    version: int = 1
    domain_of_item: dict[str, str] = field(default_factory=dict)
    operational: dict[str, list[Item]] = field(default_factory=dict)
    pretest: dict[str, list[Item]] = field(default_factory=dict)
    info_at_cut: dict[str, float] = field(default_factory=dict)
    target_info: dict[str, float] = field(default_factory=dict)
    # Option id -> text per item, for serving questions without rebuilding it on every request (lazy).
    option_text: dict[str, dict[str, str]] = field(default_factory=dict)
    # Per item, what a review shows that does not depend on the attempt (built on first review).
    review_parts: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def build(cls, blueprint: Blueprint, items: Iterable[Item], version: int = 1) -> Bank:
        return cls._indexed(blueprint, {i.id: i for i in items}, version)

    @classmethod
    def from_stored(cls, stored: StoredParts) -> Bank:
        """As read from the store: from its compiled snapshot (items validated on first use) when it came
        with one, else from its item documents, each validated now."""
        blueprint = Blueprint.model_validate(stored.blueprint)
        if stored.index is not None and stored.docs is not None:
            return cls.build_compiled(blueprint, stored.index, stored.docs, stored.version)
        return cls.build(blueprint, (Item.model_validate(i) for i in stored.items), stored.version)

    @classmethod
    def build_compiled(
        cls, blueprint: Blueprint, index: Sequence[Sequence[Any]], docs: Sequence[str], version: int
    ) -> Bank:
        """From a snapshot: ``index`` rows ``[id, task, status, b]`` beside each item's JSON (``docs``)."""
        items = {
            str(r[0]): LazyItem(str(r[0]), str(r[1]), str(r[2]), float(r[3]), raw)
            for r, raw in zip(index, docs, strict=True)
        }
        return cls._indexed(blueprint, cast("dict[str, Item]", items), version)

    @classmethod
    def _indexed(cls, blueprint: Blueprint, items: dict[str, Item], version: int) -> Bank:
        """The indexes, from each item's id, task, status and b only (all a snapshot's items have at hand)."""
        bank = cls(blueprint=blueprint, items=items, version=version, option_text=_OptionText(items))
        by_task = blueprint.domain_of_task()
        cut = blueprint.scale.theta_cut
        bank.operational = {d.id: [] for d in blueprint.domains}
        bank.pretest = {d.id: [] for d in blueprint.domains}
        for item_id in sorted(items):
            item = items[item_id]
            domain = by_task[item.task].id
            bank.domain_of_item[item_id] = domain
            bank.info_at_cut[item_id] = test_information(cut, [item.b])
            if item.status == "operational":
                bank.operational[domain].append(item)
            elif item.status == "pretest":
                bank.pretest[domain].append(item)
        for kind in blueprint.forms:
            bank.target_info[kind] = bank._expected_info(kind)
        return bank

    def _expected_info(self, kind: FormKind) -> float:
        """Information at the cut of a form drawn at random: the target that assembly holds every form to."""
        total = 0.0
        for plan in form_plan(self.blueprint, kind):
            pool = self.operational[plan.domain_id]
            if pool:
                total += plan.scored * sum(self.info_at_cut[i.id] for i in pool) / len(pool)
        return total

    def review_part(self, item_id: str) -> dict[str, Any]:
        """What a review shows of an item whatever the attempt, built on first review: the key, and the
        rest as JSON text written once by pydantic-core (so byte-identical to what it writes for the
        Review model); a review joins these instead of re-serialising ~100 KB per request."""
        part = self.review_parts.get(item_id)
        if part is None:
            item = self.items[item_id]
            domain_id = self.domain_of_item[item_id]
            head = {"type": item.type, "selectCount": item.select_count, "stem": item.stem}
            tail = {
                "domainId": domain_id,
                "domainName": self.domain_name(domain_id),
                "taskStatement": {"id": item.task, "text": self.blueprint.task_text()[item.task]},
                "reference": item.reference,
            }
            part = {
                "key": frozenset(item.key),
                "head_json": to_json(head).decode()[1:-1],
                "tail_json": to_json(tail).decode()[1:-1],
                "text_json": {o.id: to_json(o.text).decode() for o in item.options},
                "explanation_json": {o.id: to_json(o.explanation).decode() for o in item.options},
            }
            self.review_parts[item_id] = part
        return part

    def domain_name(self, domain_id: str) -> str:
        for d in self.blueprint.domains:
            if d.id == domain_id:
                return d.name
        raise KeyError(domain_id)
