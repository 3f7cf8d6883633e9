"""Exam data: the blueprint and the items, as authored in ``infra/bank/<exam>/`` and stored in the bank.

These models hold answer keys and difficulties; they never leave the server before submission.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator, model_validator
from pydantic.alias_generators import to_camel

ItemStatus = Literal["operational", "pretest", "retired"]
ItemType = Literal["single", "multiple"]
FormKind = Literal["full", "diagnostic"]

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
OptionId = Annotated[str, StringConstraints(pattern=r"^[a-f]$")]


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class TaskStatement(_Model):
    id: Annotated[str, StringConstraints(pattern=r"^\d+\.\d+$")]
    text: Text


class Domain(_Model):
    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{2,64}$")]
    name: Text
    weight: float = Field(gt=0, le=1)
    task_statements: list[TaskStatement] = Field(min_length=1)


class FormSpec(_Model):
    scored: int = Field(ge=1, le=200)
    pretest: int = Field(ge=0, le=100)
    duration_minutes: int | None = Field(default=None, ge=1)


class Scale(_Model):
    min: int
    max: int
    passing: int
    theta_cut: float
    slope: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> Scale:
        if not self.min < self.passing < self.max:
            raise ValueError("scale needs min < passing < max")
        return self


class Blueprint(_Model):
    exam_id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{2,32}$")]
    title: Text
    version: int = Field(ge=1)
    scale: Scale
    forms: dict[FormKind, FormSpec]
    domains: list[Domain] = Field(min_length=1)
    # Minimum operational+pretest items per domain for the bank check (defaults to 4x a form's share).
    bank_minimums: dict[str, int] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _weights(self) -> Blueprint:
        total = sum(d.weight for d in self.domains)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"domain weights must sum to 1, got {total:.4f}")
        if len({d.id for d in self.domains}) != len(self.domains):
            raise ValueError("duplicate domain ids")
        if "full" not in self.forms:
            raise ValueError("forms.full is required")
        return self

    def domain_of_task(self) -> dict[str, Domain]:
        return {t.id: d for d in self.domains for t in d.task_statements}

    def task_text(self) -> dict[str, str]:
        return {t.id: t.text for d in self.domains for t in d.task_statements}


class ItemOption(_Model):
    id: OptionId
    text: Text
    explanation: Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=2000)]


class Item(_Model):
    """One exam item as authored. ``domain`` is derived from ``task`` by the bank.

    Cross-field rules are field validators (fields validate in declaration order, so earlier ones are
    in ``info.data``): an error then names the field to fix, for example ``key`` or ``selectCount``.
    """

    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{3,64}$")]
    task: Annotated[str, StringConstraints(pattern=r"^\d+\.\d+$")]
    type: ItemType
    select_count: int = Field(ge=1, le=5)
    status: ItemStatus
    b: float = Field(ge=-5, le=5)
    stem: Text
    options: list[ItemOption] = Field(min_length=4, max_length=6)
    key: list[OptionId] = Field(min_length=1, max_length=5)
    reference: str | None = None
    version: int = Field(default=1, ge=1)
    # Freshness: when a writer last checked the item's facts against AWS documentation, and the canonical
    # AWS service names it relies on (from the exam folder's services.yaml, enforced by the bank check).
    last_verified: date | None = None
    services: list[Annotated[str, StringConstraints(min_length=2, max_length=80)]] = Field(
        default_factory=list, max_length=12
    )

    @field_validator("select_count")
    @classmethod
    def _count_fits_type(cls, value: int, info: ValidationInfo) -> int:
        kind = info.data.get("type")
        if kind == "single" and value != 1:
            raise ValueError("a single-answer item has selectCount 1")
        if kind == "multiple" and value < 2:
            raise ValueError("a multiple-response item has selectCount of at least 2")
        return value

    @field_validator("options")
    @classmethod
    def _distinct_options(cls, value: list[ItemOption], info: ValidationInfo) -> list[ItemOption]:
        ids = [o.id for o in value]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate option ids")
        texts = [" ".join(o.text.lower().split()) for o in value]
        if len(set(texts)) != len(texts):
            raise ValueError("duplicate option texts")
        count = info.data.get("select_count")
        if count is not None and count >= len(value):
            raise ValueError("an item needs more options than selectCount")
        return value

    @field_validator("key")
    @classmethod
    def _key_fits(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("key names an option twice")
        options = info.data.get("options")
        if options is not None:
            unknown = set(value) - {o.id for o in options}
            if unknown:
                raise ValueError(f"key names unknown options {sorted(unknown)}")
        count = info.data.get("select_count")
        if count is not None and len(value) != count:
            raise ValueError(f"key has {len(value)} options but selectCount is {count}")
        return value
