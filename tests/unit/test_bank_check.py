"""The bank check (``make check-bank``): the shipped bank passes, and each kind of defect is caught."""

from __future__ import annotations

from pathlib import Path

import yaml
from exam_core.bank import Bank
from exam_core.models.bank import Blueprint, Item

from infra.bank import check as bank_check
from tests.conftest import EXAM_DIR


def test_given_the_shipped_bank_then_the_check_passes_with_its_table(capsys: object) -> None:
    assert bank_check.main([str(EXAM_DIR)]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "bank check passed" in out and "Cloud Technology and Services" in out


def test_given_the_shipped_bank_then_it_meets_the_issue_counts(bank_files: tuple[Blueprint, list[Item]]) -> None:
    blueprint, items = bank_files
    bank = Bank.build(blueprint, items)
    per_domain = {d.id: sum(1 for i in items if bank.domain_of_item[i.id] == d.id) for d in blueprint.domains}
    assert len(items) >= 300
    assert per_domain["cloud-concepts"] >= 64 and per_domain["security-and-compliance"] >= 76
    assert per_domain["cloud-technology-and-services"] >= 88 and per_domain["billing-pricing-and-support"] >= 32
    assert sum(i.type == "multiple" for i in items) / len(items) >= 0.25
    assert 0.10 <= sum(i.status == "pretest" for i in items) / len(items) <= 0.30
    assert {i.task for i in items} == set(blueprint.task_text())


def test_given_a_near_duplicate_stem_then_the_check_fails(bank_files: tuple[Blueprint, list[Item]]) -> None:
    blueprint, items = bank_files
    twin = items[0].model_copy(update={"id": "clf-dup-001", "stem": items[0].stem.replace(".", " .") + " "})
    problems = bank_check.check(blueprint, [*items, twin])
    assert any("near-duplicate" in p and "clf-dup-001" in p for p in problems)


def test_given_too_few_items_or_pretest_share_then_the_check_fails(bank_files: tuple[Blueprint, list[Item]]) -> None:
    blueprint, items = bank_files
    no_billing = [i for i in items if not i.task.startswith("4.")]
    problems = bank_check.check(blueprint, no_billing)
    assert any("billing-pricing-and-support" in p and "minimum" in p for p in problems)
    assert any("task statement 4.1 has no items" in p for p in problems)
    all_operational = [i.model_copy(update={"status": "operational"}) for i in items]
    assert any("pretest share" in p for p in bank_check.check(blueprint, all_operational))


def test_given_a_broken_file_then_the_check_names_file_item_and_field(tmp_path: Path, capsys: object) -> None:
    exam = tmp_path / "exam"
    (exam / "items").mkdir(parents=True)
    (exam / "exam.yaml").write_text((EXAM_DIR / "exam.yaml").read_text())
    item = yaml.safe_load((EXAM_DIR / "items" / "1.1.yaml").read_text())["items"][0]
    item["key"] = ["a", "b"]
    (exam / "items" / "1.1.yaml").write_text(yaml.safe_dump({"items": [item]}))
    assert bank_check.main([str(exam)]) == 1
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert item["id"] in out and "key" in out
