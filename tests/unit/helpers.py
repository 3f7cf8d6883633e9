"""Small hand-built blueprints and items for unit tests that need a bank shaped just so."""

from __future__ import annotations

from typing import Any

from exam_core.models.bank import Blueprint, Item

TINY_BLUEPRINT: dict[str, Any] = {
    "examId": "tiny",
    "title": "A tiny exam",
    "version": 1,
    "scale": {"min": 100, "max": 1000, "passing": 700, "thetaCut": 0.0, "slope": 100},
    "forms": {"full": {"scored": 4, "pretest": 2, "durationMinutes": 10}},
    "domains": [
        {"id": "alpha", "name": "Alpha", "weight": 0.5, "taskStatements": [{"id": "1.1", "text": "Alpha things."}]},
        {"id": "beta", "name": "Beta", "weight": 0.5, "taskStatements": [{"id": "2.1", "text": "Beta things."}]},
    ],
}


def tiny_blueprint() -> Blueprint:
    return Blueprint.model_validate(TINY_BLUEPRINT)


def raw_item(item_id: str, task: str = "1.1", status: str = "operational", b: float = 0.0, **over: Any) -> dict:
    """A valid single-answer item as authored (camelCase), with overrides."""
    doc: dict[str, Any] = {
        "id": item_id,
        "task": task,
        "type": "single",
        "selectCount": 1,
        "status": status,
        "b": b,
        "stem": f"Stem of {item_id}?",
        "options": [
            {"id": o, "text": f"Option {o} of {item_id}", "explanation": f"Why option {o} is right or wrong."}
            for o in "abcd"
        ],
        "key": ["a"],
    }
    doc.update(over)
    return doc


def make_item(item_id: str, task: str = "1.1", status: str = "operational", b: float = 0.0, **over: Any) -> Item:
    return Item.model_validate(raw_item(item_id, task, status, b, **over))
