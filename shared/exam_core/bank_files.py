"""Reading an exam's human-edited files (``infra/bank/<exam>/exam.yaml`` and ``items/*.yaml``).

Used by the loader, the bank check and the local server; never on the Lambda request path
(PyYAML is a build-time dependency, imported here only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from exam_core.bank import BankValidationError, ItemError, parse_items
from exam_core.models.bank import Blueprint, Item
from exam_core.store import Store


def _yaml(path: Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise BankValidationError([ItemError(path.name, "yaml", str(exc).replace("\n", " "))]) from exc


def read_blueprint(exam_dir: Path) -> Blueprint:
    try:
        return Blueprint.model_validate(_yaml(exam_dir / "exam.yaml"))
    except ValidationError as exc:
        errors = [ItemError("exam.yaml", ".".join(map(str, e["loc"])), e["msg"]) for e in exc.errors()]
        raise BankValidationError(errors) from exc


def read_exam_dir(exam_dir: Path) -> tuple[Blueprint, list[Item]]:
    """Blueprint and items of one exam folder; raises ``BankValidationError`` naming file, item and field."""
    blueprint = read_blueprint(exam_dir)
    raw: list[dict[str, Any]] = []
    errors: list[ItemError] = []
    for path in sorted((exam_dir / "items").glob("*.yaml")):
        doc = _yaml(path)
        if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
            errors.append(ItemError(path.name, "items", "the file must hold a mapping with an 'items' list"))
            continue
        for entry in doc["items"]:
            if isinstance(entry, dict):
                raw.append(entry)
            else:
                errors.append(ItemError(path.name, "items", "every entry must be a mapping"))
    try:
        items = parse_items(blueprint, raw)
    except BankValidationError as exc:
        errors.extend(exc.errors)
        items = []
    if errors:
        raise BankValidationError(errors)
    return blueprint, items


def load_exam_dir(store: Store, exam_dir: Path) -> int:
    """Validate the folder, then write it to the bank (idempotent: the same files give the same items)."""
    blueprint, items = read_exam_dir(exam_dir)
    version = store.put_bank(
        blueprint.exam_id,
        blueprint.model_dump(mode="json", by_alias=True),
        [i.model_dump(mode="json", by_alias=True, exclude_none=True) for i in items],
    )
    store.publish_bank_snapshot(blueprint.exam_id)  # cold functions then load it in two reads
    return version
