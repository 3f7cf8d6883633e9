"""The bank check's freshness and similarity rules: planted paraphrases are caught, dated facts and names checked."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml
from exam_core.models.bank import Blueprint, Item

from infra.bank import check as bank_check
from tests.conftest import EXAM_DIR

PLANTED = Path(__file__).parent / "data" / "paraphrased_stems.yaml"


def test_given_each_planted_paraphrase_then_the_check_catches_it(bank_files: tuple[Blueprint, list[Item]]) -> None:
    _, items = bank_files
    by_id = {i.id: i for i in items}
    pairs = yaml.safe_load(PLANTED.read_text())["pairs"]
    assert len(pairs) >= 20
    for n, p in enumerate(pairs):
        twin = by_id[p["of"]].model_copy(update={"id": f"clf-twin-{n:03d}", "stem": " ".join(p["stem"].split())})
        found = bank_check.near_duplicates([by_id[p["of"]], twin])
        assert found and found[0][:2] == (p["of"], twin.id), p["of"]
    assert bank_check.near_duplicates(items) == []  # and the shipped bank itself has none


def test_given_a_dated_fact_then_it_warns_before_and_fails_from_its_date(
    bank_files: tuple[Blueprint, list[Item]],
) -> None:
    _, items = bank_files
    rules = bank_check.read_freshness(EXAM_DIR)
    stating = items[0].model_copy(update={"stem": "A company on the Business Support plan wants a TAM. Which plan?"})
    past = items[1].model_copy(update={"stem": "Business Support was discontinued. Which plan replaced it?"})
    before = bank_check.freshness([stating, past], rules, date(2026, 12, 2))
    assert before[0] == [] and any("business-support" in w and stating.id in w for w in before[1])
    after = bank_check.freshness([stating, past], rules, date(2027, 1, 1))
    assert any(stating.id in p and "past its date" in p for p in after[0])
    assert not any(past.id in p for p in after[0])


def test_given_an_unknown_service_name_or_an_old_verification_then_fail_and_warn(
    bank_files: tuple[Blueprint, list[Item]],
) -> None:
    _, items = bank_files
    rules = bank_check.read_freshness(EXAM_DIR)
    bad = items[0].model_copy(update={"services": ["Amazon Elastic Compute Cloud Service"]})
    old = items[1].model_copy(update={"services": ["Amazon EC2"], "last_verified": date(2025, 1, 1)})
    problems, warnings = bank_check.freshness([bad, old], rules, date(2026, 12, 2))
    assert any(bad.id in p and "not in services.yaml" in p for p in problems)
    assert not any(old.id in p for p in problems)
    assert any("not verified" in w and old.id in w for w in warnings)


def test_given_an_item_that_names_no_service_then_the_check_fails(bank_files: tuple[Blueprint, list[Item]]) -> None:
    # Given the exam's vocabulary, and one item naming no service
    _, items = bank_files
    rules = bank_check.read_freshness(EXAM_DIR)
    bare = items[2].model_copy(update={"services": []})
    named = items[3].model_copy(update={"services": ["Amazon S3"]})

    # When the freshness rules run
    problems, _ = bank_check.freshness([bare, named], rules, date(2026, 12, 2))

    # Then the bare item is a problem (a renamed service could not find it), the named one is not
    assert [p for p in problems if "lists no services" in p] == [
        f"{bare.id} lists no services (name them from services.yaml)"
    ]
